//! The one database operation the store needs, in the shape of Spin's
//! `fermyon:spin/sqlite@2.0.0` interface.
//!
//! Spin gives a component `execute(statement, parameters) -> query-result`
//! where a query result is `{columns: list<string>, rows: list<row-result>}`
//! and every value is `integer(s64) | real(f64) | text(string) | blob(list<u8>)
//! | null`. [`SqlExecutor`] is exactly that call, so the store does not depend
//! on spin-sdk and runs the same against rusqlite in the native CLI and tests.
//!
//! An adapter for Spin (in the components' glue crate) maps values 1:1:
//! `SqlValue::Integer` ⇄ `Value::Integer`, `Real` ⇄ `Real`, `Text` ⇄ `Text`,
//! `Blob` ⇄ `Blob`, `Null` ⇄ `Null`, copies `columns` and each row's `values`
//! in order, and turns Spin's error into [`SqlError`] with its display text.
//! Nothing else: no statement rewriting, no implicit transactions.
//!
//! Statements are single SQLite statements with positional `?` parameters.
//! The store never relies on a "rows changed" count (Spin reports none); it
//! uses `RETURNING` (SQLite ≥ 3.35, libSQL) where it must know.

/// A value passed to or returned from a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl SqlValue {
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Blob bytes; text is accepted too, as SQLite may hand back either for
    /// a value stored through another client.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            SqlValue::Blob(b) => Some(b),
            SqlValue::Text(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            SqlValue::Blob(b) => Some(b),
            SqlValue::Text(s) => Some(s.into_bytes()),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// The result of a statement: column names and rows of values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl SqlRows {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A failed statement, with the database's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SQL statement failed: {message} (statement: {statement})")]
pub struct SqlError {
    pub message: String,
    /// The start of the statement, to tell which one failed.
    pub statement: String,
}

impl SqlError {
    pub fn new(statement: &str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            statement: statement.chars().take(80).collect(),
        }
    }
}

/// Runs one SQL statement with positional parameters and returns its rows.
///
/// `&self` because Spin's connection is used that way and rusqlite's is too;
/// an implementation is used from one thread at a time (each thread or
/// request opens its own connection).
pub trait SqlExecutor {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError>;

    /// [`Self::execute`] with parameters the caller gives up, so that an
    /// executor which must own its values (Spin's) can move large blobs
    /// instead of copying them. Same statement, same result.
    fn execute_owned(&self, statement: &str, params: Vec<SqlValue>) -> Result<SqlRows, SqlError> {
        self.execute(statement, &params)
    }
}

/// Forwards both calls, so a wrapper keeps its inner executor's
/// [`SqlExecutor::execute_owned`].
macro_rules! forward_executor {
    ($($wrapper:ty),*) => {$(
        impl<T: SqlExecutor + ?Sized> SqlExecutor for $wrapper {
            fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
                (**self).execute(statement, params)
            }

            fn execute_owned(
                &self,
                statement: &str,
                params: Vec<SqlValue>,
            ) -> Result<SqlRows, SqlError> {
                (**self).execute_owned(statement, params)
            }
        }
    )*};
}

forward_executor!(&T, Box<T>, std::rc::Rc<T>, std::sync::Arc<T>);

#[cfg(feature = "rusqlite")]
pub use self::rusqlite_executor::RusqliteExecutor;

#[cfg(feature = "rusqlite")]
mod rusqlite_executor {
    use std::path::Path;
    use std::time::Duration;

    use rusqlite::types::{ToSqlOutput, Value, ValueRef};

    use super::{SqlError, SqlExecutor, SqlRows, SqlValue};

    /// How long a statement waits for another connection's write lock before
    /// failing with "database is locked". Concurrent committers hold the lock
    /// for one short statement at a time, so this is a generous ceiling.
    const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

    /// [`SqlExecutor`] over a rusqlite connection: the native CLI's, the
    /// tests' and the benches' database access.
    pub struct RusqliteExecutor {
        conn: rusqlite::Connection,
    }

    impl RusqliteExecutor {
        /// Opens (or creates) a database file in WAL mode, as Spin's local
        /// SQLite does: readers never block the writer, and `synchronous =
        /// NORMAL` is durable across application crashes.
        pub fn open(path: impl AsRef<Path>) -> Result<Self, SqlError> {
            let path = path.as_ref();
            let conn = rusqlite::Connection::open(path)
                .map_err(|e| SqlError::new(&format!("open {}", path.display()), e.to_string()))?;
            conn.busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| SqlError::new("busy_timeout", e.to_string()))?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| SqlError::new("PRAGMA journal_mode = WAL", e.to_string()))?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| SqlError::new("PRAGMA synchronous = NORMAL", e.to_string()))?;
            Ok(Self { conn })
        }

        /// A private in-memory database (tests).
        pub fn open_in_memory() -> Result<Self, SqlError> {
            let conn = rusqlite::Connection::open_in_memory()
                .map_err(|e| SqlError::new("open :memory:", e.to_string()))?;
            Ok(Self { conn })
        }

        /// Wraps a connection the caller configured.
        pub fn from_connection(conn: rusqlite::Connection) -> Self {
            Self { conn }
        }

        pub fn connection(&self) -> &rusqlite::Connection {
            &self.conn
        }

        pub fn into_connection(self) -> rusqlite::Connection {
            self.conn
        }
    }

    fn to_sql(value: &SqlValue) -> ToSqlOutput<'_> {
        ToSqlOutput::Borrowed(match value {
            SqlValue::Integer(i) => ValueRef::Integer(*i),
            SqlValue::Real(r) => ValueRef::Real(*r),
            SqlValue::Text(s) => ValueRef::Text(s.as_bytes()),
            SqlValue::Blob(b) => ValueRef::Blob(b),
            SqlValue::Null => ValueRef::Null,
        })
    }

    fn from_sql(value: Value) -> SqlValue {
        match value {
            Value::Integer(i) => SqlValue::Integer(i),
            Value::Real(r) => SqlValue::Real(r),
            Value::Text(s) => SqlValue::Text(s),
            Value::Blob(b) => SqlValue::Blob(b),
            Value::Null => SqlValue::Null,
        }
    }

    impl SqlExecutor for RusqliteExecutor {
        fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
            let fail = |e: rusqlite::Error| SqlError::new(statement, e.to_string());
            let mut stmt = self.conn.prepare_cached(statement).map_err(fail)?;
            let columns: Vec<String> = stmt.column_names().map(String::from).collect();
            let width = columns.len();
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter().map(to_sql)))
                .map_err(fail)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(fail)? {
                let mut values = Vec::with_capacity(width);
                for i in 0..width {
                    values.push(from_sql(row.get::<_, Value>(i).map_err(fail)?));
                }
                out.push(values);
            }
            Ok(SqlRows { columns, rows: out })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn maps_every_value_kind_both_ways() {
            let db = RusqliteExecutor::open_in_memory().unwrap();
            let params = [
                SqlValue::Integer(-7),
                SqlValue::Real(1.5),
                SqlValue::Text("hé".into()),
                SqlValue::Blob(vec![0, 1, 255]),
                SqlValue::Null,
            ];
            let rows = db
                .execute("SELECT ? AS i, ? AS r, ? AS t, ? AS b, ? AS n", &params)
                .unwrap();
            assert_eq!(rows.columns, ["i", "r", "t", "b", "n"]);
            assert_eq!(rows.rows, vec![params.to_vec()]);
        }

        #[test]
        fn reports_the_failing_statement() {
            let db = RusqliteExecutor::open_in_memory().unwrap();
            let err = db.execute("SELEC nonsense", &[]).unwrap_err();
            assert!(err.statement.starts_with("SELEC"), "{err}");
        }
    }
}
