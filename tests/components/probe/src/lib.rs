//! Test component exercising every host capability.
//!
//! Capability endpoints live under `/_/` (matched on the full request path, so
//! manifests mount the probe at `/...` to use them). Any other path answers
//! with an echo of the routing headers the host passed in, which the routing
//! conformance cases compare against Spin's rules.
//!
//! The same `.wasm` serves several components of one manifest: the component
//! variable `who` tells them apart (service chaining checks it).
//!
//! The probe also exports `fermyon:spin-cron` so the cron trigger can run it:
//! every event appends a row to the `cron_ticks` table of the default database.

use std::collections::BTreeMap;

use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::{key_value, sqlite, variables};

mod cron {
    wit_bindgen::generate!({
        path: "../../../wit/spin-cron",
        world: "fermyon:spin-cron/spin-cron",
    });

    struct CronProbe;

    impl Guest for CronProbe {
        fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
            super::record_cron_tick(metadata.timestamp).map_err(|e| Error::Other(e.to_string()))
        }
    }

    export!(CronProbe);
}

fn record_cron_tick(timestamp: u64) -> anyhow::Result<()> {
    let db = sqlite::Connection::open_default()?;
    db.execute(
        "CREATE TABLE IF NOT EXISTS cron_ticks (ts INTEGER NOT NULL)",
        &[],
    )?;
    let ts = i64::try_from(timestamp)?;
    db.execute(
        "INSERT INTO cron_ticks (ts) VALUES (?)",
        &[sqlite::Value::Integer(ts)],
    )?;
    Ok(())
}

#[http_component]
async fn handle(req: Request) -> anyhow::Result<Response> {
    let path = req.path().to_owned();
    if path == "/auth/tokens" {
        return Ok(issue_token(&req));
    }
    let Some(rest) = path.strip_prefix("/_/") else {
        return Ok(echo(&req));
    };
    let query = parse_query(req.query());
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let method = req.method().clone();
    match (segment, tail) {
        ("health", _) => Ok(text(200, "ok")),
        ("sqlite", "open") => Ok(match sqlite::Connection::open(&param("db")) {
            Ok(_) => text(200, "ok"),
            Err(e) => text(403, &format!("{e:?}")),
        }),
        ("sqlite", "put") => {
            let db = sqlite::Connection::open_default()?;
            db.execute(
                "CREATE TABLE IF NOT EXISTS probe_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
                &[],
            )?;
            db.execute(
                "INSERT OR REPLACE INTO probe_kv (k, v) VALUES (?, ?)",
                &[
                    sqlite::Value::Text(param("k")),
                    sqlite::Value::Text(param("v")),
                ],
            )?;
            Ok(text(200, "stored"))
        }
        ("sqlite", "get") => {
            let db = sqlite::Connection::open_default()?;
            let result = db.execute(
                "SELECT v FROM probe_kv WHERE k = ?",
                &[sqlite::Value::Text(param("k"))],
            )?;
            Ok(match result.rows.first().and_then(|r| r.get::<&str>(0)) {
                Some(v) => text(200, v),
                None => text(404, "missing"),
            })
        }
        ("sqlite", "exec") => {
            // Runs the body as one SQL statement on a fresh `open` of the
            // default database and answers the rows as JSON arrays.
            let db = sqlite::Connection::open_default()?;
            let sql = String::from_utf8_lossy(req.body()).into_owned();
            Ok(match db.execute(&sql, &[]) {
                Ok(result) => {
                    let rows: Vec<Vec<serde_json::Value>> = result
                        .rows
                        .iter()
                        .map(|row| row.values.iter().map(sql_json).collect())
                        .collect();
                    let body = serde_json::json!({ "columns": result.columns, "rows": rows });
                    text(200, &body.to_string())
                }
                Err(e) => text(500, &format!("{e:?}")),
            })
        }
        ("sqlite", "count") => {
            let db = sqlite::Connection::open_default()?;
            db.execute(
                "CREATE TABLE IF NOT EXISTS probe_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
                &[],
            )?;
            let result = db.execute("SELECT COUNT(*) FROM probe_kv", &[])?;
            let count = result
                .rows
                .first()
                .and_then(|r| r.get::<i64>(0))
                .unwrap_or(-1);
            Ok(text(200, &count.to_string()))
        }
        ("cron", "ticks") => {
            let db = sqlite::Connection::open_default()?;
            db.execute(
                "CREATE TABLE IF NOT EXISTS cron_ticks (ts INTEGER NOT NULL)",
                &[],
            )?;
            let result = db.execute("SELECT COUNT(*) FROM cron_ticks", &[])?;
            let count = result
                .rows
                .first()
                .and_then(|r| r.get::<i64>(0))
                .unwrap_or(-1);
            Ok(text(200, &count.to_string()))
        }
        ("kv", "open") => Ok(match key_value::Store::open(&param("store")) {
            Ok(_) => text(200, "ok"),
            Err(e) => text(403, &format!("{e:?}")),
        }),
        ("kv", "keys") => {
            let store = key_value::Store::open_default()?;
            let mut keys = store.get_keys()?;
            keys.sort();
            Ok(text(200, &keys.join(",")))
        }
        ("kv", key) => {
            let store = key_value::Store::open_default()?;
            match method {
                Method::Put | Method::Post => {
                    store.set(key, req.body())?;
                    Ok(text(200, "stored"))
                }
                Method::Delete => {
                    store.delete(key)?;
                    Ok(text(200, "deleted"))
                }
                _ => Ok(match store.get(key)? {
                    Some(value) => Response::new(200, value),
                    None => text(404, "missing"),
                }),
            }
        }
        ("var", name) => Ok(match variables::get(name) {
            Ok(value) => text(200, &value),
            Err(variables::Error::Undefined(msg)) => text(404, &format!("undefined: {msg}")),
            Err(variables::Error::InvalidName(msg)) => text(400, &format!("invalid-name: {msg}")),
            Err(e) => text(500, &format!("{e:?}")),
        }),
        ("whoami", _) => Ok(text(200, &variables::get("who").unwrap_or_default())),
        ("env", name) => Ok(match std::env::var(name) {
            Ok(value) => text(200, &value),
            Err(_) => text(404, "unset"),
        }),
        ("outbound", _) => {
            let outgoing = Request::get(param("url")).build();
            Ok(
                match spin_sdk::http::send::<_, spin_sdk::http::Response>(outgoing).await {
                    Ok(resp) => {
                        let status = *resp.status();
                        let body = String::from_utf8_lossy(resp.body()).into_owned();
                        text(200, &format!("{status} {body}"))
                    }
                    Err(spin_sdk::http::SendError::Http(code)) => text(502, &format!("{code:?}")),
                    Err(e) => text(502, &format!("error: {e}")),
                },
            )
        }
        ("file", "read") => Ok(match std::fs::read_to_string(param("path")) {
            Ok(content) => text(200, &content),
            Err(e) => text(404, &format!("{:?}", e.kind())),
        }),
        ("file", "write") => Ok(match std::fs::write(param("path"), b"overwritten") {
            Ok(()) => text(200, "written"),
            Err(e) => text(403, &format!("{:?}", e.kind())),
        }),
        ("file", "list") => Ok(match std::fs::read_dir(param("path")) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                text(200, &names.join(","))
            }
            Err(e) => text(404, &format!("{:?}", e.kind())),
        }),
        ("spin", _) => {
            // A busy loop that never yields: only the host's deadline ends it.
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        ("bomb", _) => {
            // Touch every page so the allocation is real, until the host's
            // memory cap stops the growth.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 8 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        ("body", _) => Ok(text(200, &req.body().len().to_string())),
        _ => Ok(text(404, "no such probe endpoint")),
    }
}

/// A stand-in for the auth component's `POST /auth/tokens`: checks the admin
/// token (the `token` variable) and answers `201 {"token", ...}` with a token
/// derived from the request, so `llmos token create` can be checked.
fn issue_token(req: &Request) -> Response {
    let expected = format!("Bearer {}", variables::get("token").unwrap_or_default());
    let authorized = req
        .header("authorization")
        .and_then(|h| h.as_str())
        .is_some_and(|h| h == expected);
    if *req.method() != Method::Post || !authorized {
        return text(401, "unauthorized");
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(req.body()) else {
        return text(400, "bad json");
    };
    let user = body["user_id"].as_str().unwrap_or_default();
    let teams: Vec<&str> = body["team_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    let role = body["role"].as_str().unwrap_or_default();
    let token = format!("tok-{user}-{}-{role}", teams.join("+"));
    Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "token": token, "user_id": user }).to_string())
        .build()
}

/// The routing headers the host sets, plus which component answered.
fn echo(req: &Request) -> Response {
    let mut headers = serde_json::Map::new();
    for (name, value) in req.headers() {
        headers.insert(
            name.to_owned(),
            serde_json::Value::String(value.as_str().unwrap_or_default().to_owned()),
        );
    }
    let body = serde_json::json!({
        "component": variables::get("who").unwrap_or_default(),
        "path": req.path(),
        "query": req.query(),
        "headers": headers,
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn sql_json(value: &sqlite::Value) -> serde_json::Value {
    match value {
        sqlite::Value::Integer(i) => serde_json::json!(i),
        sqlite::Value::Real(r) => serde_json::json!(r),
        sqlite::Value::Text(t) => serde_json::json!(t),
        sqlite::Value::Blob(b) => serde_json::json!(b),
        sqlite::Value::Null => serde_json::Value::Null,
    }
}

fn text(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(body.to_owned())
        .build()
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
