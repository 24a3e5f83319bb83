//! How store, catalog and skill errors become HTTP errors (API.md
//! "Errors"): missing things are 404, conflicts 409, invalid skill files
//! 422 with the parser's code, oversize files 413, everything else 500.

use llmos_core::skill::SkillError;
use llmos_guest::ApiError;
use llmos_store::CatalogError;

/// A skill file the parser refused: 413 when it is too large, else 422.
/// The code is [`SkillError::code`]; the message names file, line and field.
pub fn skill(err: &SkillError) -> ApiError {
    match err {
        SkillError::TooLarge { .. } => ApiError::new(413, err.code(), err.to_string()),
        _ => ApiError::new(422, err.code(), err.to_string()),
    }
}

pub use llmos_guest::volumes::volume_error as volume;

pub fn catalog(err: CatalogError) -> ApiError {
    match err {
        CatalogError::Volume(err) => volume(err),
        CatalogError::InvalidSkill { source, .. } => skill(&source),
        other => ApiError::internal(other),
    }
}

pub use llmos_guest::volumes::bad_volume;

#[cfg(test)]
mod tests {
    use super::*;

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
}
