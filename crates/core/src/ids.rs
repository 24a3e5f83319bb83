//! Identifiers that end up in paths, git refs and URLs: skill ids, user and
//! team ids, and volume ids. Every constructor validates, so a value of these
//! types is always safe to put into a path or a ref name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest identifier accepted (skill, user, team): long enough for
/// descriptive names, short enough to keep refs and paths readable.
pub const MAX_ID_LEN: usize = 64;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} `{value}` is longer than {max} characters", max = MAX_ID_LEN)]
    TooLong { kind: &'static str, value: String },
    #[error("{kind} `{value}` contains `{ch}` at position {pos}; allowed: {allowed}")]
    BadChar {
        kind: &'static str,
        value: String,
        ch: char,
        pos: usize,
        allowed: &'static str,
    },
    #[error("{kind} `{value}` must start with a letter or digit")]
    BadStart { kind: &'static str, value: String },
    #[error("{kind} `{value}` is not allowed: {reason}")]
    Reserved {
        kind: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("volume `{0}` is not `system`, `teams/<id>` or `users/<id>`")]
    BadVolume(String),
}

fn check(
    kind: &'static str,
    value: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.chars().count() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            value: value.to_owned(),
        });
    }
    for (pos, ch) in value.chars().enumerate() {
        if !ok(ch) {
            return Err(IdError::BadChar {
                kind,
                value: value.escape_default().to_string(),
                ch,
                pos,
                allowed,
            });
        }
    }
    let first = value.chars().next().expect("checked non-empty above");
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadStart {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// A skill identifier: `[a-z0-9][a-z0-9-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkillId(String);

impl SkillId {
    pub fn new(value: &str) -> Result<Self, IdError> {
        check(
            "skill id",
            value,
            "lowercase letters, digits and `-`",
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        )?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user or team identifier: ASCII letters, digits, `_`, `.` and `-`,
/// starting with a letter or digit, at most 64 characters, and never a
/// sequence git refuses in ref names (`..`, a trailing `.` or `.lock`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrincipalId(String);

impl PrincipalId {
    pub fn new(kind: &'static str, value: &str) -> Result<Self, IdError> {
        check(kind, value, "letters, digits, `_`, `.` and `-`", |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
        })?;
        let reserved = |reason| IdError::Reserved {
            kind,
            value: value.to_owned(),
            reason,
        };
        if value.contains("..") {
            return Err(reserved("`..` is not allowed"));
        }
        if value.ends_with('.') || value.ends_with(".lock") {
            return Err(reserved("it may not end with `.` or `.lock`"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn user(value: &str) -> Result<Self, IdError> {
        Self::new("user id", value)
    }

    pub fn team(value: &str) -> Result<Self, IdError> {
        Self::new("team id", value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A git-backed volume: the shared system volume, a team's or a user's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VolumeId {
    System,
    Team(PrincipalId),
    User(PrincipalId),
}

impl VolumeId {
    pub fn user(id: &str) -> Result<Self, IdError> {
        Ok(Self::User(PrincipalId::user(id)?))
    }

    pub fn team(id: &str) -> Result<Self, IdError> {
        Ok(Self::Team(PrincipalId::team(id)?))
    }

    /// Shadowing rank in the merged view: a user's skill hides a team's,
    /// which hides the system's.
    pub fn precedence(&self) -> u8 {
        match self {
            VolumeId::User(_) => 2,
            VolumeId::Team(_) => 1,
            VolumeId::System => 0,
        }
    }

    /// The kind of volume as API responses name it in short form.
    pub fn kind(&self) -> &'static str {
        match self {
            VolumeId::System => "system",
            VolumeId::Team(_) => "team",
            VolumeId::User(_) => "user",
        }
    }
}

impl fmt::Display for VolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeId::System => f.write_str("system"),
            VolumeId::Team(id) => write!(f, "teams/{}", id.as_str()),
            VolumeId::User(id) => write!(f, "users/{}", id.as_str()),
        }
    }
}

impl FromStr for VolumeId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "system" {
            return Ok(VolumeId::System);
        }
        match s.split_once('/') {
            Some(("teams", id)) => VolumeId::team(id),
            Some(("users", id)) => VolumeId::user(id),
            _ => Err(IdError::BadVolume(s.escape_default().to_string())),
        }
    }
}

impl Serialize for VolumeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VolumeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! string_serde {
    ($ty:ident, $ctor:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                $ctor(&s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_serde!(SkillId, SkillId::new);
string_serde!(PrincipalId, |s: &str| PrincipalId::new("id", s));

/// The schemas of the identifiers in the OpenAPI document: strings with
/// the pattern the constructors check. A pattern cannot say everything a
/// constructor refuses (a principal's `..` or `.lock`), so it admits a
/// little more, never less.
macro_rules! string_schema {
    ($ty:ident, $pattern:expr, $description:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}

string_schema!(
    SkillId,
    "^[a-z0-9][a-z0-9-]{0,63}$",
    "A skill id: lowercase letters, digits and `-`, starting with a letter or digit."
);
string_schema!(
    PrincipalId,
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "A user or team id: letters, digits, `_`, `.` and `-`, starting with a letter or \
     digit, never `..` nor a trailing `.` or `.lock`."
);
string_schema!(
    VolumeId,
    "^(system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$",
    "A volume: `system`, `teams/{team_id}` or `users/{user_id}`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_skill_ids() {
        for id in [
            "a",
            "python-coding",
            "quantum-vqe-node",
            "x1",
            &"a".repeat(64),
        ] {
            assert!(SkillId::new(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_unsafe_skill_ids() {
        let long = "a".repeat(65);
        for id in [
            "", "-a", "A", "a/b", "..", "a..b", "a b", "a\u{0}", "é", "a_b", &long,
        ] {
            assert!(SkillId::new(id).is_err(), "{id:?} should be refused");
        }
    }

    #[test]
    fn rejects_ref_breaking_principal_ids() {
        for id in ["", ".hidden", "a..b", "a.", "x.lock", "a/b", "a b", "a\n"] {
            assert!(PrincipalId::user(id).is_err(), "{id:?} should be refused");
        }
        for id in ["alice", "Bob_2", "team.eu-1"] {
            assert!(PrincipalId::user(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn volume_ids_round_trip_through_text() {
        for text in ["system", "teams/core", "users/alice"] {
            let v: VolumeId = text.parse().unwrap();
            assert_eq!(v.to_string(), text);
        }
        for bad in ["", "users/", "users/../x", "teams", "root", "users/a/b"] {
            assert!(bad.parse::<VolumeId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_volume_shadows_team_shadows_system() {
        let u = VolumeId::user("a").unwrap();
        let t = VolumeId::team("t").unwrap();
        assert!(u.precedence() > t.precedence());
        assert!(t.precedence() > VolumeId::System.precedence());
    }
}
