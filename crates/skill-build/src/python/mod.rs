//! Python skills (`type: python-wasm`, `compiled: true`), built with
//! componentize-py.
//!
//! The app directory of a build holds three modules:
//!
//! - `skill_code.py`: the code block verbatim (so a Python line N is
//!   Markdown line `fence line + N`);
//! - `llmos_skill_meta.py`: the skill's name, version and front-matter
//!   ports, generated;
//! - `app.py` (`app.py` beside this file): the world's `describe` and
//!   `execute` around the skill's `execute(inputs)`, converting values
//!   both ways, routing `print()` to the node's log and turning exceptions
//!   into skill errors that name their Markdown line.
//!
//! Before componentize-py runs (≈20 s), `ast.parse` with the configured
//! Python checks the syntax in a fraction of a second. Its error is
//! reported at once when that Python is at least as new as the one inside
//! componentize-py; an older one (Debian 12 has 3.11, componentize-py 0.25
//! embeds 3.14) may refuse newer syntax, so its error stands only if
//! componentize-py fails too. The component is
//! built with `--stub-wasi` (it imports no WASI at all), and the extra
//! `exports` instance componentize-py adds is removed ([`crate::strip`]).

use std::path::Path;
use std::process::Command;

use llmos_core::skill::component::Language;
use llmos_core::types::PortSpec;

use crate::error::trim_output;
use crate::process::{self, Ran};
use crate::{BuildError, Compiled, Job, read_file, strip, write_file};

const APP: &str = include_str!("app.py");

/// The Python inside componentize-py 0.25 (`requirements.txt` of
/// `tools/skill-toolchains` pins it). A syntax check by an older Python
/// may refuse newer syntax that the component's interpreter accepts.
const EMBEDDED_PYTHON: (u32, u32) = (3, 14);

/// Prints the first syntax error of the file named by `argv[1]`, with the
/// checking Python's version, as JSON and exits 1, or exits 0.
const SYNTAX_CHECK: &str = r#"
import ast, json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    source = f.read()
try:
    ast.parse(source, filename="skill_code.py")
except SyntaxError as e:
    print(json.dumps({"line": e.lineno, "column": e.offset, "message": e.msg,
                      "version": list(sys.version_info[:2])}))
    sys.exit(1)
"#;

fn missing(tool: &str) -> BuildError {
    BuildError::ToolMissing {
        tool: tool.to_owned(),
        hint: "run `./dev setup`, which installs componentize-py into .llmos/skill-toolchains/venv (or set LLMOS_COMPONENTIZE_PY)".to_owned(),
    }
}

fn compile_error(
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    output: &str,
) -> BuildError {
    BuildError::Compile {
        language: Language::Python,
        line,
        column,
        message,
        output: trim_output(output),
    }
}

pub(crate) fn build(job: &Job<'_>) -> Result<Compiled, BuildError> {
    let tool = job
        .config
        .componentize_py
        .as_deref()
        .filter(|p| p.exists())
        .ok_or_else(|| missing("componentize-py"))?;
    let app = job.scratch.join("app");
    let code_path = app.join("skill_code.py");
    write_file(&code_path, job.code().as_bytes())?;
    // A syntax error found by a Python older than componentize-py's own is
    // only reported once componentize-py agrees (the code may use newer
    // syntax); from a Python as new, it is reported at once.
    let unconfirmed = match check_syntax(job, &code_path) {
        Some((error, version)) if version >= EMBEDDED_PYTHON => return Err(error),
        Some((error, _)) => Some(error),
        None => None,
    };
    write_file(&app.join("llmos_skill_meta.py"), meta(job).as_bytes())?;
    write_file(&app.join("app.py"), APP.as_bytes())?;

    let out = job.scratch.join("skill.wasm");
    let mut command = Command::new(tool);
    command
        .arg("-d")
        .arg(&job.config.wit_dir)
        .args(["-w", "skill", "componentize", "--stub-wasi", "app", "-p"])
        .arg(&app)
        .arg("-o")
        .arg(&out)
        .current_dir(&app)
        // Only the app directory goes into the component, not whatever
        // virtual environment the builder itself runs in.
        .env_remove("VIRTUAL_ENV");
    let ran = process::run(command, job.config.timeout).map_err(|e| {
        e.into_build_error(
            "componentize-py",
            Language::Python,
            job.config.timeout,
            || missing("componentize-py"),
        )
    })?;
    if !ran.status.success() || !out.exists() {
        return Err(unconfirmed.unwrap_or_else(|| componentize_failure(job, &ran)));
    }
    let bytes = read_file(&out)?;
    let (bytes, _) = strip::remove_instance_export(&bytes, "exports").map_err(|e| {
        compile_error(
            None,
            None,
            format!("componentize-py's component cannot be used: {e}"),
            "",
        )
    })?;
    Ok(Compiled {
        bytes,
        toolchain: version(tool),
    })
}

/// `componentize-py 0.25.1`.
fn version(tool: &Path) -> String {
    Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| v.starts_with("componentize-py"))
        .unwrap_or_else(|| "componentize-py".to_owned())
}

/// A syntax error with its Markdown line, from `ast.parse`, and the
/// version of the Python that found it. `None` when the code parses, or
/// when there is no Python to check with (componentize-py's own import
/// then reports the error).
fn check_syntax(job: &Job<'_>, code_path: &Path) -> Option<(BuildError, (u32, u32))> {
    let python = job.config.python.as_ref()?;
    let mut command = Command::new(python);
    command.arg("-c").arg(SYNTAX_CHECK).arg(code_path);
    let ran = process::run(command, job.config.timeout).ok()?;
    if ran.status.success() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Found {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
        version: (u32, u32),
    }
    // Output that is not the checker's (an interpreter too old to run it)
    // leaves the syntax to componentize-py.
    let found = serde_json::from_str::<Found>(ran.stdout.trim()).ok()?;
    let error = compile_error(
        found.line.map(|l| job.file_line(l)),
        found.column,
        format!("SyntaxError: {}", found.message),
        &ran.all_output(),
    );
    Some((error, found.version))
}

fn py_string(s: &str) -> String {
    // JSON string escapes (\" \\ \n \uXXXX) are valid in Python strings.
    serde_json::to_string(s).expect("a string serialises")
}

fn py_ports(ports: &[PortSpec], inputs: bool) -> String {
    let items: Vec<String> = ports
        .iter()
        .map(|p| {
            let required = if !inputs || p.required {
                "True"
            } else {
                "False"
            };
            format!(
                "({}, {}, {required})",
                py_string(&p.name),
                py_string(p.ty.as_str())
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn meta(job: &Job<'_>) -> String {
    format!(
        "# Generated by llmos-skill-build from {path}.\nPATH = {path_lit}\nFENCE_LINE = {fence}\nNAME = {name}\nVERSION = {version}\nINPUTS = {inputs}\nOUTPUTS = {outputs}\n",
        path = job.path.replace('\n', " "),
        path_lit = py_string(job.path),
        fence = job.exec.code.line,
        name = py_string(job.skill_id),
        version = py_string(&job.version),
        inputs = py_ports(&job.exec.inputs, true),
        outputs = py_ports(&job.exec.outputs, false),
    )
}

/// componentize-py failed: an import-time error in the skill's module
/// shows as a traceback naming `skill_code.py`, whose line is mapped.
fn componentize_failure(job: &Job<'_>, ran: &Ran) -> BuildError {
    let output = ran.all_output();
    let line = output
        .lines()
        .filter(|l| l.contains("skill_code.py\", line "))
        .filter_map(|l| {
            let rest = &l[l.find("\", line ")? + 8..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .next_back()
        .map(|l| job.file_line(l));
    let message = output
        .lines()
        .map(str::trim)
        .rfind(|l| is_exception_line(l))
        .or_else(|| {
            output
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("Error") || l.starts_with("error"))
        })
        .unwrap_or("componentize-py failed")
        .to_owned();
    compile_error(line, None, message, &output)
}

/// `NameError: name 'x' is not defined` and the like.
fn is_exception_line(line: &str) -> bool {
    let Some((name, _)) = line.split_once(':') else {
        return false;
    };
    (name.ends_with("Error") || name.ends_with("Exception") || name == "SkillError")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_exception_lines() {
        assert!(is_exception_line("NameError: name 'x' is not defined"));
        assert!(is_exception_line("builtins.ValueError: bad"));
        assert!(!is_exception_line("Caused by: something"));
        assert!(!is_exception_line("  File \"x.py\", line 3"));
    }

    #[test]
    fn ports_become_python_literals() {
        let mut opt = PortSpec::new("steps", llmos_core::types::PortType::Number);
        opt.required = false;
        let ports = [
            PortSpec::new("x\"y", llmos_core::types::PortType::Array),
            opt,
        ];
        assert_eq!(
            py_ports(&ports, true),
            r#"[("x\"y", "array", True), ("steps", "number", False)]"#
        );
        assert_eq!(
            py_ports(&ports[1..], false),
            r#"[("steps", "number", True)]"#
        );
    }
}
