//! What a request of this component works with: the caller, the volumes
//! and the skill catalog over them, and the rules every route shares
//! (which volumes a caller sees and may write, who authors a commit, how a
//! write checks its precondition against the head it lands on).

use llmos_core::ids::{IdError, PrincipalId, VolumeId};
use llmos_guest::db::{Db, Migration};
use llmos_guest::{ApiError, ApiResult, Identity};
use llmos_store::catalog::{self, Catalog};
use llmos_store::object::{GitTime, ObjectId, Signature};
use llmos_store::volume::{CommitOutcome, CommitRequest, RetryPolicy, Volumes};
use llmos_store::{CatalogError, SqlStore, VolumeError};
use serde::Deserialize;

/// The skill catalog's tables: validation and pinning read skill
/// signatures from it.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: catalog::MIGRATION_ID,
    statements: catalog::MIGRATIONS,
}];

/// Attempts of a guarded write before it gives up with 503: each lost
/// attempt means another writer's commit landed first.
const WRITE_ATTEMPTS: u32 = 64;

/// Domain of the e-mail addresses of commit authors (as the skills
/// component writes them).
const AUTHOR_DOMAIN: &str = "users.llmos.local";

pub struct App<'d> {
    pub identity: Identity,
    pub volumes: Volumes<SqlStore<&'d Db>>,
    pub db: &'d Db,
}

/// Where a request acts: `user_id`, `team_id` and `volume` as it names
/// them (body fields, else query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub volume: Option<String>,
}

impl Target {
    /// The target a query string names.
    pub fn of_query(q: &llmos_guest::http::Query) -> Self {
        Target {
            user_id: q.get("user_id").map(str::to_owned),
            team_id: q.get("team_id").map(str::to_owned),
            volume: q.get("volume").map(str::to_owned),
        }
    }
}

impl<'d> App<'d> {
    pub fn new(db: &'d Db, identity: Identity) -> Self {
        Self {
            identity,
            volumes: Volumes::new(SqlStore::new(db)),
            db,
        }
    }

    pub fn catalog(&self) -> Catalog<'_, &'d Db> {
        Catalog::new(&self.volumes)
    }

    /// Brings the skill index of `volumes` up to date.
    pub fn fresh(&self, volumes: &[VolumeId]) -> ApiResult<()> {
        self.catalog()
            .ensure_fresh(volumes)
            .map_err(catalog_error)?;
        Ok(())
    }

    /// The caller as commit author: `<user> <user@users.llmos.local>`.
    pub fn author(&self) -> Signature {
        let user = self.identity.user_id.as_str();
        Signature::new(
            user,
            format!("{user}@{AUTHOR_DOMAIN}"),
            GitTime::utc(llmos_guest::now_secs()),
        )
    }

    /// The user and team a request names (checked against the token).
    pub fn principals(&self, target: &Target) -> ApiResult<(PrincipalId, Option<PrincipalId>)> {
        Ok((
            self.identity.act_as_user(target.user_id.as_deref())?,
            self.identity.act_in_team(target.team_id.as_deref())?,
        ))
    }

    /// The merged view of a request: the user's volume, the named team's
    /// (or every team of the token), the system volume.
    pub fn view(&self, target: &Target) -> ApiResult<Vec<VolumeId>> {
        let (user, team) = self.principals(target)?;
        Ok(self.identity.visible_volumes(&user, team.as_ref()))
    }

    /// The volume `target.volume` names (`system`, `teams/<id>`,
    /// `users/<id>`, or the short forms `user` and `team`), if any.
    pub fn named_volume(&self, target: &Target) -> ApiResult<Option<VolumeId>> {
        let Some(text) = target.volume.as_deref() else {
            return Ok(None);
        };
        let (user, team) = self.principals(target)?;
        let volume = match text {
            "user" => VolumeId::User(user),
            "team" => VolumeId::Team(team.ok_or_else(|| {
                ApiError::bad_request("missing-field", "volume `team` needs a `team_id`")
            })?),
            other => other.parse().map_err(bad_volume)?,
        };
        Ok(Some(volume))
    }

    /// Where a new workflow goes: the named volume, else the user's own;
    /// the caller must be allowed to write it.
    pub fn writable(&self, target: &Target) -> ApiResult<VolumeId> {
        let volume = match self.named_volume(target)? {
            Some(volume) => volume,
            None => VolumeId::User(self.principals(target)?.0),
        };
        self.identity.require_write(&volume)?;
        Ok(volume)
    }

    /// Commits what `build` makes of the current head, on exactly that
    /// head: `build` checks its precondition (exists, does not exist) and
    /// returns the request; if another writer moves the head first, it
    /// runs again on the new one. So a precondition always holds for the
    /// commit that lands, and concurrent writers lose nothing.
    pub fn commit_guarded(
        &self,
        volume: &VolumeId,
        mut build: impl FnMut(Option<ObjectId>) -> ApiResult<CommitRequest>,
    ) -> ApiResult<CommitOutcome> {
        for attempt in 1..=WRITE_ATTEMPTS {
            let head = self.volumes.head(volume).map_err(volume_error)?;
            let request = build(head)?;
            if let Some(outcome) = self
                .volumes
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
            format!(
                "could not commit to {volume}: the head kept moving for {WRITE_ATTEMPTS} attempts"
            ),
        ))
    }
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

/// Parses a commit id named in a request.
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

/// A volume name that is not `system`, `teams/<id>` or `users/<id>`.
pub fn bad_volume(err: IdError) -> ApiError {
    ApiError::bad_request("invalid-volume", err.to_string())
}

/// Store errors as HTTP errors: missing things are 404, conflicts 409,
/// contention 503, everything else 500.
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

pub fn catalog_error(err: CatalogError) -> ApiError {
    match err {
        CatalogError::Volume(err) => volume_error(err),
        other => ApiError::internal(other),
    }
}
