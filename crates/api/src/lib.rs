//! The OpenAPI 3.1 document of the HTTP API (API.md), assembled from the
//! types the components serialise and deserialise: each schema is derived
//! from the Rust type a component answers or reads (`utoipa::ToSchema` on
//! that type, in `llmos-guest` and the crates below it), so the document
//! changes when the code does.
//!
//! Each operation is declared once, with its parameters, request body,
//! every response status and the role it needs: `/health` and `/auth`
//! here, each other route group in its own module, whose document
//! [`openapi`] merges into this one. The tests of this crate keep
//! `docs/openapi.json` equal to [`document_json`].

mod chat;
mod evolve;
mod git;
mod skills;
mod traces;
mod web;
mod workflows;

use llmos_guest::auth::{
    Identity, IssuedToken, NewToken, RevokedToken, Role, TokenInfo, TokenList,
};
use llmos_guest::error::{ErrorBody, ErrorObject};
use llmos_guest::http::Health;
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
        auth_revoke_token
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
        RevokedToken
    )),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "health", description = "Liveness, without a token."),
        (name = "auth", description = "API tokens: issue, list, revoke, whoami.")
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
    doc.merge(skills::Doc::openapi());
    doc.merge(workflows::Doc::openapi());
    doc.merge(chat::Doc::openapi());
    doc.merge(evolve::Doc::openapi());
    doc.merge(traces::Doc::openapi());
    doc.merge(web::Doc::openapi());
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
