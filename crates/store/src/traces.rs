//! Traces: each one a JSON file committed to its user's volume (the
//! durable, versioned record) plus a row in `trace_index` (what listings
//! and the evolution pass scan, without reading git objects).
//!
//! The file is committed first and indexed second; a crash in between
//! leaves a trace in history that listings do not show yet, never an index
//! row pointing at nothing. Rows are keyed by trace id, so recording the
//! same trace twice is refused rather than duplicated.
//!
//! Listings page with an opaque cursor (the last row's time and id), newest
//! first; scans for evolution stream in batches in (user, time) order so
//! memory stays bounded however many traces there are.

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_core::trace::{Outcome, Trace, TraceKind};
use serde::Serialize;

use crate::object::{ObjectId, Signature, parse_id};
use crate::path::VolumePath;
use crate::sql::{SqlError, SqlExecutor, SqlValue};
use crate::store::{ObjectStore, RefStore};
use crate::volume::{At, CommitRequest, VolumeError, Volumes};

/// Idempotent DDL of the trace index.
pub const TRACE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS trace_index (
        trace_id TEXT PRIMARY KEY NOT NULL,
        user_id TEXT NOT NULL,
        team_id TEXT,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        task TEXT NOT NULL,
        skills TEXT NOT NULL,
        sequence TEXT NOT NULL,
        path TEXT NOT NULL,
        commit_id TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS trace_index_user_time
        ON trace_index (user_id, created_at DESC, trace_id DESC)",
    "CREATE INDEX IF NOT EXISTS trace_index_team_time
        ON trace_index (team_id, created_at DESC)",
    "CREATE INDEX IF NOT EXISTS trace_index_kind_time
        ON trace_index (kind, created_at DESC)",
];

/// The id under which components record that [`TRACE_MIGRATIONS`] ran.
pub const TRACE_MIGRATION_ID: &str = "trace-index-v1";

/// Largest page a listing returns.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum TraceStoreError {
    #[error("trace `{0}` is already recorded")]
    Duplicate(String),
    #[error("cursor `{0}` is not one this API returned")]
    BadCursor(String),
    #[error("trace index row is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Invalid(#[from] llmos_core::trace::TraceError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

/// The indexed part of a trace: everything but `details`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TraceRow {
    pub trace_id: String,
    pub user_id: String,
    pub team_id: Option<String>,
    pub kind: TraceKind,
    pub created_at: i64,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub task: String,
    pub skills_used: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sequence: Vec<String>,
    pub path: String,
    pub commit: String,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TracePage {
    pub traces: Vec<TraceRow>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// What a scan covers.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    pub user: Option<PrincipalId>,
    pub team: Option<PrincipalId>,
    pub kind: Option<TraceKind>,
    /// Only traces created at or after this time (ms).
    pub since: Option<i64>,
}

/// The trace index over an SQL executor.
pub struct TraceIndex<E> {
    db: E,
}

const COLUMNS: &str = "trace_id, user_id, team_id, kind, created_at, outcome, duration_ms, \
                       task, skills, sequence, path, commit_id";

impl<E: SqlExecutor> TraceIndex<E> {
    pub fn new(db: E) -> Self {
        TraceIndex { db }
    }

    /// Creates the index tables (idempotent).
    pub fn migrate(&self) -> Result<(), SqlError> {
        for statement in TRACE_MIGRATIONS {
            self.db.execute(statement, &[])?;
        }
        Ok(())
    }

    /// Commits `trace` to its user's volume and indexes it. Returns the
    /// commit and the path of the file.
    pub fn record<S: ObjectStore + RefStore>(
        &self,
        volumes: &Volumes<S>,
        trace: Trace,
        author: Signature,
    ) -> Result<(ObjectId, String), TraceStoreError> {
        let trace = trace.normalize()?;
        if self.get(&trace.trace_id)?.is_some() {
            return Err(TraceStoreError::Duplicate(trace.trace_id));
        }
        let path = trace.path();
        let volume = VolumeId::User(trace.user_id.clone());
        let mut body = serde_json::to_vec_pretty(&trace).expect("a trace serialises");
        body.push(b'\n');
        let request = CommitRequest::new(
            author,
            format!("Record {} trace {}", trace.kind, trace.trace_id),
        )
        .put(VolumePath::new(&path).map_err(VolumeError::from)?, body);
        let outcome = volumes.commit(&volume, request)?;
        self.index(&trace, &path, outcome.commit)?;
        Ok((outcome.commit, path))
    }

    /// Adds the index row of a trace already committed at `path` in
    /// `commit` (used by [`Self::record`] and to rebuild an index).
    pub fn index(
        &self,
        trace: &Trace,
        path: &str,
        commit: ObjectId,
    ) -> Result<(), TraceStoreError> {
        let json = |list: &Vec<String>| serde_json::to_string(list).expect("strings serialise");
        let inserted = self.db.execute(
            &format!(
                "INSERT INTO trace_index ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id"
            ),
            &[
                trace.trace_id.as_str().into(),
                trace.user_id.as_str().into(),
                trace.team_id.as_ref().map(|t| t.as_str().to_owned()).into(),
                trace.kind.as_str().into(),
                trace.created_at.into(),
                trace.outcome.as_str().into(),
                i64::try_from(trace.duration_ms).unwrap_or(i64::MAX).into(),
                trace.task.as_str().into(),
                json(&trace.skills_used).into(),
                json(&trace.sequence).into(),
                path.into(),
                commit.to_string().into(),
            ],
        )?;
        if inserted.rows.is_empty() {
            return Err(TraceStoreError::Duplicate(trace.trace_id.clone()));
        }
        Ok(())
    }

    /// The index row of one trace.
    pub fn get(&self, trace_id: &str) -> Result<Option<TraceRow>, TraceStoreError> {
        let rows = self.db.execute(
            &format!("SELECT {COLUMNS} FROM trace_index WHERE trace_id = ?"),
            &[trace_id.into()],
        )?;
        rows.rows.into_iter().next().map(row_from).transpose()
    }

    /// The whole trace, read from the user's volume.
    pub fn load<S: ObjectStore + RefStore>(
        &self,
        volumes: &Volumes<S>,
        row: &TraceRow,
    ) -> Result<Trace, TraceStoreError> {
        let volume =
            VolumeId::user(&row.user_id).map_err(|e| TraceStoreError::Corrupt(e.to_string()))?;
        let commit = parse_id(&row.commit).map_err(|e| TraceStoreError::Corrupt(e.to_string()))?;
        let path = VolumePath::new(&row.path).map_err(VolumeError::from)?;
        let file = volumes.read_file(&volume, &path, At::Commit(commit))?;
        serde_json::from_slice(&file.data)
            .map_err(|e| TraceStoreError::Corrupt(format!("{}: {e}", row.path)))
    }

    /// A user's traces, newest first, `limit` at a time.
    pub fn list(
        &self,
        user: &PrincipalId,
        kind: Option<TraceKind>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<TracePage, TraceStoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut sql = format!("SELECT {COLUMNS} FROM trace_index WHERE user_id = ?");
        let mut params: Vec<SqlValue> = vec![user.as_str().into()];
        if let Some(kind) = kind {
            sql.push_str(" AND kind = ?");
            params.push(kind.as_str().into());
        }
        if let Some(cursor) = cursor {
            let (time, id) = parse_cursor(cursor)?;
            sql.push_str(" AND (created_at < ? OR (created_at = ? AND trace_id < ?))");
            params.extend([time.into(), time.into(), id.into()]);
        }
        sql.push_str(" ORDER BY created_at DESC, trace_id DESC LIMIT ?");
        // One extra row tells whether another page follows.
        params.push(i64::try_from(limit + 1).unwrap_or(i64::MAX).into());
        let rows = self.db.execute(&sql, &params)?;
        let mut traces = rows
            .rows
            .into_iter()
            .map(row_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if traces.len() > limit {
            traces.truncate(limit);
            traces
                .last()
                .map(|t| format!("{}.{}", t.created_at, t.trace_id))
        } else {
            None
        };
        Ok(TracePage { traces, next })
    }

    /// Streams every trace matching `filter` to `visit`, in batches of
    /// `batch` rows ordered by (user, time, id), so at most one batch is in
    /// memory. `visit` returns false to stop early.
    pub fn scan(
        &self,
        filter: &TraceFilter,
        batch: usize,
        mut visit: impl FnMut(TraceRow) -> bool,
    ) -> Result<(), TraceStoreError> {
        let batch = batch.max(1);
        let mut after: Option<(String, i64, String)> = None;
        loop {
            let mut sql = format!("SELECT {COLUMNS} FROM trace_index WHERE 1 = 1");
            let mut params: Vec<SqlValue> = Vec::new();
            if let Some(user) = &filter.user {
                sql.push_str(" AND user_id = ?");
                params.push(user.as_str().into());
            }
            if let Some(team) = &filter.team {
                sql.push_str(" AND team_id = ?");
                params.push(team.as_str().into());
            }
            if let Some(kind) = filter.kind {
                sql.push_str(" AND kind = ?");
                params.push(kind.as_str().into());
            }
            if let Some(since) = filter.since {
                sql.push_str(" AND created_at >= ?");
                params.push(since.into());
            }
            if let Some((user, time, id)) = &after {
                sql.push_str(
                    " AND (user_id > ? OR (user_id = ? AND (created_at > ? OR (created_at = ? AND trace_id > ?))))",
                );
                params.extend([
                    user.as_str().into(),
                    user.as_str().into(),
                    (*time).into(),
                    (*time).into(),
                    id.as_str().into(),
                ]);
            }
            sql.push_str(" ORDER BY user_id, created_at, trace_id LIMIT ?");
            params.push(i64::try_from(batch).unwrap_or(i64::MAX).into());
            let rows = self.db.execute(&sql, &params)?;
            let count = rows.rows.len();
            for row in rows.rows {
                let row = row_from(row)?;
                after = Some((row.user_id.clone(), row.created_at, row.trace_id.clone()));
                if !visit(row) {
                    return Ok(());
                }
            }
            if count < batch {
                return Ok(());
            }
        }
    }
}

fn parse_cursor(cursor: &str) -> Result<(i64, String), TraceStoreError> {
    let bad = || TraceStoreError::BadCursor(cursor.escape_default().to_string());
    let (time, id) = cursor.split_once('.').ok_or_else(bad)?;
    let time = time.parse::<i64>().map_err(|_| bad())?;
    if !llmos_core::trace::is_trace_id(id) {
        return Err(bad());
    }
    Ok((time, id.to_owned()))
}

fn row_from(row: Vec<SqlValue>) -> Result<TraceRow, TraceStoreError> {
    let corrupt = |what: &str| TraceStoreError::Corrupt(what.to_owned());
    let text = |i: usize| -> Result<String, TraceStoreError> {
        row.get(i)
            .and_then(SqlValue::as_text)
            .map(str::to_owned)
            .ok_or_else(|| corrupt(&format!("column {i} is not text")))
    };
    let int = |i: usize| -> Result<i64, TraceStoreError> {
        row.get(i)
            .and_then(SqlValue::as_integer)
            .ok_or_else(|| corrupt(&format!("column {i} is not an integer")))
    };
    let list = |i: usize| -> Result<Vec<String>, TraceStoreError> {
        serde_json::from_str(&text(i)?).map_err(|e| corrupt(&format!("column {i}: {e}")))
    };
    Ok(TraceRow {
        trace_id: text(0)?,
        user_id: text(1)?,
        team_id: row.get(2).and_then(SqlValue::as_text).map(str::to_owned),
        kind: TraceKind::parse(&text(3)?).ok_or_else(|| corrupt("unknown kind"))?,
        created_at: int(4)?,
        outcome: Outcome::parse(&text(5)?).ok_or_else(|| corrupt("unknown outcome"))?,
        duration_ms: u64::try_from(int(6)?).unwrap_or(0),
        task: text(7)?,
        skills_used: list(8)?,
        sequence: list(9)?,
        path: text(10)?,
        commit: text(11)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::GitTime;
    use crate::sql::RusqliteExecutor;
    use crate::sql_store::SqlStore;
    use llmos_core::trace::new_trace_id;
    use serde_json::Map;
    use std::rc::Rc;

    fn setup() -> (
        TraceIndex<Rc<RusqliteExecutor>>,
        Volumes<SqlStore<Rc<RusqliteExecutor>>>,
    ) {
        let db = Rc::new(RusqliteExecutor::open_in_memory().unwrap());
        let store = SqlStore::open(db.clone()).unwrap();
        let index = TraceIndex::new(db);
        index.migrate().unwrap();
        (index, Volumes::new(store))
    }

    fn author() -> Signature {
        Signature::new(
            "alice",
            "alice@users.llmos.local",
            GitTime::utc(1_764_000_000),
        )
    }

    fn trace(user: &str, at: i64, n: u32, kind: TraceKind) -> Trace {
        Trace {
            trace_id: new_trace_id(at, n),
            kind,
            user_id: PrincipalId::user(user).unwrap(),
            team_id: Some(PrincipalId::team("core").unwrap()),
            created_at: at,
            task: format!("task {n}"),
            skills_used: vec!["python-coding".into()],
            sequence: vec![],
            outcome: Outcome::Success,
            error: None,
            duration_ms: 5,
            details: Map::from_iter([("model".to_owned(), "m".into())]),
        }
    }

    #[test]
    fn recorded_traces_are_committed_and_indexed() {
        let (index, volumes) = setup();
        let t = trace("alice", 1_764_000_000_000, 1, TraceKind::Chat);
        let (commit, path) = index.record(&volumes, t.clone(), author()).unwrap();
        let row = index.get(&t.trace_id).unwrap().unwrap();
        assert_eq!(
            (row.commit.as_str(), row.path.as_str()),
            (commit.to_string().as_str(), path.as_str())
        );
        assert_eq!(index.load(&volumes, &row).unwrap(), t);
        let head = volumes.head(&VolumeId::user("alice").unwrap()).unwrap();
        assert_eq!(head, Some(commit));
        assert!(matches!(
            index.record(&volumes, t, author()),
            Err(TraceStoreError::Duplicate(_))
        ));
    }

    #[test]
    fn listing_pages_newest_first_without_gaps() {
        let (index, volumes) = setup();
        for i in 0..7 {
            let t = trace("alice", 1_000_000 + i64::from(i / 2), i, TraceKind::Chat);
            index.record(&volumes, t, author()).unwrap();
        }
        index
            .record(&volumes, trace("bob", 5, 99, TraceKind::Chat), author())
            .unwrap();
        let alice = PrincipalId::user("alice").unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = index.list(&alice, None, 3, cursor.as_deref()).unwrap();
            seen.extend(page.traces.iter().map(|t| t.trace_id.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..7)
            .map(|i| new_trace_id(1_000_000 + i64::from(i / 2), i))
            .collect();
        expected.reverse();
        assert_eq!(seen, expected);
        assert!(matches!(
            index.list(&alice, None, 3, Some("nonsense")),
            Err(TraceStoreError::BadCursor(_))
        ));
    }

    #[test]
    fn scans_stream_in_batches_with_filters() {
        let (index, volumes) = setup();
        for (i, user) in ["carol", "alice", "bob", "alice"].iter().enumerate() {
            let n = u32::try_from(i).unwrap();
            let kind = if i % 2 == 0 {
                TraceKind::Chat
            } else {
                TraceKind::WorkflowRun
            };
            index
                .record(&volumes, trace(user, 10 + i64::from(n), n, kind), author())
                .unwrap();
        }
        let mut order = Vec::new();
        index
            .scan(&TraceFilter::default(), 1, |row| {
                order.push((row.user_id, row.created_at));
                true
            })
            .unwrap();
        assert_eq!(
            order,
            [
                ("alice".into(), 11),
                ("alice".into(), 13),
                ("bob".into(), 12),
                ("carol".into(), 10)
            ]
        );
        let mut runs = 0;
        let filter = TraceFilter {
            kind: Some(TraceKind::WorkflowRun),
            ..TraceFilter::default()
        };
        index
            .scan(&filter, 2, |_| {
                runs += 1;
                true
            })
            .unwrap();
        assert_eq!(runs, 2);
    }
}
