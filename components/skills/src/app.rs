//! What a request of this component works with: the caller, the volumes in
//! the database and the catalog over them, and the rules every route
//! shares (which volumes a caller sees and may write, who authors a
//! commit, how a write checks its precondition against the head it lands
//! on).

use llmos_core::ids::{PrincipalId, SkillId, VolumeId};
use llmos_guest::db::{Db, Migration};
use llmos_guest::{ApiError, ApiResult, Identity};
use llmos_store::catalog::{self, Catalog, FreshState, SkillLocation};
use llmos_store::object::{EntryKind, GitTime, ObjectId, Signature};
use llmos_store::volume::{At, CommitOutcome, CommitRequest, Volumes};
use llmos_store::{SqlStore, VolumePath};

use crate::body::Target;
use crate::errors;

/// The catalog's tables, applied with the other schemas on first use.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: catalog::MIGRATION_ID,
    statements: catalog::MIGRATIONS,
}];

/// Domain of the e-mail addresses of commit authors.
const AUTHOR_DOMAIN: &str = "users.llmos.local";

pub struct App<'d> {
    pub identity: Identity,
    pub db: &'d Db,
    pub volumes: Volumes<SqlStore<&'d Db>>,
}

impl<'d> App<'d> {
    pub fn new(db: &'d Db, identity: Identity) -> Self {
        Self {
            identity,
            db,
            volumes: Volumes::new(SqlStore::new(db)),
        }
    }

    pub fn catalog(&self) -> Catalog<'_, &'d Db> {
        Catalog::new(&self.volumes)
    }

    /// Brings the index of `volumes` up to date, logging files that fail
    /// to parse as they are found.
    pub fn fresh(&self, volumes: &[VolumeId]) -> ApiResult<()> {
        self.fresh_state(volumes).map(drop)
    }

    /// [`Self::fresh`], also saying which commit each volume's index
    /// reflects.
    ///
    /// The system volume is imported here when it has no head yet (the
    /// first request of a new database), so the hot reads need no check
    /// of their own.
    pub fn fresh_state(&self, volumes: &[VolumeId]) -> ApiResult<FreshState> {
        let mut state = self
            .catalog()
            .fresh_state(volumes)
            .map_err(errors::catalog)?;
        if volumes.contains(&VolumeId::System)
            && !state.heads.iter().any(|(v, _)| *v == VolumeId::System)
        {
            llmos_guest::system::ensure_imported(&self.volumes)?;
            state = self
                .catalog()
                .fresh_state(volumes)
                .map_err(errors::catalog)?;
        }
        for report in &state.reports {
            for problem in &report.problems {
                eprintln!(
                    "skills: {} is not a valid skill ({}): {}",
                    problem.path, problem.code, problem.message
                );
            }
        }
        Ok(state)
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
    pub fn principals(
        &self,
        user_id: Option<&str>,
        team_id: Option<&str>,
    ) -> ApiResult<(PrincipalId, Option<PrincipalId>)> {
        Ok((
            self.identity.act_as_user(user_id)?,
            self.identity.act_in_team(team_id)?,
        ))
    }

    /// The merged view of a request: the user's volume, the named team's
    /// (or every team of the token), the system volume.
    pub fn view(&self, user_id: Option<&str>, team_id: Option<&str>) -> ApiResult<Vec<VolumeId>> {
        let (user, team) = self.principals(user_id, team_id)?;
        Ok(self.identity.visible_volumes(&user, team.as_ref()))
    }

    /// A volume a request names: `system`, `teams/<id>`, `users/<id>`, or
    /// the short forms `user` and `team` (with `team_id`).
    pub fn named_volume(
        &self,
        text: &str,
        user: &PrincipalId,
        team: Option<&PrincipalId>,
    ) -> ApiResult<VolumeId> {
        match text {
            "user" => Ok(VolumeId::User(user.clone())),
            "team" => team.cloned().map(VolumeId::Team).ok_or_else(|| {
                ApiError::bad_request("missing-field", "volume `team` needs a `team_id`")
            }),
            other => other.parse().map_err(errors::bad_volume),
        }
    }

    /// A volume named for reading, which the caller must be allowed to read.
    pub fn readable(
        &self,
        text: &str,
        user_id: Option<&str>,
        team_id: Option<&str>,
    ) -> ApiResult<VolumeId> {
        let (user, team) = self.principals(user_id, team_id)?;
        let volume = self.named_volume(text, &user, team.as_ref())?;
        self.identity.require_read(&volume)?;
        Ok(volume)
    }

    /// Where a write goes: the named volume, else the user's own; the
    /// caller must be allowed to write it.
    pub fn writable(&self, target: &Target) -> ApiResult<VolumeId> {
        let (user, team) = self.principals(target.user_id.as_deref(), target.team_id.as_deref())?;
        let volume = match target.volume.as_deref() {
            None => VolumeId::User(user),
            Some(text) => self.named_volume(text, &user, team.as_ref())?,
        };
        self.identity.require_write(&volume)?;
        Ok(volume)
    }

    /// Whether anything is at `path` at commit `head`.
    pub fn exists(
        &self,
        volume: &VolumeId,
        head: Option<ObjectId>,
        path: &VolumePath,
    ) -> ApiResult<bool> {
        let Some(head) = head else {
            return Ok(false);
        };
        Ok(self
            .volumes
            .entry(volume, path, At::Commit(head))
            .map_err(errors::volume)?
            .is_some())
    }

    /// Where skill `id` is in `volume` at commit `at` (a file, else an
    /// Agent Skills directory, else a draft), looking at git itself.
    pub fn locate(
        &self,
        volume: &VolumeId,
        id: &SkillId,
        at: Option<ObjectId>,
    ) -> ApiResult<Option<(SkillLocation, VolumePath)>> {
        let Some(at) = at else {
            return Ok(None);
        };
        for location in SkillLocation::ALL {
            let path = location.path(id);
            let entry = self
                .volumes
                .entry(volume, &path, At::Commit(at))
                .map_err(errors::volume)?;
            if matches!(entry, Some((EntryKind::File, _))) {
                return Ok(Some((location, path)));
            }
        }
        Ok(None)
    }

    /// Commits what `build` makes of the current head, on exactly that
    /// head: `build` checks its precondition (exists, does not exist) and
    /// returns the request, and if another writer moves the head first, it
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

pub use llmos_guest::volumes::commit_id;
