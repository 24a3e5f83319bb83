//! The request headers Spin adds for the component.
//!
//! | header | value |
//! |---|---|
//! | `spin-full-url` | `scheme://host/path?query` of the request |
//! | `spin-path-info` | the path below a trailing wildcard |
//! | `spin-matched-route` | the matched route, normalised |
//! | `spin-base-path` | always `/` |
//! | `spin-raw-component-route` | the route as written |
//! | `spin-component-route` | the route as written, without `/...` |
//! | `spin-client-addr` | the peer's `ip:port` |
//! | `spin-path-match-<name>` | each `:name` segment's value |
//!
//! The transport header `connection` is dropped, and so is a `host` header
//! naming a `*.spin.internal` service-chaining host. A client cannot spoof
//! these headers: the host's values replace any the request carried.

use std::net::SocketAddr;

use http::header::{CONNECTION, HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Uri};

use crate::outbound::allowed_hosts::service_chaining_target;
use crate::routing::RouteMatch;

/// Removes headers that describe the transport rather than the request.
pub fn strip_forbidden(headers: &mut HeaderMap) {
    headers.remove(CONNECTION);
    let chaining_host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| service_chaining_target(h).is_some());
    if chaining_host {
        headers.remove(HOST);
    }
}

/// The Spin headers for a request routed by `route`.
pub fn spin_headers(
    uri: &Uri,
    host: &str,
    route: &RouteMatch,
    client: SocketAddr,
) -> Vec<(HeaderName, String)> {
    let scheme = uri.scheme_str().unwrap_or("http");
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut headers = vec![
        (
            HeaderName::from_static("spin-path-info"),
            route.path_info.clone(),
        ),
        (
            HeaderName::from_static("spin-full-url"),
            format!("{scheme}://{host}{path_and_query}"),
        ),
        (
            HeaderName::from_static("spin-matched-route"),
            route.based_route.clone(),
        ),
        (HeaderName::from_static("spin-base-path"), "/".to_owned()),
        (
            HeaderName::from_static("spin-raw-component-route"),
            route.raw_route.clone(),
        ),
        (
            HeaderName::from_static("spin-component-route"),
            route.component_route().to_owned(),
        ),
        (
            HeaderName::from_static("spin-client-addr"),
            client.to_string(),
        ),
    ];
    for (name, value) in &route.named {
        let header = format!(
            "spin-path-match-{}",
            name.replace('_', "-").to_ascii_lowercase()
        );
        if let Ok(header) = HeaderName::try_from(header) {
            headers.push((header, value.clone()));
        }
    }
    headers
}

/// Sets the Spin headers on `headers`, replacing any with the same name.
pub fn apply(headers: &mut HeaderMap, spin: Vec<(HeaderName, String)>) {
    for (name, value) in spin {
        match HeaderValue::try_from(value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => {
                headers.remove(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(headers: &'a [(HeaderName, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("missing {name}"))
    }

    #[test]
    fn wildcard_route_headers() {
        let route = RouteMatch {
            component: "c".to_owned(),
            based_route: "/foo/...".to_owned(),
            raw_route: "/foo/...".to_owned(),
            path_info: "/bar".to_owned(),
            named: vec![],
        };
        let uri: Uri = "https://example.dev/foo/bar?k=v".parse().expect("uri");
        let h = spin_headers(
            &uri,
            "example.dev",
            &route,
            "127.0.0.1:8777".parse().expect("addr"),
        );
        assert_eq!(
            lookup(&h, "spin-full-url"),
            "https://example.dev/foo/bar?k=v"
        );
        assert_eq!(lookup(&h, "spin-path-info"), "/bar");
        assert_eq!(lookup(&h, "spin-matched-route"), "/foo/...");
        assert_eq!(lookup(&h, "spin-base-path"), "/");
        assert_eq!(lookup(&h, "spin-raw-component-route"), "/foo/...");
        assert_eq!(lookup(&h, "spin-component-route"), "/foo");
        assert_eq!(lookup(&h, "spin-client-addr"), "127.0.0.1:8777");
    }

    #[test]
    fn named_segments_become_headers() {
        let route = RouteMatch {
            component: "c".to_owned(),
            based_route: "/foo/:user_id/...".to_owned(),
            raw_route: "/foo/:user_id/...".to_owned(),
            path_info: "/bar".to_owned(),
            named: vec![("user_id".to_owned(), "42".to_owned())],
        };
        let uri: Uri = "/foo/42/bar".parse().expect("uri");
        let h = spin_headers(
            &uri,
            "localhost",
            &route,
            "127.0.0.1:1".parse().expect("addr"),
        );
        assert_eq!(lookup(&h, "spin-path-match-user-id"), "42");
        assert_eq!(lookup(&h, "spin-component-route"), "/foo/:user_id");
        assert_eq!(lookup(&h, "spin-full-url"), "http://localhost/foo/42/bar");
    }

    #[test]
    fn strips_connection_and_chaining_host() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.insert(HOST, HeaderValue::from_static("auth.spin.internal"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        strip_forbidden(&mut headers);
        assert_eq!(headers.len(), 1);

        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("example.com"));
        strip_forbidden(&mut headers);
        assert!(headers.contains_key(HOST));
    }

    #[test]
    fn host_values_replace_spoofed_ones() {
        let mut headers = HeaderMap::new();
        headers.insert("spin-path-info", HeaderValue::from_static("/spoofed"));
        apply(
            &mut headers,
            vec![(
                HeaderName::from_static("spin-path-info"),
                "/real".to_owned(),
            )],
        );
        assert_eq!(headers.get_all("spin-path-info").iter().count(), 1);
        assert_eq!(headers["spin-path-info"], "/real");
    }
}
