//! The builder service, as this component calls it: one `POST {url}/build`
//! with the skill file, answered by the component's bytes or a JSON error.
//!
//! The URL is the Spin variable `skill_builder_url` (for example
//! `http://127.0.0.1:3100`); the component's `allowed_outbound_hosts`
//! must include its host. The request goes through Spin's outbound HTTP
//! (`wasi:http`), so it behaves the same under `spin up` and `llmos up`.
//! Nothing the builder answers is trusted: the caller checks a returned
//! component as it checks an upload.

use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::{Method, Request, Response};

/// The Spin variable naming the builder service.
pub const URL_VARIABLE: &str = "skill_builder_url";

/// Statuses whose JSON error body is the builder's verdict on the skill
/// (a compile error, the builder busy or timing out, a file it refuses as
/// too large), which the client gets as is. Any other failure of the
/// builder is a 502.
const PASSED_THROUGH: &[u16] = &[413, 422, 503, 504];

/// What the builder said.
#[derive(Debug)]
pub enum Verdict {
    /// The component's bytes (`200 application/wasm`).
    Built(Vec<u8>),
    /// An error to hand to the client unchanged: the builder's status and
    /// its JSON body `{"error": {"code", "message", …}}`.
    Refused { status: u16, body: Vec<u8> },
}

/// The builder's URL, or 503 `builder-not-configured`.
pub fn url() -> ApiResult<String> {
    let url = spin_sdk::variables::get(URL_VARIABLE).unwrap_or_default();
    let url = url.trim().trim_end_matches('/');
    if url.is_empty() {
        return Err(ApiError::unavailable(
            "builder-not-configured",
            format!(
                "no builder service is configured; set the Spin variable `{URL_VARIABLE}` \
                 (SPIN_VARIABLE_SKILL_BUILDER_URL) to its URL"
            ),
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::unavailable(
            "builder-not-configured",
            format!("`{URL_VARIABLE}` must be an http:// or https:// URL, got `{url}`"),
        ));
    }
    Ok(url.to_owned())
}

/// Sends the skill file at `path` (`skills/<id>.md`) to the builder at
/// `url` and reads its answer.
pub fn build(url: &str, path: &str, source: &[u8]) -> ApiResult<Verdict> {
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!("{url}/build"))
        .header("content-type", "text/markdown; charset=utf-8")
        // A declared length lets the builder read the file in one go
        // instead of a chunked stream.
        .header("content-length", source.len().to_string())
        .header("x-skill-path", path)
        .body(source.to_vec())
        .build();
    let response: Response = spin_sdk::http::run(spin_sdk::http::send(request)).map_err(|err| {
        ApiError::unavailable(
            "builder-unavailable",
            format!("the builder service at {url} cannot be reached: {err}"),
        )
    })?;
    verdict(url, &response)
}

/// Classifies the builder's answer.
fn verdict(url: &str, response: &Response) -> ApiResult<Verdict> {
    let status = *response.status();
    let content_type = response
        .header("content-type")
        .and_then(|v| v.as_str())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let bad = |what: String| {
        ApiError::new(
            502,
            "builder-failed",
            format!("the builder service at {url} {what}"),
        )
    };
    if status == 200 {
        if content_type != "application/wasm" {
            return Err(bad(format!(
                "answered 200 with `{content_type}` instead of application/wasm"
            )));
        }
        return Ok(Verdict::Built(response.body().to_vec()));
    }
    if PASSED_THROUGH.contains(&status) && is_error_body(response.body()) {
        return Ok(Verdict::Refused {
            status,
            body: response.body().to_vec(),
        });
    }
    let detail =
        String::from_utf8_lossy(&response.body()[..response.body().len().min(500)]).into_owned();
    Err(bad(format!("answered {status}: {detail}")))
}

/// Whether `body` is the API's error shape, `{"error": {"code": "…",
/// "message": "…"}}`: only then is it handed on as the builder's verdict.
fn is_error_body(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let error = &value["error"];
    error["code"].as_str().is_some_and(|c| !c.is_empty()) && error["message"].is_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_error_shape_is_passed_through() {
        assert!(is_error_body(
            br#"{"error":{"code":"skill-compile-error","message":"x","line":3}}"#
        ));
        for body in [
            &b"<html>bad gateway</html>"[..],
            br#"{"error":"text"}"#,
            br#"{"error":{"code":"","message":"m"}}"#,
            br#"{"error":{"code":"c"}}"#,
        ] {
            assert!(!is_error_body(body), "{}", String::from_utf8_lossy(body));
        }
    }
}
