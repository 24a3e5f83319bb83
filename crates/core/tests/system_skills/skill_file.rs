//! Loading a system skill file for the checks: its front matter as JSON, its
//! Markdown body, its fenced code blocks and its declared ports. A simple,
//! local reading of the format in `docs/skills.md`, enough to run the skills.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::front_matter;

/// Where the shipped skills live, relative to this crate.
pub fn skills_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../volumes/system/skills")
}

pub struct SkillFile {
    /// The file name without `.md`.
    pub stem: String,
    pub path: PathBuf,
    pub meta: Map<String, Value>,
    pub body: String,
    /// File line (1-based) of the body's first line.
    pub body_line: usize,
}

pub struct CodeBlock {
    pub info: String,
    pub code: String,
    /// File line of the opening fence.
    pub line: usize,
}

impl SkillFile {
    pub fn read(path: &Path) -> Result<SkillFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
            .to_owned();
        let rest = text
            .strip_prefix("---\n")
            .ok_or_else(|| format!("{}: does not start with a `---` line", path.display()))?;
        let end = rest
            .find("\n---\n")
            .ok_or_else(|| format!("{}: front matter has no closing `---` line", path.display()))?;
        let meta =
            front_matter::parse(&rest[..end], 2).map_err(|e| format!("{}: {e}", path.display()))?;
        let front_lines = rest[..end].lines().count();
        Ok(SkillFile {
            stem,
            path: path.to_owned(),
            meta,
            body: rest[end + "\n---\n".len()..].to_owned(),
            // Opening `---`, the front matter, closing `---`.
            body_line: front_lines + 3,
        })
    }

    pub fn all() -> Vec<SkillFile> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(skills_dir())
            .expect("volumes/system/skills exists")
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "md"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| SkillFile::read(p).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(Value::as_str)
    }

    pub fn skill_type(&self) -> Option<&str> {
        self.str_field("type")
    }

    /// Fenced code blocks of the body (``` or ~~~, up to three spaces of
    /// indentation, closed by a fence of the same character at least as long).
    pub fn code_blocks(&self) -> Result<Vec<CodeBlock>, String> {
        let mut blocks = Vec::new();
        let mut open: Option<(char, usize, String, usize, Vec<&str>)> = None;
        for (offset, line) in self.body.lines().enumerate() {
            let number = self.body_line + offset;
            let indent = line.len() - line.trim_start_matches(' ').len();
            let trimmed = line.trim_start_matches(' ');
            let fence = if indent <= 3 { fence_of(trimmed) } else { None };
            match (&mut open, fence) {
                (None, Some((c, len))) => {
                    let info = trimmed[len * c.len_utf8()..].trim().to_owned();
                    open = Some((c, len, info, number, Vec::new()));
                }
                (Some((c, len, _, _, _)), Some((fc, flen)))
                    if fc == *c && flen >= *len && trimmed[flen..].trim().is_empty() =>
                {
                    let (_, _, info, line, lines) = open.take().expect("a block is open");
                    let mut code = lines.join("\n");
                    code.push('\n');
                    blocks.push(CodeBlock { info, code, line });
                }
                (Some((_, _, _, _, lines)), _) => lines.push(line),
                (None, None) => {}
            }
        }
        match open {
            Some((_, _, _, line, _)) => Err(format!(
                "{}:{line}: code block is never closed",
                self.path.display()
            )),
            None => Ok(blocks),
        }
    }
}

/// The fence character and its length when `line` opens or closes a fence.
fn fence_of(line: &str) -> Option<(char, usize)> {
    let c = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|x| *x == c).count();
    (len >= 3).then_some((c, len))
}
