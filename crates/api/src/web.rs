//! `/openapi.json`, `/docs` and the workbench page: the `web` component.
//! None of them needs a token.

use llmos_guest::error::ErrorBody;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(openapi_document, openapi_document_head, docs_page, workbench_page),
    tags(
        (name = "docs", description = "This document, and the interactive reference built on it."),
        (name = "web", description = "The browser workbench.")
    )
)]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    operation_id = "openapi-document",
    summary = "This OpenAPI 3.1 document (also `docs/openapi.json` of the build). No token.",
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy already held.")),
    responses(
        (status = 200, description = "The document; its `ETag` is the SHA-256 of the bytes.",
            content((Object = "application/json")),
            headers(("ETag" = String, description = "Quoted hex SHA-256 of the document."))),
        (status = 304, description = "The held copy is current.")
    ),
    security(())
)]
#[allow(dead_code)]
fn openapi_document() {}

#[utoipa::path(
    head,
    path = "/openapi.json",
    tag = "docs",
    operation_id = "openapi-document-head",
    summary = "The document's headers (its `ETag`) without the body. No token.",
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy already held.")),
    responses(
        (status = 200, description = "The document is there; no body.",
            headers(("ETag" = String, description = "Quoted hex SHA-256 of the document."))),
        (status = 304, description = "The held copy is current.")
    ),
    security(())
)]
#[allow(dead_code)]
fn openapi_document_head() {}

#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    operation_id = "docs-page",
    summary = "The interactive reference of this document: paste a token under Authorize and try each call. No token.",
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy already held.")),
    responses(
        (status = 200, description = "The reference page.", content((String = "text/html"))),
        (status = 304, description = "The held copy is current."),
        (status = 404, description = "The pages are not built (`frontend-not-built`).", body = ErrorBody)
    ),
    security(())
)]
#[allow(dead_code)]
fn docs_page() {}

#[utoipa::path(
    get,
    path = "/",
    tag = "web",
    operation_id = "workbench-page",
    summary = "The browser workbench. Other paths outside the API's prefixes are its routes (the same page) and its assets. No token: the page asks for one.",
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy already held.")),
    responses(
        (status = 200, description = "The workbench page.", content((String = "text/html"))),
        (status = 304, description = "The held copy is current."),
        (status = 404, description = "The page is not built (`frontend-not-built`).", body = ErrorBody)
    ),
    security(())
)]
#[allow(dead_code)]
fn workbench_page() {}
