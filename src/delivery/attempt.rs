//! One HTTP attempt: the per-hook agent (TLS roots, keep-alive, no redirects) and the
//! outcome of a POST as data.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Proxy, ProxyProtocol};

use crate::config::Endpoint;
use crate::delivery::request::Request;

/// How one attempt ended. A 500 answer is an outcome, not an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered {
        status: u16,
    },
    /// JetStream stored the message (or had it already: `duplicate`).
    Published {
        stream: String,
        sequence: u64,
        duplicate: bool,
    },
    Failed(Failure),
}

/// Why a delivery did not go through, and what that means for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: Option<u16>,
    /// A short reason, never holding the URL or a secret.
    pub reason: String,
    pub kind: FailureKind,
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// It may pass (connection refused, timeout, `408`, `425`, `429`, `5xx`): retry
    /// within the run, then keep the delivery in line and back off.
    Transient { retry_after: Option<Duration> },
    /// It will not pass by retrying now (a redirect, a refused certificate): keep the
    /// delivery in line without retrying.
    Stuck,
    /// The receiver refused this event (any other `4xx`): set it aside as failed and go
    /// on with the next.
    Refused,
}

impl FailureKind {
    /// What an HTTP answer that is not a success means.
    pub fn of_status(status: u16, retry_after: Option<Duration>) -> FailureKind {
        match status {
            408 | 425 | 429 | 500..=599 => FailureKind::Transient { retry_after },
            400..=499 => FailureKind::Refused,
            _ => FailureKind::Stuck,
        }
    }
}

/// The system's trust store, read once.
fn system_roots() -> &'static Vec<Certificate<'static>> {
    static ROOTS: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect()
    })
}

/// An agent for one hook: its trust roots, keep-alive across its deliveries, redirects
/// returned as answers instead of followed, proxies from the environment.
pub fn agent(hook: &Endpoint) -> Agent {
    let mut tls = TlsConfig::builder().disable_verification(!hook.transport.tls_verify);
    if hook.transport.target.https {
        let mut roots = system_roots().clone();
        if let Some(pem) = &hook.transport.ca_pem {
            roots.extend(ureq::tls::parse_pem(pem).filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            }));
        }
        tls = tls.root_certs(RootCerts::new_with_certs(&roots));
    }
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(hook.flavor.user_agent())
        .tls_config(tls.build())
        .proxy(proxy_from(|name| std::env::var(name).ok()))
        // Requests are a head and a JSON body, answers short: ureq's 128 KiB buffers each
        // way cost more to clear than the exchange itself (the input buffer grows when an
        // answer's head needs it).
        .input_buffer_size(16 << 10)
        .output_buffer_size(32 << 10)
        .build();
    Agent::with_parts(
        config,
        DefaultConnector::default(),
        OnceResolver::<DefaultResolver>::default(),
    )
}

/// Looks a host up once per agent. An agent serves one hook in one run, so its requests
/// go to one host; ureq would otherwise look it up again (in a thread of its own, to
/// honour the timeout) for every delivery, also for a connection it keeps alive.
#[derive(Debug, Default)]
struct OnceResolver<R = DefaultResolver> {
    inner: R,
    known: Mutex<Option<(String, ResolvedSocketAddrs)>>,
}

impl<R: Resolver> Resolver for OnceResolver<R> {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, addrs)) = known.as_ref().filter(|(host, _)| *host == key) {
            return Ok(addrs.clone());
        }
        let addrs = match ip_literal(uri) {
            // Nothing to look up: no thread, no resolver.
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                addrs
            }
            None => self.inner.resolve(uri, config, timeout)?,
        };
        *known = Some((key, addrs.clone()));
        Ok(addrs)
    }
}

/// The address of a URL whose host is an IP address (`127.0.0.1`, `[::1]`).
fn ip_literal(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let port = match (authority.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("http")) => 80,
        (None, Some("https")) => 443,
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The proxy the environment names, in ureq's order (`ALL_PROXY`, `HTTPS_PROXY`,
/// `HTTP_PROXY`, each upper case first) with `NO_PROXY`, except that `HTTP_PROXY` is
/// ignored when `REQUEST_METHOD` is set: under CGI (git-http-backend) it holds the
/// pusher's `Proxy:` request header, not the administrator's setting. `http_proxy`
/// cannot come from a request header and stays in use, as with curl and Go.
fn proxy_from(env: impl Fn(&str) -> Option<String>) -> Option<Proxy> {
    let cgi = env("REQUEST_METHOD").is_some_and(|m| !m.is_empty());
    let names = [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ];
    let no_proxy = env("NO_PROXY").or_else(|| env("no_proxy")).unwrap_or_default();
    names
        .into_iter()
        .filter(|name| !(cgi && *name == "HTTP_PROXY"))
        .filter_map(&env)
        .find_map(|value| proxy(&value, &no_proxy))
}

/// An HTTP(S) CONNECT proxy from `[scheme://][user[:password]@]host[:port]`; `None` for
/// other schemes (SOCKS is not built in) and for values that are not such a URL.
fn proxy(value: &str, no_proxy: &str) -> Option<Proxy> {
    let value = value.trim();
    let full = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let url = url::Url::parse(&full).ok()?;
    let protocol = match url.scheme() {
        "http" => ProxyProtocol::Http,
        "https" => ProxyProtocol::Https,
        _ => return None,
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(String::from)
    };
    let mut builder = Proxy::builder(protocol).host(url.host_str()?);
    if let Some(port) = url.port() {
        builder = builder.port(port);
    }
    if !url.username().is_empty() {
        builder = builder.username(&decode(url.username())?);
    }
    if let Some(password) = url.password() {
        builder = builder.password(&decode(password)?);
    }
    for entry in no_proxy.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        builder = builder.no_proxy(entry);
    }
    builder.build().ok()
}

/// POSTs `request`, giving up after `timeout` (connecting included).
pub fn post(agent: &Agent, request: &Request, timeout: Duration) -> Attempt {
    let mut builder = agent.post(&request.url).config().timeout_global(Some(timeout)).build();
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    match builder.send(&request.body[..]) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // Reading the answer lets the connection be reused for the next event.
            let _ = std::io::copy(&mut response.body_mut().as_reader().take(1 << 20), &mut std::io::sink());
            let reason = match status {
                300..=399 => format!("HTTP {status} redirect (not followed; point the hook at the final URL)"),
                _ => format!("HTTP {status}"),
            };
            match status {
                200..=299 => Attempt::Delivered { status },
                _ => Attempt::Failed(Failure {
                    status: Some(status),
                    reason,
                    kind: FailureKind::of_status(status, retry_after),
                }),
            }
        }
        Err(e) => {
            // A refused certificate stays refused: retrying only costs the pusher time.
            let (reason, kind) = match certificate_problem(&e) {
                Some(problem) => (certificate_hint(problem), FailureKind::Stuck),
                None => (describe(&e), FailureKind::Transient { retry_after: None }),
            };
            Attempt::Failed(Failure {
                status: None,
                reason,
                kind,
            })
        }
    }
}

/// A short reason for a transport error, made from its kind only: ureq's own texts may
/// hold the URL (with its query, path variables or credentials) or the proxy's answer.
fn describe(error: &ureq::Error) -> String {
    use ureq::Error as E;
    match error {
        E::Timeout(_) => "timed out".into(),
        E::HostNotFound => "host not found".into(),
        E::ConnectionFailed => "connection failed".into(),
        E::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset".into(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".into(),
            _ if e.to_string().contains("failed to lookup address") => "host not found".into(),
            kind => format!("I/O error: {kind}"),
        },
        E::Tls(text) => format!("TLS error: {text}"),
        E::Pem(_) => "TLS error: unreadable certificate".into(),
        E::BadUri(_) | E::Http(_) => "the url cannot be requested".into(),
        E::Protocol(_) => "the answer is not valid HTTP".into(),
        E::LargeResponseHeader(..) => "the answer's headers are too large".into(),
        E::BodyStalled => "the answer stalled".into(),
        E::InvalidProxyUrl => "the proxy's URL is not valid".into(),
        E::ConnectProxyFailed(_) => "the proxy refused to connect to the receiver".into(),
        _ => "the request failed".into(),
    }
}

/// rustls's refusal of the connection, as text; it names the certificate problem (and
/// at most the host), never the URL.
fn certificate_problem(error: &ureq::Error) -> Option<String> {
    match error {
        ureq::Error::Rustls(e) => Some(e.to_string()),
        // rustls's errors reach here wrapped in I/O errors.
        ureq::Error::Io(e) if tls_problem(e) => Some(format!("I/O error: {e}")),
        _ => None,
    }
}

/// True when an I/O error is rustls's refusal of the connection.
fn tls_problem(error: &std::io::Error) -> bool {
    const RUSTLS: [&str; 5] = [
        "invalid peer certificate",
        "peer sent no certificates",
        "received fatal alert",
        "peer is incompatible",
        "peer misbehaved",
    ];
    let text = error.get_ref().map(ToString::to_string).unwrap_or_default();
    RUSTLS.iter().any(|prefix| text.starts_with(prefix))
}

/// Says what to do about a refused server certificate.
fn certificate_hint(text: String) -> String {
    if text.contains("CaUsedAsEndEntity") {
        format!(
            "{text} (the receiver's certificate is marked CA:TRUE, which is never accepted as a \
             server certificate, even from ca_file; give the server a certificate with CA:FALSE)"
        )
    } else if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        format!("{text} (its issuer is not trusted; name the CA that signed it in ca_file)")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(vars: &[(&str, &str)]) -> Option<(String, u16)> {
        let env = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        proxy_from(env).map(|p| (p.host().to_string(), p.port()))
    }

    #[test]
    fn under_cgi_http_proxy_in_upper_case_is_ignored() {
        let pusher = ("HTTP_PROXY", "http://10.0.0.66:8080");
        assert_eq!(chosen(&[pusher]), Some(("10.0.0.66".into(), 8080)));
        assert_eq!(chosen(&[("REQUEST_METHOD", "POST"), pusher]), None);
        let admin = ("http_proxy", "proxy.example.com:3128");
        assert_eq!(
            chosen(&[("REQUEST_METHOD", "POST"), pusher, admin]),
            Some(("proxy.example.com".into(), 3128))
        );
        let https = ("HTTPS_PROXY", "https://secure.example.com");
        assert_eq!(
            chosen(&[("REQUEST_METHOD", "POST"), pusher, https]),
            Some(("secure.example.com".into(), 443))
        );
    }

    /// A resolver that counts its lookups.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            DefaultResolver::default().resolve(uri, config, timeout)
        }
    }

    #[test]
    fn a_host_is_looked_up_once_per_agent_and_an_address_never() {
        let resolver = OnceResolver::<Counting>::default();
        let config = Agent::config_builder().build();
        let timeout = NextTimeout::default();
        let lookups = || resolver.inner.0.load(std::sync::atomic::Ordering::SeqCst);
        let first: Uri = "http://localhost:8080/a".parse().unwrap();
        let again: Uri = "http://localhost:8080/b".parse().unwrap();
        for uri in [&first, &again, &again] {
            let addrs = resolver.resolve(uri, &config, timeout).unwrap();
            assert_eq!(addrs[0].port(), 8080);
        }
        assert_eq!(lookups(), 1);
        for (url, addr) in [
            ("http://127.0.0.1:8080/a", "127.0.0.1:8080"),
            ("http://127.0.0.2/a", "127.0.0.2:80"),
            ("https://[::1]/a", "[::1]:443"),
            ("https://[::1]:8443/a", "[::1]:8443"),
        ] {
            let addrs = resolver.resolve(&url.parse().unwrap(), &config, timeout).unwrap();
            assert_eq!(addrs[..], [addr.parse().unwrap()], "{url}");
        }
        assert_eq!(lookups(), 1);
        resolver
            .resolve(&"http://localhost:8081/a".parse().unwrap(), &config, timeout)
            .unwrap();
        assert_eq!(lookups(), 2);
    }

    #[test]
    fn answers_are_transient_refused_or_stuck() {
        let wait = Some(Duration::from_secs(3));
        for status in [408, 425, 429, 500, 503] {
            assert_eq!(
                FailureKind::of_status(status, wait),
                FailureKind::Transient { retry_after: wait },
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 410, 422] {
            assert_eq!(FailureKind::of_status(status, wait), FailureKind::Refused, "{status}");
        }
        for status in [301, 302, 308] {
            assert_eq!(FailureKind::of_status(status, None), FailureKind::Stuck, "{status}");
        }
    }

    #[test]
    fn transport_errors_are_described_without_the_url() {
        let url = "http://u:pw-S3CRET@h/p/var-S3CRET?k=q-S3CRET";
        for error in [
            ureq::Error::BadUri(url.into()),
            ureq::Error::ConnectProxyFailed(format!("HTTP/1.1 403 {url}")),
            ureq::Error::RequireHttpsOnly(url.into()),
            ureq::Error::Io(std::io::Error::other(url)),
        ] {
            let text = describe(&error);
            assert!(!text.contains("S3CRET") && !text.is_empty(), "{text}");
        }
    }

    #[test]
    fn proxies_that_cannot_be_used_are_skipped() {
        assert_eq!(chosen(&[("ALL_PROXY", "socks5://s:1080")]), None);
        assert_eq!(chosen(&[("ALL_PROXY", "")]), None);
        assert_eq!(
            chosen(&[("ALL_PROXY", "socks5://s:1080"), ("http_proxy", "p:1")]),
            Some(("p".into(), 1))
        );
    }
}
