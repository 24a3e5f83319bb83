//! Git volumes kept in SQLite.
//!
//! Volumes (`system`, `teams/{id}`, `users/{id}`) are git repositories whose
//! objects and refs live in SQL tables, because Spin components cannot write
//! files. Objects use git's own encoding and SHA-1 ids, so any volume can be
//! exported as an ordinary repository or served to stock `git clone`.
//!
//! Layers, each using only the ones above it:
//!
//! - [`path`]: validated paths inside a volume.
//! - [`object`]: git objects (blob, tree, commit), ids, loose-object bytes.
//! - [`sql`]: the single database call the store needs ([`SqlExecutor`]),
//!   and its rusqlite implementation behind the `rusqlite` feature.
//! - [`store`]: the storage traits ([`ObjectStore`], [`RefStore`]) and an
//!   in-memory implementation; [`sql_store`]: the SQL one and its schema.
//! - [`volume`]: the file-level API ([`Volumes`]): read, list, commit with
//!   compare-and-swap retries, history, rollback, diff, promotion, stats.
//! - [`dumb_http`], [`export`], [`fsck`](mod@fsck): git access for stock git (dumb
//!   HTTP clone), export as an on-disk repository, and consistency checks.
//! - [`catalog`]: the index of the skills in each volume, kept in SQL tables
//!   derived from git (listing, search, lookup, signatures), and the first
//!   import of a volume's skills.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod dumb_http;
pub mod export;
pub mod fsck;
pub mod object;
pub mod pack;
pub mod path;
pub mod sql;
pub mod sql_store;
pub mod store;
pub mod traces;
pub mod volume;

pub use catalog::{
    Catalog, CatalogEntry, CatalogError, CatalogProblem, FreshState, ImportOutcome, ListQuery,
    Listing, RefreshReport, SkillLocation, SummaryPage, TypeFilter,
};
pub use dumb_http::{DumbHttpError, DumbHttpResponse};
pub use export::{ExportError, RepositoryFile};
pub use fsck::{FsckProblem, FsckReport, fsck, fsck_volume};
pub use object::{
    CommitInfo, EntryKind, GitTime, ObjectError, ObjectId, ObjectKind, RawObject, Signature,
};
pub use path::{PathError, VolumePath};
pub use sql::{SqlError, SqlExecutor, SqlRows, SqlValue};
pub use sql_store::{MIGRATION_ID, MIGRATIONS, SCHEMA_VERSION, SqlStore, migrate};
pub use store::{
    MemoryStore, ObjectStore, PackFile, PackInfo, PackStore, RefName, RefStore, RefUpdate,
    StoreError,
};
pub use traces::{
    TRACE_MIGRATION_ID, TRACE_MIGRATIONS, TraceFilter, TraceIndex, TracePage, TraceRow,
    TraceStoreError,
};
pub use volume::{
    At, Change, CommitMeta, CommitOutcome, CommitRequest, FileContent, FileDiff, FileEntry,
    HistoryEntry, HistoryPage, HistoryQuery, Promotion, RetryPolicy, VolumeError, VolumeStats,
    Volumes,
};

#[cfg(feature = "rusqlite")]
pub use sql::RusqliteExecutor;
