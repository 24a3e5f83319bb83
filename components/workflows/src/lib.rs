//! The `workflows` component (placeholder until its issue lands).
use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(Response::builder()
        .status(501)
        .header("content-type", "application/json")
        .body(
            r#"{"error":{"code":"not-implemented","message":"workflows is not implemented yet"}}"#,
        )
        .build())
}
