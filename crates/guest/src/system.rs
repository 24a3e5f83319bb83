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

use std::collections::BTreeMap;
use std::path::Path;

use llmos_core::ids::VolumeId;
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
        } else if name.ends_with(".md") {
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
    Ok(files)
}

fn read_error(path: &Path, err: std::io::Error) -> ApiError {
    ApiError::internal(format_args!("reading {}: {err}", path.display()))
}
