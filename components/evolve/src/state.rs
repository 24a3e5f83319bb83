//! What evolution remembers per user, in the `evolve_patterns` table: every
//! pattern it drafted, by fingerprint, with the draft's skill id and state.
//!
//! | state | meaning |
//! |---|---|
//! | `draft` | the draft is in `skills/drafts/` and active |
//! | `retired` | the draft is there with `status: retired` |
//! | `rejected` | the draft was deleted: never drafted again |
//! | `accepted` | the draft was moved to `skills/<id>.md` by a person |
//!
//! Rows are never deleted, so a pattern is drafted at most once per user.

use llmos_core::evolve::{KnownPattern, Verification};
use llmos_core::trace::TraceKind;
use llmos_guest::Migration;
use llmos_store::{SqlError, SqlExecutor, SqlValue};

pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "evolve-001-patterns",
    statements: &["CREATE TABLE IF NOT EXISTS evolve_patterns (
            user_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            kind TEXT NOT NULL,
            features TEXT NOT NULL,
            skill_id TEXT NOT NULL,
            state TEXT NOT NULL,
            verification TEXT NOT NULL,
            drafted_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, fingerprint)
        )"],
}];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Draft,
    Retired,
    Rejected,
    Accepted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Retired => "retired",
            State::Rejected => "rejected",
            State::Accepted => "accepted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            State::Draft,
            State::Retired,
            State::Rejected,
            State::Accepted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether the draft file is expected in `skills/drafts/`.
    pub fn has_file(self) -> bool {
        matches!(self, State::Draft | State::Retired)
    }
}

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRecord {
    pub fingerprint: String,
    pub kind: TraceKind,
    pub features: Vec<String>,
    pub skill_id: String,
    pub state: State,
    pub verification: Verification,
    pub drafted_at: i64,
}

impl PatternRecord {
    pub fn known(&self) -> KnownPattern {
        KnownPattern {
            fingerprint: self.fingerprint.clone(),
            kind: self.kind,
            features: self.features.clone(),
            skill_id: self.state.has_file().then(|| self.skill_id.clone()),
            drafted_at: self.drafted_at,
        }
    }
}

fn corrupt(what: &str) -> SqlError {
    SqlError::new(
        "SELECT … FROM evolve_patterns",
        format!("corrupt row: {what}"),
    )
}

/// Every pattern recorded for `user`.
pub fn load<E: SqlExecutor>(db: &E, user: &str) -> Result<Vec<PatternRecord>, SqlError> {
    let rows = db.execute(
        "SELECT fingerprint, kind, features, skill_id, state, verification, drafted_at
         FROM evolve_patterns WHERE user_id = ? ORDER BY drafted_at, fingerprint",
        &[user.into()],
    )?;
    rows.rows
        .into_iter()
        .map(|row| {
            let text = |i: usize| {
                row.get(i)
                    .and_then(SqlValue::as_text)
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(&format!("column {i}")))
            };
            Ok(PatternRecord {
                fingerprint: text(0)?,
                kind: TraceKind::parse(&text(1)?).ok_or_else(|| corrupt("kind"))?,
                features: serde_json::from_str(&text(2)?).map_err(|_| corrupt("features"))?,
                skill_id: text(3)?,
                state: State::parse(&text(4)?).ok_or_else(|| corrupt("state"))?,
                verification: Verification::parse(&text(5)?)
                    .ok_or_else(|| corrupt("verification"))?,
                drafted_at: row
                    .get(6)
                    .and_then(SqlValue::as_integer)
                    .ok_or_else(|| corrupt("drafted_at"))?,
            })
        })
        .collect()
}

/// Records a newly drafted pattern (a pattern recorded already is kept).
pub fn insert<E: SqlExecutor>(
    db: &E,
    user: &str,
    record: &PatternRecord,
    now_ms: i64,
) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO evolve_patterns
           (user_id, fingerprint, kind, features, skill_id, state, verification, drafted_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id, fingerprint) DO NOTHING",
        &[
            user.into(),
            record.fingerprint.as_str().into(),
            record.kind.as_str().into(),
            serde_json::to_string(&record.features)
                .expect("strings serialise")
                .into(),
            record.skill_id.as_str().into(),
            record.state.as_str().into(),
            record.verification.as_str().into(),
            record.drafted_at.into(),
            now_ms.into(),
        ],
    )?;
    Ok(())
}

/// Changes the state of a recorded pattern.
pub fn set_state<E: SqlExecutor>(
    db: &E,
    user: &str,
    fingerprint: &str,
    state: State,
    now_ms: i64,
) -> Result<(), SqlError> {
    db.execute(
        "UPDATE evolve_patterns SET state = ?, updated_at = ? WHERE user_id = ? AND fingerprint = ?",
        &[
            state.as_str().into(),
            now_ms.into(),
            user.into(),
            fingerprint.into(),
        ],
    )?;
    Ok(())
}

/// Makes a retired pattern's draft active again from `now_ms`.
pub fn revive<E: SqlExecutor>(
    db: &E,
    user: &str,
    fingerprint: &str,
    now_ms: i64,
) -> Result<(), SqlError> {
    db.execute(
        "UPDATE evolve_patterns SET state = 'draft', drafted_at = ?, updated_at = ?
         WHERE user_id = ? AND fingerprint = ?",
        &[
            now_ms.into(),
            now_ms.into(),
            user.into(),
            fingerprint.into(),
        ],
    )?;
    Ok(())
}

/// Users that have traces, in order.
pub fn users_with_traces<E: SqlExecutor>(db: &E) -> Result<Vec<String>, SqlError> {
    let rows = db.execute(
        "SELECT DISTINCT user_id FROM trace_index ORDER BY user_id",
        &[],
    )?;
    Ok(rows
        .rows
        .into_iter()
        .filter_map(|r| r.first().and_then(SqlValue::as_text).map(str::to_owned))
        .collect())
}
