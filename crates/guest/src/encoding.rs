//! Content codings of answers: a body of more than [`MIN_COMPRESSED`]
//! bytes of a compressible type goes out `gzip`-coded when the request's
//! `Accept-Encoding` allows it, with `Vary: accept-encoding` on every
//! answer whose coding depends on that header.
//!
//! [`finish`] applies this to every buffered answer a component gives
//! (`crate::serve` calls it), compressing at a fast level; an answer that
//! is kept ready ([`crate::answers`]) stores its gzip form once, at the
//! best level, and sets `Content-Encoding` itself, which [`finish`] then
//! leaves alone.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use spin_sdk::http::{Request, Response};

/// Bodies up to this size go out as they are: the coding's header and
/// framing would cost about what it saves.
pub const MIN_COMPRESSED: usize = 2048;

/// Larger bodies are compressed only when stored so (a ready answer, a
/// precompressed file): compressing them per request would cost more time
/// than sending them takes on most links.
pub const MAX_COMPRESSED_PER_REQUEST: usize = 1 << 20;

/// A content coding this app sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
}

impl Coding {
    /// The coding to send for a request: `gzip` when its `Accept-Encoding`
    /// lists `gzip` (or `x-gzip`, or `*`) with a non-zero quality, else
    /// identity (RFC 9110, section 12.5.3).
    pub fn for_request(req: &Request) -> Coding {
        match req.header("accept-encoding").and_then(|v| v.as_str()) {
            Some(value) if accepts_gzip(value) => Coding::Gzip,
            _ => Coding::Identity,
        }
    }
}

/// Whether an `Accept-Encoding` value allows `gzip`.
pub fn accepts_gzip(value: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())
                    .flatten()
            })
            .next()
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(quality),
            "*" => any = Some(quality),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// Whether answers of this media type are worth compressing: text, JSON,
/// JavaScript, XML, SVG and WebAssembly; not images, archives or git's
/// already-deflated objects and packs.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/javascript"
        || essence == "application/xml"
        || essence.ends_with("+xml")
        || essence == "application/wasm"
        || essence == "image/svg+xml"
}

/// `data` gzip-coded at `level` (0–9).
pub fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        Compression::new(level),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Adds `accept-encoding` to the response's `Vary` (once).
pub fn vary_on_encoding(response: &mut Response) {
    let current = response
        .header("vary")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    match current {
        Some(list)
            if list
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding") || v.trim() == "*") => {}
        Some(list) if !list.trim().is_empty() => {
            response.set_header("vary", format!("{list}, accept-encoding"));
        }
        _ => response.set_header("vary", "accept-encoding"),
    }
}

/// The status codes whose bodies are representations a coding applies to.
fn codable_status(status: u16) -> bool {
    matches!(status, 200 | 201 | 203)
}

/// Applies the content coding the request accepts to a buffered answer.
/// Answers that already carry a `Content-Encoding`, error answers, small
/// bodies and incompressible types pass unchanged; a compressed answer's
/// entity tag becomes weak, since its bytes differ from the identity
/// representation's.
pub fn finish(req: &Request, mut response: Response) -> Response {
    let status = *response.status();
    if response.header("content-encoding").is_some() {
        return response;
    }
    if status == 304 {
        vary_on_encoding(&mut response);
        return response;
    }
    let content_type = response
        .header("content-type")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if !compressible(content_type) {
        return response;
    }
    if !codable_status(status) || response.body().len() <= MIN_COMPRESSED {
        return response;
    }
    vary_on_encoding(&mut response);
    if response.body().len() > MAX_COMPRESSED_PER_REQUEST {
        return response;
    }
    if Coding::for_request(req) != Coding::Gzip {
        return response;
    }
    let coded = gzip(response.body(), 1);
    if coded.len() >= response.body().len() {
        return response;
    }
    *response.body_mut() = coded;
    response.set_header("content-encoding", "gzip");
    weaken_etag(&mut response);
    response
}

/// Marks the response's entity tag weak (`W/"…"`), if it has one.
pub fn weaken_etag(response: &mut Response) {
    let tag = response
        .header("etag")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if let Some(tag) = tag
        && !tag.starts_with("W/")
    {
        response.set_header("etag", format!("W/{tag}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accept_encoding_with_qualities() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.5, br"));
        assert!(accepts_gzip("GZIP"));
        assert!(accepts_gzip("x-gzip"));
        assert!(accepts_gzip("*"));
        assert!(accepts_gzip("br, *;q=0.1"));
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; q=0.0, *;q=1"));
        assert!(!accepts_gzip("*;q=0"));
    }

    #[test]
    fn compresses_text_and_json_only() {
        assert!(compressible("application/json"));
        assert!(compressible("text/markdown; charset=utf-8"));
        assert!(compressible("application/problem+json"));
        assert!(compressible("application/wasm"));
        assert!(!compressible("application/x-git-packed-objects"));
        assert!(!compressible("application/octet-stream"));
        assert!(!compressible("image/png"));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let data = "a listing, again and again; ".repeat(500);
        let coded = gzip(data.as_bytes(), 6);
        assert!(coded.len() < data.len() / 10);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&coded[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
