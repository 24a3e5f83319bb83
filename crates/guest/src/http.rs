//! Request and response helpers shared by the components: JSON bodies with
//! the right status codes for bad input, query strings, path segments.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Request, Response};

use crate::error::{ApiError, ApiResult};

/// Largest JSON body a route parses. The host already refuses bodies over
/// its own cap (10 MiB by default); this keeps a component's memory use
/// predictable even when it runs under a host with a larger cap.
pub const MAX_JSON_BODY: usize = 10 * 1024 * 1024;

/// A JSON response with `status`.
pub fn json_response<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|err| {
        // Serialising our own response types cannot fail unless a map has
        // non-string keys, which none has; still answer with valid JSON.
        eprintln!("response serialisation failed: {err}");
        br#"{"error":{"code":"internal","message":"response serialisation failed"}}"#.to_vec()
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .build()
}

/// `200 OK` with a JSON body.
/// `200` of `GET /health`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The app's version.
    pub version: &'static str,
}

pub fn ok<T: Serialize + ?Sized>(value: &T) -> ApiResult<Response> {
    Ok(json_response(200, value))
}

/// `201 Created` with a JSON body.
pub fn created<T: Serialize + ?Sized>(value: &T) -> ApiResult<Response> {
    Ok(json_response(201, value))
}

/// The media type of the request body, lowercased, without parameters.
pub fn content_type(req: &Request) -> Option<String> {
    let value = req.header("content-type")?.as_str()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

/// Whether `media_type` is JSON (`application/json` or `…+json`).
pub fn is_json_media_type(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

/// Parses the body as JSON into `T`.
///
/// A body declared as something other than JSON is a 415; a missing
/// content type is accepted (curl without `-H` sends form encoding only
/// when asked). Syntax errors are a 400 naming line and column; a body that
/// parses but does not fit `T` is a 400 naming the field.
pub fn read_json<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    if let Some(ct) = content_type(req)
        && !is_json_media_type(&ct)
    {
        return Err(ApiError::unsupported_media_type(format!(
            "expected a JSON body (Content-Type: application/json), got `{ct}`"
        )));
    }
    parse_json(req.body())
}

/// Parses `bytes` as JSON into `T` with the error classes of [`read_json`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.len() > MAX_JSON_BODY {
        return Err(ApiError::payload_too_large(format!(
            "JSON body of {} bytes exceeds the limit of {MAX_JSON_BODY} bytes",
            bytes.len()
        )));
    }
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(ApiError::bad_request(
            "invalid-json",
            "the request body is empty; expected a JSON object",
        ));
    };
    // Every body of the API is an object. serde would also read a struct
    // from an array of its fields in order, which no client means.
    if *first != b'{' {
        let what = match first {
            b'[' => "an array",
            b'"' => "a string",
            b'n' => "null",
            b't' | b'f' => "a boolean",
            b'-' | b'0'..=b'9' => "a number",
            _ => "something else",
        };
        return Err(ApiError::bad_request(
            "invalid-request",
            format!("the request body is {what}; expected a JSON object"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        let code = match err.classify() {
            serde_json::error::Category::Data => "invalid-request",
            _ => "invalid-json",
        };
        ApiError::bad_request(
            code,
            format!(
                "request body, line {} column {}: {err}",
                err.line(),
                err.column()
            ),
        )
    })
}

/// Whether the request's `If-None-Match` names `tag` (a quoted entity
/// tag) or is `*`: then a `GET` answers 304 without a body. Comparison is
/// weak, as RFC 9110 asks for this header: `W/"x"` matches `"x"`.
pub fn if_none_match(req: &Request, tag: &str) -> bool {
    req.header("if-none-match")
        .and_then(|v| v.as_str())
        .is_some_and(|list| etag_listed(list, tag))
}

/// Whether the `If-None-Match` value `list` names `tag`.
pub fn etag_listed(list: &str, tag: &str) -> bool {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    if list.trim() == "*" {
        return true;
    }
    list.split(',')
        .map(str::trim)
        .map(|t| t.strip_prefix("W/").unwrap_or(t))
        .any(|t| t == tag)
}

/// The decoded query parameters of a request. Later duplicates win.
#[derive(Debug, Default, Clone)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(query: &str) -> Self {
        Query(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn of(req: &Request) -> Self {
        Self::parse(req.query())
    }

    /// A parameter's value; empty values count as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A numeric parameter with bounds; absent gives `default`.
    pub fn get_usize(&self, name: &str, default: usize, max: usize) -> ApiResult<usize> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(ApiError::bad_request(
                    "invalid-query",
                    format!(
                        "query parameter `{name}` must be an integer from 0 to {max}, got `{raw}`"
                    ),
                )),
            },
        }
    }
}

/// The path of a request split into percent-decoded segments, without the
/// leading slash; a trailing slash is ignored (`/skills/` is `["skills"]`).
/// Segments that decode to something unsafe (`..`, `.`, embedded `/`,
/// control characters) are refused here, once, for every route.
pub fn segments(path: &str) -> ApiResult<Vec<String>> {
    let path = path.split('?').next().unwrap_or("");
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    trimmed
        .split('/')
        .map(|raw| {
            let decoded = percent_decode(raw).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid-path",
                    format!("path segment `{raw}` is not valid UTF-8 percent-encoding"),
                )
            })?;
            if decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains('/')
                || decoded.contains('\\')
                || decoded.chars().any(char::is_control)
            {
                return Err(ApiError::bad_request(
                    "invalid-path",
                    format!("path segment `{}` is not allowed", raw.escape_default()),
                ));
            }
            Ok(decoded)
        })
        .collect()
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The method as the upper-case token HTTP uses.
pub fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(other) => other.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_and_checked() {
        assert_eq!(
            segments("/skills/a-b/raw").unwrap(),
            ["skills", "a-b", "raw"]
        );
        assert_eq!(segments("/skills/").unwrap(), ["skills"]);
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert_eq!(
            segments("/git/users%2Falice").unwrap_err().code,
            "invalid-path"
        );
        for bad in ["/a/../b", "/a/%2e%2e/b", "/a//b", "/a/%00", "/a/%zz"] {
            assert!(segments(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn if_none_match_lists_are_compared_weakly() {
        let tag = "\"abc\"";
        assert!(etag_listed("\"abc\"", tag));
        assert!(etag_listed("W/\"abc\"", tag));
        assert!(etag_listed("\"x\", W/\"abc\" ,\"y\"", tag));
        assert!(etag_listed(" * ", tag));
        assert!(!etag_listed("\"abcd\"", tag));
        assert!(!etag_listed("abc", tag));
        assert!(!etag_listed("", tag));
        assert!(!etag_listed("\"x\", \"y\"", tag));
    }

    #[test]
    fn query_parameters_are_decoded() {
        let q = Query::parse("q=hello%20world&limit=5&empty=");
        assert_eq!(q.get("q"), Some("hello world"));
        assert_eq!(q.get("empty"), None);
        assert_eq!(q.get_usize("limit", 10, 100).unwrap(), 5);
        assert_eq!(q.get_usize("missing", 10, 100).unwrap(), 10);
        assert!(q.get_usize("q", 10, 100).is_err());
        assert!(
            Query::parse("limit=1000")
                .get_usize("limit", 10, 100)
                .is_err()
        );
    }

    #[test]
    fn json_errors_name_the_position() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let err = parse_json::<T>(b"{\"a\": }").unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (400, "invalid-json"));
        assert!(err.message.contains("line 1"), "{}", err.message);
        let err = parse_json::<T>(b"{\"b\": 1}").unwrap_err();
        assert_eq!(err.code, "invalid-request");
        assert!(err.message.contains("`a`"), "{}", err.message);
        assert_eq!(parse_json::<T>(b"  ").unwrap_err().code, "invalid-json");
        // A struct is never read from an array of its fields, nor from null.
        let err = parse_json::<T>(b" [1]").unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (400, "invalid-request"));
        assert!(err.message.contains("an array"), "{}", err.message);
        assert_eq!(
            parse_json::<T>(b"null").unwrap_err().code,
            "invalid-request"
        );
    }
}
