//! `/auth/...`: API tokens. Admins issue, list and revoke tokens; any
//! caller can ask who its token belongs to.
//!
//! | route | who | answer |
//! |---|---|---|
//! | `POST /auth/tokens` `{"user_id","team_ids","role","label"?,"expires_in"?}` | admin | `201 {"token", "token_id", ...}` |
//! | `GET /auth/tokens` | admin | `200 {"tokens": [...]}` (never the secrets) |
//! | `DELETE /auth/tokens/{token_id}` | admin | `200 {"token_id","revoked":true}` |
//! | `GET /auth/me` | any token | `200 {"user_id","team_ids","role"}` |

use llmos_guest::auth::{self, IssuedToken, NewToken, RevokedToken, TokenList};
use llmos_guest::http::{self, method_name};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    llmos_guest::serve(req, route)
}

fn route(req: &Request) -> ApiResult<Response> {
    let segments = http::segments(req.path())?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (db, identity) = llmos_guest::open_authenticated(req, &[])?;
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["auth", "me"]) => http::ok(&identity),
        (Method::Post, ["auth", "tokens"]) => {
            identity.require_admin()?;
            let request: NewToken = http::read_json(req)?;
            let (token, info) = auth::issue_token(&db, request)?;
            http::created(&IssuedToken { token, info })
        }
        (Method::Get, ["auth", "tokens"]) => {
            identity.require_admin()?;
            http::ok(&TokenList {
                tokens: auth::list_tokens(&db)?,
            })
        }
        (Method::Delete, ["auth", "tokens", token_id]) => {
            identity.require_admin()?;
            auth::revoke_token(&db, token_id)?;
            http::ok(&RevokedToken {
                token_id: (*token_id).to_owned(),
                revoked: true,
            })
        }
        (_, ["auth", "me"] | ["auth", "tokens"] | ["auth", "tokens", _]) => Err(
            ApiError::method_not_allowed(&method_name(req.method()), req.path()),
        ),
        _ => Err(ApiError::not_found(
            "no-such-route",
            format!("no route {} {}", method_name(req.method()), req.path()),
        )),
    }
}
