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

pub mod api;
pub mod auth;
pub mod db;
pub mod error;
pub mod http;
pub mod llm;
pub mod system;
pub mod volumes;

use spin_sdk::http::{Request, Response};

pub use auth::Identity;
pub use db::{Db, Migration};
pub use error::{ApiError, ApiResult};

/// Runs `handler` and renders its error, if any, as the JSON error body.
pub fn serve(req: Request, handler: impl FnOnce(&Request) -> ApiResult<Response>) -> Response {
    match handler(&req) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// Opens the database (applying the auth and store schemas and
/// `migrations`) and
/// establishes the caller's identity.
pub fn open_authenticated(req: &Request, migrations: &[&[Migration]]) -> ApiResult<(Db, Identity)> {
    let mut sets: Vec<&[Migration]> = vec![auth::MIGRATIONS, db::STORE_MIGRATIONS];
    sets.extend_from_slice(migrations);
    let db = Db::open(&sets)?;
    let identity = auth::authenticate(req, &db)?;
    Ok((db, identity))
}

/// Seconds since the Unix epoch, from the host's wall clock.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
