//! The bodies the components read and answer, as Rust types: each
//! component (de)serialises these, and the OpenAPI document (`llmos-api`)
//! derives its schemas from them, so the two cannot disagree.
//!
//! Types of one route group live in its module; the workflow engine's
//! types are in `llmos_core::workflow`, the trace types in
//! `llmos_core::trace` and `llmos_store::traces`, the token types in
//! [`crate::auth`].

pub mod chat;
pub mod evolve;
pub mod skills;
pub mod volumes;

use serde::Serialize;

/// A commit as history answers show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CommitEntry {
    /// The commit id (40 hex digits).
    pub commit: String,
    pub message: String,
    /// The author's name.
    pub author: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

impl CommitEntry {
    pub fn of(info: &llmos_store::CommitInfo) -> Self {
        CommitEntry {
            commit: info.id.to_string(),
            message: info.message.clone(),
            author: info.author.name.clone(),
            email: info.author.email.clone(),
            timestamp: info.author.time.seconds,
        }
    }
}
