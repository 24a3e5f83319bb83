//! The code block of an executable skill, found with pulldown-cmark, and the
//! rules each runtime puts on it.
//!
//! Only fenced blocks (```` ``` ```` or `~~~`) count; the language is the
//! first word of the info string, compared case-insensitively:
//!
//! | runtime | languages | the code must |
//! |---|---|---|
//! | `python-wasm` | `python`, `py`, `python3` | define `def execute(inputs)` (or `async def`) at the top level |
//! | `javascript`, `threejs` | `javascript`, `js`, `mjs` | define `execute`: `function execute(`, `async function execute(`, `const/let/var execute =`, optionally `export`ed |
//! | `spice` | `spice`, `netlist`, `cir`, `ngspice` | be a netlist template following [`super::netlist`]: one `.tran`, a final `.end`, a `* outputs:` line, no `.control`/`.include`, and `{{name}}` placeholders that name declared inputs |
//! | `wasm-component` | `rust`, `rs`, `wat` | define `fn execute(` (Rust) or `(export "execute"` (WAT) |
//!
//! An executable skill has exactly one block in one of its runtime's
//! languages. Blocks in other languages (sample output in `json`, a shell
//! session) are documentation and stay part of the body — unless there is no
//! block in the runtime's language at all, in which case an untagged block
//! or one in another runtime's language is reported as the wrong language,
//! since that is almost always what the author meant as the code.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde::Serialize;

use super::error::SkillError;
use crate::types::{PortSpec, Runtime};

/// The one code block of an executable skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBlock {
    /// The language as written in the info string (`python`, `js`, …).
    pub language: String,
    /// The code between the fences, ending with a newline unless empty.
    pub code: String,
    /// 1-based file line of the opening fence.
    pub line: usize,
    /// Byte range of the whole block (fences included) within the body.
    #[serde(skip)]
    pub(crate) range: Range<usize>,
    /// The info string, kept to re-render the fence on edits.
    #[serde(skip)]
    pub(crate) info: String,
}

/// Every fenced block of a Markdown body, in order.
pub(crate) fn fenced_blocks(body: &str, body_first_line: usize) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let line = body_first_line + body[..range.start].matches('\n').count();
                current = Some(CodeBlock {
                    language: info.split_whitespace().next().unwrap_or("").to_owned(),
                    code: String::new(),
                    line,
                    range,
                    info: info.into_string(),
                });
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = current.take() {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// The languages a runtime's code block may be tagged with; the first is
/// the one canonical files use.
pub fn languages(runtime: Runtime) -> &'static [&'static str] {
    match runtime {
        Runtime::PythonWasm => &["python", "py", "python3"],
        Runtime::Javascript | Runtime::Threejs => &["javascript", "js", "mjs"],
        Runtime::Spice => &["spice", "netlist", "cir", "ngspice"],
        Runtime::WasmComponent => &["rust", "rs", "wat"],
        Runtime::Builtin => &[],
    }
}

fn is_code_language(lang: &str) -> bool {
    Runtime::ALL
        .iter()
        .any(|r| languages(*r).iter().any(|l| l.eq_ignore_ascii_case(lang)))
}

/// Picks the runtime's code block among `blocks` and checks its rules.
/// `fallback_line` is reported when the body has no candidate at all.
pub(crate) fn select(
    runtime: Runtime,
    blocks: Vec<CodeBlock>,
    inputs: &[PortSpec],
    fallback_line: usize,
) -> Result<CodeBlock, SkillError> {
    let accepted = languages(runtime);
    let expected = accepted
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let fits = |b: &CodeBlock| accepted.iter().any(|l| l.eq_ignore_ascii_case(&b.language));
    let mut chosen: Option<CodeBlock> = None;
    let mut misfit: Option<&CodeBlock> = None;
    for block in &blocks {
        if fits(block) {
            if let Some(first) = &chosen {
                return Err(SkillError::MultipleCodeBlocks {
                    file: None,
                    line: block.line,
                    first_line: first.line,
                });
            }
            chosen = Some(block.clone());
        } else if misfit.is_none()
            && (block.language.is_empty() || is_code_language(&block.language))
        {
            misfit = Some(block);
        }
    }
    let Some(block) = chosen else {
        return Err(match misfit {
            Some(block) => SkillError::WrongCodeLanguage {
                file: None,
                line: block.line,
                found: if block.language.is_empty() {
                    "untagged".to_owned()
                } else {
                    block.language.clone()
                },
                runtime: runtime.as_str(),
                expected,
            },
            None => SkillError::MissingCodeBlock {
                file: None,
                line: fallback_line,
                expected,
            },
        });
    };
    check_rules(runtime, &block, inputs)?;
    Ok(block)
}

fn check_rules(runtime: Runtime, block: &CodeBlock, inputs: &[PortSpec]) -> Result<(), SkillError> {
    let missing = |expected| SkillError::MissingEntryPoint {
        file: None,
        line: block.line,
        runtime: runtime.as_str(),
        expected,
    };
    let code = block.code.as_str();
    match runtime {
        Runtime::PythonWasm => {
            // Top level only: a nested `def execute` is not callable.
            if !code
                .lines()
                .any(|l| l.starts_with("def execute(") || l.starts_with("async def execute("))
            {
                return Err(missing("a top-level `def execute(inputs):`"));
            }
        }
        Runtime::Javascript | Runtime::Threejs => {
            if !code.lines().any(defines_js_execute) {
                return Err(missing(
                    "`function execute(inputs)` or `const execute = (inputs) => …`",
                ));
            }
        }
        Runtime::Spice => {
            super::netlist::check_template(code, inputs).map_err(|err| {
                SkillError::InvalidCode {
                    file: None,
                    // Template line 1 is the line after the opening fence.
                    line: block.line + err.line.unwrap_or(0),
                    reason: err.reason,
                }
            })?;
        }
        Runtime::WasmComponent => {
            let ok = if block.language.eq_ignore_ascii_case("wat") {
                code.contains("(export \"execute\"")
            } else {
                code.lines().any(|l| {
                    let t = l.trim_start();
                    let t = t.strip_prefix("pub ").unwrap_or(t);
                    t.starts_with("fn execute(")
                })
            };
            if !ok {
                return Err(missing(
                    "`fn execute(` (Rust) or `(export \"execute\"` (WAT)",
                ));
            }
        }
        Runtime::Builtin => {}
    }
    Ok(())
}

fn defines_js_execute(line: &str) -> bool {
    let mut t = line.trim_start();
    for prefix in ["export ", "default ", "async "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
        }
    }
    if let Some(rest) = t.strip_prefix("function") {
        let rest = rest.trim_start_matches([' ', '*']);
        return rest
            .strip_prefix("execute")
            .is_some_and(|r| r.trim_start().starts_with('('));
    }
    for decl in ["const ", "let ", "var "] {
        if let Some(rest) = t.strip_prefix(decl) {
            return rest
                .trim_start()
                .strip_prefix("execute")
                .is_some_and(|r| r.trim_start().starts_with('='));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fenced_blocks_with_lines_and_ranges() {
        let body = "# T\n\n```python\ndef execute(inputs):\n    return {}\n```\n\n~~~json\n{}\n~~~\n\n    indented\n";
        let blocks = fenced_blocks(body, 10);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].language, "python");
        assert_eq!(blocks[0].line, 12);
        assert_eq!(blocks[0].code, "def execute(inputs):\n    return {}\n");
        assert!(body[blocks[0].range.clone()].starts_with("```python"));
        assert_eq!(blocks[1].language, "json");
    }

    #[test]
    fn recognises_javascript_entry_points() {
        for l in [
            "function execute(inputs) {",
            "export async function execute (inputs) {",
            "const execute = (inputs) => ({})",
            "export default function execute(i) {}",
            "  let execute = async function (i) {}",
        ] {
            assert!(defines_js_execute(l), "{l}");
        }
        for l in [
            "function executeAll(i) {",
            "execute(inputs)",
            "const run = 1",
        ] {
            assert!(!defines_js_execute(l), "{l}");
        }
    }
}
