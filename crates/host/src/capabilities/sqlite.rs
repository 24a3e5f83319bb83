//! `fermyon:spin/sqlite@2.0.0` on rusqlite.
//!
//! Semantics follow Spin: a component opens a database by label; a label not
//! listed in its `sqlite_databases` is `access-denied`, a listed label the
//! host does not know is `no-such-database`. Every guest connection is its own
//! SQLite connection, so one request's transaction never sees another's
//! uncommitted writes. Connections are pooled per database once their guest
//! handle is dropped outside a transaction, which keeps `open` cheap; one
//! whose connection-level state the guest changed (pragmas, attached or
//! temporary schemas) is closed instead, so every `open` still behaves like
//! a fresh connection.
//!
//! Databases are opened in WAL mode with a busy timeout, so several host
//! processes (a running `llmos up` and an `llmos token create`, say) can share
//! a file. A statement still running at the request deadline is interrupted.
//! `ATTACH` of files is refused, as in Spin, so a guest cannot reach files
//! outside its databases.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Resource;

use crate::runtime::bindings::spin::fermyon::spin::sqlite::{
    self, Error, QueryResult, RowResult, Value,
};
use crate::runtime::state::StoreState;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept per database.
const MAX_IDLE_CONNECTIONS: usize = 16;
/// Largest result a single statement may return to a guest.
const MAX_RESULT_BYTES: usize = 64 << 20;
/// Virtual-machine steps between deadline checks of a running statement.
const PROGRESS_STEPS: i32 = 10_000;
/// Guest connections one instance may hold at once.
pub const MAX_OPEN_CONNECTIONS: usize = 256;

/// Where a database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A file (created on first use).
    File(PathBuf),
    /// A private in-memory database per connection.
    Memory,
}

/// The databases the host knows, by label.
#[derive(Default)]
pub struct SqliteDatabases {
    databases: HashMap<String, Arc<DatabasePool>>,
}

impl SqliteDatabases {
    /// Databases for the given labels.
    pub fn new(locations: HashMap<String, DatabaseLocation>) -> Self {
        SqliteDatabases {
            databases: locations
                .into_iter()
                .map(|(label, location)| {
                    (
                        label,
                        Arc::new(DatabasePool {
                            location,
                            idle: Mutex::new(Vec::new()),
                        }),
                    )
                })
                .collect(),
        }
    }

    /// Whether the host knows `label`.
    pub fn contains(&self, label: &str) -> bool {
        self.databases.contains_key(label)
    }

    fn get(&self, label: &str) -> Option<Arc<DatabasePool>> {
        self.databases.get(label).cloned()
    }

    /// Opens a connection outside any guest (used by host commands and tests).
    pub fn connect(&self, label: &str) -> Option<rusqlite::Result<rusqlite::Connection>> {
        self.databases.get(label).map(|pool| pool.checkout())
    }
}

/// One database and its idle connections.
pub struct DatabasePool {
    location: DatabaseLocation,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl DatabasePool {
    fn checkout(&self) -> rusqlite::Result<rusqlite::Connection> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        open_connection(&self.location)
    }

    fn checkin(&self, conn: rusqlite::Connection) {
        // A connection left inside a transaction would leak that transaction
        // into the next guest; such connections are closed instead (SQLite
        // rolls the transaction back).
        if !conn.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_CONNECTIONS
        {
            idle.push(conn);
        }
    }
}

fn open_connection(location: &DatabaseLocation) -> rusqlite::Result<rusqlite::Connection> {
    let mut conn = match location {
        DatabaseLocation::File(path) => {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let conn = rusqlite::Connection::open(path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })?;
            // In WAL mode NORMAL survives process crashes; only an OS crash
            // may lose the latest commits.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn
        }
        DatabaseLocation::Memory => rusqlite::Connection::open_in_memory()?,
    };
    // Plans that do not depend on bound values. Without this SQLite plans
    // some statements around the values bound to them (a parameter in a
    // `LEFT JOIN`'s `ON` clause, an equality no index serves, a `LIMIT`,
    // a `LIKE` pattern) and compiles them again for every new binding, so
    // a cached statement would cost a full prepare on each run. Results
    // are the same either way.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
        use rusqlite::hooks::{AuthAction, Authorization};
        match ctx.action {
            AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }
    }))?;
    Ok(conn)
}

/// A guest's open connection (the `connection` resource).
pub struct SqliteConnection {
    pool: Arc<DatabasePool>,
    conn: Option<rusqlite::Connection>,
    /// Whether the guest changed connection-level state (pragmas, attached
    /// or temporary schemas) that a fresh connection would not have.
    tainted: bool,
}

impl Drop for SqliteConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.tainted
        {
            self.pool.checkin(conn);
        }
    }
}

/// Whether `statement` changes state that lives with the connection rather
/// than the database. Spin gives every `open` a new connection, so such a
/// connection must not be handed to another guest.
fn changes_connection_state(statement: &str) -> bool {
    let mut words = statement
        .split(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    match words.next().as_deref() {
        Some("PRAGMA" | "ATTACH" | "DETACH") => true,
        Some("CREATE") => matches!(words.next().as_deref(), Some("TEMP" | "TEMPORARY")),
        _ => false,
    }
}

impl sqlite::Host for StoreState {}

impl sqlite::HostConnection for StoreState {
    async fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, Error> {
        if !self.component.sqlite_databases.contains(&database) {
            return Err(Error::AccessDenied);
        }
        let pool = self
            .services
            .sqlite
            .get(&database)
            .ok_or(Error::NoSuchDatabase)?;
        if self.open_sqlite_connections >= MAX_OPEN_CONNECTIONS {
            return Err(Error::Io("too many connections opened".to_owned()));
        }
        let resource = self
            .table
            .push(SqliteConnection {
                pool,
                conn: None,
                tainted: false,
            })
            .map_err(|e| Error::Io(e.to_string()))?;
        self.open_sqlite_connections += 1;
        Ok(resource)
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let entry = self
            .table
            .get_mut(&connection)
            .map_err(|_| Error::InvalidConnection)?;
        let conn = match entry.conn.take() {
            Some(conn) => conn,
            None => entry.pool.checkout().map_err(io_error)?,
        };
        entry.tainted |= changes_connection_state(&statement);
        let deadline = self.deadline;
        let started = Instant::now();
        // A read-only statement first runs right here, within a small
        // budget of virtual-machine steps: most finish in microseconds,
        // and handing them to the blocking pool would cost more than the
        // statement. One that runs out of budget has changed nothing; it
        // is run again from the start on the blocking pool, like every
        // other statement, so a long query never holds up this thread.
        let mut conn = conn;
        let mut reprepared = 0;
        let (conn, result, reprepared) = match run_inline(
            &mut conn,
            &statement,
            &parameters,
            deadline,
            &mut reprepared,
        ) {
            Some(result) => (conn, result, reprepared),
            None => tokio::task::spawn_blocking(move || {
                let result =
                    run_statement(&mut conn, &statement, parameters, deadline, &mut reprepared);
                (conn, result, reprepared)
            })
            .await
            .map_err(|e| Error::Io(format!("statement did not complete: {e}")))?,
        };
        self.stats.record_sqlite(started.elapsed(), reprepared);
        if let Ok(entry) = self.table.get_mut(&connection) {
            entry.conn = Some(conn);
        }
        result
    }

    async fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        self.open_sqlite_connections = self.open_sqlite_connections.saturating_sub(1);
        Ok(())
    }
}

fn io_error(err: rusqlite::Error) -> Error {
    Error::Io(err.to_string())
}

/// Runs a read-only `statement` within [`INLINE_STEPS`] virtual-machine
/// steps: `Some` with its result (or error) when it finished, `None` when
/// it is not read-only or ran out of budget (it then changed nothing and
/// must be run again). `reprepared` counts SQLite's recompilations of the
/// statement ([`query`]).
fn run_inline(
    conn: &mut rusqlite::Connection,
    statement: &str,
    parameters: &[Value],
    deadline: Instant,
    reprepared: &mut u32,
) -> Option<Result<QueryResult, Error>> {
    let readonly = match conn.prepare_cached(statement) {
        Ok(prepared) => prepared.readonly(),
        // The blocking path reports the error.
        Err(_) => return None,
    };
    // SQLite counts transaction control as read-only, but a `BEGIN
    // IMMEDIATE` or a `COMMIT` may wait for another connection's lock.
    if !readonly || controls_transaction(statement) {
        return None;
    }
    let steps = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = steps.clone();
    let budget = INLINE_STEPS / INLINE_CHECK_STEPS;
    conn.progress_handler(
        INLINE_CHECK_STEPS as i32,
        Some(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 > budget
                || Instant::now() >= deadline
        }),
    )
    .ok()?;
    let result = query(
        conn,
        statement,
        parameters.iter().cloned().map(owned),
        reprepared,
    );
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    let over_budget = steps.load(std::sync::atomic::Ordering::Relaxed) > budget;
    match result {
        Err(_) if over_budget && Instant::now() < deadline => None,
        result => Some(result),
    }
}

/// Whether `statement` begins, ends or marks a transaction.
fn controls_transaction(statement: &str) -> bool {
    let first = statement
        .split(|c: char| c.is_whitespace() || c == ';')
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE"
    )
}

/// Virtual-machine steps a read-only statement may take on the request's
/// own thread (a few hundred microseconds) before it moves to the
/// blocking pool, checked every [`INLINE_CHECK_STEPS`].
const INLINE_STEPS: u32 = 200_000;
const INLINE_CHECK_STEPS: u32 = 5_000;

fn owned(value: Value) -> rusqlite::types::Value {
    match value {
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(r) => rusqlite::types::Value::Real(r),
        Value::Text(t) => rusqlite::types::Value::Text(t),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
        Value::Null => rusqlite::types::Value::Null,
    }
}

fn run_statement(
    conn: &mut rusqlite::Connection,
    statement: &str,
    parameters: Vec<Value>,
    deadline: Instant,
    reprepared: &mut u32,
) -> Result<QueryResult, Error> {
    conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline))
        .map_err(io_error)?;
    let result = query(
        conn,
        statement,
        parameters.into_iter().map(owned),
        reprepared,
    );
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    result
}

/// Runs `statement` with `params`, adding to `reprepared` the times SQLite
/// compiled it again: a cached statement is compiled again when the
/// schema changed since it was prepared (plans never depend on bound
/// values here, see [`open_connection`]).
fn query(
    conn: &rusqlite::Connection,
    statement: &str,
    params: impl Iterator<Item = rusqlite::types::Value>,
    reprepared: &mut u32,
) -> Result<QueryResult, Error> {
    let mut prepared = conn.prepare_cached(statement).map_err(io_error)?;
    let compiled = prepared.get_status(rusqlite::StatementStatus::RePrepare);
    let result = collect_rows(&mut prepared, params);
    let again = prepared.get_status(rusqlite::StatementStatus::RePrepare) - compiled;
    *reprepared += u32::try_from(again).unwrap_or(0);
    result
}

fn collect_rows(
    prepared: &mut rusqlite::CachedStatement<'_>,
    params: impl Iterator<Item = rusqlite::types::Value>,
) -> Result<QueryResult, Error> {
    let columns: Vec<String> = prepared.column_names().map(str::to_owned).collect();
    let column_count = columns.len();
    let mut rows = prepared
        .query(rusqlite::params_from_iter(params))
        .map_err(io_error)?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = rows.next().map_err(io_error)? {
        let mut values = Vec::with_capacity(column_count);
        for index in 0..column_count {
            let value = match row.get_ref(index).map_err(io_error)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                rusqlite::types::ValueRef::Real(r) => Value::Real(r),
                rusqlite::types::ValueRef::Text(t) => {
                    bytes += t.len();
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
                rusqlite::types::ValueRef::Blob(b) => {
                    bytes += b.len();
                    Value::Blob(b.to_vec())
                }
            };
            bytes += 16;
            values.push(value);
        }
        if bytes > MAX_RESULT_BYTES {
            return Err(Error::Io(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_keep_whatever_is_bound_and_recompile_on_schema_changes() {
        let mut conn = open_connection(&DatabaseLocation::Memory).expect("open");
        let far = Instant::now() + Duration::from_secs(60);
        let run = |conn: &mut rusqlite::Connection, sql: &str, value: Value| {
            let mut reprepared = 0;
            run_inline(conn, sql, &[value], far, &mut reprepared)
                .expect("inline")
                .expect("runs");
            reprepared
        };
        run_statement(
            &mut conn,
            "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, w TEXT)",
            vec![],
            far,
            &mut 0,
        )
        .expect("create");
        // Statements SQLite would otherwise plan around their bound
        // values: a plain key lookup, a bound value in a LEFT JOIN's ON
        // clause, an equality no index serves, a LIMIT.
        let statements = [
            ("SELECT v FROM t WHERE k = ?", "key"),
            ("SELECT t.v FROM (SELECT 1) LEFT JOIN t ON t.k = ?", "key"),
            ("SELECT v FROM t WHERE w = ? ORDER BY k", "key"),
            ("SELECT v FROM t LIMIT ?", "limit"),
        ];
        let value = |kind: &str, n: i64| match kind {
            "limit" => Value::Integer(n),
            _ => Value::Text(format!("k{n}")),
        };
        for (sql, kind) in statements {
            let counts: Vec<u32> = (0..3)
                .map(|n| run(&mut conn, sql, value(kind, n)))
                .collect();
            assert_eq!(counts, [0, 0, 0], "{sql}");
        }
        // A schema change makes every cached statement compile once more.
        run_statement(&mut conn, "CREATE TABLE u (x)", vec![], far, &mut 0).expect("create");
        let (sql, kind) = statements[0];
        assert_eq!(run(&mut conn, sql, value(kind, 4)), 1);
        assert_eq!(run(&mut conn, sql, value(kind, 5)), 0);
    }

    #[test]
    fn runs_statements_and_converts_values() {
        let mut conn = open_connection(&DatabaseLocation::Memory).expect("open");
        let far = Instant::now() + Duration::from_secs(60);
        run_statement(
            &mut conn,
            "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)",
            vec![],
            far,
            &mut 0,
        )
        .expect("create");
        let inserted = run_statement(
            &mut conn,
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            vec![
                Value::Integer(7),
                Value::Real(1.5),
                Value::Text("x".to_owned()),
                Value::Blob(vec![1, 2]),
                Value::Null,
            ],
            far,
            &mut 0,
        )
        .expect("insert");
        assert!(inserted.rows.is_empty());
        let result =
            run_statement(&mut conn, "SELECT * FROM t", vec![], far, &mut 0).expect("select");
        assert_eq!(result.columns, ["i", "r", "s", "b", "n"]);
        assert_eq!(result.rows.len(), 1);
        assert!(matches!(result.rows[0].values[0], Value::Integer(7)));
        assert!(matches!(result.rows[0].values[4], Value::Null));
    }

    #[test]
    fn runs_short_reads_inline_and_hands_long_ones_on() {
        let mut conn = open_connection(&DatabaseLocation::Memory).expect("open");
        let far = Instant::now() + Duration::from_secs(60);
        run_statement(&mut conn, "CREATE TABLE t (x)", vec![], far, &mut 0).expect("create");
        let short = run_inline(&mut conn, "SELECT 1 + ?", &[Value::Integer(2)], far, &mut 0)
            .expect("a short read runs inline")
            .expect("result");
        assert!(matches!(short.rows[0].values[0], Value::Integer(3)));
        assert!(
            run_inline(&mut conn, "INSERT INTO t VALUES (1)", &[], far, &mut 0).is_none(),
            "writes go to the blocking pool"
        );
        for control in ["BEGIN", "begin immediate", "COMMIT", "SAVEPOINT s", "END"] {
            assert!(
                run_inline(&mut conn, control, &[], far, &mut 0).is_none(),
                "{control}"
            );
        }
        let long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) \
                    SELECT count(*) FROM c";
        assert!(
            run_inline(&mut conn, long, &[], far, &mut 0).is_none(),
            "a long read runs out of budget"
        );
        let counted = run_statement(&mut conn, long, vec![], far, &mut 0).expect("on the pool");
        assert!(matches!(
            counted.rows[0].values[0],
            Value::Integer(1_000_000)
        ));
        assert!(
            run_inline(&mut conn, "SELECT * FROM missing", &[], far, &mut 0).is_none(),
            "a statement that does not prepare is reported by the blocking path"
        );
    }

    #[test]
    fn refuses_to_attach_files() {
        let mut conn = open_connection(&DatabaseLocation::Memory).expect("open");
        let far = Instant::now() + Duration::from_secs(60);
        let err = run_statement(
            &mut conn,
            "ATTACH DATABASE '/tmp/x.db' AS x",
            vec![],
            far,
            &mut 0,
        );
        assert!(err.is_err());
        run_statement(
            &mut conn,
            "ATTACH DATABASE ':memory:' AS m",
            vec![],
            far,
            &mut 0,
        )
        .expect("memory");
    }

    #[test]
    fn interrupts_statements_past_the_deadline() {
        let mut conn = open_connection(&DatabaseLocation::Memory).expect("open");
        let past = Instant::now();
        let err = run_statement(
            &mut conn,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            vec![],
            past,
            &mut 0,
        )
        .expect_err("interrupted");
        assert!(matches!(err, Error::Io(msg) if msg.contains("interrupt")));
    }

    #[test]
    fn recognises_statements_that_change_connection_state() {
        for tainting in [
            "PRAGMA foreign_keys = ON",
            "  pragma journal_mode",
            "ATTACH DATABASE ':memory:' AS m",
            "create temp table t (x)",
            "CREATE TEMPORARY VIEW v AS SELECT 1",
        ] {
            assert!(changes_connection_state(tainting), "{tainting}");
        }
        for plain in [
            "SELECT 1",
            "CREATE TABLE t (x)",
            "INSERT INTO pragma_log VALUES (1)",
            "BEGIN",
        ] {
            assert!(!changes_connection_state(plain), "{plain}");
        }
    }

    #[test]
    fn pools_only_connections_outside_transactions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = DatabasePool {
            location: DatabaseLocation::File(dir.path().join("db.sqlite")),
            idle: Mutex::new(Vec::new()),
        };
        let conn = pool.checkout().expect("checkout");
        conn.execute_batch("BEGIN; CREATE TABLE t (x);")
            .expect("begin");
        pool.checkin(conn);
        assert_eq!(pool.idle.lock().expect("lock").len(), 0);
        let conn = pool.checkout().expect("checkout");
        pool.checkin(conn);
        assert_eq!(pool.idle.lock().expect("lock").len(), 1);
    }
}
