//! [`ObjectStore`] and [`RefStore`] on SQLite through any [`SqlExecutor`].
//!
//! # Schema
//!
//! Tables are prefixed `git_` because they share Spin's `default` database
//! with the rest of the application.
//!
//! | table | key | columns | holds |
//! |---|---|---|---|
//! | `git_objects` | `id` | `kind`, `size`, `data` | every object once: 40-hex SHA-1 id, `blob`/`tree`/`commit`/`tag`, content length, content bytes (git's encoding without the loose header, uncompressed) |
//! | `git_volume_objects` | `(volume, id)` | — | which volume may name which object (membership, see [`crate::store`]) |
//! | `git_refs` | `(volume, name)` | `target`, `updated_at`, `message` | each volume's refs, with the time and reason of the last update |
//! | `git_reflog` | `seq` | `volume`, `name`, `old_target`, `new_target`, `at`, `message` | every ref change, for audit; filled by triggers on `git_refs` so it can never miss one |
//! | `git_schema` | `version` | — | the highest applied entry of [`MIGRATIONS`] |
//! | `git_packs` | `(volume, name)` | `objects`, `pack`, `idx`, `created_at`, `superseded_at` | packs of each volume's objects for dumb-HTTP clients ([`PackStore`]), named by checksum; `superseded_at` is set once a newer pack holds all of them |
//! | `git_pack_objects` | `(volume, id, pack)` | — | which object is in which pack |
//!
//! Writes go through the view `git_object_writes`: one multi-row `INSERT`
//! into it stores objects and their membership in a single statement, so a
//! commit costs few round trips (each `execute` is one host call in Spin and
//! one network request with libSQL/Turso) and each batch is atomic.
//!
//! A ref update is one conditional statement: `UPDATE … WHERE target =
//! expected RETURNING` (or `INSERT … ON CONFLICT DO NOTHING RETURNING` for a
//! new ref); a returned row means the swap happened. No multi-statement
//! transactions are needed: objects are written before the ref that makes
//! them reachable, exactly as git does, so a crash leaves at most unreachable
//! objects behind.

use llmos_core::ids::VolumeId;

use crate::object::{ObjectId, ObjectKind, RawObject, parse_id};
use crate::pack::BuiltPack;
use crate::sql::{SqlExecutor, SqlRows, SqlValue};
use crate::store::{
    ObjectStore, PackFile, PackInfo, PackStore, RefLogEntry, RefName, RefStore, RefUpdate,
    StoreError,
};

/// Schema version written to `git_schema` after [`MIGRATIONS`] ran.
pub const SCHEMA_VERSION: i64 = 2;

/// The name under which components record that [`MIGRATIONS`] of this
/// [`SCHEMA_VERSION`] ran (they track every crate's schema in one table);
/// changes together with `SCHEMA_VERSION`.
pub const MIGRATION_ID: &str = "git-store-v2";

/// Idempotent DDL creating the store's schema; run in order, one statement
/// per `execute`. New versions only append statements.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS git_objects (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('blob', 'tree', 'commit', 'tag')),
        size INTEGER NOT NULL,
        data BLOB NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS git_volume_objects (
        volume TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (volume, id)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS git_refs (
        volume TEXT NOT NULL,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (volume, name)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS git_reflog (
        seq INTEGER PRIMARY KEY,
        volume TEXT NOT NULL,
        name TEXT NOT NULL,
        old_target TEXT,
        new_target TEXT NOT NULL,
        at INTEGER NOT NULL,
        message TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS git_reflog_by_volume ON git_reflog (volume, seq)",
    "CREATE TRIGGER IF NOT EXISTS git_refs_log_insert AFTER INSERT ON git_refs
    BEGIN
        INSERT INTO git_reflog (volume, name, old_target, new_target, at, message)
        VALUES (NEW.volume, NEW.name, NULL, NEW.target, NEW.updated_at, NEW.message);
    END",
    "CREATE TRIGGER IF NOT EXISTS git_refs_log_update AFTER UPDATE ON git_refs
    BEGIN
        INSERT INTO git_reflog (volume, name, old_target, new_target, at, message)
        VALUES (NEW.volume, NEW.name, OLD.target, NEW.target, NEW.updated_at, NEW.message);
    END",
    "CREATE VIEW IF NOT EXISTS git_object_writes (volume, id, kind, size, data) AS
        SELECT m.volume, o.id, o.kind, o.size, o.data
        FROM git_objects o JOIN git_volume_objects m ON m.id = o.id",
    "CREATE TRIGGER IF NOT EXISTS git_object_writes_insert
    INSTEAD OF INSERT ON git_object_writes
    BEGIN
        INSERT OR IGNORE INTO git_objects (id, kind, size, data)
        VALUES (NEW.id, NEW.kind, NEW.size, NEW.data);
        INSERT OR IGNORE INTO git_volume_objects (volume, id) VALUES (NEW.volume, NEW.id);
    END",
    "CREATE TABLE IF NOT EXISTS git_schema (version INTEGER PRIMARY KEY NOT NULL)",
    // Version 2: packs for dumb-HTTP clients.
    "CREATE TABLE IF NOT EXISTS git_packs (
        volume TEXT NOT NULL,
        name TEXT NOT NULL,
        objects INTEGER NOT NULL,
        pack BLOB NOT NULL,
        idx BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        superseded_at INTEGER,
        PRIMARY KEY (volume, name)
    )",
    "CREATE TABLE IF NOT EXISTS git_pack_objects (
        volume TEXT NOT NULL,
        id TEXT NOT NULL,
        pack TEXT NOT NULL,
        PRIMARY KEY (volume, id, pack)
    ) WITHOUT ROWID",
];

/// Rows per multi-row `INSERT`: 5 parameters each stays far below SQLite's
/// 32766-parameter limit, and keeps one statement's payload moderate.
const WRITE_BATCH: usize = 64;

/// Ids per `IN (…)` list.
const LOOKUP_BATCH: usize = 256;

/// Runs [`MIGRATIONS`] unless `git_schema` already records
/// [`SCHEMA_VERSION`]; costs one query when the schema is current.
pub fn migrate(db: &impl SqlExecutor) -> Result<(), StoreError> {
    let current = db
        .execute("SELECT MAX(version) FROM git_schema", &[])
        .ok()
        .and_then(|rows| rows.rows.first()?.first()?.as_integer());
    if current.is_some_and(|v| v >= SCHEMA_VERSION) {
        return Ok(());
    }
    for statement in MIGRATIONS {
        db.execute(statement, &[])
            .map_err(StoreError::sql("creating the schema"))?;
    }
    db.execute(
        "INSERT OR IGNORE INTO git_schema (version) VALUES (?)",
        &[SCHEMA_VERSION.into()],
    )
    .map_err(StoreError::sql("recording the schema version"))?;
    Ok(())
}

/// The SQL implementation of the store traits.
pub struct SqlStore<E> {
    db: E,
}

impl<E: SqlExecutor> SqlStore<E> {
    /// Wraps an executor whose database already has the schema.
    pub fn new(db: E) -> Self {
        Self { db }
    }

    /// Wraps an executor and makes sure the schema exists ([`migrate`]).
    pub fn open(db: E) -> Result<Self, StoreError> {
        migrate(&db)?;
        Ok(Self { db })
    }

    pub fn executor(&self) -> &E {
        &self.db
    }

    fn run(
        &self,
        action: &'static str,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<SqlRows, StoreError> {
        self.db
            .execute(sql, params)
            .map_err(StoreError::sql(action))
    }
}

fn hex(id: &ObjectId) -> SqlValue {
    SqlValue::Text(id.to_string())
}

fn corrupt(table: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        message: message.into(),
    }
}

fn id_at(row: &[SqlValue], i: usize, table: &'static str) -> Result<ObjectId, StoreError> {
    let text = row
        .get(i)
        .and_then(SqlValue::as_text)
        .ok_or_else(|| corrupt(table, format!("column {i} is not an id")))?;
    parse_id(text).map_err(|e| corrupt(table, e.to_string()))
}

fn kind_at(row: &[SqlValue], i: usize) -> Result<ObjectKind, StoreError> {
    let text = row
        .get(i)
        .and_then(SqlValue::as_bytes)
        .ok_or_else(|| corrupt("git_objects", "kind is not text"))?;
    ObjectKind::from_bytes(text).map_err(|e| corrupt("git_objects", e.to_string()))
}

fn placeholders(rows: usize, per_row: usize) -> String {
    let row = format!("({})", vec!["?"; per_row].join(", "));
    vec![row; rows].join(", ")
}

impl<E: SqlExecutor> ObjectStore for SqlStore<E> {
    fn read_object(&self, id: &ObjectId) -> Result<Option<RawObject>, StoreError> {
        let rows = self.run(
            "reading an object",
            "SELECT kind, data FROM git_objects WHERE id = ?",
            &[hex(id)],
        )?;
        let Some(mut row) = rows.rows.into_iter().next() else {
            return Ok(None);
        };
        let kind = kind_at(&row, 0)?;
        let data = row
            .pop()
            .and_then(SqlValue::into_bytes)
            .ok_or_else(|| corrupt("git_objects", format!("data of {id} is not a blob")))?;
        Ok(Some(RawObject::from_stored(*id, kind, data)))
    }

    fn object_headers(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<Option<(ObjectKind, u64)>>, StoreError> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "SELECT id, kind, size FROM git_objects WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let params: Vec<SqlValue> = chunk.iter().map(hex).collect();
            for row in self.run("reading object sizes", &sql, &params)?.rows {
                let id = id_at(&row, 0, "git_objects")?;
                let kind = kind_at(&row, 1)?;
                let size = row
                    .get(2)
                    .and_then(SqlValue::as_integer)
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| corrupt("git_objects", format!("size of {id}")))?;
                found.insert(id, (kind, size));
            }
        }
        Ok(ids.iter().map(|id| found.get(id).copied()).collect())
    }

    fn write_objects(&self, volume: &VolumeId, objects: &[RawObject]) -> Result<(), StoreError> {
        self.write_rows(
            volume,
            objects
                .iter()
                .map(|o| (o.id(), o.kind(), o.data().to_vec())),
        )
    }

    fn write_objects_owned(
        &self,
        volume: &VolumeId,
        objects: Vec<RawObject>,
    ) -> Result<(), StoreError> {
        self.write_rows(
            volume,
            objects.into_iter().map(|o| {
                let (id, kind) = (o.id(), o.kind());
                (id, kind, o.into_data())
            }),
        )
    }

    fn add_to_volume(&self, volume: &VolumeId, ids: &[ObjectId]) -> Result<(), StoreError> {
        let volume = volume.to_string();
        for chunk in ids.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "INSERT OR IGNORE INTO git_volume_objects (volume, id) VALUES {}",
                placeholders(chunk.len(), 2)
            );
            let params: Vec<SqlValue> = chunk
                .iter()
                .flat_map(|id| [SqlValue::Text(volume.clone()), hex(id)])
                .collect();
            self.run("adding objects to a volume", &sql, &params)?;
        }
        Ok(())
    }

    fn in_volume(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
        let rows = self.run(
            "checking object membership",
            "SELECT 1 FROM git_volume_objects WHERE volume = ? AND id = ?",
            &[volume.to_string().into(), hex(id)],
        )?;
        Ok(!rows.is_empty())
    }

    fn scan_objects(
        &self,
        after: Option<&ObjectId>,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        let limit = SqlValue::Integer(limit.try_into().unwrap_or(i64::MAX));
        let rows = match after {
            Some(after) => self.run(
                "scanning objects",
                "SELECT id, kind, data FROM git_objects WHERE id > ? ORDER BY id LIMIT ?",
                &[hex(after), limit],
            )?,
            None => self.run(
                "scanning objects",
                "SELECT id, kind, data FROM git_objects ORDER BY id LIMIT ?",
                &[limit],
            )?,
        };
        Self::objects_from_rows(rows)
    }

    fn read_objects(&self, ids: &[ObjectId]) -> Result<Vec<RawObject>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "SELECT id, kind, data FROM git_objects WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let params: Vec<SqlValue> = chunk.iter().map(hex).collect();
            found.extend(Self::objects_from_rows(self.run(
                "reading objects",
                &sql,
                &params,
            )?)?);
        }
        Ok(found)
    }

    fn first_parent_chain(
        &self,
        start: &ObjectId,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Git writes a commit as `tree <40 hex>\n` (46 bytes), then its
        // parents as `parent <40 hex>\n`: the first parent's id is always at
        // bytes 54..93 (1-based) when bytes 47..53 read `parent `.
        let rows = self.run(
            "walking first parents",
            "WITH RECURSIVE chain (id, depth) AS (
                 SELECT ?, 1
                 UNION ALL
                 SELECT CAST(substr(o.data, 54, 40) AS TEXT), chain.depth + 1
                 FROM chain JOIN git_objects o ON o.id = chain.id
                 WHERE chain.depth < ? AND o.kind = 'commit'
                   AND CAST(substr(o.data, 47, 7) AS TEXT) = 'parent '
             )
             SELECT o.id, o.kind, o.data FROM chain
             JOIN git_objects o ON o.id = chain.id
             ORDER BY chain.depth",
            &[
                hex(start),
                SqlValue::Integer(limit.try_into().unwrap_or(i64::MAX)),
            ],
        )?;
        let objects = Self::objects_from_rows(rows)?;
        // Keep the chain's guarantees exactly: commits only, stop at the
        // first object that is not one.
        Ok(objects
            .into_iter()
            .take_while(|o| o.kind() == ObjectKind::Commit)
            .collect())
    }
}

impl<E: SqlExecutor> SqlStore<E> {
    /// Writes `(id, kind, content)` rows and their membership of `volume`,
    /// [`WRITE_BATCH`] per statement, moving each content into its
    /// statement.
    fn write_rows(
        &self,
        volume: &VolumeId,
        objects: impl Iterator<Item = (ObjectId, ObjectKind, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let volume = volume.to_string();
        let mut objects = objects.peekable();
        while objects.peek().is_some() {
            let mut params = Vec::with_capacity(WRITE_BATCH * 5);
            let mut rows = 0;
            for (id, kind, data) in objects.by_ref().take(WRITE_BATCH) {
                params.push(SqlValue::Text(volume.clone()));
                params.push(hex(&id));
                params.push(SqlValue::Text(
                    String::from_utf8_lossy(kind.as_bytes()).into_owned(),
                ));
                params.push(SqlValue::Integer(data.len() as i64));
                params.push(SqlValue::Blob(data));
                rows += 1;
            }
            let sql = format!(
                "INSERT INTO git_object_writes (volume, id, kind, size, data) VALUES {}",
                placeholders(rows, 5)
            );
            self.db
                .execute_owned(&sql, params)
                .map_err(StoreError::sql("writing objects"))?;
        }
        Ok(())
    }

    fn objects_from_rows(rows: SqlRows) -> Result<Vec<RawObject>, StoreError> {
        rows.rows
            .into_iter()
            .map(|mut row| {
                let id = id_at(&row, 0, "git_objects")?;
                let kind = kind_at(&row, 1)?;
                let data = row
                    .pop()
                    .and_then(SqlValue::into_bytes)
                    .ok_or_else(|| corrupt("git_objects", format!("data of {id} is not a blob")))?;
                Ok(RawObject::from_stored(id, kind, data))
            })
            .collect()
    }
}

/// The condition "member `m` is in a current pack of its volume".
const PACKED: &str = "EXISTS (SELECT 1 FROM git_pack_objects p \
    JOIN git_packs k ON k.volume = p.volume AND k.name = p.pack \
    WHERE p.volume = m.volume AND p.id = m.id AND k.superseded_at IS NULL)";

impl<E: SqlExecutor> PackStore for SqlStore<E> {
    fn packs(&self, volume: &VolumeId) -> Result<Vec<PackInfo>, StoreError> {
        let rows = self.run(
            "listing packs",
            "SELECT name, objects, created_at FROM git_packs \
             WHERE volume = ? AND superseded_at IS NULL ORDER BY created_at, name",
            &[volume.to_string().into()],
        )?;
        rows.rows
            .iter()
            .map(|row| {
                let number = |i: usize| row.get(i).and_then(SqlValue::as_integer).unwrap_or(0);
                Ok(PackInfo {
                    name: id_at(row, 0, "git_packs")?,
                    objects: u64::try_from(number(1)).unwrap_or(0),
                    created_at: number(2),
                })
            })
            .collect()
    }

    fn pack_file(
        &self,
        volume: &VolumeId,
        name: &ObjectId,
        file: PackFile,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let column = match file {
            PackFile::Pack => "pack",
            PackFile::Index => "idx",
        };
        let rows = self.run(
            "reading a pack",
            &format!("SELECT {column} FROM git_packs WHERE volume = ? AND name = ?"),
            &[volume.to_string().into(), hex(name)],
        )?;
        match rows
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
        {
            None => Ok(None),
            Some(SqlValue::Blob(bytes)) => Ok(Some(bytes)),
            Some(other) => Err(corrupt("git_packs", format!("{column} is {other:?}"))),
        }
    }

    fn is_packed(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
        let rows = self.run(
            "checking whether an object is packed",
            &format!(
                "SELECT 1 FROM git_volume_objects m WHERE m.volume = ? AND m.id = ? AND {PACKED}"
            ),
            &[volume.to_string().into(), hex(id)],
        )?;
        Ok(!rows.is_empty())
    }

    fn unpacked_count(&self, volume: &VolumeId) -> Result<u64, StoreError> {
        let rows = self.run(
            "counting unpacked objects",
            &format!(
                "SELECT COUNT(*) FROM git_volume_objects m WHERE m.volume = ? AND NOT {PACKED}"
            ),
            &[volume.to_string().into()],
        )?;
        Ok(rows
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_integer)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    fn volume_objects(
        &self,
        volume: &VolumeId,
        unpacked_only: bool,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        let filter = if unpacked_only {
            format!("AND NOT {PACKED}")
        } else {
            String::new()
        };
        let rows = self.run(
            "reading a volume's objects",
            &format!(
                "SELECT o.id, o.kind, o.data FROM git_volume_objects m \
                 JOIN git_objects o ON o.id = m.id \
                 WHERE m.volume = ? {filter} ORDER BY m.id LIMIT ?"
            ),
            &[
                volume.to_string().into(),
                SqlValue::Integer(limit.try_into().unwrap_or(i64::MAX)),
            ],
        )?;
        Self::objects_from_rows(rows)
    }

    fn add_pack(
        &self,
        volume: &VolumeId,
        pack: &BuiltPack,
        now: i64,
        supersede: &[ObjectId],
        drop_before: i64,
    ) -> Result<(), StoreError> {
        let name = volume.to_string();
        // Membership rows first: an object counts as packed only once the
        // pack's own row exists, and then all of its rows do.
        for chunk in pack.ids.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "INSERT OR IGNORE INTO git_pack_objects (volume, id, pack) VALUES {}",
                placeholders(chunk.len(), 3)
            );
            let params: Vec<SqlValue> = chunk
                .iter()
                .flat_map(|id| [name.as_str().into(), hex(id), hex(&pack.name)])
                .collect();
            self.run("recording packed objects", &sql, &params)?;
        }
        self.run(
            "storing a pack",
            "INSERT OR IGNORE INTO git_packs \
             (volume, name, objects, pack, idx, created_at, superseded_at) \
             VALUES (?, ?, ?, ?, ?, ?, NULL)",
            &[
                name.as_str().into(),
                hex(&pack.name),
                SqlValue::Integer(pack.ids.len() as i64),
                SqlValue::Blob(pack.pack.clone()),
                SqlValue::Blob(pack.index.clone()),
                now.into(),
            ],
        )?;
        let supersede: Vec<&ObjectId> = supersede.iter().filter(|n| **n != pack.name).collect();
        for chunk in supersede.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "UPDATE git_packs SET superseded_at = ? \
                 WHERE volume = ? AND superseded_at IS NULL AND name IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut params: Vec<SqlValue> = vec![now.into(), name.as_str().into()];
            params.extend(chunk.iter().map(|id| hex(id)));
            self.run("superseding packs", &sql, &params)?;
        }
        self.run(
            "dropping old packs' objects",
            "DELETE FROM git_pack_objects WHERE volume = ? AND pack IN \
             (SELECT name FROM git_packs WHERE volume = ? AND superseded_at < ?)",
            &[
                name.as_str().into(),
                name.as_str().into(),
                drop_before.into(),
            ],
        )?;
        self.run(
            "dropping old packs",
            "DELETE FROM git_packs WHERE volume = ? AND superseded_at < ?",
            &[name.as_str().into(), drop_before.into()],
        )?;
        Ok(())
    }
}

impl<E: SqlExecutor> RefStore for SqlStore<E> {
    fn read_ref(&self, volume: &VolumeId, name: &RefName) -> Result<Option<ObjectId>, StoreError> {
        let rows = self.run(
            "reading a ref",
            "SELECT target FROM git_refs WHERE volume = ? AND name = ?",
            &[volume.to_string().into(), name.as_str().into()],
        )?;
        rows.rows
            .first()
            .map(|row| id_at(row, 0, "git_refs"))
            .transpose()
    }

    fn compare_and_swap_ref(&self, update: &RefUpdate<'_>) -> Result<bool, StoreError> {
        let volume = SqlValue::Text(update.volume.to_string());
        let name = SqlValue::Text(update.name.as_str().to_owned());
        let rows = match update.expected {
            Some(expected) => self.run(
                "updating a ref",
                "UPDATE git_refs SET target = ?, updated_at = ?, message = ?
                 WHERE volume = ? AND name = ? AND target = ? RETURNING target",
                &[
                    hex(&update.new),
                    update.at.into(),
                    update.message.into(),
                    volume,
                    name,
                    hex(&expected),
                ],
            )?,
            None => self.run(
                "creating a ref",
                "INSERT INTO git_refs (volume, name, target, updated_at, message)
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (volume, name) DO NOTHING RETURNING target",
                &[
                    volume,
                    name,
                    hex(&update.new),
                    update.at.into(),
                    update.message.into(),
                ],
            )?,
        };
        Ok(!rows.is_empty())
    }

    fn list_refs(&self, volume: &VolumeId) -> Result<Vec<(RefName, ObjectId)>, StoreError> {
        let rows = self.run(
            "listing refs",
            "SELECT name, target FROM git_refs WHERE volume = ? ORDER BY name",
            &[volume.to_string().into()],
        )?;
        rows.rows
            .iter()
            .map(|row| {
                let name = row
                    .first()
                    .and_then(SqlValue::as_text)
                    .ok_or_else(|| corrupt("git_refs", "name is not text"))?;
                Ok((RefName::new(name)?, id_at(row, 1, "git_refs")?))
            })
            .collect()
    }

    fn list_volumes(&self) -> Result<Vec<VolumeId>, StoreError> {
        let rows = self.run(
            "listing volumes",
            "SELECT DISTINCT volume FROM git_refs ORDER BY volume",
            &[],
        )?;
        rows.rows
            .iter()
            .map(|row| {
                let text = row
                    .first()
                    .and_then(SqlValue::as_text)
                    .ok_or_else(|| corrupt("git_refs", "volume is not text"))?;
                text.parse()
                    .map_err(|e| corrupt("git_refs", format!("{e}")))
            })
            .collect()
    }

    fn reflog(&self, volume: &VolumeId, limit: usize) -> Result<Vec<RefLogEntry>, StoreError> {
        let rows = self.run(
            "reading the reflog",
            "SELECT volume, name, old_target, new_target, at, message FROM git_reflog
             WHERE volume = ? ORDER BY seq DESC LIMIT ?",
            &[
                volume.to_string().into(),
                SqlValue::Integer(limit.try_into().unwrap_or(i64::MAX)),
            ],
        )?;
        rows.rows
            .iter()
            .map(|row| {
                let text = |i: usize| {
                    row.get(i)
                        .and_then(SqlValue::as_text)
                        .map(str::to_owned)
                        .ok_or_else(|| corrupt("git_reflog", format!("column {i} is not text")))
                };
                Ok(RefLogEntry {
                    volume: text(0)?,
                    name: text(1)?,
                    old: match row.get(2) {
                        Some(SqlValue::Null) | None => None,
                        Some(_) => Some(id_at(row, 2, "git_reflog")?),
                    },
                    new: id_at(row, 3, "git_reflog")?,
                    at: row
                        .get(4)
                        .and_then(SqlValue::as_integer)
                        .ok_or_else(|| corrupt("git_reflog", "at is not an integer"))?,
                    message: text(5)?,
                })
            })
            .collect()
    }
}

#[cfg(all(test, feature = "rusqlite"))]
mod tests {
    use super::*;
    use crate::sql::RusqliteExecutor;
    use crate::store::tests as shared;

    fn store() -> SqlStore<RusqliteExecutor> {
        SqlStore::open(RusqliteExecutor::open_in_memory().unwrap()).unwrap()
    }

    #[test]
    fn sql_store_shares_objects() {
        shared::objects_are_shared_and_membership_is_per_volume(&store());
    }

    #[test]
    fn sql_store_scans_in_pages() {
        shared::scans_objects_in_pages(&store());
    }

    #[test]
    fn sql_store_walks_chains() {
        shared::walks_first_parent_chains(&store());
    }

    #[test]
    fn sql_store_refs_cas() {
        shared::refs_update_by_compare_and_swap(&store());
    }

    #[test]
    fn migrations_are_idempotent() {
        let db = RusqliteExecutor::open_in_memory().unwrap();
        for statement in MIGRATIONS {
            db.execute(statement, &[]).unwrap();
        }
        migrate(&db).unwrap();
        migrate(&db).unwrap();
        for statement in MIGRATIONS {
            db.execute(statement, &[]).unwrap();
        }
        let rows = db.execute("SELECT version FROM git_schema", &[]).unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Integer(SCHEMA_VERSION)]]);
    }

    #[test]
    fn fsck_catches_a_corrupted_row() {
        use crate::fsck::{FsckProblem, fsck};
        use crate::object::{GitTime, Signature};
        use crate::path::VolumePath;
        use crate::volume::{CommitRequest, Volumes};

        let vols = Volumes::new(store());
        let v: VolumeId = "users/a".parse().unwrap();
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        vols.commit(
            &v,
            CommitRequest::new(sig, "m").put(VolumePath::new("s/a.md").unwrap(), "original\n"),
        )
        .unwrap();
        assert!(fsck(vols.store()).unwrap().is_ok());
        let blob = RawObject::blob(b"original\n".to_vec()).id();
        vols.store()
            .executor()
            .execute(
                "UPDATE git_objects SET data = ? WHERE id = ?",
                &[b"tampered\n".to_vec().into(), hex(&blob)],
            )
            .unwrap();
        let report = fsck(vols.store()).unwrap();
        assert_eq!(
            report.problems,
            vec![FsckProblem::HashMismatch {
                id: blob,
                kind: ObjectKind::Blob,
                actual: RawObject::blob(b"tampered\n".to_vec()).id(),
            }]
        );
    }

    #[test]
    fn writes_many_objects_in_batches() {
        let store = store();
        let v: VolumeId = "users/a".parse().unwrap();
        let blobs: Vec<_> = (0..(WRITE_BATCH * 2 + 3))
            .map(|i| RawObject::blob(format!("blob {i}").into_bytes()))
            .collect();
        store.write_objects(&v, &blobs).unwrap();
        let ids: Vec<_> = blobs.iter().map(RawObject::id).collect();
        let headers = store.object_headers(&ids).unwrap();
        assert!(headers.iter().all(Option::is_some));
        let members = store
            .executor()
            .execute("SELECT COUNT(*) FROM git_volume_objects", &[])
            .unwrap();
        assert_eq!(members.rows[0][0], SqlValue::Integer(ids.len() as i64));
    }
}
