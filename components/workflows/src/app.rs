//! What a request of this component works with: the caller, the volumes
//! and the skill catalog over them, and the rules every route shares
//! (which volumes a caller sees and may write, who authors a commit, how a
//! write checks its precondition against the head it lands on).

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_guest::db::{Db, Migration};
use llmos_guest::{ApiError, ApiResult, Identity};
use llmos_store::catalog::{self, Catalog};
use llmos_store::object::{GitTime, ObjectId, Signature};
use llmos_store::volume::{CommitOutcome, CommitRequest, Volumes};
use llmos_store::{CatalogError, SqlStore};
use serde::Deserialize;

/// The skill catalog's tables: validation and pinning read skill
/// signatures from it.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: catalog::MIGRATION_ID,
    statements: catalog::MIGRATIONS,
}];

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
    /// The target a request body names.
    pub fn of_body(
        user_id: &Option<String>,
        team_id: &Option<String>,
        volume: &Option<String>,
    ) -> Self {
        Target {
            user_id: user_id.clone(),
            team_id: team_id.clone(),
            volume: volume.clone(),
        }
    }

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
        build: impl FnMut(Option<ObjectId>) -> ApiResult<CommitRequest>,
    ) -> ApiResult<CommitOutcome> {
        llmos_guest::volumes::commit_guarded(&self.volumes, volume, build)
    }
}

pub use llmos_guest::volumes::{bad_volume, commit_id, volume_error};

pub fn catalog_error(err: CatalogError) -> ApiError {
    match err {
        CatalogError::Volume(err) => volume_error(err),
        other => ApiError::internal(other),
    }
}
