//! Checks of the shipped system skills (`volumes/system/skills/`): every file
//! follows the format of `docs/skills.md`.

#[path = "system_skills/front_matter.rs"]
mod front_matter;
#[path = "system_skills/skill_file.rs"]
mod skill_file;

use std::collections::HashSet;

use llmos_core::ids::SkillId;
use llmos_core::types::{ExecutionMode, PortType, Runtime};
use serde_json::Value;

use skill_file::SkillFile;

const CONTEXT_FIELDS: [&str; 5] = ["skill_id", "name", "category", "description", "keywords"];
const EXECUTABLE_FIELDS: [&str; 9] = [
    "skill_id",
    "name",
    "type",
    "execution_mode",
    "category",
    "description",
    "keywords",
    "inputs",
    "outputs",
];

/// Everything wrong with one file's front matter and body, as messages.
fn problems(skill: &SkillFile) -> Vec<String> {
    let mut problems = Vec::new();
    let executable = skill.meta.contains_key("type");
    let (required, allowed): (&[&str], &[&str]) = if executable {
        (&EXECUTABLE_FIELDS, &EXECUTABLE_FIELDS)
    } else {
        (&CONTEXT_FIELDS, &CONTEXT_FIELDS)
    };
    for field in required {
        if !skill.meta.contains_key(*field) {
            problems.push(format!("missing field `{field}`"));
        }
    }
    for field in skill.meta.keys() {
        if !allowed.contains(&field.as_str()) {
            problems.push(format!("unexpected field `{field}`"));
        }
    }
    for field in ["skill_id", "name", "category", "description"] {
        match skill.meta.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            Some(_) => problems.push(format!("`{field}` must be a non-empty string")),
            None => {}
        }
    }
    match skill.str_field("skill_id") {
        Some(id) if id != skill.stem => {
            problems.push(format!("skill_id `{id}` differs from the file name"))
        }
        Some(id) => {
            if let Err(e) = SkillId::new(id) {
                problems.push(e.to_string());
            }
        }
        None => {}
    }
    match skill.meta.get("keywords").and_then(Value::as_array) {
        Some(list)
            if !list.is_empty()
                && list
                    .iter()
                    .all(|k| k.as_str().is_some_and(|k| !k.is_empty())) =>
        {
            if list
                .iter()
                .any(|k| k.as_str().is_some_and(|k| k != k.to_lowercase()))
            {
                problems.push("keywords must be lowercase".into());
            }
        }
        _ => problems.push("`keywords` must be a non-empty list of strings".into()),
    }
    let blocks = match skill.code_blocks() {
        Ok(blocks) => blocks,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    if !executable {
        return problems;
    }

    let runtime = skill.skill_type().map(str::parse::<Runtime>);
    match &runtime {
        Some(Ok(Runtime::Builtin)) => problems.push("`builtin` is not a skill file type".into()),
        Some(Ok(_)) => {}
        Some(Err(e)) => problems.push(e.to_string()),
        None => problems.push("`type` must be a string".into()),
    }
    if let Err(e) = skill
        .str_field("execution_mode")
        .unwrap_or_default()
        .parse::<ExecutionMode>()
    {
        problems.push(e.to_string());
    }
    if blocks.len() != 1 {
        problems.push(format!(
            "has {} code blocks, executable skills have exactly one",
            blocks.len()
        ));
    } else if let Some(Ok(runtime)) = runtime {
        let expected = match runtime {
            Runtime::PythonWasm => "python",
            Runtime::Javascript | Runtime::Threejs => "javascript",
            Runtime::Spice => "spice",
            _ => "",
        };
        if blocks[0].code.trim().is_empty() {
            problems.push(format!("line {}: the code block is empty", blocks[0].line));
        }
        if blocks[0].info != expected {
            problems.push(format!(
                "line {}: code block language `{}`, expected `{expected}`",
                blocks[0].line, blocks[0].info
            ));
        }
    }
    for key in ["inputs", "outputs"] {
        problems.extend(port_problems(skill, key));
    }
    if skill
        .meta
        .get("outputs")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        problems.push("an executable skill has at least one output".into());
    }
    let output_types: Vec<&str> = skill
        .meta
        .get("outputs")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| p.get("type")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    match runtime {
        Some(Ok(Runtime::Threejs)) if !output_types.contains(&"mesh") => {
            problems.push("a threejs skill has a `mesh` output".into())
        }
        Some(Ok(Runtime::Spice)) if output_types != ["waveform"] => {
            problems.push("a spice skill has exactly one output, of type `waveform`".into())
        }
        _ => {}
    }
    problems
}

fn port_problems(skill: &SkillFile, key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(list) = skill.meta.get(key).and_then(Value::as_array) else {
        return vec![format!("`{key}` must be a list")];
    };
    let mut seen = HashSet::new();
    for (index, port) in list.iter().enumerate() {
        let at = format!("{key}[{index}]");
        let Some(port) = port.as_object() else {
            problems.push(format!("{at} is not a mapping"));
            continue;
        };
        let allowed: &[&str] = if key == "inputs" {
            &["name", "type", "description", "default", "required"]
        } else {
            &["name", "type", "description"]
        };
        for field in port.keys().filter(|f| !allowed.contains(&f.as_str())) {
            problems.push(format!("{at}: unexpected field `{field}`"));
        }
        let name = port.get("name").and_then(Value::as_str).unwrap_or_default();
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            problems.push(format!("{at}: name `{name}` is not an identifier"));
        } else if !seen.insert(name) {
            problems.push(format!("{key}: name `{name}` appears twice"));
        }
        if port
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(|d| d.trim().is_empty())
        {
            problems.push(format!("{at} `{name}`: missing description"));
        }
        let ty = match port
            .get("type")
            .and_then(Value::as_str)
            .map(str::parse::<PortType>)
        {
            Some(Ok(ty)) => ty,
            Some(Err(e)) => {
                problems.push(format!("{at} `{name}`: {e}"));
                continue;
            }
            None => {
                problems.push(format!("{at} `{name}`: missing type"));
                continue;
            }
        };
        if let Some(default) = port.get("default") {
            let fits = match ty {
                PortType::Number => default.as_f64().is_some_and(f64::is_finite),
                PortType::String => default.is_string(),
                PortType::Boolean => default.is_boolean(),
                PortType::Array => default.is_array(),
                PortType::Object => default.is_object(),
                _ => true,
            };
            if !fits {
                problems.push(format!("{at} `{name}`: default {default} is not a {ty}"));
            }
        }
        if port.get("required").is_some_and(|r| !r.is_boolean()) {
            problems.push(format!("{at} `{name}`: required must be true or false"));
        }
    }
    problems
}

#[test]
fn every_system_skill_file_is_well_formed() {
    let skills = SkillFile::all();
    let mut report = Vec::new();
    for skill in &skills {
        for problem in problems(skill) {
            report.push(format!("{}: {problem}", skill.path.display()));
        }
    }
    assert!(
        report.is_empty(),
        "malformed system skills:\n{}",
        report.join("\n")
    );
}

#[test]
fn checks_find_problems_in_a_malformed_skill() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("malformed-skill");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken-node.md");
    let text = "---\nskill_id: other-node\nname: Broken\ntype: ruby\nexecution_mode: browser-wasm\n\
                category: test\ndescription: Broken on purpose.\nkeywords: [Test]\ninputs:\n  - name: x\n    \
                type: number\n    default: \"one\"\n    description: An input.\n  - name: x\n    type: float\n    \
                description: Twice.\noutputs: []\n---\n# Broken\n\n```python\nA\n```\n\n```python\nB\n```\n";
    std::fs::write(&path, text).unwrap();
    let found = problems(&SkillFile::read(&path).unwrap()).join("\n");
    for expected in [
        "differs from the file name",
        "keywords must be lowercase",
        "unknown skill type `ruby`",
        "has 2 code blocks",
        "default \"one\" is not a number",
        "name `x` appears twice",
        "unknown port type `float`",
        "at least one output",
    ] {
        assert!(
            found.contains(expected),
            "expected `{expected}` among:\n{found}"
        );
    }
}
