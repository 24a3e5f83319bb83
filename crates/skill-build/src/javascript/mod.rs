//! JavaScript skills (`type: javascript`, `compiled: true`), built with
//! componentize-js.
//!
//! The code block defines `function execute(inputs)` (optionally
//! `export`ed). One module is generated: the block first, so its lines are
//! the module's lines (a leading `export ` or `export default ` of
//! `execute` is overwritten with spaces, keeping every column), then the
//! wrapper (`wrapper.js` beside this file), which exports the world's
//! `describe` and `execute`, converts values both ways, sends `console.*`
//! to the node's log and turns thrown values into skill errors.
//!
//! Before componentize-js runs (≈30 s), `node --check` reports syntax
//! errors with their line and column, and an `async` `execute` is refused:
//! the world is synchronous.

use std::path::Path;
use std::process::Command;

use llmos_core::skill::component::Language;
use llmos_core::types::PortSpec;
use serde_json::json;

use crate::error::trim_output;
use crate::process::{self, Ran};
use crate::{BuildError, Compiled, Job, read_file, write_file};

const WRAPPER: &str = include_str!("wrapper.js");

/// The WASI features componentize-js would otherwise import (skills get
/// none of them).
const DISABLED: &[&str] = &["stdio", "random", "clocks", "http", "fetch-event"];

fn missing(tool: &str) -> BuildError {
    BuildError::ToolMissing {
        tool: tool.to_owned(),
        hint: "run `./dev setup`, which installs Node.js packages with `npm ci --prefix tools/skill-toolchains` (or set LLMOS_COMPONENTIZE_JS and LLMOS_NODE)".to_owned(),
    }
}

fn compile_error(
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    output: &str,
) -> BuildError {
    BuildError::Compile {
        language: Language::Javascript,
        line,
        column,
        message,
        output: trim_output(output),
    }
}

/// Where the code block defines `execute`: its line (0-based), and how
/// it does.
#[derive(Debug, PartialEq, Eq)]
struct Definition {
    line: usize,
    /// Byte length of a leading `export ` / `export default ` (after the
    /// indentation), to blank out.
    export: Option<(usize, usize)>,
    /// Byte column of `async`, when the function is async.
    asynchronous: Option<usize>,
}

/// The first line defining `execute` at the lowest indentation.
fn find_definition(code: &str) -> Option<Definition> {
    let mut best: Option<(usize, Definition)> = None;
    for (n, line) in code.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let Some(def) = definition_on(line, n, indent) else {
            continue;
        };
        if best.as_ref().is_none_or(|(i, _)| indent < *i) {
            best = Some((indent, def));
        }
    }
    best.map(|(_, d)| d)
}

fn definition_on(line: &str, n: usize, indent: usize) -> Option<Definition> {
    let mut t = &line[indent..];
    let mut export = None;
    for prefix in ["export default ", "export "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let rest_trimmed = rest.trim_start();
            export = Some((indent, line.len() - indent - rest_trimmed.len()));
            t = rest_trimmed;
            break;
        }
    }
    let column_of = |s: &str| line.len() - s.len();
    if let Some(rest) = t.strip_prefix("async ") {
        let after = rest.trim_start();
        let rest = after
            .strip_prefix("function")?
            .trim_start_matches([' ', '*']);
        return rest
            .strip_prefix("execute")
            .filter(|r| r.trim_start().starts_with('('))
            .map(|_| Definition {
                line: n,
                export,
                asynchronous: Some(column_of(t)),
            });
    }
    if let Some(rest) = t.strip_prefix("function") {
        let rest = rest.trim_start_matches([' ', '*']);
        return rest
            .strip_prefix("execute")
            .filter(|r| r.trim_start().starts_with('('))
            .map(|_| Definition {
                line: n,
                export,
                asynchronous: None,
            });
    }
    for decl in ["const ", "let ", "var "] {
        if let Some(rest) = t.strip_prefix(decl) {
            let value = rest
                .trim_start()
                .strip_prefix("execute")?
                .trim_start()
                .strip_prefix('=')?
                .trim_start();
            let asynchronous = value.starts_with("async").then(|| column_of(value));
            return Some(Definition {
                line: n,
                export,
                asynchronous,
            });
        }
    }
    None
}

/// The code with the `export` of `execute` overwritten by spaces.
fn unexported(code: &str, def: &Definition) -> String {
    let Some((start, len)) = def.export else {
        return code.to_owned();
    };
    let mut out = String::with_capacity(code.len());
    for (n, line) in code.split_inclusive('\n').enumerate() {
        if n == def.line {
            out.push_str(&line[..start]);
            out.push_str(&" ".repeat(len));
            out.push_str(&line[start + len..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

fn char_column(code: &str, line: usize, byte_column: usize) -> usize {
    code.lines()
        .nth(line)
        .and_then(|l| l.get(..byte_column))
        .map_or(byte_column, |before| before.chars().count())
        + 1
}

pub(crate) fn build(job: &Job<'_>) -> Result<Compiled, BuildError> {
    let code = job.code();
    let def = find_definition(code).ok_or_else(|| {
        compile_error(
            Some(job.exec.code.line),
            None,
            "the code block defines no `function execute(inputs)`".to_owned(),
            "",
        )
    })?;
    if let Some(column) = def.asynchronous {
        return Err(compile_error(
            Some(job.file_line(def.line + 1)),
            Some(char_column(code, def.line, column)),
            "`execute` must not be `async`: compiled skills run synchronously, so it returns its outputs directly"
                .to_owned(),
            "",
        ));
    }
    let tool = job
        .config
        .componentize_js
        .as_deref()
        .filter(|p| p.exists())
        .ok_or_else(|| missing("componentize-js"))?;
    let node = job.config.node.as_deref().ok_or_else(|| missing("node"))?;

    let user = unexported(code, &def);
    let check_path = job.scratch.join("check.mjs");
    write_file(&check_path, user.as_bytes())?;
    check_syntax(job, node, &check_path)?;

    let meta = json!({
        "path": job.path,
        "fenceLine": job.exec.code.line,
        "codeLines": code.lines().count(),
        "name": job.skill_id,
        "version": job.version,
        "inputs": ports(&job.exec.inputs, true),
        "outputs": ports(&job.exec.outputs, false),
    });
    let mut module = user;
    if !module.ends_with('\n') {
        module.push('\n');
    }
    module.push_str(&WRAPPER.replacen("/*LLMOS_META*/ null", &meta.to_string(), 1));
    let source = job.scratch.join("skill.js");
    write_file(&source, module.as_bytes())?;

    let out = job.scratch.join("skill.wasm");
    let mut command = Command::new(node);
    command
        .arg(tool)
        .arg(&source)
        .arg("--wit")
        .arg(&job.config.wit_dir)
        .args(["-n", "skill", "-d"])
        .args(DISABLED)
        .arg("-o")
        .arg(&out)
        .current_dir(job.scratch);
    let ran = process::run(command, job.config.timeout).map_err(|e| {
        e.into_build_error(
            "componentize-js",
            Language::Javascript,
            job.config.timeout,
            || missing("node"),
        )
    })?;
    if !ran.status.success() || !out.exists() {
        return Err(componentize_failure(job, &ran));
    }
    Ok(Compiled {
        bytes: read_file(&out)?,
        toolchain: version(node, tool),
    })
}

fn ports(ports: &[PortSpec], inputs: bool) -> serde_json::Value {
    ports
        .iter()
        .map(|p| json!([p.name, p.ty.as_str(), !inputs || p.required]))
        .collect()
}

/// `componentize-js 0.23.0`.
fn version(node: &Path, tool: &Path) -> String {
    Command::new(node)
        .arg(tool)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty() && v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map_or_else(
            || "componentize-js".to_owned(),
            |v| format!("componentize-js {v}"),
        )
}

/// `node --check`: a syntax error's line, column and message.
fn check_syntax(job: &Job<'_>, node: &Path, path: &Path) -> Result<(), BuildError> {
    let mut command = Command::new(node);
    command.arg("--check").arg(path);
    let ran = process::run(command, job.config.timeout).map_err(|e| {
        e.into_build_error("node", Language::Javascript, job.config.timeout, || {
            missing("node")
        })
    })?;
    if ran.status.success() {
        return Ok(());
    }
    let (line, column, message) = parse_node_error(&ran.stderr, "check.mjs");
    Err(compile_error(
        line.map(|l| job.file_line(l)),
        column,
        message,
        &ran.stderr
            .replace(&path.to_string_lossy().into_owned(), job.path),
    ))
}

/// Node's report of a syntax error:
///
/// ```text
/// /tmp/…/check.mjs:3
///     let = ;
///         ^
///
/// SyntaxError: Unexpected token '='
/// ```
fn parse_node_error(stderr: &str, file: &str) -> (Option<usize>, Option<usize>, String) {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut line = None;
    let mut column = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some(n) = l
            .rsplit_once(&format!("{file}:"))
            .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        {
            line = Some(n);
            if let (Some(_), Some(caret)) = (lines.get(i + 1), lines.get(i + 2)) {
                column = caret.find('^').map(|c| caret[..c].chars().count() + 1);
            }
            break;
        }
    }
    let message = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("SyntaxError") || l.starts_with("ReferenceError"))
        .unwrap_or("node --check refused the code")
        .to_owned();
    (line, column, message)
}

/// componentize-js failed, usually because the module threw while it was
/// evaluated: the first `skill.js:LINE` within the code block is mapped.
fn componentize_failure(job: &Job<'_>, ran: &Ran) -> BuildError {
    let output = ran.all_output();
    let code_lines = job.code().lines().count();
    let line = output
        .match_indices("skill.js:")
        .filter_map(|(at, m)| {
            let rest = &output[at + m.len()..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .find(|l| *l >= 1 && *l <= code_lines)
        .map(|l| job.file_line(l));
    let message = output
        .lines()
        .map(str::trim)
        .find(|l| l.contains("Error:"))
        .unwrap_or("componentize-js failed")
        .to_owned();
    compile_error(line, None, message, &output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_definition_and_blanks_its_export() {
        let code = "// helper\nfunction helper() {}\nexport function execute(inputs) {\n  function execute() {}\n  return {};\n}\n";
        let def = find_definition(code).unwrap();
        assert_eq!((def.line, def.asynchronous), (2, None));
        let plain = unexported(code, &def);
        assert_eq!(
            plain.lines().nth(2),
            Some("       function execute(inputs) {")
        );
        assert_eq!(plain.len(), code.len(), "columns and lines are kept");

        let def = find_definition("  export default function execute(i) {}\n").unwrap();
        assert_eq!(
            unexported("  export default function execute(i) {}\n", &def),
            format!("{}function execute(i) {{}}\n", " ".repeat(17))
        );
        assert!(
            find_definition("const execute = (inputs) => ({});")
                .unwrap()
                .export
                .is_none()
        );
        assert_eq!(
            find_definition("function executeAll() {}\nexecute();\n"),
            None
        );
    }

    #[test]
    fn finds_async_definitions() {
        let def = find_definition("export async function execute(inputs) {}").unwrap();
        assert_eq!(def.asynchronous, Some(7));
        let def = find_definition("const execute = async (inputs) => ({});").unwrap();
        assert_eq!(def.asynchronous, Some(16));
    }

    #[test]
    fn reads_nodes_syntax_errors() {
        let stderr = "/tmp/b/check.mjs:3\n    let = ;\n        ^\n\nSyntaxError: Unexpected token '='\n    at compileSourceTextModule (node:internal/modules/esm/utils:340:16)\n\nNode.js v20.19.2\n";
        assert_eq!(
            parse_node_error(stderr, "check.mjs"),
            (
                Some(3),
                Some(9),
                "SyntaxError: Unexpected token '='".to_owned()
            )
        );
    }
}
