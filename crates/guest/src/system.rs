//! First start: the shipped system skills become the `system` volume.
//!
//! spin.toml mounts `volumes/system` read-only at `/system` in every
//! component that reads skills, so whichever of them serves the first
//! request of a fresh install imports them. While the
//! system volume has no head, every request imports `/system/skills/*.md`
//! and `/system/skills/*/SKILL.md` as its first commit (a compare-and-swap
//! against "no ref", so concurrent first requests create one commit). The
//! shipped files are ours and tested, so one that fails to parse stops the
//! import with a 500 naming it, instead of starting with a partial volume.
//!
//! The build step writes the components of compiled system skills beside
//! their files (`/system/skills/<id>.wasm`; they are build output, not in
//! git). Each is imported with its skill if it is a component built from
//! that file's current source; one that is not (stale after an edit, no
//! provenance, not a component, beside no compiled skill) is left out with
//! a log line, and that skill starts without a component: building it
//! through the API gives it one.

use std::collections::BTreeMap;
use std::path::Path;

use llmos_core::ids::VolumeId;
use llmos_core::skill::component;
use llmos_store::catalog::{AGENT_SKILL_FILE, ImportOutcome, SKILLS_DIR, import_initial};
use llmos_store::object::{GitTime, Signature};
use llmos_store::{SqlExecutor, SqlStore, VolumePath, Volumes};

use crate::{ApiError, ApiResult};

/// Where spin.toml mounts the shipped volume.
pub const SYSTEM_MOUNT: &str = "/system";

/// Author of the import commit.
const IMPORT_AUTHOR: (&str, &str) = ("LLMos-Lite", "system@llmos.local");

/// Imports the shipped skills if the system volume has no commit yet.
pub fn ensure_imported<E: SqlExecutor>(volumes: &Volumes<SqlStore<E>>) -> ApiResult<()> {
    if volumes
        .head(&VolumeId::System)
        .map_err(ApiError::internal)?
        .is_some()
    {
        return Ok(());
    }
    let dir = Path::new(SYSTEM_MOUNT).join(SKILLS_DIR);
    let files = shipped_files(&dir)?;
    if files.is_empty() {
        eprintln!(
            "system: no system skills found in {}; the system volume stays empty",
            dir.display()
        );
        return Ok(());
    }
    let author = Signature::new(
        IMPORT_AUTHOR.0,
        IMPORT_AUTHOR.1,
        GitTime::utc(crate::now_secs()),
    );
    let message = format!(
        "Import the shipped system skills\n\n{} skill files from volumes/system/skills.",
        files.len()
    );
    match import_initial(volumes, &VolumeId::System, &files, &author, &message) {
        Ok(ImportOutcome::Imported { commit, files }) => {
            eprintln!("system: imported {files} system skill files as commit {commit}");
            Ok(())
        }
        Ok(ImportOutcome::AlreadyInitialised { .. }) => Ok(()),
        Err(err) => {
            eprintln!("system: importing the system skills failed: {err}");
            Err(ApiError::new(
                500,
                "system-import-failed",
                format!("importing the shipped system skills failed: {err}"),
            ))
        }
    }
}

/// The skill files below `dir`, keyed by their path in the volume.
fn shipped_files(dir: &Path) -> ApiResult<BTreeMap<VolumePath, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(err) => return Err(read_error(dir, err)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let (volume_path, file) = if path.is_dir() {
            let skill = path.join(AGENT_SKILL_FILE);
            if !skill.is_file() {
                continue;
            }
            (format!("{SKILLS_DIR}/{name}/{AGENT_SKILL_FILE}"), skill)
        } else if name.ends_with(".md") || name.ends_with(".wasm") {
            (format!("{SKILLS_DIR}/{name}"), path)
        } else {
            continue;
        };
        let data = std::fs::read(&file).map_err(|e| read_error(&file, e))?;
        let volume_path = VolumePath::new(&volume_path).map_err(|e| {
            ApiError::new(
                500,
                "system-import-failed",
                format!("{}: {e}", file.display()),
            )
        })?;
        files.insert(volume_path, data);
    }
    let components: Vec<VolumePath> = files
        .keys()
        .filter(|p| p.as_str().ends_with(".wasm"))
        .cloned()
        .collect();
    for path in components {
        if let Err(reason) = check_component(&path, &files) {
            eprintln!("system: not importing {path}: {reason}");
            files.remove(&path);
        }
    }
    Ok(files)
}

/// Whether the shipped component at `path` belongs to a compiled skill of
/// `files` and was built from its current source.
fn check_component(path: &VolumePath, files: &BTreeMap<VolumePath, Vec<u8>>) -> Result<(), String> {
    let skill_path = component::skill_path_of_component(path.as_str())
        .and_then(|p| VolumePath::new(&p).ok())
        .ok_or("it is not beside a skill file")?;
    let source = files
        .get(&skill_path)
        .ok_or_else(|| format!("there is no {skill_path}"))?;
    let skill = llmos_core::skill::parse_bytes(Some(skill_path.as_str()), source)
        .map_err(|e| e.to_string())?;
    let bytes = &files[path];
    let info = component::inspect(bytes).map_err(|e| e.to_string())?;
    match component::freshness(&skill, &info) {
        Some(component::Freshness::Fresh) => Ok(()),
        Some(component::Freshness::Stale { .. }) => {
            Err(format!("it was built from another version of {skill_path}"))
        }
        Some(component::Freshness::Unknown) => Err("it records no provenance".to_owned()),
        None => Err(format!("{skill_path} is not a compiled skill")),
    }
}

fn read_error(path: &Path, err: std::io::Error) -> ApiError {
    ApiError::internal(format_args!("reading {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::skill::component::{Language, Provenance, SKILL_WORLD, with_provenance};

    const SKILL: &str = "---\nskill_id: sq\nname: Square\ncategory: math\ndescription: d\n\
        type: wasm-component\ninputs:\n  - name: x\n    type: number\noutputs:\n  - name: y\n\
        \x20   type: number\n---\n\n```rust\nfn execute(x: f64) -> f64 { x * x }\n```\n";

    fn built_from(source: &str) -> Vec<u8> {
        let skill = llmos_core::skill::parse(None, source).unwrap();
        let provenance = Provenance {
            skill_id: "sq".into(),
            source_sha256: component::source_digest(&skill).unwrap(),
            language: Language::Rust,
            toolchain: "rustc 1.95.0".into(),
            world: SKILL_WORLD.into(),
        };
        with_provenance(b"\0asm\x0d\x00\x01\x00", &provenance).unwrap()
    }

    fn p(path: &str) -> VolumePath {
        VolumePath::new(path).unwrap()
    }

    #[test]
    fn only_components_built_from_the_shipped_file_are_imported() {
        let wasm = p("skills/sq.wasm");
        let files = |component: Vec<u8>| {
            BTreeMap::from([
                (p("skills/sq.md"), SKILL.as_bytes().to_vec()),
                (wasm.clone(), component),
            ])
        };
        assert_eq!(check_component(&wasm, &files(built_from(SKILL))), Ok(()));
        let older = built_from(&SKILL.replace("x * x", "x"));
        let stale = check_component(&wasm, &files(older)).unwrap_err();
        assert!(stale.contains("another version"), "{stale}");
        let bare = check_component(&wasm, &files(b"\0asm\x0d\x00\x01\x00".to_vec()));
        assert_eq!(bare, Err("it records no provenance".to_owned()));
        let junk = check_component(&wasm, &files(b"junk".to_vec())).unwrap_err();
        assert!(junk.contains("not a WebAssembly file"), "{junk}");
        let alone = BTreeMap::from([(wasm.clone(), built_from(SKILL))]);
        assert_eq!(
            check_component(&wasm, &alone),
            Err("there is no skills/sq.md".to_owned())
        );
    }
}
