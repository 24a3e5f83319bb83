//! The one place where failures become HTTP responses.
//!
//! Every error a component returns is an [`ApiError`]: an HTTP status, a
//! kebab-case code and a message saying what went wrong and where. It is
//! rendered as the JSON body of API.md:
//! `{"error": {"code": "...", "message": "..."}}`, plus any details that
//! locate the problem (`"line"`, `"port"`, `"import"`, …) as further
//! members of `error`.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use spin_sdk::http::Response;
use utoipa::ToSchema;

/// The body of every error answer (API.md): `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

/// What failed and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorObject {
    /// A kebab-case code, stable for programs (`skill-not-found`).
    #[schema(example = "skill-not-found")]
    pub code: String,
    /// What went wrong and where, for people.
    pub message: String,
    /// Details that locate the problem (`line`, `port`, `import`, …).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// A failure with the HTTP status and JSON body it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: String,
    /// More members of the body's `error` object, beside `code` and
    /// `message` (which they never replace).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }

    /// Adds `key` to the body's `error` object (`"port": "x"`); `code` and
    /// `message` cannot be replaced this way.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if key != "code" && key != "message" {
            self.details.insert(key.to_owned(), value.into());
        }
        self
    }

    /// 400: the request is malformed (syntax, missing field, bad id).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 401: no credentials, or credentials that are not valid.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }

    /// 403: valid credentials that do not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    /// 404: nothing at this path, or nothing the caller may see.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// 405 for a known path with an unsupported method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            405,
            "method-not-allowed",
            format!("{method} is not supported on {path}"),
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    /// 413: the body exceeds a limit.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(413, "payload-too-large", message)
    }

    /// 415: a body in a media type the route does not take.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported-media-type", message)
    }

    /// 422: well-formed but invalid content (a skill that fails validation).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(422, code, message)
    }

    /// 503: a dependency is not configured or not reachable.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(503, code, message)
    }

    /// 500: a failure of the service itself. The detail goes to the log; the
    /// client sees a generic message so no internals leak.
    pub fn internal(detail: impl fmt::Display) -> Self {
        eprintln!("internal error: {detail}");
        Self::new(500, "internal", "internal error; see the server log")
    }

    /// The JSON body of this error.
    pub fn body(&self) -> serde_json::Value {
        let mut details = self.details.clone();
        // `code` and `message` are never replaced by a detail.
        details.remove("code");
        details.remove("message");
        let body = ErrorBody {
            error: ErrorObject {
                code: self.code.to_string(),
                message: self.message.clone(),
                details,
            },
        };
        serde_json::to_value(body).expect("an error body serialises")
    }

    pub fn into_response(self) -> Response {
        crate::http::json_response(self.status, &self.body())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<llmos_core::ids::IdError> for ApiError {
    fn from(err: llmos_core::ids::IdError) -> Self {
        ApiError::bad_request("invalid-id", err.to_string())
    }
}

impl From<spin_sdk::sqlite::Error> for ApiError {
    fn from(err: spin_sdk::sqlite::Error) -> Self {
        ApiError::internal(format_args!("sqlite: {err}"))
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_documented_shape() {
        let err = ApiError::bad_request("invalid-json", "line 1: expected value");
        assert_eq!(
            err.body(),
            serde_json::json!({"error": {"code": "invalid-json", "message": "line 1: expected value"}})
        );
    }

    #[test]
    fn details_are_members_of_the_error_object() {
        let err = ApiError::unprocessable("component-ports-mismatch", "input `x` differs")
            .with_detail("port", "x")
            .with_detail("code", "overridden?");
        assert_eq!(
            err.body(),
            serde_json::json!({"error": {"code": "component-ports-mismatch",
                                         "message": "input `x` differs", "port": "x"}})
        );
    }

    #[test]
    fn internal_errors_hide_details() {
        let err = ApiError::internal("disk on fire at /var/x");
        assert_eq!(err.status, 500);
        assert!(!err.message.contains("/var/x"));
    }
}
