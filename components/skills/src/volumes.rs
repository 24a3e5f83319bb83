//! `/volumes/...`: statistics and history of whole volumes.

use llmos_core::ids::VolumeId;
use llmos_guest::ApiResult;
use llmos_guest::api::CommitEntry;
use llmos_guest::api::volumes::{VolumeHistory, VolumeStat, VolumeStats};
use llmos_guest::http::{self, Query};
use llmos_store::volume::HistoryQuery;
use spin_sdk::http::{Request, Response};

use crate::app::{App, commit_id};
use crate::errors;

/// Default and largest number of commits in a history page.
const HISTORY_PAGE: usize = 20;
const MAX_HISTORY_PAGE: usize = 1000;

/// `GET /volumes/stats?user_id&team_id`: skills, commits and last commit of
/// the user's volume, the team's (the named one, else the token's first
/// team, else `null`) and the system volume.
pub fn stats(app: &App, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let (user, team) = app.principals(q.get("user_id"), q.get("team_id"))?;
    let team = team.or_else(|| app.identity.team_ids.first().cloned());
    let user_volume = VolumeId::User(user);
    let team_volume = team.map(VolumeId::Team);
    let mut volumes = vec![user_volume.clone(), VolumeId::System];
    volumes.extend(team_volume.clone());
    app.fresh(&volumes)?;
    fn one<'v>(app: &App, volume: &'v VolumeId) -> ApiResult<VolumeStat<'v>> {
        let stats = app.volumes.stats(volume, None).map_err(errors::volume)?;
        let skills = app.catalog().count(volume).map_err(errors::catalog)?;
        Ok(VolumeStat {
            volume,
            skills,
            files: stats.files,
            commits: stats.commits,
            last_commit: stats.last_commit.as_ref().map(CommitEntry::of),
        })
    }
    http::ok(&VolumeStats {
        user: one(app, &user_volume)?,
        team: team_volume.as_ref().map(|v| one(app, v)).transpose()?,
        system: one(app, &VolumeId::System)?,
    })
}

/// `GET /volumes/history?volume=users/alice&limit=10&cursor=` (or
/// `?user_id&limit`): the volume's commits, newest first.
pub fn history(app: &App, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    let volume = match q.get("volume") {
        Some(volume) => app.readable(volume, user_id, team_id)?,
        None => VolumeId::User(app.identity.act_as_user(user_id)?),
    };
    let start = q
        .get("cursor")
        .map(|c| commit_id("cursor", c))
        .transpose()?;
    let page = app
        .volumes
        .history(
            &volume,
            &HistoryQuery {
                path: None,
                start,
                limit: q.get_usize("limit", HISTORY_PAGE, MAX_HISTORY_PAGE)?,
            },
        )
        .map_err(errors::volume)?;
    http::ok(&VolumeHistory {
        volume: &volume,
        commits: page
            .entries
            .iter()
            .map(|e| CommitEntry::of(&e.commit))
            .collect(),
        next: page.next.map(|c| c.to_string()),
    })
}
