//! Malformed skill files: each is refused with the right error variant,
//! field and 1-based line.

use llmos_core::ids::SkillId;
use llmos_core::skill::{self, MAX_SKILL_FILE_BYTES, SkillError};

/// One malformed file and the error it must produce.
struct Case {
    /// What the file gets wrong, as a behaviour name.
    name: &'static str,
    path: Option<&'static str>,
    text: String,
    /// `SkillError::code()` of the expected variant.
    code: &'static str,
    field: Option<&'static str>,
    line: usize,
}

fn file(front: &str, body: &str) -> String {
    format!("---\n{front}---\n{body}")
}

/// Front matter of a valid python skill, lines 2–15 of the file; the
/// closing `---` is line 16.
const PY_FRONT: &str = "\
skill_id: add-numbers
name: Add numbers
category: math
description: Adds two numbers.
type: python-wasm
inputs:
  - name: a
    type: number
  - name: b
    type: number
    default: 0
outputs:
  - name: sum
    type: number
";

/// Body of the valid python skill: the fence opens on line 18.
const PY_BODY: &str =
    "\n```python\ndef execute(inputs):\n    return {\"sum\": inputs[\"a\"] + inputs[\"b\"]}\n```\n";

fn py(front_edit: impl Fn(&str) -> String, body: &str) -> String {
    file(&front_edit(PY_FRONT), body)
}

fn py_front(from: &'static str, to: &'static str) -> String {
    assert!(PY_FRONT.contains(from), "{from}");
    file(&PY_FRONT.replacen(from, to, 1), PY_BODY)
}

fn py_body(body: &str) -> String {
    file(PY_FRONT, body)
}

const CTX: &str = "name: Style\ncategory: coding\ndescription: House style.\n";

fn spice(code: &str) -> String {
    file(
        "skill_id: rc\nname: RC\ncategory: electronics\ndescription: RC filter.\ntype: spice\n\
         inputs:\n  - name: r\n    type: number\n    default: 1000\n\
         outputs:\n  - name: wave\n    type: waveform\n",
        &format!("\n```spice\n{code}```\n"),
    )
}

fn agent(front: &str) -> String {
    file(front, "Body.\n")
}

fn case(
    name: &'static str,
    path: Option<&'static str>,
    text: String,
    code: &'static str,
    field: Option<&'static str>,
    line: usize,
) -> Case {
    Case {
        name,
        path,
        text,
        code,
        field,
        line,
    }
}

fn cases() -> Vec<Case> {
    let ctx_path = Some("style.md");
    let agent_path = Some("pdf-tools/SKILL.md");
    vec![
        // --- the fences -----------------------------------------------------
        case(
            "rejects_skill_without_front_matter",
            ctx_path,
            "# Style\n\nText.\n".into(),
            "skill-missing-front-matter",
            None,
            1,
        ),
        case(
            "rejects_front_matter_not_on_the_first_line",
            ctx_path,
            format!("\n---\n{CTX}---\n"),
            "skill-missing-front-matter",
            None,
            1,
        ),
        case(
            "rejects_unterminated_front_matter",
            ctx_path,
            format!("---\n{CTX}\n# Body\n"),
            "skill-unterminated-front-matter",
            None,
            1,
        ),
        case(
            "rejects_a_lone_opening_fence",
            ctx_path,
            "---".into(),
            "skill-unterminated-front-matter",
            None,
            1,
        ),
        // --- YAML -----------------------------------------------------------
        case(
            "rejects_unclosed_flow_list",
            ctx_path,
            file("name: Style\nkeywords: [a, b\ncategory: coding\n", ""),
            "skill-invalid-yaml",
            None,
            4,
        ),
        case(
            "rejects_tab_indentation",
            ctx_path,
            file("name: Style\ncategory:\n\t- coding\n", ""),
            "skill-invalid-yaml",
            None,
            4,
        ),
        case(
            "rejects_front_matter_that_is_a_list",
            ctx_path,
            file("- a\n- b\n", ""),
            "skill-front-matter-not-mapping",
            None,
            1,
        ),
        case(
            "rejects_empty_front_matter",
            ctx_path,
            file("", "Body\n"),
            "skill-front-matter-not-mapping",
            None,
            1,
        ),
        case(
            "rejects_duplicate_top_level_key",
            ctx_path,
            file(&format!("{CTX}name: Again\n"), ""),
            "skill-duplicate-key",
            Some("name"),
            5,
        ),
        case(
            "rejects_duplicate_key_inside_a_port",
            None,
            py_front("    default: 0\n", "    default: 0\n    type: string\n"),
            "skill-duplicate-key",
            Some("inputs[1].type"),
            13,
        ),
        case(
            "rejects_duplicate_metadata_key",
            agent_path,
            agent("name: pdf-tools\ndescription: PDFs.\nmetadata:\n  author: a\n  author: b\n"),
            "skill-duplicate-key",
            Some("metadata.author"),
            6,
        ),
        case(
            "rejects_yaml_alias_bomb",
            ctx_path,
            file(&alias_bomb(), ""),
            "skill-yaml-too-complex",
            None,
            1,
        ),
        case(
            "rejects_yaml_tags",
            ctx_path,
            file(
                "name: !shell rm -rf\ncategory: coding\ndescription: d\n",
                "",
            ),
            "skill-unsupported-yaml",
            Some("name"),
            2,
        ),
        case(
            "rejects_non_scalar_keys",
            ctx_path,
            file(&format!("{CTX}? [a, b]\n: 1\n"), ""),
            "skill-unsupported-yaml",
            Some("(front matter)"),
            1,
        ),
        // --- required fields -----------------------------------------------
        case(
            "rejects_context_skill_without_name",
            ctx_path,
            file("category: coding\ndescription: d\n", ""),
            "skill-missing-field",
            Some("name"),
            1,
        ),
        case(
            "rejects_context_skill_without_category",
            ctx_path,
            file("name: Style\ndescription: d\n", ""),
            "skill-missing-field",
            Some("category"),
            1,
        ),
        case(
            "rejects_context_skill_without_description",
            ctx_path,
            file("name: Style\ncategory: coding\n", ""),
            "skill-missing-field",
            Some("description"),
            1,
        ),
        case(
            "rejects_executable_skill_without_skill_id",
            Some("add-numbers.md"),
            py_front("skill_id: add-numbers\n", ""),
            "skill-missing-field",
            Some("skill_id"),
            1,
        ),
        case(
            "rejects_context_skill_without_any_id",
            None,
            file(CTX, ""),
            "skill-missing-field",
            Some("skill_id"),
            1,
        ),
        case(
            "rejects_port_without_type",
            None,
            py_front("  - name: a\n    type: number\n", "  - name: a\n"),
            "skill-missing-field",
            Some("inputs[0].type"),
            8,
        ),
        case(
            "rejects_port_without_name",
            None,
            py_front("  - name: sum\n    type: number\n", "  - type: number\n"),
            "skill-missing-field",
            Some("outputs[0].name"),
            14,
        ),
        case(
            "rejects_agent_skill_without_description",
            agent_path,
            agent("name: pdf-tools\n"),
            "skill-missing-field",
            Some("description"),
            1,
        ),
        // --- value types ---------------------------------------------------
        case(
            "rejects_keywords_that_are_not_a_list",
            ctx_path,
            file(&format!("{CTX}keywords: python\n"), ""),
            "skill-wrong-type",
            Some("keywords"),
            5,
        ),
        case(
            "rejects_keyword_that_is_a_number",
            ctx_path,
            file(&format!("{CTX}keywords:\n  - style\n  - 2024\n"), ""),
            "skill-wrong-type",
            Some("keywords[1]"),
            7,
        ),
        case(
            "rejects_name_that_is_a_mapping",
            ctx_path,
            file("name: {first: a}\ncategory: coding\ndescription: d\n", ""),
            "skill-wrong-type",
            Some("name"),
            2,
        ),
        case(
            "rejects_required_that_is_not_a_boolean",
            None,
            py_front(
                "  - name: a\n    type: number\n",
                "  - name: a\n    type: number\n    required: 'yes'\n",
            ),
            "skill-wrong-type",
            Some("inputs[0].required"),
            10,
        ),
        case(
            "rejects_default_of_the_wrong_type",
            None,
            py_front("    default: 0\n", "    default: zero\n"),
            "skill-wrong-type",
            Some("inputs[1].default"),
            12,
        ),
        case(
            "rejects_inputs_that_are_not_a_list",
            None,
            py(
                |f| {
                    f.replacen("inputs:\n  - name: a\n    type: number\n  - name: b\n    type: number\n    default: 0\n",
                "inputs:\n  a: number\n", 1)
                },
                PY_BODY,
            ),
            "skill-wrong-type",
            Some("inputs"),
            7,
        ),
        case(
            "rejects_agent_metadata_with_a_number",
            agent_path,
            agent("name: pdf-tools\ndescription: PDFs.\nmetadata:\n  version: 1.0\n"),
            "skill-wrong-type",
            Some("metadata.version"),
            5,
        ),
        // --- values ---------------------------------------------------------
        case(
            "rejects_empty_name",
            ctx_path,
            file("name: ''\ncategory: coding\ndescription: d\n", ""),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_name_spanning_lines",
            ctx_path,
            file(
                "name: \"Style\\nGuide\"\ncategory: coding\ndescription: d\n",
                "",
            ),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_unknown_status",
            ctx_path,
            file(&format!("{CTX}status: published\n"), ""),
            "skill-invalid-value",
            Some("status"),
            5,
        ),
        case(
            "rejects_builtin_runtime_in_files",
            None,
            py_front("type: python-wasm\n", "type: builtin\n"),
            "skill-invalid-value",
            Some("type"),
            6,
        ),
        case(
            "rejects_threejs_at_the_edge",
            None,
            file(
                "skill_id: s\nname: S\ncategory: viz\ndescription: d\ntype: threejs\nexecution_mode: edge-wasm\n",
                "```js\nfunction execute(inputs) { return {}; }\n```\n",
            ),
            "skill-invalid-value",
            Some("execution_mode"),
            7,
        ),
        case(
            "rejects_required_input_with_a_default",
            None,
            py_front("    default: 0\n", "    default: 0\n    required: true\n"),
            "skill-invalid-value",
            Some("inputs[1].required"),
            13,
        ),
        case(
            "rejects_port_name_with_a_space",
            None,
            py_front("  - name: a\n", "  - name: first value\n"),
            "skill-invalid-value",
            Some("inputs[0].name"),
            8,
        ),
        case(
            "rejects_ports_on_a_context_skill",
            ctx_path,
            file(
                &format!("{CTX}inputs:\n  - name: a\n    type: number\n"),
                "",
            ),
            "skill-invalid-value",
            Some("inputs"),
            5,
        ),
        case(
            "rejects_agent_name_with_uppercase",
            Some("SKILL.md"),
            agent("name: PDF-Tools\ndescription: PDFs.\n"),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_agent_name_with_double_hyphen",
            Some("SKILL.md"),
            agent("name: pdf--tools\ndescription: PDFs.\n"),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_agent_name_with_leading_hyphen",
            Some("SKILL.md"),
            agent("name: -pdf\ndescription: PDFs.\n"),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_agent_name_longer_than_64",
            Some("SKILL.md"),
            agent(&format!("name: {}\ndescription: PDFs.\n", "a".repeat(65))),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_agent_name_other_than_its_directory",
            Some("skills/pdf/SKILL.md"),
            agent("name: pdf-tools\ndescription: PDFs.\n"),
            "skill-invalid-value",
            Some("name"),
            2,
        ),
        case(
            "rejects_agent_description_over_1024_characters",
            agent_path,
            agent(&format!(
                "name: pdf-tools\ndescription: {}\n",
                "x".repeat(1025)
            )),
            "skill-invalid-value",
            Some("description"),
            3,
        ),
        case(
            "rejects_agent_compatibility_over_500_characters",
            agent_path,
            agent(&format!(
                "name: pdf-tools\ndescription: PDFs.\ncompatibility: {}\n",
                "x".repeat(501)
            )),
            "skill-invalid-value",
            Some("compatibility"),
            4,
        ),
        // --- unknown fields and names ---------------------------------------
        case(
            "rejects_misspelt_port_field",
            None,
            py_front("    default: 0\n", "    defualt: 0\n"),
            "skill-unknown-field",
            Some("inputs[1].defualt"),
            12,
        ),
        case(
            "rejects_default_on_an_output",
            None,
            py_front(
                "  - name: sum\n    type: number\n",
                "  - name: sum\n    type: number\n    default: 0\n",
            ),
            "skill-unknown-field",
            Some("outputs[0].default"),
            16,
        ),
        case(
            "rejects_unknown_runtime",
            None,
            py_front("type: python-wasm\n", "type: ruby\n"),
            "skill-unknown-runtime",
            Some("type"),
            6,
        ),
        case(
            "rejects_unknown_execution_mode",
            None,
            py_front(
                "type: python-wasm\n",
                "type: python-wasm\nexecution_mode: cloud\n",
            ),
            "skill-unknown-execution-mode",
            Some("execution_mode"),
            7,
        ),
        case(
            "rejects_unknown_port_type",
            None,
            py_front(
                "  - name: b\n    type: number\n",
                "  - name: b\n    type: float\n",
            ),
            "skill-unknown-port-type",
            Some("inputs[1].type"),
            11,
        ),
        // --- ids --------------------------------------------------------------
        case(
            "rejects_skill_id_with_a_slash",
            None,
            py_front("skill_id: add-numbers\n", "skill_id: ../etc/passwd\n"),
            "skill-bad-id",
            Some("skill_id"),
            2,
        ),
        case(
            "rejects_uppercase_skill_id",
            None,
            py_front("skill_id: add-numbers\n", "skill_id: Add\n"),
            "skill-bad-id",
            Some("skill_id"),
            2,
        ),
        case(
            "rejects_skill_id_longer_than_64",
            None,
            file(&format!("skill_id: {}\n{CTX}", "a".repeat(65)), ""),
            "skill-bad-id",
            Some("skill_id"),
            2,
        ),
        case(
            "rejects_skill_id_with_a_control_character",
            None,
            file(&format!("skill_id: \"a\\tb\"\n{CTX}"), ""),
            "skill-bad-id",
            Some("skill_id"),
            2,
        ),
        case(
            "rejects_skill_id_that_is_a_number",
            None,
            file(&format!("skill_id: 42\n{CTX}"), ""),
            "skill-wrong-type",
            Some("skill_id"),
            2,
        ),
        case(
            "rejects_file_name_that_is_no_skill_id",
            Some("skills/My Style.md"),
            file(CTX, ""),
            "skill-bad-id",
            Some("skill_id"),
            1,
        ),
        // --- ports --------------------------------------------------------
        case(
            "rejects_duplicate_input_names",
            None,
            py_front("  - name: b\n", "  - name: a\n"),
            "skill-duplicate-port",
            Some("inputs[1].name"),
            10,
        ),
        case(
            "rejects_duplicate_output_names",
            None,
            py_front(
                "  - name: sum\n    type: number\n",
                "  - name: sum\n    type: number\n  - name: sum\n    type: array\n",
            ),
            "skill-duplicate-port",
            Some("outputs[1].name"),
            16,
        ),
        // --- code -----------------------------------------------------------
        case(
            "rejects_executable_skill_without_code_block",
            None,
            py_body("\nNo code here.\n"),
            "skill-missing-code-block",
            Some("code"),
            16,
        ),
        case(
            "rejects_indented_code_instead_of_a_fence",
            None,
            py_body("\n    def execute(inputs):\n        return {}\n"),
            "skill-missing-code-block",
            Some("code"),
            16,
        ),
        case(
            "rejects_executable_skill_with_two_code_blocks",
            None,
            py_body(&format!(
                "{PY_BODY}\n```python\ndef helper():\n    pass\n```\n"
            )),
            "skill-multiple-code-blocks",
            Some("code"),
            23,
        ),
        case(
            "rejects_code_in_the_wrong_language",
            None,
            py_body("\n```javascript\nfunction execute(inputs) {}\n```\n"),
            "skill-wrong-code-language",
            Some("code"),
            18,
        ),
        case(
            "rejects_untagged_code_block",
            None,
            py_body("\n```\ndef execute(inputs):\n    return {}\n```\n"),
            "skill-wrong-code-language",
            Some("code"),
            18,
        ),
        case(
            "rejects_python_without_execute",
            None,
            py_body("\n```python\ndef run(inputs):\n    return {}\n```\n"),
            "skill-missing-entry-point",
            Some("code"),
            18,
        ),
        case(
            "rejects_python_execute_nested_in_a_class",
            None,
            py_body(
                "\n```python\nclass Node:\n    def execute(self, inputs):\n        return {}\n```\n",
            ),
            "skill-missing-entry-point",
            Some("code"),
            18,
        ),
        case(
            "rejects_javascript_without_execute",
            None,
            file(
                "skill_id: js\nname: JS\ncategory: data\ndescription: d\ntype: javascript\n",
                "\n```js\nfunction run(inputs) { return {}; }\n```\n",
            ),
            "skill-missing-entry-point",
            Some("code"),
            9,
        ),
        case(
            "rejects_netlist_without_end",
            None,
            spice("* rc\n* outputs: v(out)\nR1 in out {{r}}\n.tran 1u 1m\n"),
            "skill-invalid-code",
            Some("code"),
            16,
        ),
        case(
            "rejects_netlist_without_analysis",
            None,
            spice("* rc\n* outputs: v(out)\nR1 in out {{r}}\n.end\n"),
            "skill-invalid-code",
            Some("code"),
            16,
        ),
        case(
            "rejects_netlist_placeholder_for_an_undeclared_input",
            None,
            spice("* rc\n* outputs: v(out)\nR1 in out {{r}}\nC1 out 0 {{c}}\n.tran 1u 1m\n.end\n"),
            "skill-invalid-code",
            Some("code"),
            20,
        ),
        case(
            "rejects_unclosed_netlist_placeholder",
            None,
            spice("* rc\n* outputs: v(out)\nR1 in out {{r\n.tran 1u 1m\n.end\n"),
            "skill-invalid-code",
            Some("code"),
            19,
        ),
        case(
            "rejects_wasm_component_without_execute",
            None,
            file(
                "skill_id: wc\nname: WC\ncategory: math\ndescription: d\ntype: wasm-component\n",
                "\n```rust\nfn run() {}\n```\n",
            ),
            "skill-missing-entry-point",
            Some("code"),
            9,
        ),
    ]
}

/// Twelve levels of ten-fold aliases: 10^12 nodes if expanded.
fn alias_bomb() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text
}

#[test]
fn malformed_files_are_refused_with_variant_field_and_line() {
    let cases = cases();
    assert!(cases.len() >= 40, "the table keeps at least 40 cases");
    let mut failures = Vec::new();
    for c in &cases {
        match skill::parse(c.path, &c.text) {
            Ok(_) => failures.push(format!("{}: parsed without error", c.name)),
            Err(err) => {
                let got = (err.code(), err.field(), err.line());
                let want = (c.code, c.field, Some(c.line));
                if got != want {
                    failures.push(format!("{}: got {got:?}, want {want:?} ({err})", c.name));
                }
                if err.file() != c.path {
                    failures.push(format!("{}: file {:?}", c.name, err.file()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn valid_bases_of_the_table_parse() {
    // Every case above breaks exactly one thing in these.
    skill::parse(None, &file(PY_FRONT, PY_BODY)).unwrap();
    skill::parse(Some("style.md"), &file(CTX, "")).unwrap();
    skill::parse(
        Some("pdf-tools/SKILL.md"),
        &agent("name: pdf-tools\ndescription: PDFs.\n"),
    )
    .unwrap();
    skill::parse(
        None,
        &spice("* rc\n* outputs: v(out)\nR1 in out {{r}}\n.tran 1u 1m\n.end\n"),
    )
    .unwrap();
}

#[test]
fn errors_name_the_file_and_line_in_their_message() {
    let err = skill::parse(Some("skills/style.md"), &file("name: Style\n", "")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "skills/style.md:1: required field `category` is missing"
    );
    let err = skill::parse(None, &py_front("  - name: b\n", "  - name: a\n")).unwrap_err();
    assert!(
        matches!(&err, SkillError::DuplicatePort { name, line: 10, first_line: 8, .. } if name == "a"),
        "{err:?}"
    );
    let err = skill::parse(None, &py_front("type: python-wasm\n", "type: ruby\n")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 6: field `type`: unknown skill type `ruby`"),
        "{err}"
    );
}

#[test]
fn rejects_oversize_files_before_parsing() {
    let big = format!("---\n{CTX}---\n{}", "x".repeat(MAX_SKILL_FILE_BYTES));
    for err in [
        skill::parse(Some("big.md"), &big).unwrap_err(),
        skill::parse_bytes(Some("big.md"), big.as_bytes()).unwrap_err(),
    ] {
        assert!(
            matches!(err, SkillError::TooLarge { size, .. } if size == big.len()),
            "{err}"
        );
        assert_eq!(err.file(), Some("big.md"));
        assert_eq!(err.line(), None);
    }
}

#[test]
fn rejects_non_utf8_files_with_the_line_of_the_bad_byte() {
    let mut bytes = file(CTX, "fine\n").into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    let err = skill::parse_bytes(Some("style.md"), &bytes).unwrap_err();
    assert_eq!(
        err,
        SkillError::NotUtf8 {
            file: Some("style.md".into()),
            line: 7
        }
    );
}

#[test]
fn rejects_quadratic_alias_expansion() {
    let wide = vec!["x"; 20_000].join(",");
    let refs = vec!["*w"; 20_000].join(",");
    let text = file(&format!("{CTX}w: &w [{wide}]\nb: [{refs}]\n"), "");
    assert!(text.len() < MAX_SKILL_FILE_BYTES);
    let err = skill::parse(Some("style.md"), &text).unwrap_err();
    assert_eq!(err.code(), "skill-yaml-too-complex", "{err}");
}

#[test]
fn rejects_skill_id_other_than_the_one_stored_under() {
    let id = SkillId::new("other").unwrap();
    let err = skill::parse_as(&id, None, &file(PY_FRONT, PY_BODY)).unwrap_err();
    assert_eq!(
        err,
        SkillError::IdMismatch {
            file: None,
            field: "skill_id".into(),
            line: 2,
            expected: "other".into(),
            found: "add-numbers".into(),
        }
    );
    let err = skill::parse_as(
        &id,
        Some("pdf-tools/SKILL.md"),
        &agent("name: pdf-tools\ndescription: PDFs.\n"),
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("skill-id-mismatch", Some("name"))
    );
}

#[test]
fn rendering_rejects_fields_without_an_id_or_with_code_on_context_skills() {
    let fields = skill::SkillFields {
        name: Some("X".into()),
        category: Some("c".into()),
        description: Some("d".into()),
        ..Default::default()
    };
    let err = skill::render(&fields).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("skill-missing-field", Some("skill_id"))
    );
    let err = skill::render(&skill::SkillFields {
        skill_id: Some("x".into()),
        code: Some("print(1)".into()),
        ..fields
    })
    .unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("skill-invalid-value", Some("code"))
    );
}
