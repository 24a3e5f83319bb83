//! Ready answers: the bytes of a read's answer, kept in SQLite with the
//! state they were built at, so the next identical read is one lookup.
//!
//! An answer is stored under a *key* (what was asked: the route, the
//! caller's view, the query) together with its *tag* (the state it was
//! built at: for skills, the head commit of every volume it merges, which
//! is also the answer's `ETag`). A read computes the current tag first and
//! uses a stored answer only when both match, so it can never be stale:
//! a commit moves a head, the tag changes, and the next read rebuilds.
//! Heads only move to new commits (each has the previous head as its
//! parent), so a tag never comes back once left.
//!
//! Each answer is stored as it is and, when it is worth it, gzip-coded
//! once ([`crate::encoding`]); a read sends whichever the request accepts.
//! The table is bounded by entry count and bytes (Spin variables
//! `ready_answers_max` and `ready_answers_max_mib`); storing evicts the
//! answers built longest ago.

use llmos_core::ids::VolumeId;
use spin_sdk::http::{Request, Response};
use spin_sdk::sqlite::Value;

use crate::db::{Db, Migration};
use crate::encoding::{self, Coding};
use crate::error::ApiResult;

/// The table of ready answers.
pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "ready-answers-v1",
    statements: &["CREATE TABLE IF NOT EXISTS ready_answers (
            key TEXT PRIMARY KEY,
            tag TEXT NOT NULL,
            content_type TEXT NOT NULL,
            identity BLOB NOT NULL,
            gzip BLOB,
            bytes INTEGER NOT NULL
        )"],
}];

/// Answers kept at most, unless `ready_answers_max` says otherwise.
pub const DEFAULT_MAX_ENTRIES: i64 = 4096;
/// Bytes kept at most (identity and gzip forms together), unless
/// `ready_answers_max_mib` says otherwise.
pub const DEFAULT_MAX_MIB: i64 = 64;

/// The gzip level of stored answers: compressed once, sent many times.
const STORED_LEVEL: u32 = 6;

/// An answer found ready.
#[derive(Debug)]
pub struct Ready {
    pub content_type: String,
    pub body: Vec<u8>,
    /// Whether `body` is the gzip form.
    pub gzip: bool,
}

/// The answer stored for `key` if it was built at `tag`, in the coding
/// `coding` when stored so (else as it is). One statement.
pub fn lookup(db: &Db, key: &str, tag: &str, coding: Coding) -> ApiResult<Option<Ready>> {
    let want_gzip = i64::from(coding == Coding::Gzip);
    let rows = db.execute(
        "SELECT content_type,
                CASE WHEN ?3 = 1 AND gzip IS NOT NULL THEN gzip ELSE identity END,
                ?3 = 1 AND gzip IS NOT NULL
         FROM ready_answers WHERE key = ?1 AND tag = ?2",
        &[
            Value::Text(key.to_owned()),
            Value::Text(tag.to_owned()),
            Value::Integer(want_gzip),
        ],
    )?;
    let Some(row) = rows.rows.into_iter().next() else {
        return Ok(None);
    };
    let mut values = row.values.into_iter();
    let (Some(Value::Text(content_type)), Some(Value::Blob(body)), Some(Value::Integer(gzip))) =
        (values.next(), values.next(), values.next())
    else {
        return Ok(None);
    };
    Ok(Some(Ready {
        content_type,
        body,
        gzip: gzip == 1,
    }))
}

/// Stores `body` for `key` as built at `tag`, with its gzip form when that
/// is worth sending, and evicts the oldest answers past the bounds.
/// Returns the gzip form. A failure to store is logged, not returned: the
/// answer itself is still right.
pub fn keep(db: &Db, key: &str, tag: &str, content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    let gzip = (body.len() > encoding::MIN_COMPRESSED && encoding::compressible(content_type))
        .then(|| encoding::gzip(body, STORED_LEVEL))
        .filter(|coded| coded.len() < body.len());
    let bytes = body.len() + gzip.as_ref().map_or(0, Vec::len);
    let stored = db
        .execute(
            "INSERT OR REPLACE INTO ready_answers (key, tag, content_type, identity, gzip, bytes)
             VALUES (?, ?, ?, ?, ?, ?)",
            &[
                Value::Text(key.to_owned()),
                Value::Text(tag.to_owned()),
                Value::Text(content_type.to_owned()),
                Value::Blob(body.to_vec()),
                gzip.clone().map_or(Value::Null, Value::Blob),
                Value::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)),
            ],
        )
        .and_then(|_| {
            let (entries, mib) = bounds();
            db.execute(
                "DELETE FROM ready_answers WHERE rowid IN (
                    SELECT rowid FROM (
                        SELECT rowid, row_number() OVER newest AS n, sum(bytes) OVER newest AS total
                        FROM ready_answers
                        WINDOW newest AS (ORDER BY rowid DESC ROWS UNBOUNDED PRECEDING))
                    WHERE n > ?1 OR total > ?2)",
                &[Value::Integer(entries), Value::Integer(mib << 20)],
            )
        });
    if let Err(err) = stored {
        eprintln!("ready answers: keeping {key} failed: {}", err.message);
    }
    gzip
}

/// The bounds of the table: `(entries, MiB)`.
fn bounds() -> (i64, i64) {
    let read = |name: &str, default: i64| {
        spin_sdk::variables::get(name)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    (
        read("ready_answers_max", DEFAULT_MAX_ENTRIES),
        read("ready_answers_max_mib", DEFAULT_MAX_MIB),
    )
}

/// Removes every stored answer (for example after a change the tags do
/// not capture).
pub fn clear(db: &Db) -> ApiResult<()> {
    db.execute("DELETE FROM ready_answers", &[])?;
    Ok(())
}

/// Answers a read that can be kept ready: `304` when the request's
/// `If-None-Match` names `tag`; the stored answer when there is one for
/// `key` at `tag`; else what `build` makes (content type and body), which
/// is stored for the next read. `headers` (for example `cache-control`)
/// go on every answer, with `ETag: tag` (weak when gzip-coded) and
/// `Vary: accept-encoding`. Without a tag (a state that nothing names
/// exactly) the answer is built and not stored.
pub fn serve(
    req: &Request,
    db: &Db,
    key: &str,
    tag: Option<&str>,
    headers: &[(&str, &str)],
    build: impl FnOnce() -> ApiResult<(String, Vec<u8>)>,
) -> ApiResult<Response> {
    let coding = Coding::for_request(req);
    let Some(tag) = tag else {
        let (content_type, body) = build()?;
        let mut response = Response::builder();
        response.status(200).header("content-type", content_type);
        for (name, value) in headers {
            response.header(*name, *value);
        }
        return Ok(encoding::finish(req, response.body(body).build()));
    };
    if crate::http::if_none_match(req, tag) {
        return Ok(not_modified(tag, headers));
    }
    let ready = match lookup(db, key, tag, coding)? {
        Some(ready) => ready,
        None => build_and_keep(db, key, tag, coding, build)?,
    };
    Ok(answer(tag, headers, ready))
}

/// What `build` makes, kept for `key` at `tag`, in the coding `coding`
/// when it was kept so.
fn build_and_keep(
    db: &Db,
    key: &str,
    tag: &str,
    coding: Coding,
    build: impl FnOnce() -> ApiResult<(String, Vec<u8>)>,
) -> ApiResult<Ready> {
    let (content_type, body) = build()?;
    let coded = keep(db, key, tag, &content_type, &body);
    Ok(match coded {
        Some(coded) if coding == Coding::Gzip => Ready {
            content_type,
            body: coded,
            gzip: true,
        },
        _ => Ready {
            content_type,
            body,
            gzip: false,
        },
    })
}

/// The key a read's answer is kept under: a digest of `what` (the route),
/// `format` (what else the bytes depend on besides the state, such as
/// an index format; bump it when they change), the volumes the read
/// looks at, in order, and `request` (its path and query parameters).
pub fn key(what: &str, format: &str, volumes: &[VolumeId], request: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let mut digest = Sha256::new();
    digest.update(format!("{what} {} {format}\n", env!("CARGO_PKG_VERSION")));
    for volume in volumes {
        digest.update(format!("volume {volume}\n"));
    }
    digest.update(format!("request {request}\n"));
    format!("{what}:{}", hex::encode(&digest.finalize()[..16]))
}

/// The entity tag of the answer kept under `key` when each volume is at
/// its head in `heads` (sorted by volume).
pub fn tag<V: std::fmt::Display>(key: &str, heads: &[(V, String)]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut digest = Sha256::new();
    digest.update(key.as_bytes());
    for (volume, head) in heads {
        digest.update(format!("\nhead {volume} {head}"));
    }
    format!("\"{}\"", hex::encode(&digest.finalize()[..16]))
}

/// `304 Not Modified` for `tag`, with `headers`.
pub fn not_modified(tag: &str, headers: &[(&str, &str)]) -> Response {
    let mut response = Response::builder();
    response.status(304).header("etag", tag);
    for (name, value) in headers {
        response.header(*name, *value);
    }
    let mut response = response.build();
    encoding::vary_on_encoding(&mut response);
    response
}

/// `200` with a ready answer built at `tag`, and `headers`.
pub fn answer(tag: &str, headers: &[(&str, &str)], ready: Ready) -> Response {
    let mut response = Response::builder();
    response
        .status(200)
        .header("content-type", ready.content_type.as_str())
        .header("etag", tag);
    for (name, value) in headers {
        response.header(*name, *value);
    }
    if ready.gzip {
        response.header("content-encoding", "gzip");
    }
    let mut response = response.body(ready.body).build();
    if ready.gzip {
        encoding::weaken_etag(&mut response);
    }
    encoding::vary_on_encoding(&mut response);
    response
}

/// A kept answer as found with its state: the tag it was built at, and
/// its body unless the request's `If-None-Match` named that tag.
pub type Kept = (String, Option<Ready>);

/// The rows of `state_sql` (a query of the state a kept answer depends
/// on, with `params`, and four columns) and the answer kept for `key`, in
/// one statement: the state's rows, and the kept answer's tag with its
/// body in the coding the request accepts. The body is left out when
/// the kept tag is the one the request's `If-None-Match` names: then the
/// answer is either `304` or stale.
pub fn lookup_with_state(
    req: &Request,
    db: &Db,
    state_sql: &str,
    params: Vec<Value>,
    key: &str,
) -> ApiResult<(Vec<Vec<Value>>, Option<Kept>)> {
    let coding = Coding::for_request(req);
    let want_gzip = i64::from(coding == Coding::Gzip);
    let client_tag = req
        .header("if-none-match")
        .and_then(|v| v.as_str())
        .map(|v| v.trim().trim_start_matches("W/").to_owned())
        .unwrap_or_default();
    let sql = format!(
        "SELECT *, NULL FROM ({state_sql}) UNION ALL \
         SELECT NULL, tag, content_type, \
                CASE WHEN tag = ? THEN NULL \
                     WHEN ? = 1 AND gzip IS NOT NULL THEN gzip ELSE identity END, \
                ? = 1 AND gzip IS NOT NULL \
         FROM ready_answers WHERE key = ?"
    );
    let mut params = params;
    params.extend([
        Value::Text(client_tag),
        Value::Integer(want_gzip),
        Value::Integer(want_gzip),
        Value::Text(key.to_owned()),
    ]);
    let rows = db.execute(&sql, &params)?;
    let mut state = Vec::new();
    let mut kept = None;
    for row in rows.rows {
        let mut values = row.values;
        if matches!(values.first(), Some(Value::Null)) {
            let mut values = values.into_iter().skip(1);
            if let (Some(Value::Text(tag)), Some(Value::Text(content_type)), body, gzip) =
                (values.next(), values.next(), values.next(), values.next())
            {
                let ready = match body {
                    Some(Value::Blob(body)) => Some(Ready {
                        content_type,
                        body,
                        gzip: matches!(gzip, Some(Value::Integer(1))),
                    }),
                    _ => None,
                };
                kept = Some((tag, ready));
            }
        } else {
            values.truncate(4);
            state.push(values);
        }
    }
    Ok((state, kept))
}

/// Bump when the bytes of an answer kept by [`serve_by_heads`] change for
/// the same state.
const HEADS_FORMAT: u32 = 1;

/// A kept read whose answer is a function of the head commits of
/// `volumes` (the files it reads) and of the request alone: the heads and
/// the kept answer are read in one statement; the tag is a digest of
/// `what` (the route), the volumes, their heads and `request` (its path
/// and query parameters). Answers `304`, the kept answer, or what `build`
/// makes, kept for the next read.
pub fn serve_by_heads(
    req: &Request,
    db: &Db,
    what: &str,
    volumes: &[VolumeId],
    request: &str,
    headers: &[(&str, &str)],
    build: impl FnOnce() -> ApiResult<(String, Vec<u8>)>,
) -> ApiResult<Response> {
    let key = key(what, &HEADS_FORMAT.to_string(), volumes, request);
    let sql = format!(
        "SELECT volume, target, NULL, NULL FROM git_refs \
         WHERE name = 'refs/heads/main' AND volume IN ({})",
        vec!["?"; volumes.len().max(1)].join(", ")
    );
    let mut params: Vec<Value> = volumes.iter().map(|v| Value::Text(v.to_string())).collect();
    if params.is_empty() {
        params.push(Value::Null);
    }
    let (rows, kept) = lookup_with_state(req, db, &sql, params, &key)?;
    let mut heads: Vec<(String, String)> = rows
        .into_iter()
        .filter_map(|row| match (row.first(), row.get(1)) {
            (Some(Value::Text(volume)), Some(Value::Text(head))) => {
                Some((volume.clone(), head.clone()))
            }
            _ => None,
        })
        .collect();
    heads.sort();
    let tag = tag(&key, &heads);
    if crate::http::if_none_match(req, &tag) {
        return Ok(not_modified(&tag, headers));
    }
    if let Some((kept_tag, Some(ready))) = kept
        && kept_tag == tag
    {
        return Ok(answer(&tag, headers, ready));
    }
    let ready = build_and_keep(db, &key, &tag, Coding::for_request(req), build)?;
    Ok(answer(&tag, headers, ready))
}
