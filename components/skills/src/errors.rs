//! How store, catalog and skill errors become HTTP errors (API.md
//! "Errors"): missing things are 404, conflicts 409, invalid skill files
//! 422 with the parser's code, oversize files 413, everything else 500.

use llmos_core::ids::IdError;
use llmos_core::skill::SkillError;
use llmos_guest::ApiError;
use llmos_store::{CatalogError, VolumeError};

/// A skill file the parser refused: 413 when it is too large, else 422.
/// The code is [`SkillError::code`]; the message names file, line and field.
pub fn skill(err: &SkillError) -> ApiError {
    match err {
        SkillError::TooLarge { .. } => ApiError::new(413, err.code(), err.to_string()),
        _ => ApiError::new(422, err.code(), err.to_string()),
    }
}

pub fn volume(err: VolumeError) -> ApiError {
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

pub fn catalog(err: CatalogError) -> ApiError {
    match err {
        CatalogError::Volume(err) => volume(err),
        CatalogError::InvalidSkill { source, .. } => skill(&source),
        other => ApiError::internal(other),
    }
}

/// A volume name that is not `system`, `teams/<id>` or `users/<id>`.
pub fn bad_volume(err: IdError) -> ApiError {
    ApiError::bad_request("invalid-volume", err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::ids::VolumeId;

    #[test]
    fn skill_errors_keep_the_parser_code() {
        let err = llmos_core::skill::parse(None, "no front matter").unwrap_err();
        let api = skill(&err);
        assert_eq!(
            (api.status, api.code.as_ref()),
            (422, "skill-missing-front-matter")
        );
        let big = "x".repeat(llmos_core::skill::MAX_SKILL_FILE_BYTES + 1);
        let api = skill(&llmos_core::skill::parse(None, &big).unwrap_err());
        assert_eq!((api.status, api.code.as_ref()), (413, "skill-too-large"));
    }

    #[test]
    fn volume_errors_map_to_statuses() {
        let alice = VolumeId::user("alice").unwrap();
        let missing = VolumeError::FileNotFound {
            volume: alice.clone(),
            path: "skills/x.md".into(),
            commit: None,
        };
        assert_eq!(volume(missing).status, 404);
        let busy = VolumeError::Contention {
            volume: alice,
            attempts: 3,
        };
        assert_eq!(volume(busy).status, 503);
    }
}
