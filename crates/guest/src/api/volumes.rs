//! `/volumes`: statistics and history of whole volumes.

use llmos_core::ids::VolumeId;
use serde::Serialize;

use super::CommitEntry;

/// One volume in `GET /volumes/stats`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VolumeStat<'a> {
    pub volume: &'a VolumeId,
    /// Readable skills in it.
    pub skills: u64,
    pub files: u64,
    pub commits: u64,
    pub last_commit: Option<CommitEntry>,
}

/// `GET /volumes/stats`: the user's volume, the team's (`null` without a
/// team) and the system volume.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VolumeStats<'a> {
    pub user: VolumeStat<'a>,
    pub team: Option<VolumeStat<'a>>,
    pub system: VolumeStat<'a>,
}

/// `GET /volumes/history`: the volume's commits, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VolumeHistory<'a> {
    pub volume: &'a VolumeId,
    pub commits: Vec<CommitEntry>,
    /// The `cursor` of the next page; `null` on the last.
    pub next: Option<String>,
}
