//! Glue shared by every Spin component of the app: the JSON error body and
//! its status codes ([`error`]), request helpers ([`http`]), the database
//! and its migrations ([`db`]), identity and access rules ([`auth`]), the LLM client
//! ([`llm`]) and the first-start import of the shipped system skills
//! ([`system`]).
//!
//! A component's handler is a function from a request to
//! `ApiResult<Response>`; [`serve`] turns its errors into responses, so
//! every component answers failures the same way.
#![forbid(unsafe_code)]

pub mod answers;
pub mod api;
pub mod auth;
pub mod db;
pub mod encoding;
pub mod error;
pub mod http;
pub mod llm;
pub mod system;
pub mod volumes;

use spin_sdk::http::{Request, Response};

pub use auth::Identity;
pub use db::{Db, Migration};
pub use error::{ApiError, ApiResult};

/// Runs `handler`, renders its error, if any, as the JSON error body, and
/// sends a large answer compressed when the request accepts it
/// ([`encoding::finish`]).
pub fn serve(req: Request, handler: impl FnOnce(&Request) -> ApiResult<Response>) -> Response {
    let response = match handler(&req) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    encoding::finish(&req, response)
}

/// Opens the database (applying the auth, store and ready-answer schemas
/// and `migrations`) and establishes the caller's identity. Once every
/// migration is applied, both cost one statement together.
pub fn open_authenticated(req: &Request, migrations: &[&[Migration]]) -> ApiResult<(Db, Identity)> {
    let mut sets: Vec<&[Migration]> =
        vec![auth::MIGRATIONS, db::STORE_MIGRATIONS, answers::MIGRATIONS];
    sets.extend_from_slice(migrations);
    let token = auth::required_token(req)?;
    let db = Db::connect()?;
    let mut ids: Vec<&str> = sets
        .iter()
        .flat_map(|set| set.iter().map(|m| m.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(identity) = auth::identify_migrated(&token, &db, &ids)? {
        return Ok((db, identity));
    }
    db.migrate(&sets)?;
    let identity = auth::identify(&token, &db)?;
    Ok((db, identity))
}

/// Seconds since the Unix epoch, from the host's wall clock.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
