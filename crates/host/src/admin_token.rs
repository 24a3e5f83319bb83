//! The generated admin token, kept in `<data-dir>/admin_token`.
//!
//! When no provider sets the `admin_token` variable, the first start creates
//! a random token in a file only the owner can read (mode 0600) and later
//! starts reuse it, so tokens issued with it keep working across restarts.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The file name of the token inside the data dir.
pub const FILE_NAME: &str = "admin_token";

/// The token file of a data dir.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the token from `data_dir`, creating it first if absent.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<String> {
    let file = path(data_dir);
    if let Some(token) = read(&file)? {
        return Ok(token);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("while creating data dir {}", data_dir.display()))?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
    {
        Ok(mut handle) => {
            handle
                .write_all(token.as_bytes())
                .and_then(|()| handle.sync_all())
                .with_context(|| format!("while writing {}", file.display()))?;
            Ok(token)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&file)?.with_context(|| format!("{} exists but is empty", file.display()))
        }
        Err(e) => Err(e).with_context(|| format!("while creating {}", file.display())),
    }
}

fn read(file: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let token = text.trim().to_owned();
            Ok((!token.is_empty()).then_some(token))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("while reading {}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn creates_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let first = load_or_create(&data).expect("create");
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(path(&data))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_or_create(&data).expect("reuse");
        assert_eq!(first, second);
    }
}
