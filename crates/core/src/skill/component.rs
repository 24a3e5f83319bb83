//! Compiled skills: which skills build to a component of the skill world
//! (`wit/skill/skill.wit`), where the built component lives next to its
//! skill file, and the provenance a build writes into it.
//!
//! The Markdown file stays the single source. A build turns its code block
//! into one `.wasm` component stored beside the file (`skills/<id>.md` →
//! `skills/<id>.wasm`), so history, promotion, rollback and `git clone`
//! carry the two together. The builder writes a custom section
//! ([`PROVENANCE_SECTION`]) into the component naming the digest of the
//! source it was built from ([`source_digest`]); a component whose digest
//! differs from its skill's current one is stale and is not run.
//!
//! Everything here is pure: it reads and writes bytes, nothing else.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Skill;
use crate::types::{PortSpec, Runtime};

/// The extension of a built component.
pub const COMPONENT_EXTENSION: &str = "wasm";

/// Name of the custom section holding a component's [`Provenance`].
pub const PROVENANCE_SECTION: &str = "llmos-skill-provenance";

/// The world every skill component implements.
pub const SKILL_WORLD: &str = "llmos:skill/skill@0.1.0";

/// Largest component accepted anywhere (a Python runtime is about 20 MB).
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// The language a compiled skill's code block is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    /// A crate of one `lib.rs` using the `llmos-skill` SDK, built for
    /// `wasm32-wasip2`.
    Rust,
    /// A component written in the WebAssembly text format.
    Wat,
    /// A Python module built with componentize-py.
    Python,
    /// A JavaScript module built with componentize-js.
    Javascript,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Wat => "wat",
            Language::Python => "python",
            Language::Javascript => "javascript",
        }
    }

    /// The language a skill builds from, or `None` when it is not compiled.
    pub fn of(skill: &Skill) -> Option<Language> {
        let exec = skill.executable()?;
        if !exec.compiled {
            return None;
        }
        let tag = exec.code.language.to_ascii_lowercase();
        match exec.runtime {
            Runtime::WasmComponent if tag == "wat" => Some(Language::Wat),
            Runtime::WasmComponent => Some(Language::Rust),
            Runtime::PythonWasm => Some(Language::Python),
            Runtime::Javascript => Some(Language::Javascript),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The path of the component built from the skill file at `skill_path`:
/// `skills/<id>.md` → `skills/<id>.wasm`, and the same for drafts. Agent
/// Skills directories are never compiled.
pub fn component_path(skill_path: &str) -> Option<String> {
    let stem = skill_path.strip_suffix(".md")?;
    if stem.ends_with("/SKILL") || !stem.starts_with("skills/") {
        return None;
    }
    Some(format!("{stem}.{COMPONENT_EXTENSION}"))
}

/// The skill file a component path belongs to (the inverse of
/// [`component_path`]).
pub fn skill_path_of_component(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".wasm")?;
    if !stem.starts_with("skills/") || stem.ends_with("/SKILL") {
        return None;
    }
    Some(format!("{stem}.md"))
}

/// Hex SHA-256 of some bytes: a component's hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The digest of everything in a skill file that a build depends on: the
/// runtime, the code block and its language, and the ports (name, type,
/// whether required, default). Other edits (the description, the body
/// around the code) keep a component fresh. `None` for skills that are not
/// compiled.
pub fn source_digest(skill: &Skill) -> Option<String> {
    let language = Language::of(skill)?;
    let exec = skill.executable()?;
    #[derive(Serialize)]
    struct Port<'a> {
        name: &'a str,
        #[serde(rename = "type")]
        ty: &'a str,
        required: bool,
        default: Option<&'a serde_json::Value>,
    }
    fn ports(list: &[PortSpec]) -> Vec<Port<'_>> {
        list.iter()
            .map(|p| Port {
                name: &p.name,
                ty: p.ty.as_str(),
                required: p.required,
                default: p.default.as_ref(),
            })
            .collect()
    }
    #[derive(Serialize)]
    struct Source<'a> {
        world: &'a str,
        runtime: &'a str,
        language: &'a str,
        code: &'a str,
        inputs: Vec<Port<'a>>,
        outputs: Vec<Port<'a>>,
    }
    let text = serde_json::to_vec(&Source {
        world: SKILL_WORLD,
        runtime: exec.runtime.as_str(),
        language: language.as_str(),
        code: &exec.code.code,
        inputs: ports(&exec.inputs),
        outputs: ports(&exec.outputs),
    })
    .expect("plain data serialises");
    Some(sha256_hex(&text))
}

/// What a build records inside the component it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub skill_id: String,
    /// [`source_digest`] of the skill file the component was built from.
    pub source_sha256: String,
    pub language: Language,
    /// The compiler and its version (`rustc 1.95.0`, `componentize-py 0.25.1`).
    pub toolchain: String,
    /// The world the component implements ([`SKILL_WORLD`]).
    pub world: String,
}

/// What is wrong with bytes offered as a component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentFileError {
    #[error("not a WebAssembly file (no `\\0asm` header)")]
    NotWasm,
    #[error("a core WebAssembly module, not a component; build it for the skill world")]
    CoreModule,
    #[error("unsupported WebAssembly encoding version {0:#06x}")]
    Version(u16),
    #[error("the file ends inside a section header or body at byte {0}")]
    Truncated(usize),
    #[error("the component is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error("its provenance section is not valid: {0}")]
    BadProvenance(String),
}

/// The hash, size and provenance of a component file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentInfo {
    pub sha256: String,
    pub size: usize,
    pub provenance: Option<Provenance>,
}

/// One top-level section of a component: its id, where it starts (its id
/// byte) and the range of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: u8,
    pub start: usize,
    pub body: std::ops::Range<usize>,
}

fn read_leb_u32(bytes: &[u8], mut pos: usize) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(pos)?;
        pos += 1;
        value |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some((value, pos));
        }
    }
    None
}

/// Appends `n` as an unsigned LEB128 number, the binary format's integers.
pub fn write_leb_u32(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The top-level sections of a component, after checking its header and
/// size.
pub fn sections(bytes: &[u8]) -> Result<Vec<Section>, ComponentFileError> {
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(ComponentFileError::TooLarge {
            size: bytes.len(),
            max: MAX_COMPONENT_BYTES,
        });
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(ComponentFileError::NotWasm);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    let layer = u16::from_le_bytes([bytes[6], bytes[7]]);
    if layer == 0 {
        return Err(ComponentFileError::CoreModule);
    }
    if layer != 1 || version != 0x0d {
        return Err(ComponentFileError::Version(version));
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        let (size, body_start) =
            read_leb_u32(bytes, pos + 1).ok_or(ComponentFileError::Truncated(pos))?;
        let end = body_start
            .checked_add(size as usize)
            .filter(|&e| e <= bytes.len())
            .ok_or(ComponentFileError::Truncated(body_start))?;
        out.push(Section {
            id,
            start,
            body: body_start..end,
        });
        pos = end;
    }
    Ok(out)
}

/// The name and payload of a custom section's body.
fn custom_section(body: &[u8]) -> Option<(&str, &[u8])> {
    let (len, pos) = read_leb_u32(body, 0)?;
    let end = pos.checked_add(len as usize).filter(|&e| e <= body.len())?;
    let name = std::str::from_utf8(&body[pos..end]).ok()?;
    Some((name, &body[end..]))
}

/// Hash, size and provenance of a component file; errors for bytes that
/// are not a component at all.
pub fn inspect(bytes: &[u8]) -> Result<ComponentInfo, ComponentFileError> {
    let mut provenance = None;
    for s in sections(bytes)? {
        if s.id != 0 {
            continue;
        }
        if let Some((PROVENANCE_SECTION, payload)) = custom_section(&bytes[s.body.clone()]) {
            provenance = Some(
                serde_json::from_slice::<Provenance>(payload)
                    .map_err(|e| ComponentFileError::BadProvenance(e.to_string()))?,
            );
        }
    }
    Ok(ComponentInfo {
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        provenance,
    })
}

/// `bytes` with its provenance section (if any) replaced by `provenance`,
/// written as the last section.
pub fn with_provenance(
    bytes: &[u8],
    provenance: &Provenance,
) -> Result<Vec<u8>, ComponentFileError> {
    let list = sections(bytes)?;
    let mut out = Vec::with_capacity(bytes.len() + 256);
    out.extend_from_slice(&bytes[..8]);
    for s in &list {
        let is_ours = s.id == 0
            && matches!(custom_section(&bytes[s.body.clone()]), Some((n, _)) if n == PROVENANCE_SECTION);
        if !is_ours {
            out.extend_from_slice(&bytes[s.start..s.body.end]);
        }
    }
    let payload = serde_json::to_vec(provenance).expect("plain data serialises");
    let mut body = Vec::with_capacity(payload.len() + 32);
    write_leb_u32(PROVENANCE_SECTION.len() as u32, &mut body);
    body.extend_from_slice(PROVENANCE_SECTION.as_bytes());
    body.extend_from_slice(&payload);
    out.push(0);
    write_leb_u32(body.len() as u32, &mut out);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Whether a component matches the skill file next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Freshness {
    /// Built from the file's current source.
    Fresh,
    /// Built from another version of the source.
    Stale { built_from: String, current: String },
    /// The component names no provenance (built elsewhere): it runs, and
    /// the check against `describe` is all that ties it to the file.
    Unknown,
}

/// How `info` relates to `skill`; `None` when the skill is not compiled.
pub fn freshness(skill: &Skill, info: &ComponentInfo) -> Option<Freshness> {
    let current = source_digest(skill)?;
    Some(match &info.provenance {
        Some(p) if p.source_sha256 == current => Freshness::Fresh,
        Some(p) => Freshness::Stale {
            built_from: p.source_sha256.clone(),
            current,
        },
        None => Freshness::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skill::parse;

    const RUST_SKILL: &str = "---\nskill_id: square\nname: Square\ncategory: math\ndescription: Squares a number.\ntype: wasm-component\ninputs:\n  - name: x\n    type: number\noutputs:\n  - name: y\n    type: number\n---\n\n```rust\nfn execute(x: f64) -> f64 { x * x }\n```\n";

    /// A minimal valid component: the header and one custom section.
    fn tiny_component() -> Vec<u8> {
        let mut c = b"\0asm\x0d\x00\x01\x00".to_vec();
        c.extend_from_slice(&[0, 4, 3, b'a', b'b', b'c']);
        c
    }

    #[test]
    fn component_paths_sit_next_to_skill_files() {
        assert_eq!(
            component_path("skills/ode.md").as_deref(),
            Some("skills/ode.wasm")
        );
        assert_eq!(
            component_path("skills/drafts/ode.md").as_deref(),
            Some("skills/drafts/ode.wasm")
        );
        assert_eq!(component_path("skills/pdf/SKILL.md"), None);
        assert_eq!(component_path("workflows/x.md"), None);
        assert_eq!(
            skill_path_of_component("skills/ode.wasm").as_deref(),
            Some("skills/ode.md")
        );
        assert_eq!(skill_path_of_component("skills/pdf/SKILL.wasm"), None);
    }

    #[test]
    fn compiled_skills_have_a_language_and_a_digest() {
        let skill = parse(Some("skills/square.md"), RUST_SKILL).unwrap();
        assert_eq!(Language::of(&skill), Some(Language::Rust));
        let digest = source_digest(&skill).unwrap();
        assert_eq!(digest.len(), 64);

        // The description does not change what is built; the code does.
        let described = RUST_SKILL.replace("Squares a number.", "x²");
        let described = parse(Some("skills/square.md"), &described).unwrap();
        assert_eq!(source_digest(&described).unwrap(), digest);
        let recoded = RUST_SKILL.replace("x * x", "x.powi(2)");
        let recoded = parse(Some("skills/square.md"), &recoded).unwrap();
        assert_ne!(source_digest(&recoded).unwrap(), digest);
        // So do the ports.
        let retyped = RUST_SKILL.replace("name: y", "name: z");
        let retyped = parse(Some("skills/square.md"), &retyped).unwrap();
        assert_ne!(source_digest(&retyped).unwrap(), digest);
    }

    #[test]
    fn python_and_javascript_skills_opt_in() {
        let py = "---\nskill_id: mean\nname: Mean\ncategory: stats\ndescription: d\ntype: python-wasm\ncompiled: true\n---\n\n```python\ndef execute(inputs):\n    return {}\n```\n";
        let skill = parse(Some("skills/mean.md"), py).unwrap();
        assert_eq!(Language::of(&skill), Some(Language::Python));
        let plain = parse(None, &py.replace("compiled: true\n", "")).unwrap();
        assert_eq!(Language::of(&plain), None);
        assert_eq!(source_digest(&plain), None);
    }

    #[test]
    fn refuses_compiled_on_runtimes_that_cannot_build() {
        let spice = "---\nskill_id: rc\nname: RC\ncategory: c\ndescription: d\ntype: threejs\ncompiled: true\n---\n\n```js\nfunction execute(inputs) { return {}; }\n```\n";
        let err = parse(None, spice).unwrap_err();
        assert_eq!(err.code(), "skill-invalid-value", "{err}");
        assert!(err.to_string().contains("cannot be compiled"), "{err}");
        let off = RUST_SKILL.replace(
            "type: wasm-component\n",
            "type: wasm-component\ncompiled: false\n",
        );
        assert!(parse(None, &off).is_err());
        let not_bool = RUST_SKILL.replace(
            "type: wasm-component\n",
            "type: wasm-component\ncompiled: yes please\n",
        );
        assert_eq!(
            parse(None, &not_bool).unwrap_err().code(),
            "skill-wrong-type"
        );
    }

    #[test]
    fn provenance_round_trips_and_replaces_an_older_one() {
        let skill = parse(Some("skills/square.md"), RUST_SKILL).unwrap();
        let p = Provenance {
            skill_id: "square".into(),
            source_sha256: source_digest(&skill).unwrap(),
            language: Language::Rust,
            toolchain: "rustc 1.95.0".into(),
            world: SKILL_WORLD.into(),
        };
        let built = with_provenance(&tiny_component(), &p).unwrap();
        let info = inspect(&built).unwrap();
        assert_eq!(info.provenance.as_ref(), Some(&p));
        assert_eq!(info.size, built.len());
        assert_eq!(freshness(&skill, &info), Some(Freshness::Fresh));

        let mut older = p.clone();
        older.source_sha256 = "0".repeat(64);
        let rebuilt =
            with_provenance(&with_provenance(&tiny_component(), &older).unwrap(), &p).unwrap();
        assert_eq!(rebuilt, built, "the old section is replaced, not kept");

        let stale = with_provenance(&tiny_component(), &older).unwrap();
        let info = inspect(&stale).unwrap();
        assert!(matches!(
            freshness(&skill, &info),
            Some(Freshness::Stale { .. })
        ));
        let bare = inspect(&tiny_component()).unwrap();
        assert_eq!(bare.provenance, None);
        assert_eq!(freshness(&skill, &bare), Some(Freshness::Unknown));
    }

    #[test]
    fn refuses_what_is_not_a_component() {
        assert_eq!(inspect(b"hello").unwrap_err(), ComponentFileError::NotWasm);
        assert_eq!(
            inspect(b"\0asm\x01\x00\x00\x00").unwrap_err(),
            ComponentFileError::CoreModule
        );
        let mut cut = tiny_component();
        cut.truncate(cut.len() - 1);
        assert!(matches!(
            inspect(&cut).unwrap_err(),
            ComponentFileError::Truncated(_)
        ));
    }
}
