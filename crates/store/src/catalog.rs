//! The skill catalog: an index of the skills in every volume, kept in SQL
//! tables next to the git store and derived from it.
//!
//! Git is the truth; the catalog is a cache of what parsing the skill files
//! of each volume's head gives, so that listing, searching and looking up
//! skills never reads or parses files. For each volume it records the head
//! commit it reflects; for each skill file (see [`layout`] for where skills
//! live) its path, id, blob, the commit that last changed it, the parsed
//! summary fields, the listing JSON and, for executable skills, the workflow
//! signature JSON. A file that fails to parse is recorded with its error
//! code, message and line instead, and reported by [`Catalog::problems`].
//!
//! A compiled skill and the component built beside it (`skills/<id>.wasm`)
//! are indexed as one: a commit that changes either changes the skill, its
//! `commit` is the newest commit that changed either, and its summary and
//! signature say whether the component is there and may run (see
//! [`components`] for the states and the blob-keyed facts table).
//!
//! # Refreshing
//!
//! [`Catalog::ensure_fresh`] compares each volume's head with the commit
//! the index reflects (one query for all of them) and refreshes the volumes
//! that moved. A refresh walks the first-parent history from the head back
//! to the indexed commit, comparing the `skills` trees of consecutive
//! commits by entry id, so it finds exactly the files that changed (and the
//! newest commit that changed each) and re-parses only those. A volume
//! indexed for the first time, or whose indexed commit is not an ancestor of
//! the head, is walked until every file's last change is found.
//!
//! # Listing
//!
//! [`Catalog::list`] and [`Catalog::list_summaries`] merge (user → team →
//! system, or the order given), filter, sort and page in one statement: a
//! window over skill ids picks each id's winner, and only the rows of the
//! page reach the caller. A search (`q`) reads the ranked fields of every
//! match, ranks them with `llmos_core::rank` (BM25F over name, keywords,
//! description and category), then reads the page.
//!
//! # Concurrency
//!
//! Several requests may refresh the same volume at once. Each refresh
//! *claims* the volume by incrementing its `epoch` (one atomic upsert that
//! also returns the indexed head), and every row it writes, as well as the
//! final update of the indexed head, is conditional on the epoch still being
//! its own. A later claim therefore fences off an earlier refresh: its
//! remaining statements change nothing and it cannot mark the volume as
//! indexed. Because a claim is taken before the head is read and the rows
//! are read, the newest claimant sees every row written before it and a head
//! at least as new as any earlier claimant's, so when the indexed head is
//! set, the rows match it. Readers compare the indexed head with the ref
//! and refresh when they differ, so an abandoned refresh is repaired by the
//! next request. No multi-statement transaction is needed, matching the
//! store (Spin and libSQL run one statement per call).
//!
//! # Schema
//!
//! | table | key | holds |
//! |---|---|---|
//! | `skill_catalog_volumes` | `volume` | `head` (the commit the rows reflect, `NULL` until the first refresh completes), `epoch` (claims), `format` ([`INDEX_FORMAT`] the rows were written with) |
//! | `skill_catalog` | `(volume, path)` | `skill_id`, `location`, `blob`, `last_commit`, `name`, `category`, `description`, `keywords` (JSON list), `kind` (`context`/`executable`), `runtime`, `execution_mode`, `status`, `summary` (listing JSON), `signature` (workflow signature JSON, with the component's `ComponentRef`), and for files that fail to parse `error_code`, `error_message`, `error_line` |
//! | `skill_rank_terms` | `blob` | `terms`: the ranking terms of a skill file's catalog fields |
//! | `skill_components` | `blob` | `sha256`, `size`, `provenance` (JSON), `error`: what a component's bytes say, read once |
//! | `skill_component_checks` | `(blob, source_sha256)` | — a component that passed the upload checks for a skill source digest |

pub mod components;
mod import;
pub mod layout;
mod refresh;

use std::collections::{HashMap, HashSet};

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::rank::{DocTerms, RankDoc, search_encoded};
use llmos_core::skill::{SkillError, SkillKind, SkillStatus};
use llmos_core::types::{ExecutionMode, Runtime, UnknownName};
use llmos_core::workflow::catalog::{Catalog as SignatureCatalog, SkillSignature};
use serde::Serialize;

use crate::object::{ObjectId, parse_id};
use crate::sql::{SqlError, SqlExecutor, SqlRows, SqlValue};
use crate::sql_store::SqlStore;
use crate::store::StoreError;
use crate::volume::{At, VolumeError, Volumes};

pub use components::{ComponentState, SkillComponent};
pub use import::{ImportOutcome, import_initial};
pub use layout::{AGENT_SKILL_FILE, DRAFTS_DIR, SKILLS_DIR, SkillLocation, classify};
pub use refresh::{ListedSkill, RefreshReport};

/// The name under which components record that [`MIGRATIONS`] ran;
/// changes whenever statements are appended.
pub const MIGRATION_ID: &str = "skill-catalog-v4";

/// Idempotent DDL creating the catalog's tables; run in order, one
/// statement per `execute`.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS skill_catalog_volumes (
        volume TEXT PRIMARY KEY NOT NULL,
        head TEXT,
        epoch INTEGER NOT NULL,
        format INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS skill_catalog (
        volume TEXT NOT NULL,
        path TEXT NOT NULL,
        skill_id TEXT NOT NULL,
        location TEXT NOT NULL CHECK (location IN ('file', 'agent-skill', 'draft')),
        blob TEXT NOT NULL,
        last_commit TEXT NOT NULL,
        name TEXT,
        category TEXT,
        description TEXT,
        keywords TEXT,
        kind TEXT CHECK (kind IN ('context', 'executable')),
        runtime TEXT,
        execution_mode TEXT,
        status TEXT,
        summary TEXT,
        signature TEXT,
        error_code TEXT,
        error_message TEXT,
        error_line INTEGER,
        PRIMARY KEY (volume, path)
    )",
    "CREATE INDEX IF NOT EXISTS skill_catalog_by_id ON skill_catalog (skill_id, volume)",
    // Version 2: the ranking terms of each file's catalog fields, by blob.
    "CREATE TABLE IF NOT EXISTS skill_rank_terms (
        blob TEXT PRIMARY KEY NOT NULL,
        terms TEXT NOT NULL
    ) WITHOUT ROWID",
    // Version 3: the problems of a view are found without reading every
    // row.
    "CREATE INDEX IF NOT EXISTS skill_catalog_problems ON skill_catalog (volume, path) \
     WHERE error_code IS NOT NULL",
    // Version 4: what each component's bytes say, by blob, read once; and
    // the source digests a component passed an upload check for.
    "CREATE TABLE IF NOT EXISTS skill_components (
        blob TEXT PRIMARY KEY NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        provenance TEXT,
        error TEXT
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS skill_component_checks (
        blob TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        PRIMARY KEY (blob, source_sha256)
    ) WITHOUT ROWID",
];

/// What [`Catalog::fresh_state`] did and found.
#[derive(Debug, Clone)]
pub struct FreshState {
    /// A report for each volume that was refreshed.
    pub reports: Vec<RefreshReport>,
    /// Each volume that has a head, with the commit its index reflects,
    /// sorted by volume. Volumes without a head are absent.
    pub heads: Vec<(VolumeId, String)>,
    /// False when a refresh was taken over by a concurrent one, so the
    /// index may still be on its way to the head.
    pub settled: bool,
}

/// Version of what a row holds. Rows written with another version are
/// re-derived from their blobs on the next refresh (a parser that accepts
/// more, a new column), without any migration of the data. Version 2
/// added the components of compiled skills to summaries and signatures.
pub const INDEX_FORMAT: i64 = 2;

/// Runs [`MIGRATIONS`] (each is idempotent). Components track migrations
/// in their own table; the CLI and tests call this.
pub fn migrate(db: &impl SqlExecutor) -> Result<(), CatalogError> {
    for statement in MIGRATIONS {
        db.execute(statement, &[])
            .map_err(CatalogError::sql("creating the catalog schema"))?;
    }
    Ok(())
}

/// Why a catalog operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("database error while {action}: {source}")]
    Sql {
        action: &'static str,
        #[source]
        source: SqlError,
    },
    #[error("catalog row {volume}:{path} is malformed: {message}")]
    Corrupt {
        volume: String,
        path: String,
        message: String,
    },
    #[error(
        "`{path}` is not a skill file path (expected {SKILLS_DIR}/<id>.md, \
         {SKILLS_DIR}/<name>/{AGENT_SKILL_FILE} or {SKILLS_DIR}/{DRAFTS_DIR}/<id>.md)"
    )]
    NotASkillPath { path: String },
    #[error("{path}: file name `{name}` is not a skill id: {reason}")]
    BadFileName {
        path: String,
        name: String,
        reason: String,
    },
    #[error("{path}: not importable as a component: {message}")]
    InvalidComponent { path: String, message: String },
    #[error("{source}")]
    InvalidSkill {
        path: String,
        #[source]
        source: Box<SkillError>,
    },
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CatalogError {
    fn sql(action: &'static str) -> impl FnOnce(SqlError) -> CatalogError {
        move |source| CatalogError::Sql { action, source }
    }
}

/// One skill as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub volume: VolumeId,
    pub skill_id: SkillId,
    pub path: String,
    pub location: SkillLocation,
    pub blob: ObjectId,
    /// The newest commit of the volume that changed this file.
    pub commit: ObjectId,
    pub name: String,
    pub category: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub kind: SkillKind,
    pub runtime: Option<Runtime>,
    pub execution_mode: Option<ExecutionMode>,
    /// The file's `status`; drafts without one report `draft`.
    pub status: Option<SkillStatus>,
    /// The listing JSON (`GET /skills`): `skill_id, name, category,
    /// description, keywords, type, status?, runtime?, execution_mode?,
    /// volume, commit, path`.
    pub summary_json: String,
    /// The workflow signature JSON of executable skills, with `commit` set
    /// to [`Self::commit`].
    pub signature_json: Option<String>,
}

impl CatalogEntry {
    /// The workflow signature of an executable skill.
    pub fn signature(&self) -> Result<Option<SkillSignature>, CatalogError> {
        self.signature_json
            .as_deref()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| self.corrupt(format!("signature: {e}")))
            })
            .transpose()
    }

    fn corrupt(&self, message: String) -> CatalogError {
        CatalogError::Corrupt {
            volume: self.volume.to_string(),
            path: self.path.clone(),
            message,
        }
    }
}

/// A skill file the index could not read as a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CatalogProblem {
    pub volume: VolumeId,
    pub path: String,
    /// The id the file's path gives (which may itself be the problem).
    pub skill_id: String,
    #[serde(serialize_with = "serialize_id")]
    #[schema(value_type = String)]
    pub blob: ObjectId,
    #[serde(serialize_with = "serialize_id")]
    #[schema(value_type = String)]
    pub commit: ObjectId,
    /// [`SkillError::code`], or `skill-bad-file-name`.
    pub code: String,
    /// What is wrong and where (`file:line: …`).
    pub message: String,
    pub line: Option<u32>,
}

fn serialize_id<S: serde::Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

/// The `type` filter of a listing: a kind, or one runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFilter {
    Kind(SkillKind),
    Runtime(Runtime),
}

impl std::str::FromStr for TypeFilter {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "context" => Ok(TypeFilter::Kind(SkillKind::Context)),
            "executable" => Ok(TypeFilter::Kind(SkillKind::Executable)),
            other => other
                .parse()
                .map(TypeFilter::Runtime)
                .map_err(|_| UnknownName {
                    kind: "skill type",
                    value: other.to_owned(),
                    expected: ["context", "executable"]
                        .into_iter()
                        .chain(Runtime::ALL.map(Runtime::as_str))
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
        }
    }
}

/// Filters and paging of [`Catalog::list`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Free text: only skills matching at least one of its terms, ranked
    /// best first (BM25F over name, keywords, description and category).
    pub q: Option<String>,
    /// Exact category, compared without regard to ASCII case.
    pub category: Option<String>,
    pub kind: Option<TypeFilter>,
    pub status: Option<SkillStatus>,
    /// List this volume's own skills instead of the merged view: nothing
    /// in it is shadowed by a more specific volume.
    pub volume: Option<VolumeId>,
    pub offset: usize,
    /// At most this many entries; all when `None`.
    pub limit: Option<usize>,
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// Entries matching the filters, before paging.
    pub total: usize,
    pub entries: Vec<CatalogEntry>,
}

/// The fields of a skill that ranking and prompts read: what
/// [`Catalog::list_brief`] returns, lighter than a [`CatalogEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BriefEntry {
    pub volume: VolumeId,
    pub skill_id: SkillId,
    pub path: String,
    pub blob: ObjectId,
    pub name: String,
    pub category: String,
    pub description: String,
    pub keywords: Vec<String>,
}

impl From<CatalogEntry> for BriefEntry {
    fn from(e: CatalogEntry) -> Self {
        BriefEntry {
            volume: e.volume,
            skill_id: e.skill_id,
            path: e.path,
            blob: e.blob,
            name: e.name,
            category: e.category,
            description: e.description,
            keywords: e.keywords,
        }
    }
}

/// A page of a listing as listing JSON (`GET /skills`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryPage {
    /// Entries matching the filters, before paging.
    pub total: usize,
    /// [`CatalogEntry::summary_json`] of each entry of the page.
    pub summaries: Vec<String>,
}

/// Catalog operations on the volumes of a SQL store (the catalog's tables
/// live in the same database).
pub struct Catalog<'v, E> {
    volumes: &'v Volumes<SqlStore<E>>,
}

/// Columns of `skill_catalog` in the order rows are written and read.
const COLUMNS: &str = "volume, path, skill_id, location, blob, last_commit, name, category, \
    description, keywords, kind, runtime, execution_mode, status, summary, signature, \
    error_code, error_message, error_line";

/// Rows per insert of ranking terms (two parameters each).
const RANK_TERMS_BATCH: usize = 200;

/// Row ids per statement when reading listed rows (under SQLite's
/// historical limit of 999 parameters).
const ROWID_BATCH: usize = 900;

/// Number of entries of [`COLUMNS`].
const COLUMN_COUNT: usize = 19;

impl<'v, E: SqlExecutor> Catalog<'v, E> {
    pub fn new(volumes: &'v Volumes<SqlStore<E>>) -> Self {
        Self { volumes }
    }

    pub fn volumes(&self) -> &'v Volumes<SqlStore<E>> {
        self.volumes
    }

    fn db(&self) -> &E {
        self.volumes.store().executor()
    }

    fn run(
        &self,
        action: &'static str,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<SqlRows, CatalogError> {
        self.db()
            .execute(sql, params)
            .map_err(CatalogError::sql(action))
    }

    /// The commit the index of `volume` reflects, if it was ever indexed.
    pub fn indexed_head(&self, volume: &VolumeId) -> Result<Option<ObjectId>, CatalogError> {
        let rows = self.run(
            "reading the indexed head",
            "SELECT head FROM skill_catalog_volumes WHERE volume = ?",
            &[volume.to_string().into()],
        )?;
        match rows.rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Text(text)) => {
                Ok(Some(parse_id(text).map_err(|e| CatalogError::Corrupt {
                    volume: volume.to_string(),
                    path: String::new(),
                    message: e.to_string(),
                })?))
            }
            _ => Ok(None),
        }
    }

    /// Moves the indexed head of `volume` to `commit` when the index
    /// reflects its first parent and `commit` left the `skills` tree as it
    /// was (a commit that records a trace or saves a workflow): the rows
    /// are then already right for `commit`, and the next
    /// [`Self::ensure_fresh`] has nothing to do. Returns whether it moved.
    ///
    /// Safe against concurrent refreshes without a claim: the update holds
    /// only while the indexed head is still the parent, and a refresh that
    /// is writing rows for a later head has a claim that keeps writing; if
    /// the ref moved on, readers see the indexed head differ from it and
    /// refresh from `commit`, whose rows are right.
    pub fn carry_forward(&self, volume: &VolumeId, commit: ObjectId) -> Result<bool, CatalogError> {
        use crate::store::ObjectStore as _;
        let store = self.volumes.store();
        let decode = |object: &crate::object::RawObject| {
            crate::object::decode_commit(object).map_err(|source| VolumeError::Object {
                volume: volume.clone(),
                source,
            })
        };
        let Some(object) = store.read_object(&commit).map_err(VolumeError::from)? else {
            return Ok(false);
        };
        let child = decode(&object)?;
        let Some(&parent) = child.parents.first() else {
            return Ok(false);
        };
        let Some(object) = store.read_object(&parent).map_err(VolumeError::from)? else {
            return Ok(false);
        };
        let base = decode(&object)?;
        let mut trees = layout::TreeReader::new(store, volume);
        trees.prefetch([child.tree, base.tree])?;
        if trees.skills_tree(child.tree)? != trees.skills_tree(base.tree)? {
            return Ok(false);
        }
        let rows = self.run(
            "carrying the indexed head forward",
            "UPDATE skill_catalog_volumes SET head = ? \
             WHERE volume = ? AND head = ? AND format = ? RETURNING volume",
            &[
                commit.to_string().into(),
                volume.to_string().into(),
                parent.to_string().into(),
                INDEX_FORMAT.into(),
            ],
        )?;
        Ok(!rows.is_empty())
    }

    /// Refreshes those of `volumes` whose head moved since they were
    /// indexed, checking all of them with one query. Returns a report for
    /// each volume that was refreshed.
    pub fn ensure_fresh(&self, volumes: &[VolumeId]) -> Result<Vec<RefreshReport>, CatalogError> {
        Ok(self.fresh_state(volumes)?.reports)
    }

    /// [`Self::ensure_fresh`], also saying which commit each volume's
    /// index reflects once it returns: what a listing read next shows, or
    /// something newer.
    pub fn fresh_state(&self, volumes: &[VolumeId]) -> Result<FreshState, CatalogError> {
        let volumes = distinct(volumes);
        let mut state = FreshState {
            reports: Vec::new(),
            heads: Vec::new(),
            settled: true,
        };
        if volumes.is_empty() {
            return Ok(state);
        }
        let sql = heads_query(volumes.len());
        let params: Vec<SqlValue> = volumes.iter().map(|v| v.to_string().into()).collect();
        let rows = self.run("checking indexed heads", &sql, &params)?;
        for row in rows.rows {
            let Some(volume) = volumes
                .iter()
                .find(|v| row.first().and_then(SqlValue::as_text) == Some(&v.to_string()))
            else {
                continue;
            };
            if let Some(target) = fresh_head(&row) {
                state.heads.push((volume.clone(), target.to_owned()));
                continue;
            }
            let report = self.refresh(volume)?;
            match &report.head {
                Some(head) if !report.superseded => {
                    state.heads.push((volume.clone(), head.to_string()));
                }
                _ => state.settled = false,
            }
            state.reports.push(report);
        }
        state.heads.sort();
        Ok(state)
    }

    /// The merged view of `view` (most specific volume first: a skill id
    /// found in an earlier volume hides the same id in later ones) or, with
    /// [`ListQuery::volume`], that one volume; filtered, ranked or sorted
    /// by id, and paged. Reads the index as it is: call
    /// [`Self::ensure_fresh`] first.
    pub fn list(&self, view: &[VolumeId], query: &ListQuery) -> Result<Listing, CatalogError> {
        let (total, rows) = self.list_rows(view, query, COLUMNS)?;
        let entries = rows
            .into_iter()
            .map(|row| match decode_row(row)? {
                Row::Skill(entry) => Ok(entry),
                Row::Problem(problem) => Err(CatalogError::Corrupt {
                    volume: problem.volume.to_string(),
                    path: problem.path,
                    message: "expected a skill row".into(),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Listing { total, entries })
    }

    /// Every skill of the merged view of `view`, in id order, with only the
    /// fields of a [`BriefEntry`] (no listing JSON or signature crosses
    /// from SQL). Reads the index as it is: call [`Self::ensure_fresh`]
    /// first.
    pub fn list_brief(&self, view: &[VolumeId]) -> Result<Vec<BriefEntry>, CatalogError> {
        let columns = "volume, path, skill_id, blob, name, category, description, keywords";
        let (_, rows) = self.list_rows(view, &ListQuery::default(), columns)?;
        rows.into_iter()
            .map(|row| {
                let text = |i: usize| row.get(i).and_then(SqlValue::as_text).unwrap_or_default();
                let corrupt = |message: String| CatalogError::Corrupt {
                    volume: text(0).to_owned(),
                    path: text(1).to_owned(),
                    message,
                };
                Ok(BriefEntry {
                    volume: text(0)
                        .parse()
                        .map_err(|e| corrupt(format!("volume: {e}")))?,
                    skill_id: SkillId::new(text(2))
                        .map_err(|e| corrupt(format!("skill_id: {e}")))?,
                    path: text(1).to_owned(),
                    blob: parse_id(text(3)).map_err(|e| corrupt(format!("blob: {e}")))?,
                    name: text(4).to_owned(),
                    category: text(5).to_owned(),
                    description: text(6).to_owned(),
                    keywords: serde_json::from_str(text(7))
                        .map_err(|e| corrupt(format!("keywords: {e}")))?,
                })
            })
            .collect()
    }

    /// [`Self::list`] as the stored listing JSON of each skill, without
    /// decoding rows: what `GET /skills` sends.
    pub fn list_summaries(
        &self,
        view: &[VolumeId],
        query: &ListQuery,
    ) -> Result<SummaryPage, CatalogError> {
        let (total, page) = self.page_rowids(view, query)?;
        let summaries = self
            .texts_by_rowid("reading listed skills", &page, "c.summary", "")?
            .into_iter()
            .map(|(_, json)| json)
            .collect();
        Ok(SummaryPage { total, summaries })
    }

    /// The rows (`columns` of `skill_catalog`) of one page of a listing, and
    /// the number of matches. Each id's winner is picked from a narrow
    /// read of the view's rows ([`Self::winners`]); then only the page's
    /// rows are read. A ranked search reads the ranked fields of
    /// every match first, then the page.
    fn list_rows(
        &self,
        view: &[VolumeId],
        query: &ListQuery,
        columns: &str,
    ) -> Result<(usize, Vec<Vec<SqlValue>>), CatalogError> {
        let (total, page) = self.page_rowids(view, query)?;
        let rows = self.rows_by_rowid(&page, columns)?;
        Ok((total, rows.into_iter().map(|(_, row)| row).collect()))
    }

    /// The number of matches of a listing and the row ids of its page, in
    /// order.
    fn page_rowids(
        &self,
        view: &[VolumeId],
        query: &ListQuery,
    ) -> Result<(usize, Vec<i64>), CatalogError> {
        let scope: Vec<VolumeId> = match &query.volume {
            Some(volume) => vec![volume.clone()],
            None => distinct(view),
        };
        if scope.is_empty() {
            return Ok((0, Vec::new()));
        }
        let winners = self.winners(&scope, query)?;
        let Some(q) = query.q.as_deref() else {
            let page: Vec<i64> = winners
                .iter()
                .skip(query.offset)
                .take(query.limit.unwrap_or(usize::MAX))
                .copied()
                .collect();
            return Ok((winners.len(), page));
        };
        // The ranked fields' terms are kept by blob (a blob never changes),
        // so a search tokenises and stems only files it has not seen.
        let (ids, mut terms) = self.stored_terms(&winners)?;
        // The fields terms are derived from, read only for rows whose terms
        // are not stored yet or are damaged.
        let fields = "volume, path, blob, name, keywords, description, category";
        let derive = |row: &[SqlValue]| -> Result<String, CatalogError> {
            let text = |i: usize| row.get(i).and_then(SqlValue::as_text).unwrap_or_default();
            let keywords: Vec<String> =
                serde_json::from_str(text(4)).map_err(|e| CatalogError::Corrupt {
                    volume: text(0).to_owned(),
                    path: text(1).to_owned(),
                    message: format!("keywords: {e}"),
                })?;
            Ok(DocTerms::of(RankDoc {
                name: text(3),
                keywords: &keywords,
                description: text(5),
                body: text(6),
            })
            .encode())
        };
        // What a row deleted meanwhile by a concurrent refresh ranks as.
        let nothing = || {
            DocTerms::of(RankDoc {
                name: "",
                keywords: &[],
                description: "",
                body: "",
            })
            .encode()
        };
        let missing: Vec<usize> = (0..ids.len()).filter(|&i| terms[i].is_none()).collect();
        if !missing.is_empty() {
            let wanted: Vec<i64> = missing.iter().map(|&i| ids[i]).collect();
            let rows: HashMap<i64, Vec<SqlValue>> =
                self.rows_by_rowid(&wanted, fields)?.into_iter().collect();
            let mut fresh: Vec<(String, String)> = Vec::new();
            for i in missing {
                let encoded = match rows.get(&ids[i]) {
                    Some(row) => {
                        let encoded = derive(row)?;
                        fresh.push((text_at(row, 2), encoded.clone()));
                        encoded
                    }
                    None => nothing(),
                };
                terms[i] = Some(encoded);
            }
            self.store_rank_terms(&fresh, false)?;
        }
        let mut terms: Vec<String> = terms.into_iter().map(Option::unwrap_or_default).collect();
        let mut repaired = 0;
        let hits = loop {
            match search_encoded(terms.iter().map(String::as_str), q) {
                Ok(hits) => break hits,
                // A damaged row: derive it again and keep the repair.
                Err((bad, e)) => {
                    let row = self
                        .rows_by_rowid(&[ids[bad]], fields)?
                        .into_iter()
                        .next()
                        .map(|(_, row)| row);
                    if repaired >= ids.len() {
                        return Err(CatalogError::Corrupt {
                            volume: String::new(),
                            path: String::new(),
                            message: format!("ranking terms of row {}: {e}", ids[bad]),
                        });
                    }
                    repaired += 1;
                    terms[bad] = match row {
                        Some(row) => {
                            let encoded = derive(&row)?;
                            self.store_rank_terms(&[(text_at(&row, 2), encoded.clone())], true)?;
                            encoded
                        }
                        None => nothing(),
                    };
                }
            }
        };
        let page: Vec<i64> = hits
            .iter()
            .skip(query.offset)
            .take(query.limit.unwrap_or(usize::MAX))
            .map(|hit| ids[hit.doc])
            .collect();
        Ok((hits.len(), page))
    }

    /// The row ids of the merged view's winners (`scope` is most specific
    /// first; within a volume a skill file beats an Agent Skill directory),
    /// filtered by `query`'s category, type and status, sorted by skill id.
    /// SQL reduces each candidate to its id, a precedence number and
    /// whether the filters hold, so few values cross per row; picking the
    /// winners here costs less than a window function over the same rows.
    fn winners(&self, scope: &[VolumeId], query: &ListQuery) -> Result<Vec<i64>, CatalogError> {
        let mut params: Vec<SqlValue> = Vec::new();
        let mut volume_rank = String::new();
        for (i, volume) in scope.iter().enumerate() {
            volume_rank.push_str(&format!(" WHEN ? THEN {i}"));
            params.push(volume.to_string().into());
        }
        let mut filters: Vec<&str> = Vec::new();
        if let Some(category) = &query.category {
            filters.push("category = ? COLLATE NOCASE");
            params.push(category.as_str().into());
        }
        match query.kind {
            Some(TypeFilter::Kind(kind)) => {
                filters.push("kind = ?");
                params.push(kind.as_str().into());
            }
            Some(TypeFilter::Runtime(runtime)) => {
                filters.push("runtime = ?");
                params.push(runtime.as_str().into());
            }
            None => {}
        }
        if let Some(status) = query.status {
            filters.push("status = ?");
            params.push(status.as_str().into());
        }
        let matches = if filters.is_empty() {
            "1".to_owned()
        } else {
            format!("coalesce({}, 0)", filters.join(" AND "))
        };
        params.extend(scope.iter().map(|v| SqlValue::from(v.to_string())));
        // One text value for all candidates, a line each: crossing into a
        // component costs per value, and a view holds thousands of rows.
        let sql = format!(
            "SELECT group_concat(skill_id || ' ' || \
             ((CASE volume{volume_rank} END) * 3 + \
             (CASE location WHEN 'file' THEN 0 WHEN 'agent-skill' THEN 1 ELSE 2 END)) || ' ' || \
             rowid || ' ' || {matches}, char(10)) \
             FROM skill_catalog WHERE error_code IS NULL AND volume IN ({})",
            placeholders(scope.len())
        );
        let lines = self.aggregate("merging the view", &sql, &params)?;
        let corrupt = |line: &str| CatalogError::Corrupt {
            volume: String::new(),
            path: String::new(),
            message: format!("merging the view read {line:?}"),
        };
        // (skill id, precedence, row id, filters hold) of every candidate.
        let mut candidates: Vec<(&str, i64, i64, bool)> = Vec::new();
        for line in lines.lines() {
            let mut fields = line.split(' ');
            let id = fields.next().unwrap_or_default();
            let mut number = || fields.next().and_then(|f| f.parse::<i64>().ok());
            let (Some(rank), Some(rowid), Some(matches)) = (number(), number(), number()) else {
                return Err(corrupt(line));
            };
            candidates.push((id, rank, rowid, matches == 1));
        }
        candidates.sort_unstable();
        candidates.dedup_by(|later, first| later.0 == first.0);
        Ok(candidates
            .into_iter()
            .filter(|c| c.3)
            .map(|c| c.2)
            .collect())
    }

    /// The stored ranking terms of the rows `rowids`, in that order (`None`
    /// where none are stored yet), with the ids of the rows found.
    fn stored_terms(
        &self,
        rowids: &[i64],
    ) -> Result<(Vec<i64>, Vec<Option<String>>), CatalogError> {
        Ok(self
            .texts_by_rowid(
                "reading ranking terms",
                rowids,
                "coalesce('=' || t.terms, '')",
                " LEFT JOIN skill_rank_terms t ON t.blob = c.blob",
            )?
            .into_iter()
            .map(|(id, terms)| (id, terms.strip_prefix('=').map(str::to_owned)))
            .unzip())
    }

    /// The text `expr` (over `skill_catalog c` and `joins`) of the rows
    /// `rowids`, in that order, each with its row id; a row deleted
    /// meanwhile by a concurrent refresh (or whose `expr` is NULL) is left
    /// out. A batch crosses as one text value: rowid, a space, the text,
    /// records apart by ASCII RS, which neither JSON nor ranking terms hold
    /// raw.
    fn texts_by_rowid(
        &self,
        what: &'static str,
        rowids: &[i64],
        expr: &str,
        joins: &str,
    ) -> Result<Vec<(i64, String)>, CatalogError> {
        let mut found: HashMap<i64, String> = HashMap::with_capacity(rowids.len());
        for chunk in rowids.chunks(ROWID_BATCH) {
            let sql = format!(
                "SELECT group_concat(c.rowid || ' ' || {expr}, char(30)) \
                 FROM skill_catalog c{joins} WHERE c.rowid IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<SqlValue> = chunk.iter().map(|&id| id.into()).collect();
            let text = self.aggregate(what, &sql, &params)?;
            for record in text.split('\u{1e}').filter(|r| !r.is_empty()) {
                let parsed = record
                    .split_once(' ')
                    .and_then(|(id, text)| Some((id.parse::<i64>().ok()?, text)));
                let Some((id, text)) = parsed else {
                    return Err(CatalogError::Corrupt {
                        volume: String::new(),
                        path: String::new(),
                        message: format!("{what}: record {record:?}"),
                    });
                };
                found.insert(id, text.to_owned());
            }
        }
        Ok(rowids
            .iter()
            .filter_map(|id| Some((*id, found.remove(id)?)))
            .collect())
    }

    /// The one text value an aggregating query returns (empty when it
    /// aggregated no rows).
    fn aggregate(
        &self,
        what: &'static str,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<String, CatalogError> {
        let rows = self.run(what, sql, params)?.rows;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .and_then(|value| match value {
                SqlValue::Text(text) => Some(text),
                _ => None,
            })
            .unwrap_or_default())
    }

    /// `columns` (of `skill_catalog`, or `t.terms`) of the rows `rowids`,
    /// in that order, each with its row id. A row deleted meanwhile by a
    /// concurrent refresh is left out.
    fn rows_by_rowid(
        &self,
        rowids: &[i64],
        columns: &str,
    ) -> Result<Vec<(i64, Vec<SqlValue>)>, CatalogError> {
        let columns: Vec<String> = columns
            .split(", ")
            .map(|c| {
                if c.contains('.') {
                    c.to_owned()
                } else {
                    format!("c.{c}")
                }
            })
            .collect();
        let terms_join = if columns.iter().any(|c| c.starts_with("t.")) {
            " LEFT JOIN skill_rank_terms t ON t.blob = c.blob"
        } else {
            ""
        };
        let mut found: HashMap<i64, Vec<SqlValue>> = HashMap::with_capacity(rowids.len());
        for chunk in rowids.chunks(ROWID_BATCH) {
            let sql = format!(
                "SELECT c.rowid, {} FROM skill_catalog c{terms_join} WHERE c.rowid IN ({})",
                columns.join(", "),
                placeholders(chunk.len())
            );
            let params: Vec<SqlValue> = chunk.iter().map(|&id| id.into()).collect();
            for mut row in self.run("reading listed skills", &sql, &params)?.rows {
                let rest = row.split_off(1);
                if let Some(id) = row.first().and_then(SqlValue::as_integer) {
                    found.insert(id, rest);
                }
            }
        }
        Ok(rowids
            .iter()
            .filter_map(|id| Some((*id, found.remove(id)?)))
            .collect())
    }

    /// Keeps `(blob, encoded terms)` pairs for later searches; `replace`
    /// overwrites a stored row (a repair).
    fn store_rank_terms(
        &self,
        fresh: &[(String, String)],
        replace: bool,
    ) -> Result<(), CatalogError> {
        let verb = if replace { "REPLACE" } else { "IGNORE" };
        for chunk in fresh.chunks(RANK_TERMS_BATCH) {
            let sql = format!(
                "INSERT OR {verb} INTO skill_rank_terms (blob, terms) VALUES {}",
                vec!["(?, ?)"; chunk.len()].join(", ")
            );
            let params: Vec<SqlValue> = chunk
                .iter()
                .flat_map(|(blob, terms)| [blob.as_str().into(), terms.as_str().into()])
                .collect();
            self.run("keeping ranking terms", &sql, &params)?;
        }
        Ok(())
    }

    /// Skill `id` as the merged view of `view` resolves it.
    pub fn get(
        &self,
        view: &[VolumeId],
        id: &SkillId,
    ) -> Result<Option<CatalogEntry>, CatalogError> {
        let scope = distinct(view);
        Ok(merge(&scope, self.load(&scope, Some(id))?)
            .into_iter()
            .next())
    }

    /// Skill `id` in one volume (a file shadows an Agent Skills directory,
    /// which shadows a draft).
    pub fn get_in(
        &self,
        volume: &VolumeId,
        id: &SkillId,
    ) -> Result<Option<CatalogEntry>, CatalogError> {
        self.get(std::slice::from_ref(volume), id)
    }

    /// Every skill of one volume, shadowed files included, by path.
    pub fn entries(&self, volume: &VolumeId) -> Result<Vec<CatalogEntry>, CatalogError> {
        let mut entries = self.load(std::slice::from_ref(volume), None)?;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// Number of distinct skill ids in a volume (files that parse).
    pub fn count(&self, volume: &VolumeId) -> Result<u64, CatalogError> {
        let rows = self.run(
            "counting skills",
            "SELECT COUNT(DISTINCT skill_id) FROM skill_catalog \
             WHERE volume = ? AND error_code IS NULL",
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

    /// Skill files of `volumes` that failed to parse, by volume and path.
    pub fn problems(&self, volumes: &[VolumeId]) -> Result<Vec<CatalogProblem>, CatalogError> {
        let volumes = distinct(volumes);
        if volumes.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM skill_catalog WHERE error_code IS NOT NULL \
             AND volume IN ({}) ORDER BY volume, path",
            placeholders(volumes.len())
        );
        let params: Vec<SqlValue> = volumes.iter().map(|v| v.to_string().into()).collect();
        let rows = self.run("reading catalog problems", &sql, &params)?;
        rows.rows
            .into_iter()
            .map(|row| match decode_row(row)? {
                Row::Problem(problem) => Ok(problem),
                Row::Skill(entry) => Err(entry.corrupt("expected an error row".into())),
            })
            .collect()
    }

    /// The workflow signature of skill `id` as it was at `commit` of
    /// `volume`, with `commit` set to that commit and the component beside
    /// the file at that commit: what a workflow run pinned to that commit
    /// executes. `None` when the skill did not exist there or was a context
    /// skill. Uses the index when the file and its component are unchanged
    /// since, and parses the old version otherwise.
    pub fn signature_at(
        &self,
        volume: &VolumeId,
        id: &SkillId,
        commit: ObjectId,
    ) -> Result<Option<SkillSignature>, CatalogError> {
        let current = self.get_in(volume, id)?;
        for location in SkillLocation::ALL {
            let path = location.path(id);
            let file = match self.volumes.read_file(volume, &path, At::Commit(commit)) {
                Ok(file) => file,
                Err(VolumeError::FileNotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let skill = llmos_core::skill::parse_bytes_as(id, Some(path.as_str()), &file.data)
                .map_err(|source| CatalogError::InvalidSkill {
                    path: path.to_string(),
                    source: Box::new(source),
                })?;
            let indexed = match &current {
                Some(entry) if entry.blob == file.blob && entry.path == path.as_str() => {
                    entry.signature()?
                }
                _ => None,
            };
            let component_blob = self.component_blob_at(volume, commit, path.as_str(), &skill)?;
            let signature = match indexed {
                Some(signature)
                    if signature.component.as_ref().map(|c| c.blob.as_str())
                        == component_blob.map(|b| b.to_string()).as_deref() =>
                {
                    Some(signature)
                }
                _ => match skill.signature() {
                    None => None,
                    Some(s) => {
                        let mut signature = signature_of(s, commit);
                        signature.component = self
                            .component_at(volume, commit, path.as_str(), &skill)?
                            .map(|c| c.reference());
                        Some(signature)
                    }
                },
            };
            return Ok(signature.map(|mut s| {
                s.commit = commit.to_string();
                s
            }));
        }
        Ok(None)
    }

    /// The executable skills of the merged view, as the workflow engine's
    /// catalog (latest versions).
    pub fn signatures(&self, view: &[VolumeId]) -> Result<SignatureCatalog, CatalogError> {
        let scope = distinct(view);
        let mut catalog = SignatureCatalog::new();
        for entry in merge(&scope, self.load(&scope, None)?) {
            if let Some(signature) = entry.signature()? {
                catalog.insert(signature);
            }
        }
        Ok(catalog)
    }

    /// Rows of `volumes` that parsed, optionally of one id.
    fn load(
        &self,
        volumes: &[VolumeId],
        id: Option<&SkillId>,
    ) -> Result<Vec<CatalogEntry>, CatalogError> {
        if volumes.is_empty() {
            return Ok(Vec::new());
        }
        let mut params: Vec<SqlValue> = volumes.iter().map(|v| v.to_string().into()).collect();
        let mut sql = format!(
            "SELECT {COLUMNS} FROM skill_catalog WHERE error_code IS NULL AND volume IN ({})",
            placeholders(volumes.len())
        );
        if let Some(id) = id {
            sql.push_str(" AND skill_id = ?");
            params.push(id.as_str().into());
        }
        let rows = self.run("reading the catalog", &sql, &params)?;
        rows.rows
            .into_iter()
            .map(|row| match decode_row(row)? {
                Row::Skill(entry) => Ok(entry),
                Row::Problem(problem) => Err(CatalogError::Corrupt {
                    volume: problem.volume.to_string(),
                    path: problem.path,
                    message: "expected a skill row".into(),
                }),
            })
            .collect()
    }
}

/// The workflow form of a parsed skill's signature, read at `commit`.
fn signature_of(s: llmos_core::skill::SkillSignature, commit: ObjectId) -> SkillSignature {
    SkillSignature {
        skill_id: s.skill_id.to_string(),
        runtime: s.runtime,
        execution_mode: s.execution_mode,
        inputs: s.inputs,
        outputs: s.outputs,
        extra_inputs: None,
        commit: commit.to_string(),
        compiled: s.compiled,
        component: None,
    }
}

/// One entry per skill id: the one from the earliest volume of `scope`,
/// and within a volume the first [`SkillLocation`]; sorted by id.
fn merge(scope: &[VolumeId], entries: Vec<CatalogEntry>) -> Vec<CatalogEntry> {
    let rank: HashMap<&VolumeId, usize> = scope.iter().enumerate().map(|(i, v)| (v, i)).collect();
    let mut best: HashMap<SkillId, CatalogEntry> = HashMap::with_capacity(entries.len());
    for entry in entries {
        let key = |e: &CatalogEntry| {
            (
                rank.get(&e.volume).copied().unwrap_or(usize::MAX),
                e.location,
            )
        };
        match best.get(&entry.skill_id) {
            Some(current) if key(current) <= key(&entry) => {}
            _ => {
                best.insert(entry.skill_id.clone(), entry);
            }
        }
    }
    let mut merged: Vec<CatalogEntry> = best.into_values().collect();
    merged.sort_by(|a, b| a.skill_id.cmp(&b.skill_id));
    merged
}

/// `volumes` without repeats, in order.
fn distinct(volumes: &[VolumeId]) -> Vec<VolumeId> {
    let mut seen = HashSet::new();
    volumes
        .iter()
        .filter(|v| seen.insert(*v))
        .cloned()
        .collect()
}

/// The text of column `i` of a row, or empty.
fn text_at(row: &[SqlValue], i: usize) -> String {
    row.get(i)
        .and_then(SqlValue::as_text)
        .unwrap_or_default()
        .to_owned()
}

/// The query of [`Catalog::fresh_state`] for `n` volumes (bound in
/// order): one row per volume with a head, `(volume, head, indexed head,
/// index format)`. For callers that fold it into a statement of their
/// own; [`settled_heads`] reads its rows.
pub fn heads_query(n: usize) -> String {
    format!(
        "SELECT r.volume, r.target, c.head, c.format FROM git_refs r \
         LEFT JOIN skill_catalog_volumes c ON c.volume = r.volume \
         WHERE r.name = 'refs/heads/main' AND r.volume IN ({})",
        placeholders(n)
    )
}

/// The head of a row of [`heads_query`] when the volume's index reflects
/// it (in this index format).
fn fresh_head(row: &[SqlValue]) -> Option<&str> {
    let target = row.get(1).and_then(SqlValue::as_text)?;
    (row.get(1) == row.get(2) && row.get(3).and_then(SqlValue::as_integer) == Some(INDEX_FORMAT))
        .then_some(target)
}

/// What [`Catalog::fresh_state`] would answer from rows of
/// [`heads_query`] over `volumes` without refreshing anything: the heads,
/// sorted by volume, when every volume in `required` has a head and every
/// index reflects its head; else `None` (then call `fresh_state`).
pub fn settled_heads(
    volumes: &[VolumeId],
    required: &[VolumeId],
    rows: &[Vec<SqlValue>],
) -> Option<Vec<(VolumeId, String)>> {
    let mut heads = Vec::with_capacity(rows.len());
    for row in rows {
        let name = row.first().and_then(SqlValue::as_text)?;
        let volume = volumes.iter().find(|v| v.to_string() == name)?;
        heads.push((volume.clone(), fresh_head(row)?.to_owned()));
    }
    if required
        .iter()
        .any(|r| !heads.iter().any(|(volume, _)| volume == r))
    {
        return None;
    }
    heads.sort();
    heads.dedup();
    Some(heads)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A decoded `skill_catalog` row.
enum Row {
    Skill(CatalogEntry),
    Problem(CatalogProblem),
}

fn decode_row(row: Vec<SqlValue>) -> Result<Row, CatalogError> {
    let text = |i: usize| row.get(i).and_then(SqlValue::as_text);
    let volume_text = text(0).unwrap_or_default().to_owned();
    let path = text(1).unwrap_or_default().to_owned();
    let corrupt = |message: String| CatalogError::Corrupt {
        volume: volume_text.clone(),
        path: path.clone(),
        message,
    };
    if row.len() != COLUMN_COUNT {
        return Err(corrupt(format!("{} columns", row.len())));
    }
    let volume: VolumeId = volume_text
        .parse()
        .map_err(|e| corrupt(format!("volume: {e}")))?;
    let required = |i: usize, name: &str| {
        text(i)
            .map(str::to_owned)
            .ok_or_else(|| corrupt(format!("{name} is missing")))
    };
    let id = |i: usize, name: &str| {
        parse_id(&required(i, name)?).map_err(|e| corrupt(format!("{name}: {e}")))
    };
    let skill_id_text = required(2, "skill_id")?;
    let location = SkillLocation::from_name(&required(3, "location")?)
        .ok_or_else(|| corrupt("unknown location".into()))?;
    let blob = id(4, "blob")?;
    let commit = id(5, "last_commit")?;
    if let Some(code) = text(16) {
        return Ok(Row::Problem(CatalogProblem {
            volume,
            path: path.clone(),
            skill_id: skill_id_text,
            blob,
            commit,
            code: code.to_owned(),
            message: text(17).unwrap_or_default().to_owned(),
            line: row
                .get(18)
                .and_then(SqlValue::as_integer)
                .and_then(|n| u32::try_from(n).ok()),
        }));
    }
    let kind = match required(10, "kind")?.as_str() {
        "context" => SkillKind::Context,
        "executable" => SkillKind::Executable,
        other => return Err(corrupt(format!("kind `{other}`"))),
    };
    let runtime = text(11)
        .map(|r| r.parse::<Runtime>())
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    let execution_mode = text(12)
        .map(|m| m.parse::<ExecutionMode>())
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    let status = text(13)
        .map(|s| s.parse::<SkillStatus>())
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Row::Skill(CatalogEntry {
        skill_id: SkillId::new(&skill_id_text).map_err(|e| corrupt(e.to_string()))?,
        location,
        blob,
        commit,
        name: required(6, "name")?,
        category: required(7, "category")?,
        description: required(8, "description")?,
        keywords: serde_json::from_str(&required(9, "keywords")?)
            .map_err(|e| corrupt(format!("keywords: {e}")))?,
        kind,
        runtime,
        execution_mode,
        status,
        summary_json: required(14, "summary")?,
        signature_json: text(15).map(str::to_owned),
        volume,
        path,
    }))
}

#[cfg(all(test, feature = "rusqlite"))]
#[path = "catalog/tests.rs"]
mod tests;

#[cfg(all(test, feature = "rusqlite"))]
#[path = "catalog/component_tests.rs"]
mod component_tests;
