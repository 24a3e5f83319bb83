//! WAT skills: the code block is a component in the WebAssembly text
//! format, encoded with the `wast` parser (so errors keep their line and
//! column, mapped to the skill file).

use llmos_core::skill::component::Language;
use wast::parser::{self, ParseBuffer};

use crate::{BuildError, Compiled, Job};

/// The toolchain recorded in a WAT component's provenance.
pub fn toolchain() -> String {
    format!("wast (llmos-skill-build {})", env!("CARGO_PKG_VERSION"))
}

pub(crate) fn build(job: &Job<'_>) -> Result<Compiled, BuildError> {
    let code = job.code();
    let fail = |e: wast::Error| {
        let (line, byte_column) = e.span().linecol_in(code);
        // `linecol_in` counts bytes from 0; editors count characters from 1.
        let column = code
            .lines()
            .nth(line)
            .and_then(|l| l.get(..byte_column))
            .map_or(byte_column, |before| before.chars().count())
            + 1;
        let file_line = job.file_line(line + 1);
        let source = code.lines().nth(line).unwrap_or("");
        let output = format!(
            "{}:{file_line}:{column}: {}\n{source}\n{:>column$}",
            job.path,
            e.message(),
            "^",
        );
        BuildError::Compile {
            language: Language::Wat,
            line: Some(file_line),
            column: Some(column),
            message: e.message(),
            output,
        }
    };
    let buffer = ParseBuffer::new(code).map_err(fail)?;
    let mut wat = parser::parse::<wast::Wat>(&buffer).map_err(fail)?;
    let bytes = wat.encode().map_err(fail)?;
    Ok(Compiled {
        bytes,
        toolchain: toolchain(),
    })
}
