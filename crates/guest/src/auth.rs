//! Identity: bearer tokens → user, teams and role, and the access rules of
//! API.md.
//!
//! Tokens are random 256-bit secrets. Only their SHA-256 digest is stored,
//! so a copy of the database reveals no usable token; a fast hash is enough
//! because the input has full entropy (no dictionary to try). The admin
//! token is the Spin variable `admin_token` and is never stored at all.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spin_sdk::http::Request;
use spin_sdk::sqlite::Value;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use llmos_core::ids::{PrincipalId, VolumeId};

use crate::db::{self, Db, Migration};
use crate::error::{ApiError, ApiResult};

/// Prefix of every issued token, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "llmos_";

/// The user id an admin token acts as when it names nobody else.
pub const ADMIN_USER: &str = "admin";

/// Schema of the token table.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "auth-001-tokens",
    statements: &["CREATE TABLE IF NOT EXISTS auth_tokens (
            token_id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            team_ids TEXT NOT NULL,
            role TEXT NOT NULL,
            label TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER
        )"],
}];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    fn parse(s: &str) -> ApiResult<Self> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(ApiError::bad_request(
                "invalid-role",
                format!("role must be `user` or `admin`, got `{s}`"),
            )),
        }
    }
}

/// Who is calling, as established from the bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Identity {
    #[schema(value_type = String, example = "alice")]
    pub user_id: PrincipalId,
    #[schema(value_type = Vec<String>)]
    pub team_ids: Vec<PrincipalId>,
    pub role: Role,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn in_team(&self, team: &PrincipalId) -> bool {
        self.team_ids.contains(team)
    }

    /// The user a request acts for: the token's user, or the `user_id` the
    /// request names, which must be the same unless the caller is an admin.
    pub fn act_as_user(&self, requested: Option<&str>) -> ApiResult<PrincipalId> {
        match requested {
            None => Ok(self.user_id.clone()),
            Some(raw) => {
                let user = PrincipalId::user(raw)?;
                if user == self.user_id || self.is_admin() {
                    Ok(user)
                } else {
                    Err(ApiError::forbidden(format!(
                        "this token belongs to `{}` and cannot act for user `{user}`",
                        self.user_id
                    )))
                }
            }
        }
    }

    /// The team a request names, which the caller must belong to (admins
    /// may name any team).
    pub fn act_in_team(&self, requested: Option<&str>) -> ApiResult<Option<PrincipalId>> {
        let Some(raw) = requested else {
            return Ok(None);
        };
        let team = PrincipalId::team(raw)?;
        if self.in_team(&team) || self.is_admin() {
            Ok(Some(team))
        } else {
            Err(ApiError::forbidden(format!(
                "user `{}` is not a member of team `{team}`",
                self.user_id
            )))
        }
    }

    /// Reading: the system volume is public to every caller; a team volume
    /// to its members; a user volume to its user; admins read everything.
    pub fn can_read(&self, volume: &VolumeId) -> bool {
        match volume {
            VolumeId::System => true,
            VolumeId::Team(team) => self.is_admin() || self.in_team(team),
            VolumeId::User(user) => self.is_admin() || *user == self.user_id,
        }
    }

    /// Writing: as reading, except that only admins write the system volume.
    pub fn can_write(&self, volume: &VolumeId) -> bool {
        match volume {
            VolumeId::System => self.is_admin(),
            _ => self.can_read(volume),
        }
    }

    pub fn require_read(&self, volume: &VolumeId) -> ApiResult<()> {
        if self.can_read(volume) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "user `{}` may not read volume `{volume}`",
                self.user_id
            )))
        }
    }

    pub fn require_write(&self, volume: &VolumeId) -> ApiResult<()> {
        if self.can_write(volume) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "user `{}` may not write volume `{volume}`",
                self.user_id
            )))
        }
    }

    pub fn require_admin(&self) -> ApiResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this requires an admin token"))
        }
    }

    /// The volumes whose skills make up this caller's merged view, most
    /// specific first: the user's, then each team's, then the system's.
    pub fn visible_volumes(&self, user: &PrincipalId, team: Option<&PrincipalId>) -> Vec<VolumeId> {
        let mut volumes = vec![VolumeId::User(user.clone())];
        match team {
            Some(team) => volumes.push(VolumeId::Team(team.clone())),
            None => volumes.extend(self.team_ids.iter().cloned().map(VolumeId::Team)),
        }
        volumes.push(VolumeId::System);
        volumes
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The stored form of a token: its SHA-256 digest in hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(digest(token))
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &Request) -> ApiResult<Option<String>> {
    let Some(value) = req.header("authorization") else {
        return Ok(None);
    };
    let value = value.as_str().ok_or_else(|| {
        ApiError::unauthorized(
            "invalid-token",
            "the Authorization header is not valid text",
        )
    })?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::unauthorized("invalid-token", "expected `Authorization: Bearer <token>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "invalid-token",
            "expected `Authorization: Bearer <token>`",
        ));
    }
    Ok(Some(token.trim().to_owned()))
}

/// The configured admin token, if any (the `admin_token` component variable).
fn admin_token() -> Option<String> {
    spin_sdk::variables::get("admin_token")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The bearer token of a request that needs one: a missing one is a 401.
pub fn required_token(req: &Request) -> ApiResult<String> {
    bearer_token(req)?.ok_or_else(|| {
        ApiError::unauthorized(
            "missing-token",
            "this route needs `Authorization: Bearer <token>`",
        )
    })
}

/// Resolves a token to its identity.
pub fn identify(token: &str, db: &Db) -> ApiResult<Identity> {
    let presented = digest(token);
    if let Some(identity) = admin_identity(&presented)? {
        return Ok(identity);
    }
    let rows = db.execute(
        "SELECT user_id, team_ids, role FROM auth_tokens
         WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        &[
            Value::Text(hex::encode(presented)),
            Value::Integer(crate::now_secs()),
        ],
    )?;
    match rows.rows.first() {
        Some(row) => stored_identity(&row.values),
        None => Err(invalid_token()),
    }
}

/// [`identify`] and the check that every migration in `ids` is applied,
/// in one statement: `None` when some is not (or the tables do not exist
/// yet), and then nothing was checked.
pub fn identify_migrated(token: &str, db: &Db, ids: &[&str]) -> ApiResult<Option<Identity>> {
    let presented = digest(token);
    // Two plain selects rather than a join of the token to a one-row
    // table: a bound value in a `LEFT JOIN`'s `ON` clause makes SQLite
    // plan the statement again for every token, unless the host asks it
    // for plans that do not depend on bound values.
    let sql = format!(
        "SELECT 0, count(*), NULL, NULL, NULL FROM schema_migrations WHERE id IN ({}) \
         UNION ALL \
         SELECT 1, NULL, user_id, team_ids, role FROM auth_tokens \
         WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        vec!["?"; ids.len()].join(", ")
    );
    let mut params: Vec<Value> = ids.iter().map(|id| Value::Text((*id).to_owned())).collect();
    params.push(Value::Text(hex::encode(presented)));
    params.push(Value::Integer(crate::now_secs()));
    let Ok(rows) = db.connection().execute(&sql, &params) else {
        return Ok(None);
    };
    let mut applied = None;
    let mut stored = None;
    for row in &rows.rows {
        match row.values.first() {
            Some(Value::Integer(0)) => applied = Some(db::integer(&row.values, 1)?),
            Some(Value::Integer(1)) => stored = Some(&row.values[2..]),
            _ => {}
        }
    }
    if applied.and_then(|n| usize::try_from(n).ok()) != Some(ids.len()) {
        return Ok(None);
    }
    match stored {
        Some(values) => stored_identity(values).map(Some),
        None => match admin_identity(&presented)? {
            Some(identity) => Ok(Some(identity)),
            None => Err(invalid_token()),
        },
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid-token", "the token is unknown, revoked or expired")
}

/// The admin's identity when `presented` is the admin token's digest
/// (compared in constant time).
fn admin_identity(presented: &[u8; 32]) -> ApiResult<Option<Identity>> {
    match admin_token() {
        Some(admin) if bool::from(presented.ct_eq(&digest(&admin))) => Ok(Some(Identity {
            user_id: PrincipalId::user(ADMIN_USER)?,
            team_ids: Vec::new(),
            role: Role::Admin,
        })),
        _ => Ok(None),
    }
}

/// The identity of a stored token: `user_id`, `team_ids` (JSON), `role`.
fn stored_identity(values: &[Value]) -> ApiResult<Identity> {
    let user_id = PrincipalId::user(&db::text(values, 0)?)
        .map_err(|err| ApiError::internal(format_args!("stored user id: {err}")))?;
    let team_ids: Vec<String> = serde_json::from_str(&db::text(values, 1)?)
        .map_err(|err| ApiError::internal(format_args!("stored team ids: {err}")))?;
    let team_ids = team_ids
        .iter()
        .map(|t| PrincipalId::team(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ApiError::internal(format_args!("stored team id: {err}")))?;
    let role = Role::parse(&db::text(values, 2)?)?;
    Ok(Identity {
        user_id,
        team_ids,
        role,
    })
}

/// What an admin asks for when issuing a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub user_id: String,
    #[serde(default)]
    pub team_ids: Vec<String>,
    /// `user` (the default) or `admin`.
    #[serde(default = "default_role")]
    #[schema(default = "user", pattern = "^(user|admin)$")]
    pub role: String,
    #[serde(default)]
    pub label: Option<String>,
    /// Lifetime in seconds; absent means the token does not expire.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

fn default_role() -> String {
    "user".into()
}

/// A token's public description (never the secret itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub token_id: String,
    pub user_id: String,
    pub team_ids: Vec<String>,
    pub role: Role,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// `201` of `POST /auth/tokens`: the secret, shown this once, and its
/// description.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// `200` of `GET /auth/tokens`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// `200` of `DELETE /auth/tokens/{token_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedToken {
    pub token_id: String,
    pub revoked: bool,
}

/// Longest label accepted on a token.
const MAX_LABEL: usize = 200;

/// Issues a token; returns the secret (shown once) and its description.
pub fn issue_token(db: &Db, request: NewToken) -> ApiResult<(String, TokenInfo)> {
    let user = PrincipalId::user(&request.user_id)?;
    let mut teams = Vec::new();
    for team in &request.team_ids {
        let team = PrincipalId::team(team)?;
        if !teams.contains(&team) {
            teams.push(team);
        }
    }
    let role = Role::parse(&request.role)?;
    if let Some(label) = &request.label
        && (label.chars().count() > MAX_LABEL || label.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "invalid-label",
            format!("label must be at most {MAX_LABEL} printable characters"),
        ));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|err| ApiError::internal(format_args!("random source: {err}")))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let hash = token_hash(&token);
    // The id is a prefix of the digest: stable, unique in practice, and
    // useless for authenticating.
    let token_id = hash[..16].to_owned();
    let now = crate::now_secs();
    let expires_at = request
        .expires_in
        .map(|secs| now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
    let team_strings: Vec<String> = teams.iter().map(|t| t.as_str().to_owned()).collect();
    db.execute(
        "INSERT INTO auth_tokens (token_id, token_hash, user_id, team_ids, role, label, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            Value::Text(token_id.clone()),
            Value::Text(hash),
            Value::Text(user.as_str().to_owned()),
            Value::Text(serde_json::to_string(&team_strings).expect("a list of strings serialises")),
            Value::Text(role.as_str().to_owned()),
            request.label.clone().map_or(Value::Null, Value::Text),
            Value::Integer(now),
            expires_at.map_or(Value::Null, Value::Integer),
        ],
    )?;
    Ok((
        token,
        TokenInfo {
            token_id,
            user_id: user.as_str().to_owned(),
            team_ids: team_strings,
            role,
            label: request.label,
            created_at: now,
            expires_at,
            revoked_at: None,
        },
    ))
}

/// Every issued token, newest first.
pub fn list_tokens(db: &Db) -> ApiResult<Vec<TokenInfo>> {
    let rows = db.execute(
        "SELECT token_id, user_id, team_ids, role, label, created_at, expires_at, revoked_at
         FROM auth_tokens ORDER BY created_at DESC, token_id",
        &[],
    )?;
    rows.rows
        .iter()
        .map(|row| {
            let v = &row.values;
            Ok(TokenInfo {
                token_id: db::text(v, 0)?,
                user_id: db::text(v, 1)?,
                team_ids: serde_json::from_str(&db::text(v, 2)?)
                    .map_err(|err| ApiError::internal(format_args!("stored team ids: {err}")))?,
                role: Role::parse(&db::text(v, 3)?)?,
                label: db::opt_text(v, 4)?,
                created_at: db::integer(v, 5)?,
                expires_at: db::opt_integer(v, 6)?,
                revoked_at: db::opt_integer(v, 7)?,
            })
        })
        .collect()
}

/// Revokes a token by id. Unknown ids are a 404.
pub fn revoke_token(db: &Db, token_id: &str) -> ApiResult<()> {
    let rows = db.execute(
        "UPDATE auth_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_id = ? RETURNING token_id",
        &[Value::Integer(crate::now_secs()), Value::Text(token_id.to_owned())],
    )?;
    if rows.rows.is_empty() {
        return Err(ApiError::not_found(
            "token-not-found",
            format!("no token with id `{token_id}`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, teams: &[&str], role: Role) -> Identity {
        Identity {
            user_id: PrincipalId::user(id).unwrap(),
            team_ids: teams
                .iter()
                .map(|t| PrincipalId::team(t).unwrap())
                .collect(),
            role,
        }
    }

    #[test]
    fn users_act_only_for_themselves() {
        let alice = user("alice", &["core"], Role::User);
        assert_eq!(alice.act_as_user(None).unwrap().as_str(), "alice");
        assert_eq!(alice.act_as_user(Some("alice")).unwrap().as_str(), "alice");
        assert_eq!(alice.act_as_user(Some("bob")).unwrap_err().status, 403);
        assert_eq!(alice.act_as_user(Some("../x")).unwrap_err().status, 400);
        let admin = user("admin", &[], Role::Admin);
        assert_eq!(admin.act_as_user(Some("bob")).unwrap().as_str(), "bob");
    }

    #[test]
    fn teams_must_be_joined() {
        let alice = user("alice", &["core"], Role::User);
        assert!(alice.act_in_team(Some("core")).unwrap().is_some());
        assert_eq!(alice.act_in_team(Some("other")).unwrap_err().status, 403);
        assert!(alice.act_in_team(None).unwrap().is_none());
    }

    #[test]
    fn volume_rules_follow_the_contract() {
        let alice = user("alice", &["core"], Role::User);
        let admin = user("admin", &[], Role::Admin);
        let own = VolumeId::user("alice").unwrap();
        let other = VolumeId::user("bob").unwrap();
        let team = VolumeId::team("core").unwrap();
        let foreign_team = VolumeId::team("x").unwrap();
        assert!(alice.can_write(&own) && alice.can_write(&team));
        assert!(!alice.can_read(&other) && !alice.can_read(&foreign_team));
        assert!(alice.can_read(&VolumeId::System) && !alice.can_write(&VolumeId::System));
        assert!(admin.can_write(&VolumeId::System) && admin.can_write(&other));
    }

    #[test]
    fn merged_view_is_user_then_teams_then_system() {
        let alice = user("alice", &["core", "ml"], Role::User);
        let me = alice.user_id.clone();
        let names: Vec<String> = alice
            .visible_volumes(&me, None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["users/alice", "teams/core", "teams/ml", "system"]);
        let core = PrincipalId::team("core").unwrap();
        assert_eq!(alice.visible_volumes(&me, Some(&core)).len(), 3);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
