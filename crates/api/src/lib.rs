//! The OpenAPI 3.1 document of the HTTP API (API.md), assembled from the
//! types the components serialise and deserialise: each schema is derived
//! from the Rust type a component answers or reads (`utoipa::ToSchema` on
//! that type, in `llmos-guest` and the crates below it), so the document
//! changes when the code does.
//!
//! Each operation is declared once, below, with its parameters, request
//! body, every response status and the role it needs. The tests of this
//! crate keep `docs/openapi.json` equal to [`document_json`].
//!
//! Covered so far: `/health`, the token routes of `/auth` and `/traces`.

use llmos_core::trace::{Outcome, Trace, TraceKind};
use llmos_guest::auth::{
    Identity, IssuedToken, NewToken, RevokedToken, Role, TokenInfo, TokenList,
};
use llmos_guest::error::{ErrorBody, ErrorObject};
use llmos_guest::http::Health;
use llmos_store::traces::{TracePage, TraceRow};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The name of the bearer-token security scheme.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "LLMos-Lite",
        description = "The HTTP API of LLMos-Lite: skills, workflows, chat, evolution, \
                       traces and git access. Every route but `/health` needs \
                       `Authorization: Bearer <token>`; errors answer \
                       `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "Apache-2.0")
    ),
    paths(
        health,
        auth_me,
        auth_issue_token,
        auth_list_tokens,
        auth_revoke_token,
        traces_list,
        traces_show
    ),
    components(schemas(
        ErrorBody,
        ErrorObject,
        Health,
        Identity,
        Role,
        NewToken,
        TokenInfo,
        IssuedToken,
        TokenList,
        RevokedToken,
        TraceKind,
        Outcome,
        Trace,
        TraceRow,
        TracePage
    )),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "health", description = "Liveness, without a token."),
        (name = "auth", description = "API tokens: issue, list, revoke, whoami."),
        (name = "traces", description = "What chat turns and workflow runs recorded.")
    )
)]
struct ApiDoc;

/// Adds the bearer-token scheme the `security` requirements name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token: the admin token, or one issued with `POST /auth/tokens`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as it is served and written to `docs/openapi.json`:
/// pretty-printed JSON with one trailing newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&openapi()).expect("the document serialises");
    text.push('\n');
    text
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health",
    summary = "Is the app up?",
    responses((status = 200, description = "The app answers.", body = Health)),
    security(())
)]
#[allow(dead_code)]
fn health() {}

#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    operation_id = "auth-me",
    summary = "Who the token belongs to. Role: any token.",
    responses(
        (status = 200, description = "The token's user, teams and role.", body = Identity),
        (status = 401, description = "No token, or one that is unknown, revoked or expired.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn auth_me() {}

#[utoipa::path(
    post,
    path = "/auth/tokens",
    tag = "auth",
    operation_id = "auth-issue-token",
    summary = "Issue a token. Role: admin.",
    request_body(content = NewToken, content_type = "application/json"),
    responses(
        (status = 201, description = "The new token; its secret is shown this once.", body = IssuedToken),
        (status = 400, description = "Malformed JSON, an unknown field, a bad id or role.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The token is not an admin's.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn auth_issue_token() {}

#[utoipa::path(
    get,
    path = "/auth/tokens",
    tag = "auth",
    operation_id = "auth-list-tokens",
    summary = "List every token (never the secrets). Role: admin.",
    responses(
        (status = 200, description = "All tokens, revoked ones included.", body = TokenList),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The token is not an admin's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn auth_list_tokens() {}

#[utoipa::path(
    delete,
    path = "/auth/tokens/{token_id}",
    tag = "auth",
    operation_id = "auth-revoke-token",
    summary = "Revoke a token. Role: admin.",
    params(("token_id" = String, Path, description = "The token's id (`token_id`, not its secret).")),
    responses(
        (status = 200, description = "The token is revoked.", body = RevokedToken),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The token is not an admin's.", body = ErrorBody),
        (status = 404, description = "No token has that id.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn auth_revoke_token() {}

#[utoipa::path(
    get,
    path = "/traces",
    tag = "traces",
    operation_id = "traces-list",
    summary = "A user's traces, newest first. Role: the user, or an admin for anyone.",
    params(
        ("user_id" = Option<String>, Query, description = "Whose traces; the token's user when absent."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500 (default 50)."),
        ("cursor" = Option<String>, Query, description = "The `next` of the page before."),
        ("kind" = Option<TraceKind>, Query, description = "Only traces of this kind.")
    ),
    responses(
        (status = 200, description = "One page; `next` is absent on the last.", body = TracePage),
        (status = 400, description = "A bad `limit`, `kind` or `cursor`.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` names another user and the token is not an admin's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn traces_list() {}

#[utoipa::path(
    get,
    path = "/traces/{trace_id}",
    tag = "traces",
    operation_id = "traces-show",
    summary = "One whole trace. Role: its user, or an admin.",
    params(("trace_id" = String, Path, description = "The trace's id.")),
    responses(
        (status = 200, description = "The trace as stored in its user's volume.", body = Trace),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The trace is another user's.", body = ErrorBody),
        (status = 404, description = "No trace has that id.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn traces_show() {}
