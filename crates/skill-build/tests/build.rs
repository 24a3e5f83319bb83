//! Builds the skill files of `tests/skills/` with the real toolchains and
//! runs the components in the skill runtime, as the edge and the browser
//! do.
//!
//! Rust and WAT always run. The Python and JavaScript cases need
//! componentize-py and componentize-js (`./dev setup` installs both);
//! without them they print a notice and pass, naming the missing tool.
//! All builds share the work dir of `BuildConfig::discover`, so the SDK's
//! dependencies compile once.

use std::io::Write;
use std::path::{Path, PathBuf};

use llmos_core::skill::component::{Language, SKILL_WORLD};
use llmos_skill_build::{BuildConfig, BuildError, Built, build, find_repo_root};
use llmos_skill_runtime::{Failure, LoadError, Outcome, SkillRuntime};
use serde_json::{Value, json};

fn root() -> PathBuf {
    find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("the crate is inside the repository")
}

fn config() -> BuildConfig {
    BuildConfig::discover(&root())
}

fn fixture(name: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/skills")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (text, format!("skills/{name}"))
}

/// The 1-based line of the skill file that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}"))
        + 1
}

fn build_fixture(name: &str) -> Result<Built, BuildError> {
    let (text, path) = fixture(name);
    build(&text, &path, &config())
}

fn run(built: &Built, inputs: Value) -> Result<Outcome, Failure> {
    let mut runtime = SkillRuntime::default();
    let skill = runtime.load(&built.bytes).expect("a built component loads");
    runtime.run(&skill, inputs.as_object().expect("inputs are an object"))
}

/// Whether `tool` is installed; prints a notice when it is not. The
/// notice goes straight to standard error, past the test harness's
/// capture, so it shows in every run.
fn installed(tool: Option<&Path>, name: &str) -> bool {
    if tool.is_some_and(Path::exists) {
        return true;
    }
    let _ = writeln!(
        std::io::stderr(),
        "NOTICE: {name} is not installed; skipping this test (./dev setup installs it)"
    );
    false
}

#[test]
fn a_rust_skill_builds_and_runs() {
    let built = build_fixture("ode-solver.md").unwrap_or_else(|e| panic!("{e}\n{}", e.to_json()));
    assert_eq!(built.language, Language::Rust);
    assert!(built.toolchain.starts_with("rustc "), "{}", built.toolchain);
    assert_eq!(built.description.name, "ode-solver");
    assert_eq!(built.description.version, "1.2.0");
    let provenance = built
        .info
        .provenance
        .clone()
        .expect("the build records its provenance");
    assert_eq!(provenance.skill_id, "ode-solver");
    assert_eq!(provenance.world, SKILL_WORLD);
    assert_eq!(built.info.size, built.bytes.len());

    let out = run(&built, json!({"y0": 1.0, "k": 1.0, "steps": 4})).unwrap();
    assert_eq!(out.outputs["t"], json!([0, 0.25, 0.5, 0.75, 1]));
    assert_eq!(
        out.outputs["y"]["signals"]["y"],
        json!([1, 0.75, 0.5625, 0.421875, 0.31640625])
    );
    assert_eq!(out.log, "4 steps\n");

    let err = run(&built, json!({"y0": 1.0, "k": 1.0, "steps": 0})).unwrap_err();
    assert_eq!(err.error.code(), "skill-bad-steps");
    assert_eq!(err.error.to_string(), "steps must be positive");

    let err = run(&built, json!({"y0": "one", "k": 1.0})).unwrap_err();
    assert_eq!(err.error.code(), "skill-input-invalid");
    assert!(
        err.error
            .to_string()
            .contains("input `y0` must be a number"),
        "{}",
        err.error
    );
    let err = run(&built, json!({"k": 1.0})).unwrap_err();
    assert!(
        err.error.to_string().contains("input `y0` is required"),
        "{}",
        err.error
    );
}

#[test]
fn a_rust_type_error_names_its_markdown_line() {
    let (text, _) = fixture("type-error.md");
    let err = build_fixture("type-error.md").unwrap_err();
    let BuildError::Compile {
        language,
        line,
        column,
        message,
        output,
    } = &err
    else {
        panic!("not a compile error: {err}");
    };
    assert_eq!(*language, Language::Rust);
    assert_eq!(*line, Some(line_of(&text, "let y: f64 = \"not a number\"")));
    assert_eq!(*column, Some(18), "the column of the string literal");
    assert!(message.contains("mismatched types"), "{message}");
    assert!(
        output.contains("skills/type-error.md:"),
        "locations name the skill file: {output}"
    );
    let body = err.to_json();
    assert_eq!(body["error"]["code"], "skill-compile-failed");
    assert_eq!(body["error"]["line"], json!(line));
    assert_eq!(err.status(), 422);
}

#[test]
fn include_str_is_refused_with_its_line() {
    let (text, _) = fixture("reads-file.md");
    let err = build_fixture("reads-file.md").unwrap_err();
    assert_eq!(err.code(), "skill-code-forbidden");
    assert_eq!(
        err.line(),
        Some(line_of(&text, "include_str!(\"/etc/passwd\")"))
    );
    let BuildError::Forbidden { construct, .. } = &err else {
        panic!("{err}");
    };
    assert!(construct.contains("include_str!"), "{construct}");
}

#[test]
fn a_rust_skill_using_the_filesystem_is_refused_naming_the_import() {
    let err = build_fixture("uses-fs.md").unwrap_err();
    let BuildError::Component(LoadError::Import(refused)) = &err else {
        panic!("{err}");
    };
    assert!(
        refused.import.starts_with("wasi:filesystem/"),
        "{}",
        refused.import
    );
    assert_eq!(err.code(), "component-import-refused");
    assert_eq!(err.to_json()["error"]["import"], json!(refused.import));
}

#[test]
fn a_function_that_disagrees_with_the_front_matter_is_refused_naming_the_port() {
    let err = build_fixture("wrong-ports.md").unwrap_err();
    assert_eq!(err.code(), "component-ports-mismatch");
    assert_eq!(err.to_json()["error"]["port"], "x");
    assert!(
        err.to_string()
            .contains("`number` in the skill file but `string`"),
        "{err}"
    );
}

#[test]
fn a_skill_id_that_is_no_package_name_still_names_the_component() {
    let built = build_fixture("3d-scale.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(built.description.name, "3d-scale");
    assert_eq!(built.description.version, "0.2.0");
    let out = run(
        &built,
        json!({"points": [[1, 2, 3], [0.5, 0, -1]], "factor": 2}),
    )
    .unwrap();
    assert_eq!(out.outputs["points"], json!([[2, 4, 6], [1, 0, -2]]));
    assert_eq!(out.log, "scaling 2 points\n");
}

#[test]
fn a_wat_component_builds_and_runs() {
    let built = build_fixture("answer.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(built.language, Language::Wat);
    assert_eq!(built.description.name, "answer");
    let out = run(&built, json!({})).unwrap();
    assert_eq!(out.outputs["value"], json!(42));
}

#[test]
fn a_wat_syntax_error_names_its_line_and_column() {
    let (text, _) = fixture("wat-syntax.md");
    let err = build_fixture("wat-syntax.md").unwrap_err();
    assert_eq!(err.code(), "skill-compile-failed");
    let line = line_of(&text, "i32.frobnicate");
    assert_eq!(err.line(), Some(line));
    assert_eq!(err.column(), Some(7));
    let BuildError::Compile { output, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        output.starts_with(&format!("skills/wat-syntax.md:{line}:7: ")),
        "{output}"
    );
}

#[test]
fn a_python_skill_builds_runs_and_fails_cleanly() {
    let config = config();
    if !installed(config.componentize_py.as_deref(), "componentize-py") {
        return;
    }
    let (text, path) = fixture("mean.md");
    let built = build(&text, &path, &config).unwrap_or_else(|e| panic!("{e}\n{}", e.to_json()));
    assert_eq!(built.language, Language::Python);
    assert!(
        built.toolchain.starts_with("componentize-py "),
        "{}",
        built.toolchain
    );

    let out = run(&built, json!({"xs": [1, 2, 6], "scale": 2})).unwrap();
    assert_eq!(out.outputs["mean"], json!(6));
    assert_eq!(
        out.outputs["summary"],
        json!({
            "n": 3, "root": 6f64.sqrt(), "first": 1, "flags": [true, null, "x"],
            "raw": "data:application/octet-stream;base64,AP8=", "ratio": 1,
        })
    );
    assert_eq!(out.log, "n = 3\n");

    let err = run(&built, json!({"xs": []})).unwrap_err();
    assert_eq!(err.error.code(), "skill-empty-input");
    assert_eq!(err.error.to_string(), "xs is empty");

    let err = run(&built, json!({"xs": [1], "scale": 0})).unwrap_err();
    assert_eq!(
        err.error.code(),
        "skill-python-error",
        "{}\n{}",
        err.error,
        err.log
    );
    let line = line_of(&text, "ratio = mean / (mean - mean)");
    let message = err.error.to_string();
    assert!(message.starts_with("ZeroDivisionError: "), "{message}");
    assert!(
        message.ends_with(&format!("(skills/mean.md line {line})")),
        "{message}"
    );
}

#[test]
fn a_python_syntax_error_names_its_line() {
    let config = config();
    if !installed(config.componentize_py.as_deref(), "componentize-py")
        || !installed(config.python.as_deref(), "python3")
    {
        return;
    }
    let (text, path) = fixture("py-syntax.md");
    let err = build(&text, &path, &config).unwrap_err();
    assert_eq!(err.code(), "skill-compile-failed");
    let line = err.line().expect("a line");
    // Python reports the unclosed parenthesis or the line after it.
    let open = line_of(&text, "y = (1 +");
    assert!(
        line == open || line == open + 1,
        "line {line}, expected {open}"
    );
    assert!(err.to_string().contains("SyntaxError"), "{err}");
}

#[test]
fn a_python_import_error_names_its_line() {
    let config = config();
    if !installed(config.componentize_py.as_deref(), "componentize-py") {
        return;
    }
    let (text, path) = fixture("py-import-error.md");
    let err = build(&text, &path, &config).unwrap_err();
    assert_eq!(err.code(), "skill-compile-failed", "{err}");
    assert_eq!(err.line(), Some(line_of(&text, "LIMIT = TABLE[\"b\"]")));
    assert!(err.to_string().contains("KeyError"), "{err}");
}

#[test]
fn a_javascript_skill_builds_runs_and_fails_cleanly() {
    let config = config();
    if !installed(config.componentize_js.as_deref(), "componentize-js")
        || !installed(config.node.as_deref(), "node")
    {
        return;
    }
    let (text, path) = fixture("sum.md");
    let built = build(&text, &path, &config).unwrap_or_else(|e| panic!("{e}\n{}", e.to_json()));
    assert_eq!(built.language, Language::Javascript);
    assert!(
        built.toolchain.starts_with("componentize-js "),
        "{}",
        built.toolchain
    );

    let out = run(&built, json!({"xs": [1, 2, 3.5], "label": "L"})).unwrap();
    assert_eq!(out.outputs["sum"], json!(6.5));
    assert_eq!(
        out.outputs["summary"],
        json!({"n": 3, "label": "L", "bytes": "data:application/octet-stream;base64,AQI="})
    );
    assert_eq!(out.log, "sum 6.5 {\"n\":3}\n");

    let err = run(&built, json!({"xs": [-1]})).unwrap_err();
    assert_eq!(err.error.code(), "skill-negative");
    assert_eq!(err.error.to_string(), "the sum is negative");

    let err = run(&built, json!({"xs": [13]})).unwrap_err();
    assert_eq!(err.error.code(), "skill-javascript-error");
    let message = err.error.to_string();
    assert!(message.starts_with("TypeError: "), "{message}");
    let line = line_of(&text, "return inputs.missing.field");
    assert!(
        message.ends_with(&format!("(skills/sum.md line {line})")),
        "{message}"
    );
}

#[test]
fn a_javascript_syntax_error_names_its_line_and_column() {
    let config = config();
    if !installed(config.componentize_js.as_deref(), "componentize-js")
        || !installed(config.node.as_deref(), "node")
    {
        return;
    }
    let (text, path) = fixture("js-syntax.md");
    let err = build(&text, &path, &config).unwrap_err();
    assert_eq!(err.code(), "skill-compile-failed");
    assert_eq!(err.line(), Some(line_of(&text, "const y = ;")));
    assert_eq!(err.column(), Some(13));
    assert!(err.to_string().contains("SyntaxError"), "{err}");
}

#[test]
fn an_async_javascript_execute_is_refused() {
    let (text, path) = fixture("js-async.md");
    let err = build(&text, &path, &config()).unwrap_err();
    assert_eq!(err.code(), "skill-compile-failed");
    assert_eq!(err.line(), Some(line_of(&text, "async function execute")));
    assert_eq!(err.column(), Some(8));
    assert!(err.to_string().contains("must not be `async`"), "{err}");
}
