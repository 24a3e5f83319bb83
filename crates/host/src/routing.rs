//! Spin's HTTP routing rules, on the `routefinder` crate as Spin uses it.
//!
//! - A route is an exact path (`/health`), a trailing wildcard (`/api/...`),
//!   and may contain named segments (`/users/:id/...`).
//! - A route missing its leading `/` gets one; one trailing `/` is dropped.
//! - The most specific route wins: exact beats `:name` beats wildcard,
//!   compared segment by segment, so `/one/two/...` beats `/one/...`.
//! - When the same route string appears twice, the last entry wins.
//! - `{ private = true }` routes are not routable from outside; their
//!   components are still reachable by service chaining.
//!
//! A match also yields what Spin passes to the component as headers: the
//! matched route, the route as written, the part of the path under the
//! wildcard (`spin-path-info`) and the named captures.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::manifest::RouteSpec;

/// Routes of the app's HTTP triggers.
#[derive(Debug)]
pub struct Router {
    inner: routefinder::Router<RouteEntry>,
    /// Routable entries in manifest order, for listing.
    listing: Vec<RouteEntry>,
}

#[derive(Clone, Debug)]
struct RouteEntry {
    component: String,
    /// The route after normalisation (leading `/` added, trailing `/` removed).
    based_route: String,
    /// The route as written in the manifest.
    raw_route: String,
    wildcard: bool,
}

/// A route written twice: only the last entry is reachable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateRoute {
    /// The route string.
    pub route: String,
    /// The component that lost the route.
    pub replaced: String,
    /// The component that serves it.
    pub effective: String,
}

/// The outcome of routing one request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    /// The component that handles the request.
    pub component: String,
    /// The normalised route (Spin's `spin-matched-route`).
    pub based_route: String,
    /// The route as written (`spin-raw-component-route`).
    pub raw_route: String,
    /// The path below a trailing wildcard (`spin-path-info`); empty for exact
    /// routes.
    pub path_info: String,
    /// Named segment captures, `:name` → value.
    pub named: Vec<(String, String)>,
}

impl RouteMatch {
    /// The match Spin synthesises for a service-chaining request: the whole
    /// path under a `/...` route of `component`.
    pub fn synthetic(component: &str, path: &str) -> Self {
        RouteMatch {
            component: component.to_owned(),
            based_route: "/...".to_owned(),
            raw_route: "/...".to_owned(),
            path_info: path.to_owned(),
            named: Vec::new(),
        }
    }

    /// The raw route without its trailing `/...` (`spin-component-route`).
    pub fn component_route(&self) -> &str {
        self.raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route)
    }
}

/// A route string that cannot be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid route {route:?} for component {component:?}: {reason}")]
pub struct RouteError {
    /// The route as written.
    pub route: String,
    /// Its component.
    pub component: String,
    /// The parser's message.
    pub reason: String,
}

impl Router {
    /// Builds the router from `(route, component)` pairs in manifest order.
    /// Private routes are skipped. Returns the duplicates found so the caller
    /// can warn about them, as Spin does.
    pub fn build<'a>(
        triggers: impl IntoIterator<Item = (&'a RouteSpec, &'a str)>,
    ) -> Result<(Self, Vec<DuplicateRoute>), RouteError> {
        let mut by_raw: IndexMap<String, RouteEntry> = IndexMap::new();
        let mut duplicates = Vec::new();
        for (route, component) in triggers {
            let RouteSpec::Pattern(raw) = route else {
                continue;
            };
            let based = normalise(raw);
            let entry = RouteEntry {
                component: component.to_owned(),
                wildcard: based.ends_with("/...") || based.ends_with("/*"),
                based_route: based,
                raw_route: raw.clone(),
            };
            if let Some(replaced) = by_raw.insert(raw.clone(), entry) {
                duplicates.push(DuplicateRoute {
                    route: if replaced.based_route.is_empty() {
                        "/".to_owned()
                    } else {
                        replaced.based_route.clone()
                    },
                    replaced: replaced.component,
                    effective: component.to_owned(),
                });
            }
        }
        let mut inner = routefinder::Router::new();
        for entry in by_raw.values() {
            let spec = route_spec(&entry.based_route).map_err(|reason| RouteError {
                route: entry.raw_route.clone(),
                component: entry.component.clone(),
                reason,
            })?;
            inner
                .add(spec, entry.clone())
                .map_err(|never| match never {})?;
        }
        let listing = by_raw.into_values().collect();
        Ok((Router { inner, listing }, duplicates))
    }

    /// Routes a request path (without query).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let found = self.inner.best_match(path)?;
        let entry = found.handler();
        let captures = found.captures();
        let path_info = match captures.wildcard() {
            // Spin keeps trailing slashes in the path info, which routefinder
            // itself drops.
            Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            },
            None => String::new(),
        };
        let named = captures
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect::<HashMap<_, _>>()
            .into_iter()
            .collect();
        Some(RouteMatch {
            component: entry.component.clone(),
            based_route: entry.based_route.clone(),
            raw_route: entry.raw_route.clone(),
            path_info,
            named,
        })
    }

    /// Routable entries in manifest order: (display path, is wildcard, component).
    pub fn routes(&self) -> impl Iterator<Item = (String, bool, &str)> {
        self.listing.iter().map(|e| {
            let display = match e
                .based_route
                .strip_suffix("/...")
                .or_else(|| e.based_route.strip_suffix("/*"))
            {
                Some(prefix) => format!("{prefix}/..."),
                None if e.based_route.is_empty() => "/".to_owned(),
                None => e.based_route.clone(),
            };
            (display, e.wildcard, e.component.as_str())
        })
    }
}

/// Checks that a route string parses.
pub fn validate_route(route: &str) -> Result<(), String> {
    route_spec(&normalise(route)).map(|_| ())
}

/// Adds the leading `/` and drops one trailing `/`, as Spin does.
fn normalise(route: &str) -> String {
    let absolute = if route.starts_with('/') {
        route.to_owned()
    } else {
        format!("/{route}")
    };
    match absolute.strip_suffix('/') {
        Some(stripped) => stripped.to_owned(),
        None => absolute,
    }
}

fn route_spec(based: &str) -> Result<routefinder::RouteSpec, String> {
    match based.strip_suffix("/...") {
        Some(prefix) => format!("{prefix}/*").as_str().try_into(),
        None => based.try_into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> (Router, Vec<DuplicateRoute>) {
        let specs: Vec<(RouteSpec, String)> = routes
            .iter()
            .map(|(r, c)| (RouteSpec::Pattern((*r).to_owned()), (*c).to_owned()))
            .collect();
        Router::build(specs.iter().map(|(r, c)| (r, c.as_str()))).expect("router")
    }

    fn component(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component)
    }

    /// Routes of one case: (route, component).
    type Routes<'a> = &'a [(&'a str, &'a str)];

    /// Routes → request path → expected component, path info.
    #[test]
    fn routing_table() {
        let cases: &[(Routes<'_>, &str, Option<&str>, &str)] = &[
            (
                &[("/foo", "foo"), ("/foo/bar", "foobar")],
                "/foo",
                Some("foo"),
                "",
            ),
            (
                &[("/foo", "foo"), ("/foo/bar", "foobar")],
                "/foo/bar",
                Some("foobar"),
                "",
            ),
            (&[("/foo", "foo")], "/foo/", Some("foo"), ""),
            (&[("/foo", "foo")], "/foo/x", None, ""),
            (&[("/...", "all")], "/", Some("all"), "/"),
            (&[("/...", "all")], "/a/b", Some("all"), "/a/b"),
            (&[("/...", "all")], "/a/b/", Some("all"), "/a/b/"),
            (&[("/test/...", "t")], "/test", Some("t"), ""),
            (&[("/test/...", "t")], "/test/", Some("t"), "/"),
            (&[("/test/...", "t")], "/test/hello", Some("t"), "/hello"),
            (&[("/test/...", "t")], "/testing", None, ""),
            (
                &[("/one", "exact"), ("/...", "wild")],
                "/one",
                Some("exact"),
                "",
            ),
            (
                &[
                    ("/one/...", "1"),
                    ("/one/two/...", "12"),
                    ("/one/two/three/...", "123"),
                ],
                "/one/two/three/four",
                Some("123"),
                "/four",
            ),
            (
                &[
                    ("/one/two/three/...", "123"),
                    ("/one/two/...", "12"),
                    ("/one/...", "1"),
                ],
                "/one/two/x",
                Some("12"),
                "/x",
            ),
            (
                &[("/users/:id", "u"), ("/users/me", "me")],
                "/users/me",
                Some("me"),
                "",
            ),
            (
                &[("/users/:id", "u"), ("/users/me", "me")],
                "/users/42",
                Some("u"),
                "",
            ),
            (&[("api/...", "api")], "/api/x", Some("api"), "/x"),
            (&[("/", "root")], "/", Some("root"), ""),
            (&[("/", "root")], "/x", None, ""),
        ];
        for (routes, path, expected, path_info) in cases {
            let (r, _) = router(routes);
            let m = r.route(path);
            assert_eq!(
                m.as_ref().map(|m| m.component.as_str()),
                *expected,
                "routes {routes:?} path {path}"
            );
            if let Some(m) = m {
                assert_eq!(m.path_info, *path_info, "routes {routes:?} path {path}");
            }
        }
    }

    #[test]
    fn named_segments_are_captured() {
        let (r, _) = router(&[("/1/:two/...", "c")]);
        let m = r.route("/1/2/3").expect("match");
        assert_eq!(m.named, vec![("two".to_owned(), "2".to_owned())]);
        assert_eq!(m.path_info, "/3");
        assert_eq!(m.component_route(), "/1/:two");
    }

    #[test]
    fn duplicate_routes_last_one_wins() {
        let (r, duplicates) = router(&[("/foo", "first"), ("/foo", "second"), ("/...", "x")]);
        assert_eq!(component(&r, "/foo").as_deref(), Some("second"));
        assert_eq!(
            duplicates,
            vec![DuplicateRoute {
                route: "/foo".to_owned(),
                replaced: "first".to_owned(),
                effective: "second".to_owned(),
            }]
        );
    }

    #[test]
    fn private_routes_are_not_routable() {
        let specs = [
            (RouteSpec::Private(true), "hidden"),
            (RouteSpec::Pattern("/x".to_owned()), "x"),
        ];
        let (r, _) = Router::build(specs.iter().map(|(s, c)| (s, *c))).expect("router");
        assert_eq!(r.routes().count(), 1);
        assert!(r.route("/").is_none());
    }

    #[test]
    fn matched_and_raw_routes_follow_spin() {
        let (r, _) = router(&[("/foo/...", "c"), ("/", "root")]);
        let m = r.route("/foo/bar").expect("match");
        assert_eq!(m.based_route, "/foo/...");
        assert_eq!(m.raw_route, "/foo/...");
        assert_eq!(m.component_route(), "/foo");
        let root = r.route("/").expect("root");
        assert_eq!(root.based_route, "");
        assert_eq!(root.raw_route, "/");
    }

    #[test]
    fn listing_shows_wildcards() {
        let (r, _) = router(&[("/", "root"), ("/api/...", "api"), ("/...", "all")]);
        let listed: Vec<_> = r.routes().map(|(p, w, c)| (p, w, c.to_owned())).collect();
        assert_eq!(
            listed,
            vec![
                ("/".to_owned(), false, "root".to_owned()),
                ("/api/...".to_owned(), true, "api".to_owned()),
                ("/...".to_owned(), true, "all".to_owned()),
            ]
        );
    }
}
