//! The `evolve` component: the evolution engine and the trace index.
//!
//! | route | |
//! |---|---|
//! | `POST /evolve` | `{"user_id"?, "team_id"?, "auto_apply"?: true}`: one pass over the user's traces → `{"status":"completed","traces_analyzed","patterns_detected","skills_created","skills":[…],"retired","updated","commit"?}` |
//! | `GET /evolve/patterns` | `?user_id`: the patterns the traces show now, drafted or not, without changing anything |
//! | `GET /traces` | `?user_id&limit&cursor&kind` → `{"traces","next"}` |
//! | `GET /traces/{trace_id}` | the whole trace |
//!
//! A user evolves and reads only their own traces; an admin may name any
//! user. `auto_apply: true` (the default) commits every draft, update and
//! retirement of the pass as one commit in `users/{id}`; `false` commits
//! and records nothing and returns the drafts' files.
//!
//! Thresholds come from the variables `min_pattern_count` (default 3) and
//! `min_success_rate` (default 0.7). The same wasm also exports Spin's cron
//! handler (`fermyon:spin-cron`), which runs the pass for every user with
//! traces; spin.toml schedules it nightly.

mod llm;
pub mod pass;
pub mod state;
mod traces;

use llmos_core::evolve::EvolveConfig;
use llmos_core::ids::PrincipalId;
use llmos_guest::api::evolve::{EvolveRequest, PatternView, PatternsAnswer};
use llmos_guest::http::{self, Query, method_name};
use llmos_guest::{ApiError, ApiResult, Db, Migration};
use llmos_store::{SqlStore, Volumes};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

use crate::pass::PassError;

/// The tables of this component, applied with the auth and store schemas.
pub const MIGRATIONS: &[Migration] = state::MIGRATIONS;

#[http_component]
fn handle(req: Request) -> Response {
    llmos_guest::serve(req, route)
}

fn route(req: &Request) -> ApiResult<Response> {
    let segments = http::segments(req.path())?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method();
    if !matches!(
        segments.as_slice(),
        ["evolve"] | ["evolve", "patterns"] | ["traces"] | ["traces", _]
    ) {
        return Err(ApiError::not_found(
            "no-such-route",
            format!("no route {} {}", method_name(method), req.path()),
        ));
    }
    let (db, identity) = llmos_guest::open_authenticated(req, &[MIGRATIONS])?;
    match (method, segments.as_slice()) {
        (Method::Post, ["evolve"]) => evolve(&db, &identity, req),
        (Method::Get, ["evolve", "patterns"]) => patterns(&db, &identity, req),
        (Method::Get, ["traces"]) => traces::list(&db, &identity, req),
        (Method::Get, ["traces", id]) => traces::show(&db, &identity, id),
        _ => Err(ApiError::method_not_allowed(
            &method_name(method),
            req.path(),
        )),
    }
}

fn evolve(db: &Db, identity: &llmos_guest::Identity, req: &Request) -> ApiResult<Response> {
    let body: EvolveRequest = if req.body().iter().all(u8::is_ascii_whitespace) {
        EvolveRequest::default()
    } else {
        http::read_json(req)?
    };
    let user = identity.act_as_user(body.user_id.as_deref())?;
    identity.act_in_team(body.team_id.as_deref())?;
    let config = config()?;
    let report = run_pass(db, &config, &user, body.auto_apply)?;
    http::ok(&report)
}

fn patterns(db: &Db, identity: &llmos_guest::Identity, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let user = identity.act_as_user(q.get("user_id"))?;
    let config = config()?;
    let records = state::load(db, user.as_str()).map_err(ApiError::internal)?;
    let detection = pass::detect(db, &config, &user, &records).map_err(pass_error)?;
    let patterns = detection
        .patterns
        .iter()
        .map(|pattern| {
            let record = records
                .iter()
                .find(|r| r.fingerprint == pattern.fingerprint);
            PatternView {
                pattern,
                drafted: record.is_some(),
                skill_id: record.map(|r| r.skill_id.as_str()),
                state: record.map(|r| r.state.as_str()),
            }
        })
        .collect();
    http::ok(&PatternsAnswer {
        user_id: &user,
        traces_analyzed: detection.traces_analyzed,
        min_pattern_count: config.min_pattern_count,
        min_success_rate: config.min_success_rate,
        patterns,
    })
}

fn pass_error(err: PassError) -> ApiError {
    match err {
        PassError::Volume(llmos_store::VolumeError::Contention { .. }) => {
            ApiError::unavailable("volume-busy", err.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// Runs one pass for `user` on the component's database.
pub fn run_pass(
    db: &Db,
    config: &EvolveConfig,
    user: &PrincipalId,
    auto_apply: bool,
) -> ApiResult<pass::PassReport> {
    let volumes = Volumes::new(SqlStore::new(db));
    let now_ms = llmos_guest::now_secs().saturating_mul(1000);
    pass::run(db, &volumes, config, user, auto_apply, now_ms).map_err(pass_error)
}

/// The thresholds from the component variables (defaults when unset).
pub fn config() -> ApiResult<EvolveConfig> {
    let mut config = EvolveConfig::default();
    let var = |name: &str| {
        spin_sdk::variables::get(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(raw) = var("min_pattern_count") {
        config.min_pattern_count =
            raw.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::unavailable(
                    "invalid-configuration",
                    format!("variable min_pattern_count must be a whole number ≥ 1, got `{raw}`"),
                )
            })?;
    }
    if let Some(raw) = var("min_success_rate") {
        config.min_success_rate = raw
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| {
                ApiError::unavailable(
                    "invalid-configuration",
                    format!("variable min_success_rate must be a number from 0 to 1, got `{raw}`"),
                )
            })?;
    }
    Ok(config)
}

/// The nightly pass: every user with traces, one after another. A user
/// whose pass fails does not stop the others; the failures are reported.
pub fn run_all(db: &Db) -> Result<usize, String> {
    let config = config().map_err(|e| e.message.to_string())?;
    let users = state::users_with_traces(db).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    for user in &users {
        let outcome = PrincipalId::user(user)
            .map_err(|e| e.to_string())
            .and_then(|u| run_pass(db, &config, &u, true).map_err(|e| e.message.to_string()));
        if let Err(message) = outcome {
            eprintln!("evolve: pass for {user} failed: {message}");
            failures.push(format!("{user}: {message}"));
        }
    }
    if failures.is_empty() {
        Ok(users.len())
    } else {
        Err(format!(
            "{} of {} passes failed: {}",
            failures.len(),
            users.len(),
            failures.join("; ")
        ))
    }
}

mod cron {
    wit_bindgen::generate!({
        path: "../../wit/spin-cron",
        world: "fermyon:spin-cron/spin-cron",
    });

    struct NightlyEvolution;

    impl Guest for NightlyEvolution {
        fn handle_cron_event(_metadata: Metadata) -> Result<(), Error> {
            let db = llmos_guest::Db::open(&[
                llmos_guest::auth::MIGRATIONS,
                llmos_guest::db::STORE_MIGRATIONS,
                super::MIGRATIONS,
            ])
            .map_err(|e| Error::Other(e.message.to_string()))?;
            super::run_all(&db).map(|_| ()).map_err(Error::Other)
        }
    }

    export!(NightlyEvolution);
}
