//! Volume glue shared by the components that write to volumes: how store
//! errors become HTTP errors, the guarded commit every write goes through,
//! and the JSON of a commit in history responses.

use llmos_core::ids::{IdError, VolumeId};
use llmos_store::object::ObjectId;
use llmos_store::volume::{CommitOutcome, CommitRequest, RetryPolicy};
use llmos_store::{SqlExecutor, SqlStore, VolumeError, Volumes};

use crate::{ApiError, ApiResult};

/// Attempts of a guarded write before it gives up with 503: each lost
/// attempt means another writer's commit landed, so this bound is only
/// reached under extreme contention on one volume.
pub const WRITE_ATTEMPTS: u32 = 64;

/// Store errors as HTTP errors: missing things are 404, conflicts 409,
/// contention 503, bad paths 400, everything else 500.
pub fn volume_error(err: VolumeError) -> ApiError {
    match err {
        VolumeError::FileNotFound { .. } => ApiError::not_found("not-found", err.to_string()),
        VolumeError::CommitNotFound { .. } => {
            ApiError::not_found("commit-not-found", err.to_string())
        }
        VolumeError::BlobNotInVolume { .. } => {
            ApiError::not_found("blob-not-found", err.to_string())
        }
        VolumeError::IsADirectory { .. }
        | VolumeError::NotADirectory { .. }
        | VolumeError::ConflictingChanges { .. } => {
            ApiError::conflict("path-conflict", err.to_string())
        }
        VolumeError::Contention { .. } => ApiError::unavailable("volume-busy", err.to_string()),
        VolumeError::Path(_) => ApiError::bad_request("invalid-path", err.to_string()),
        VolumeError::MissingObject { .. } | VolumeError::Object { .. } | VolumeError::Store(_) => {
            ApiError::internal(err)
        }
    }
}

/// A volume name that is not `system`, `teams/<id>` or `users/<id>`.
pub fn bad_volume(err: IdError) -> ApiError {
    ApiError::bad_request("invalid-volume", err.to_string())
}

/// Commits what `build` makes of the current head, on exactly that head:
/// `build` checks its precondition (exists, does not exist) and returns the
/// request; if another writer moves the head first, it runs again on the
/// new one. So a precondition always holds for the commit that lands, and
/// concurrent writers lose nothing.
pub fn commit_guarded<E: SqlExecutor>(
    volumes: &Volumes<SqlStore<E>>,
    volume: &VolumeId,
    mut build: impl FnMut(Option<ObjectId>) -> ApiResult<CommitRequest>,
) -> ApiResult<CommitOutcome> {
    for attempt in 1..=WRITE_ATTEMPTS {
        let head = volumes.head(volume).map_err(volume_error)?;
        let request = build(head)?;
        if let Some(outcome) = volumes
            .commit_on(volume, head, request)
            .map_err(volume_error)?
        {
            return Ok(outcome);
        }
        let mut jitter = [0u8; 8];
        // Without randomness the pause still grows, only not spread.
        let _ = getrandom::fill(&mut jitter);
        RetryPolicy::sleep(attempt, u64::from_le_bytes(jitter));
    }
    Err(ApiError::unavailable(
        "volume-busy",
        format!("could not commit to {volume}: the head kept moving for {WRITE_ATTEMPTS} attempts"),
    ))
}

/// A commit as history responses show it.
pub fn commit_json(info: &llmos_store::CommitInfo) -> serde_json::Value {
    serde_json::json!({
        "commit": info.id.to_string(),
        "message": info.message,
        "author": info.author.name,
        "email": info.author.email,
        "timestamp": info.author.time.seconds,
    })
}

/// Parses a commit id named in a request field.
pub fn commit_id(field: &str, text: &str) -> ApiResult<ObjectId> {
    llmos_store::object::parse_id(text).map_err(|_| {
        ApiError::bad_request(
            "invalid-commit",
            format!(
                "`{field}` must be a 40-digit commit id, got `{}`",
                text.escape_default()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_errors_map_to_statuses() {
        let alice = VolumeId::user("alice").unwrap();
        let missing = VolumeError::FileNotFound {
            volume: alice.clone(),
            path: "skills/x.md".into(),
            commit: None,
        };
        assert_eq!(volume_error(missing).status, 404);
        let busy = VolumeError::Contention {
            volume: alice,
            attempts: 3,
        };
        assert_eq!(volume_error(busy).status, 503);
        assert_eq!(
            commit_id("commit", "zz").unwrap_err().code,
            "invalid-commit"
        );
    }
}
