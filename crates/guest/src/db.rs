//! The app's SQLite database, opened through Spin's `fermyon:spin/sqlite`
//! interface, and its schema migrations.
//!
//! Spin offers no start-up hook and, in the cloud, no shell access to the
//! database, so each component brings the schema up to date on first use:
//! migrations are idempotent DDL recorded in `schema_migrations`, and a
//! request costs one indexed read once everything is applied.

use llmos_store::{SqlError, SqlExecutor, SqlRows, SqlValue};
use spin_sdk::sqlite::{Connection, QueryResult, Value};

use crate::error::{ApiError, ApiResult};

/// The git volume store's and the trace index's schemas, tracked like
/// every other migration.
pub const STORE_MIGRATIONS: &[Migration] = &[
    Migration {
        id: llmos_store::MIGRATION_ID,
        statements: llmos_store::MIGRATIONS,
    },
    Migration {
        id: llmos_store::TRACE_MIGRATION_ID,
        statements: llmos_store::TRACE_MIGRATIONS,
    },
];

/// One schema change: an id that never changes once shipped, and
/// statements that are safe to run twice (`IF NOT EXISTS`).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub id: &'static str,
    pub statements: &'static [&'static str],
}

/// An open connection to the `default` database.
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens the default database and applies `migrations` not yet applied.
    pub fn open(migrations: &[&[Migration]]) -> ApiResult<Self> {
        let db = Self::connect()?;
        db.migrate(migrations)?;
        Ok(db)
    }

    /// Opens the default database as it is, applying nothing.
    pub fn connect() -> ApiResult<Self> {
        let conn = Connection::open_default().map_err(|err| {
            ApiError::unavailable(
                "database-unavailable",
                format!("cannot open the database: {err}"),
            )
        })?;
        Ok(Db { conn })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs one statement.
    pub fn execute(&self, sql: &str, params: &[Value]) -> ApiResult<QueryResult> {
        self.conn
            .execute(sql, params)
            .map_err(|err| ApiError::internal(format_args!("sqlite: {err} in `{sql}`")))
    }

    /// Applies the migrations of `sets` not yet applied.
    pub fn migrate(&self, sets: &[&[Migration]]) -> ApiResult<()> {
        let applied = match self.conn.execute("SELECT id FROM schema_migrations", &[]) {
            Ok(rows) => rows
                .rows
                .iter()
                .filter_map(|r| match r.values.first() {
                    Some(Value::Text(id)) => Some(id.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            Err(_) => {
                self.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        id TEXT PRIMARY KEY,
                        applied_at INTEGER NOT NULL
                    )",
                    &[],
                )?;
                Vec::new()
            }
        };
        for migration in sets.iter().flat_map(|set| set.iter()) {
            if applied.iter().any(|id| id == migration.id) {
                continue;
            }
            for statement in migration.statements {
                self.execute(statement, &[])?;
            }
            self.execute(
                "INSERT OR IGNORE INTO schema_migrations (id, applied_at) VALUES (?, ?)",
                &[
                    Value::Text(migration.id.into()),
                    Value::Integer(crate::now_secs()),
                ],
            )?;
        }
        Ok(())
    }
}

fn to_spin(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(n) => Value::Integer(*n),
        SqlValue::Real(x) => Value::Real(*x),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn into_spin(value: SqlValue) -> Value {
    match value {
        SqlValue::Integer(n) => Value::Integer(n),
        SqlValue::Real(x) => Value::Real(x),
        SqlValue::Text(s) => Value::Text(s),
        SqlValue::Blob(b) => Value::Blob(b),
        SqlValue::Null => Value::Null,
    }
}

/// A value of Spin's interface as the store's.
pub fn from_spin(value: Value) -> SqlValue {
    match value {
        Value::Integer(n) => SqlValue::Integer(n),
        Value::Real(x) => SqlValue::Real(x),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

/// The store's one database call on Spin's interface: values map one to
/// one, nothing is rewritten.
impl SqlExecutor for Db {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
        let params: Vec<Value> = params.iter().map(to_spin).collect();
        self.run(statement, &params)
    }

    /// Moves the values into Spin's, so a large blob (a component) is not
    /// copied once more on its way out.
    fn execute_owned(&self, statement: &str, params: Vec<SqlValue>) -> Result<SqlRows, SqlError> {
        let params: Vec<Value> = params.into_iter().map(into_spin).collect();
        self.run(statement, &params)
    }
}

impl Db {
    fn run(&self, statement: &str, params: &[Value]) -> Result<SqlRows, SqlError> {
        let result = self
            .conn
            .execute(statement, params)
            .map_err(|err| SqlError::new(statement, err.to_string()))?;
        Ok(SqlRows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }
}

/// Reads a column of a row by position, with a useful error.
pub fn text(row: &[Value], index: usize) -> ApiResult<String> {
    match row.get(index) {
        Some(Value::Text(s)) => Ok(s.clone()),
        other => Err(ApiError::internal(format_args!(
            "expected text in column {index}, found {other:?}"
        ))),
    }
}

/// Reads an optional text column.
pub fn opt_text(row: &[Value], index: usize) -> ApiResult<Option<String>> {
    match row.get(index) {
        Some(Value::Text(s)) => Ok(Some(s.clone())),
        Some(Value::Null) => Ok(None),
        other => Err(ApiError::internal(format_args!(
            "expected text or null in column {index}, found {other:?}"
        ))),
    }
}

/// Reads an integer column.
pub fn integer(row: &[Value], index: usize) -> ApiResult<i64> {
    match row.get(index) {
        Some(Value::Integer(n)) => Ok(*n),
        other => Err(ApiError::internal(format_args!(
            "expected an integer in column {index}, found {other:?}"
        ))),
    }
}

/// Reads an optional integer column.
pub fn opt_integer(row: &[Value], index: usize) -> ApiResult<Option<i64>> {
    match row.get(index) {
        Some(Value::Integer(n)) => Ok(Some(*n)),
        Some(Value::Null) => Ok(None),
        other => Err(ApiError::internal(format_args!(
            "expected an integer or null in column {index}, found {other:?}"
        ))),
    }
}
