//! The `allowed_outbound_hosts` grammar and matching, as Spin defines it.
//!
//! An entry is `scheme://host[:port]`:
//! - `scheme` is a name (`http`, `https`, `redis`, …) or `*`;
//! - `host` is a name or IP literal, `*`, `*.example.com` (any subdomain),
//!   a CIDR block (`10.0.0.0/8`), or `self` / `self.alt` (the app itself);
//! - `port` is a number, a range `8000..8080` (end exclusive), or `*`; when
//!   omitted it is the scheme's well-known port (80 for http, 443 for https),
//!   and an error for schemes without one.
//!
//! `http://*.spin.internal` allows service chaining to every component of the
//! app, and `http://<id>.spin.internal` to one.

use std::fmt;
use std::net::IpAddr;

/// The domain under which components are reachable by service chaining.
pub const SERVICE_CHAINING_SUFFIX: &str = ".spin.internal";

/// Why an `allowed_outbound_hosts` entry is invalid.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowed outbound host {entry:?}: {reason}")]
pub struct AllowedHostError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    original: String,
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Named(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// A suffix that starts with a dot: `.example.com`.
    AnySubdomain(String),
    ToSelf,
    Literal(String),
    Cidr {
        network: IpAddr,
        prefix: u8,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PortPattern {
    Any,
    Port(u16),
    /// Start inclusive, end exclusive, as Spin reads `a..b`.
    Range(u16, u16),
}

/// The parts of an outbound request URL that permissions are checked on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundTarget {
    /// Lower-case scheme.
    pub scheme: String,
    /// Lower-case host, without IPv6 brackets.
    pub host: String,
    /// Explicit port, if the URL has one.
    pub port: Option<u16>,
}

impl OutboundTarget {
    /// The target of an absolute URI, if it has a scheme and host.
    pub fn from_uri(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(OutboundTarget {
            scheme,
            host,
            port: authority.port_u16(),
        })
    }
}

impl AllowedHost {
    /// Parses one entry.
    pub fn parse(entry: &str) -> Result<Self, AllowedHostError> {
        let fail = |reason: &str| AllowedHostError {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        };
        let url = entry.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(fail(
                "hosts must be written <scheme>://<host>[:<port>] with '*' wildcards allowed for each (use '*://*:*' to allow everything)",
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_host_port(rest).map_err(|r| fail(&r))?;
        let scheme = SchemePattern::parse(scheme).map_err(|r| fail(&r))?;
        let port = PortPattern::parse(port, &scheme).map_err(|r| fail(&r))?;
        let host = HostPattern::parse(host).map_err(|r| fail(&r))?;
        Ok(AllowedHost {
            original: entry.to_owned(),
            scheme,
            host,
            port,
        })
    }

    /// Whether this entry allows requests to `target`.
    pub fn allows(&self, target: &OutboundTarget) -> bool {
        self.scheme.allows(&target.scheme)
            && self.host.allows(&target.host)
            && self.port.allows(target.port, &target.scheme)
    }

    /// Whether this entry allows requests to the app itself over `scheme`.
    pub fn allows_self(&self, scheme: &str) -> bool {
        self.scheme.allows(scheme) && matches!(self.host, HostPattern::Any | HostPattern::ToSelf)
    }

    /// With `*.spin.internal` replaced by one literal entry per component,
    /// as Spin does: chaining reaches only components that exist.
    fn expand_service_chaining(self, component_ids: &[String]) -> Vec<AllowedHost> {
        match &self.host {
            HostPattern::AnySubdomain(suffix) if suffix == SERVICE_CHAINING_SUFFIX => component_ids
                .iter()
                .map(|id| AllowedHost {
                    host: HostPattern::Literal(format!("{id}{SERVICE_CHAINING_SUFFIX}")),
                    ..self.clone()
                })
                .collect(),
            _ => vec![self],
        }
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// The full `allowed_outbound_hosts` list of one component.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

impl AllowedHosts {
    /// Parses resolved entries (templates already rendered). Entries that
    /// rendered empty, or to a bare `http://` / `https://`, are skipped: an
    /// empty variable means "no such endpoint configured".
    pub fn parse<S: AsRef<str>>(
        entries: &[S],
        component_ids: &[String],
    ) -> Result<Self, AllowedHostError> {
        let mut parsed = Vec::new();
        for entry in entries {
            let entry = entry.as_ref();
            if entry.is_empty() || entry == "http://" || entry == "https://" {
                continue;
            }
            if entry == "insecure:allow-all" {
                return Err(AllowedHostError {
                    entry: entry.to_owned(),
                    reason: "use '*://*:*' to allow all outbound traffic".to_owned(),
                });
            }
            parsed.extend(AllowedHost::parse(entry)?.expand_service_chaining(component_ids));
        }
        Ok(AllowedHosts { entries: parsed })
    }

    /// Whether any entry allows `target`.
    pub fn allows(&self, target: &OutboundTarget) -> bool {
        self.entries.iter().any(|e| e.allows(target))
    }

    /// Whether any entry allows requests to the app itself over `scheme`.
    pub fn allows_self(&self, scheme: &str) -> bool {
        self.entries.iter().any(|e| e.allows_self(scheme))
    }
}

/// The component a `<id>.spin.internal` host names, if it is one.
pub fn service_chaining_target(host: &str) -> Option<&str> {
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let (first, rest) = host.split_once('.')?;
    (rest == &SERVICE_CHAINING_SUFFIX[1..] && !first.is_empty()).then_some(first)
}

fn split_host_port(rest: &str) -> Result<(&str, &str), String> {
    if let Some(after_bracket) = rest.strip_prefix('[') {
        let Some((inside, tail)) = after_bracket.split_once(']') else {
            return Err("unclosed '[' in IPv6 host".to_owned());
        };
        return match tail {
            "" => Ok((inside, "")),
            t => match t.strip_prefix(':') {
                Some(port) => Ok((inside, port)),
                None => Err(format!("unexpected {t:?} after IPv6 host")),
            },
        };
    }
    match rest.rsplit_once(':') {
        None => Ok((rest, "")),
        Some((host, port)) => {
            // A bare IPv6 address or CIDR block contains colons of its own.
            if HostPattern::parse(rest).is_ok() && host.contains(':') {
                return Ok((rest, ""));
            }
            if port.contains('/') {
                return Err("must not include a path".to_owned());
            }
            Ok((host, port))
        }
    }
}

impl SchemePattern {
    fn parse(scheme: &str) -> Result<Self, String> {
        if scheme == "*" {
            return Ok(SchemePattern::Any);
        }
        if scheme.starts_with('{') {
            return Err("scheme lists are not supported".to_owned());
        }
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "scheme {scheme:?} may contain only ASCII letters, or be '*'"
            ));
        }
        Ok(SchemePattern::Named(scheme.to_ascii_lowercase()))
    }

    fn allows(&self, scheme: &str) -> bool {
        match self {
            SchemePattern::Any => true,
            SchemePattern::Named(name) => name.eq_ignore_ascii_case(scheme),
        }
    }
}

impl HostPattern {
    fn parse(host: &str) -> Result<Self, String> {
        let host = host.trim();
        match host {
            "" => return Err("the host is empty".to_owned()),
            "*" => return Ok(HostPattern::Any),
            "self" | "self.alt" => return Ok(HostPattern::ToSelf),
            _ => {}
        }
        if host.starts_with('{') {
            return Err("host lists are not supported".to_owned());
        }
        if let Some((addr, prefix)) = host.split_once('/') {
            let network: IpAddr = addr
                .parse()
                .map_err(|_| "must not include a path".to_owned())?;
            let max = if network.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("invalid CIDR prefix {prefix:?}"))?;
            return Ok(HostPattern::Cidr { network, prefix });
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                return Err("wildcards are allowed only as the first label".to_owned());
            }
            if domain.is_empty() || domain.parse::<IpAddr>().is_ok() {
                return Err("a wildcard suffix must be a domain name".to_owned());
            }
            return Ok(HostPattern::AnySubdomain(format!(
                ".{}",
                domain.to_ascii_lowercase()
            )));
        }
        if host.contains('*') {
            return Err("wildcards are allowed only as subdomains ('*.example.com')".to_owned());
        }
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
        {
            return Err(format!("invalid character {bad:?} in host"));
        }
        Ok(HostPattern::Literal(host.to_ascii_lowercase()))
    }

    fn allows(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::AnySubdomain(suffix) => {
                host.parse::<IpAddr>().is_err() && host.ends_with(suffix.as_str())
            }
            HostPattern::Literal(literal) => {
                match (literal.parse::<IpAddr>(), host.parse::<IpAddr>()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => literal.eq_ignore_ascii_case(host),
                }
            }
            HostPattern::Cidr { network, prefix } => host
                .parse::<IpAddr>()
                .is_ok_and(|ip| cidr_contains(*network, *prefix, ip)),
            // Requests to the app itself are checked with `allows_self`.
            HostPattern::ToSelf => false,
        }
    }
}

fn cidr_contains(network: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

impl PortPattern {
    fn parse(port: &str, scheme: &SchemePattern) -> Result<Self, String> {
        if port.is_empty() {
            let SchemePattern::Named(name) = scheme else {
                return Err("a port is required when the scheme is '*'".to_owned());
            };
            return well_known_port(name).map(PortPattern::Port).ok_or_else(|| {
                format!("no port given and scheme {name:?} has no well-known port")
            });
        }
        if port == "*" {
            return Ok(PortPattern::Any);
        }
        if port.starts_with('{') {
            return Err("port lists are not supported".to_owned());
        }
        if let Some((start, end)) = port.split_once("..") {
            let start = start
                .parse()
                .map_err(|_| format!("port range {port:?} contains a non-number"))?;
            let end = end
                .parse()
                .map_err(|_| format!("port range {port:?} contains a non-number"))?;
            return Ok(PortPattern::Range(start, end));
        }
        port.parse()
            .map(PortPattern::Port)
            .map_err(|_| format!("port {port:?} is not a number"))
    }

    fn allows(&self, port: Option<u16>, scheme: &str) -> bool {
        let Some(port) = port.or_else(|| well_known_port(scheme)) else {
            return matches!(self, PortPattern::Any);
        };
        match self {
            PortPattern::Any => true,
            PortPattern::Port(p) => *p == port,
            PortPattern::Range(start, end) => (*start..*end).contains(&port),
        }
    }
}

/// The default port of a URL scheme.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> OutboundTarget {
        OutboundTarget::from_uri(&url.parse().expect("uri")).expect("target")
    }

    fn allows(entries: &[&str], url: &str) -> bool {
        AllowedHosts::parse(entries, &["web".to_owned(), "auth".to_owned()])
            .expect("parse")
            .allows(&target(url))
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        assert!(allows(
            &["https://api.example.com"],
            "https://api.example.com/v1"
        ));
        assert!(allows(
            &["https://api.example.com"],
            "https://api.example.com:443/"
        ));
        assert!(!allows(
            &["https://api.example.com"],
            "https://api.example.com:8443/"
        ));
        assert!(!allows(
            &["https://api.example.com"],
            "http://api.example.com/"
        ));
        assert!(allows(&["http://example.com"], "http://example.com/"));
    }

    #[test]
    fn wildcards_cover_scheme_host_and_port() {
        assert!(allows(&["*://example.com:*"], "http://example.com:1234/"));
        assert!(allows(&["http://127.0.0.1:*"], "http://127.0.0.1:4000/"));
        assert!(!allows(&["http://127.0.0.1:*"], "http://127.0.0.2:4000/"));
        assert!(allows(
            &["https://*.example.com"],
            "https://a.b.example.com/"
        ));
        assert!(!allows(&["https://*.example.com"], "https://example.com/"));
        assert!(allows(&["*://*:*"], "https://anything.test:9/"));
    }

    #[test]
    fn ports_and_ranges() {
        assert!(allows(
            &["http://localhost:8000..8010"],
            "http://localhost:8005/"
        ));
        assert!(!allows(
            &["http://localhost:8000..8010"],
            "http://localhost:8010/"
        ));
        assert!(allows(&["http://localhost:3000"], "http://LOCALHOST:3000/"));
    }

    #[test]
    fn cidr_and_ipv6() {
        assert!(allows(&["http://10.0.0.0/8:*"], "http://10.1.2.3:80/"));
        assert!(!allows(&["http://10.0.0.0/8:*"], "http://11.1.2.3:80/"));
        assert!(allows(&["http://[::1]:8080"], "http://[::1]:8080/"));
    }

    #[test]
    fn service_chaining_wildcard_expands_to_components() {
        assert!(allows(
            &["http://*.spin.internal"],
            "http://auth.spin.internal/x"
        ));
        assert!(!allows(
            &["http://*.spin.internal"],
            "http://nope.spin.internal/x"
        ));
        assert!(allows(
            &["http://web.spin.internal"],
            "http://web.spin.internal/"
        ));
        assert!(!allows(
            &["http://web.spin.internal"],
            "http://auth.spin.internal/"
        ));
    }

    #[test]
    fn empty_rendered_templates_are_skipped() {
        let hosts = AllowedHosts::parse(&["", "https://"], &[]).expect("parse");
        assert!(!hosts.allows(&target("https://example.com/")));
    }

    #[test]
    fn rejects_malformed_entries() {
        for bad in [
            "example.com",
            "*",
            "https://example.com/path",
            "https://ex*ample.com",
            "*://example.com",
            "ftp://example.com",
            "http://example.com:port",
            "h1tp://example.com",
            "insecure:allow-all",
        ] {
            assert!(AllowedHosts::parse(&[bad], &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn self_requests() {
        let hosts = AllowedHosts::parse(&["http://self"], &[]).expect("parse");
        assert!(hosts.allows_self("http"));
        assert!(!hosts.allows_self("https"));
    }

    #[test]
    fn chaining_targets_are_recognised() {
        assert_eq!(service_chaining_target("auth.spin.internal"), Some("auth"));
        assert_eq!(
            service_chaining_target("auth.spin.internal:80"),
            Some("auth")
        );
        assert_eq!(service_chaining_target("auth.example.com"), None);
        assert_eq!(service_chaining_target("a.b.spin.internal"), None);
    }
}
