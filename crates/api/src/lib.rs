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
                       traces and git access. Every route but `/health`, `/openapi.json`, \
                       `/docs` and the workbench page needs `Authorization: Bearer <token>`; \
                       errors answer `{\"error\": {\"code\", \"message\"}}`. A query \
                       parameter given with an empty value (`?volume=`) is the same as one \
                       left out.",
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

/// Raw bytes of a body (a component, a git pack): a binary string.
pub(crate) struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("Raw bytes."))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

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
    answer_bad_paths(&mut doc);
    optional_bodies(&mut doc);
    empty_queries(&mut doc);
    doc
}

/// `llmos_guest::http::Query` reads a query parameter given with an empty
/// value (`?kind=`) as one left out. An optional query parameter whose
/// schema does not already admit the empty string says so: it is the
/// documented value or empty.
fn empty_queries(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Required};
    let empty = serde_json::json!({"type": "string", "maxLength": 0});
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.head,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                let RefOr::T(parameter) = parameter else {
                    continue;
                };
                if !matches!(parameter.parameter_in, ParameterIn::Query)
                    || matches!(parameter.required, Required::True)
                {
                    continue;
                }
                let Some(schema) = parameter.schema.as_ref() else {
                    continue;
                };
                let value = serde_json::to_value(schema).expect("a schema serialises");
                if admits_empty(&value) {
                    continue;
                }
                let wrapped = serde_json::json!({"anyOf": [value, empty]});
                parameter.schema =
                    Some(serde_json::from_value(wrapped).expect("an anyOf schema reads back"));
            }
        }
    }
}

/// Whether a parameter schema admits `""`: a string without a length
/// floor, format, enumeration or pattern, or with a pattern that opens
/// with an empty alternative (`^(|…)$`); a nullable one is read through.
fn admits_empty(schema: &serde_json::Value) -> bool {
    if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return branches.iter().any(admits_empty);
    }
    let is_string = match &schema["type"] {
        serde_json::Value::String(t) => t == "string",
        serde_json::Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    if !is_string || schema.get("$ref").is_some() || schema.get("enum").is_some() {
        return false;
    }
    if schema["minLength"].as_u64().is_some_and(|n| n > 0) || schema.get("format").is_some() {
        return false;
    }
    match schema["pattern"].as_str() {
        None => true,
        Some(pattern) => pattern.starts_with("^(|"),
    }
}

/// A body declared as `Option<T>` is one that may be left out, not one
/// that may be the JSON `null` (no component reads `null` as a body): its
/// schema is `T`, and the body is not required.
fn optional_bodies(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let null = serde_json::json!({"type": "null"});
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
                continue;
            };
            if body.required.is_some() {
                continue;
            }
            for content in body.content.values_mut() {
                let RefOr::T(content) = content else { continue };
                let Some(RefOr::T(Schema::OneOf(one_of))) = content.schema.as_ref() else {
                    continue;
                };
                let [a, b] = one_of.items.as_slice() else {
                    continue;
                };
                let kept = if serde_json::to_value(b).ok().as_ref() == Some(&null) {
                    a.clone()
                } else if serde_json::to_value(a).ok().as_ref() == Some(&null) {
                    b.clone()
                } else {
                    continue;
                };
                content.schema = Some(kept);
            }
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// Every component reads its path through `llmos_guest::http::segments`,
/// which refuses a segment that is empty, `.` or `..`, holds a control
/// character, an (encoded) `/` or `\`, or is not UTF-8: `400
/// invalid-path`. Operations with path parameters say so unless they
/// describe their 400 already.
fn answer_bad_paths(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.head,
            &mut item.patch,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let has_path_param = operation.parameters.iter().flatten().any(|p| match p {
                RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Path),
                RefOr::Ref(_) => false,
            });
            if !has_path_param || operation.responses.responses.contains_key("400") {
                continue;
            }
            let response = ResponseBuilder::new()
                .description(
                    "A path segment that is not allowed (`invalid-path`): empty, `.` or `..`, \
                     a control character, an encoded `/` or `\\`, or not UTF-8.",
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            operation
                .responses
                .responses
                .insert("400".to_owned(), response.into());
        }
    }
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
