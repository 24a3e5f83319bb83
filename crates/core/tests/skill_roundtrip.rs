//! Realistic skill files of every kind: parsing keeps them byte for byte,
//! exposes the right fields, and survives rendering and edits.

use std::path::Path;

use llmos_core::ids::SkillId;
use llmos_core::skill::{self, SkillFormat, SkillKind, SkillStatus, SkillUpdate};
use llmos_core::types::{ExecutionMode, PortType, Runtime};

const CORPUS: &[&str] = &[
    "python-coding.md",
    "statistics-summary.md",
    "json-transform.md",
    "parametric-surface.md",
    "rc-lowpass.md",
    "fft-component.md",
    "draft-csv-plot.md",
    "pdf-processing/SKILL.md",
    "commit-messages/SKILL.md",
];

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/skill_corpus")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed(rel: &str) -> skill::Skill {
    skill::parse(Some(rel), &read(rel)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn corpus_parses_and_keeps_every_byte() {
    for rel in CORPUS {
        let text = read(rel);
        let skill = skill::parse(Some(rel), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(skill.source(), text, "{rel}");
        assert!(text.ends_with(skill.body()), "{rel}");
        let bytes = skill::parse_bytes(Some(rel), text.as_bytes()).unwrap();
        assert_eq!(bytes, skill);
    }
}

#[test]
fn corpus_round_trips_with_crlf_line_endings() {
    for rel in CORPUS {
        let text = read(rel).replace('\n', "\r\n");
        let skill = skill::parse(Some(rel), &text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(skill.source(), text);
        let lf = parsed(rel);
        assert_eq!(skill.id(), lf.id());
        assert_eq!(skill.inputs(), lf.inputs(), "{rel}");
    }
}

#[test]
fn context_skill_takes_its_id_from_the_file_name() {
    let s = parsed("python-coding.md");
    assert_eq!(s.id().as_str(), "python-coding");
    assert_eq!(s.kind(), SkillKind::Context);
    assert_eq!(s.format(), SkillFormat::Llmos);
    assert_eq!(s.name(), "Python Coding Standards");
    assert_eq!(s.keywords(), ["python", "pep8", "type hints"]);
    assert_eq!(
        s.description(),
        "How to write clear, idiomatic Python: naming, typing, error handling and tests.\n"
    );
    assert_eq!(s.status(), Some(SkillStatus::Verified));
    assert!(s.code().is_none(), "context skills have no code block");
    assert!(s.signature().is_none());
    assert_eq!(s.frontmatter()["version"], "1.2.0");
    assert_eq!(s.frontmatter()["author"], "system");
    assert!(s.body().starts_with("\n# Python coding standards"));
}

#[test]
fn context_skill_takes_the_id_it_is_stored_under() {
    let id = SkillId::new("py-style").unwrap();
    let s = skill::parse_as(&id, None, &read("python-coding.md")).unwrap();
    assert_eq!(s.id(), &id);
}

#[test]
fn python_skill_exposes_ports_and_code() {
    let s = parsed("statistics-summary.md");
    assert_eq!(s.id().as_str(), "statistics-summary");
    assert_eq!(s.kind(), SkillKind::Executable);
    assert_eq!(s.runtime(), Some(Runtime::PythonWasm));
    assert_eq!(s.execution_mode(), Some(ExecutionMode::BrowserWasm));
    let inputs = s.inputs();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].name, "values");
    assert_eq!(inputs[0].ty, PortType::Array);
    assert!(inputs[0].required);
    assert_eq!(inputs[1].default, Some(serde_json::json!(3)));
    assert!(!inputs[1].required, "inputs with a default are optional");
    assert_eq!(s.outputs()[0].ty, PortType::Object);
    let code = s.code().unwrap();
    assert_eq!(code.language, "python");
    assert_eq!(code.line, 27);
    assert!(code.code.starts_with("import statistics\n"));
    assert!(code.code.contains("def execute(inputs):"));
    // The json sample after the code is documentation, not a second block.
    assert!(s.body().contains("```json"));
}

#[test]
fn every_runtime_of_the_corpus_is_recognised() {
    let expect = [
        (
            "json-transform.md",
            Runtime::Javascript,
            ExecutionMode::BrowserWasm,
            "js",
        ),
        (
            "parametric-surface.md",
            Runtime::Threejs,
            ExecutionMode::BrowserWasm,
            "javascript",
        ),
        (
            "rc-lowpass.md",
            Runtime::Spice,
            ExecutionMode::BrowserWasm,
            "spice",
        ),
        (
            "fft-component.md",
            Runtime::WasmComponent,
            ExecutionMode::EdgeWasm,
            "rust",
        ),
        (
            "draft-csv-plot.md",
            Runtime::PythonWasm,
            ExecutionMode::EdgeWasm,
            "py",
        ),
    ];
    for (rel, runtime, mode, language) in expect {
        let s = parsed(rel);
        assert_eq!(s.runtime(), Some(runtime), "{rel}");
        assert_eq!(s.execution_mode(), Some(mode), "{rel}");
        assert_eq!(s.code().unwrap().language, language, "{rel}");
        let sig = s.signature().unwrap();
        assert_eq!(sig.skill_id, *s.id());
        assert_eq!(sig.inputs, s.inputs());
    }
}

#[test]
fn flow_style_ports_and_optional_inputs_are_read() {
    let s = parsed("fft-component.md");
    assert_eq!(s.inputs()[0].name, "samples");
    assert_eq!(s.outputs()[0].name, "spectrum");
    let js = parsed("json-transform.md");
    let strict = &js.inputs()[2];
    assert_eq!(strict.name, "strict");
    assert!(!strict.required);
    assert_eq!(strict.default, None);
}

#[test]
fn draft_skills_keep_their_unknown_fields() {
    let s = parsed("draft-csv-plot.md");
    assert_eq!(s.status(), Some(SkillStatus::Draft));
    assert_eq!(
        s.frontmatter()["pattern"]["nodes"],
        serde_json::json!(["csv-parse", "line-plot"])
    );
}

#[test]
fn agent_skill_is_read_as_a_context_skill() {
    let s = parsed("pdf-processing/SKILL.md");
    assert_eq!(s.format(), SkillFormat::AgentSkill);
    assert_eq!(s.kind(), SkillKind::Context);
    assert_eq!(s.id().as_str(), "pdf-processing");
    assert_eq!(s.category(), "documents");
    assert_eq!(s.keywords(), ["pdf", "forms", "extraction"]);
    let agent = s.agent().unwrap();
    assert_eq!(agent.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(agent.allowed_tools, ["Bash(pdftotext:*)", "Read"]);
    assert_eq!(agent.metadata[0], ("author".into(), "example-org".into()));

    let minimal = parsed("commit-messages/SKILL.md");
    assert_eq!(minimal.category(), skill::AGENT_SKILL_CATEGORY);
    assert!(minimal.keywords().is_empty());
}

#[test]
fn full_skill_serialises_as_the_api_returns_it() {
    let s = parsed("rc-lowpass.md");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["skill_id"], "rc-lowpass");
    assert_eq!(json["type"], "executable");
    assert_eq!(json["runtime"], "spice");
    assert_eq!(json["execution_mode"], "browser-wasm");
    assert_eq!(json["inputs"][0]["name"], "r");
    assert_eq!(json["inputs"][0]["type"], "number");
    assert_eq!(json["outputs"][0]["type"], "waveform");
    assert!(
        json["code"]
            .as_str()
            .unwrap()
            .contains(".tran 10u {{t_stop}}")
    );
    assert_eq!(json["content"], s.body());
    assert_eq!(json["frontmatter"]["skill_id"], "rc-lowpass");

    let ctx = serde_json::to_value(parsed("python-coding.md")).unwrap();
    assert_eq!(ctx["type"], "context");
    assert!(ctx.get("runtime").is_none());
    assert!(ctx.get("code").is_none());

    let summary = serde_json::to_value(s.summary()).unwrap();
    for key in [
        "skill_id",
        "name",
        "category",
        "description",
        "keywords",
        "type",
    ] {
        assert!(summary.get(key).is_some(), "{key}");
    }
    assert!(summary.get("content").is_none());
}

#[test]
fn fields_of_parsed_skills_render_to_files_with_the_same_fields() {
    for rel in CORPUS {
        let s = parsed(rel);
        let fields = s.to_fields();
        let rendered = skill::render(&fields).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(rendered.to_fields(), fields, "{rel}");
        // Canonical files are a fixed point.
        let again = skill::render(&rendered.to_fields()).unwrap();
        assert_eq!(again.source(), rendered.source(), "{rel}");
    }
}

#[test]
fn empty_update_changes_nothing() {
    for rel in CORPUS {
        let s = parsed(rel);
        let same = s.update(&SkillUpdate::default()).unwrap();
        assert_eq!(same.source(), s.source(), "{rel}");
    }
}

#[test]
fn update_rewrites_only_the_changed_lines() {
    let s = parsed("python-coding.md");
    let updated = s
        .update(&SkillUpdate {
            status: Some("retired".into()),
            keywords: Some(vec!["python".into(), "style".into()]),
            set: serde_json::json!({"version": "1.3.0"})
                .as_object()
                .unwrap()
                .clone(),
            remove: vec!["author".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(updated.status(), Some(SkillStatus::Retired));
    assert_eq!(updated.keywords(), ["python", "style"]);
    assert_eq!(updated.frontmatter()["version"], "1.3.0");
    assert!(updated.frontmatter().get("author").is_none());
    let text = updated.source();
    assert!(
        text.starts_with("---\n# Guidance injected into chat"),
        "{text}"
    );
    assert!(
        text.contains("description: >\n  How to write clear"),
        "{text}"
    );
    assert_eq!(updated.body(), s.body());
}

#[test]
fn update_replaces_code_in_place() {
    let s = parsed("statistics-summary.md");
    let code = "def execute(inputs):\n    return {\"summary\": {}}\n";
    let updated = s
        .update(&SkillUpdate {
            code: Some(code.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(updated.code().unwrap().code, code);
    assert_eq!(updated.frontmatter_text(), s.frontmatter_text());
    assert!(updated.body().contains("Example output:"));
    assert!(updated.body().starts_with("\nComputes summary statistics"));
}

#[test]
fn update_adds_new_ports_and_checks_them() {
    let s = parsed("json-transform.md");
    let mut inputs = s.to_fields().inputs;
    inputs.push(skill::PortFields {
        name: "limit".into(),
        ty: "number".into(),
        default: Some(serde_json::json!(10)),
        description: None,
        required: None,
    });
    let updated = s
        .update(&SkillUpdate {
            inputs: Some(inputs.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(updated.inputs().len(), 4);
    inputs[3].ty = "float".into();
    let err = s
        .update(&SkillUpdate {
            inputs: Some(inputs),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, skill::SkillError::UnknownPortType { .. }),
        "{err}"
    );
    assert_eq!(err.field(), Some("inputs[3].type"));
}

#[test]
fn update_cannot_change_the_skill_id() {
    let s = parsed("statistics-summary.md");
    let err = s
        .update(&SkillUpdate {
            set: serde_json::json!({"skill_id": "other"})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, skill::SkillError::IdMismatch { .. }), "{err}");
}
