//! Endpoints and the HTTP client that publishing uses: a small synchronous
//! one (ureq) on rustls with ring, with the system's root certificates
//! (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured), and every request bounded
//! by `--push-timeout` (docs/publishing.md).
//!
//! Credentials never travel in a URL memsample keeps: `user:password@` is
//! taken out of the URL when it is parsed and sent as an `Authorization`
//! header; every message shows the URL without it.

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::pushgateway::base64;

/// A URL given on the command line or in the environment, parsed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The URL without credentials: what is requested and what messages show.
    pub(crate) url: String,
    pub(crate) https: bool,
    /// `Basic ...` from `user:password@`.
    authorization: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    // Without the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("authorization", &self.authorization.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Endpoint {
    /// `http://` or `https://`, a host, an optional port and path. The error
    /// says what is wrong, and never repeats the credentials.
    pub(crate) fn parse(text: &str) -> Result<Endpoint, String> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err("not a URL (http://HOST:PORT or https://...)".into());
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(format!("unknown scheme {scheme:?}: http or https")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if path.contains(['?', '#']) {
            return Err("a query or fragment has no place here".into());
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        check_host_port(host_port)?;
        if path.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err("the path holds spaces or characters a URL cannot".into());
        }
        let url = format!("{}://{host_port}{path}", scheme.to_ascii_lowercase());
        url.parse::<ureq::http::Uri>()
            .map_err(|_| "not a URL (http://HOST:PORT or https://...)".to_string())?;
        let authorization = userinfo
            .map(|userinfo| format!("Basic {}", base64(percent_decode(userinfo).as_bytes())));
        Ok(Endpoint {
            url,
            https,
            authorization,
        })
    }

    /// The same endpoint with `tail` appended to its path.
    pub(crate) fn join(&self, tail: &str) -> Endpoint {
        Endpoint {
            url: format!("{}{tail}", self.url.trim_end_matches('/')),
            ..self.clone()
        }
    }

    /// The same endpoint with this URL (of the same host).
    pub(crate) fn with_url(&self, url: String) -> Endpoint {
        Endpoint {
            url,
            ..self.clone()
        }
    }

    /// The path part of the URL (`/` when there is none).
    pub(crate) fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or("", |(_, rest)| rest);
        rest.find('/').map_or("/", |start| &rest[start..])
    }
}

/// `host`, `host:port` or `[v6]:port`; the port a number below 65536.
fn check_host_port(host_port: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err("an IPv6 address needs its closing ]".into());
        };
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if host
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'%')))
    {
        return Err("the host holds characters a host name cannot".into());
    }
    match port {
        Some(port) if port.parse::<u16>().is_err() => Err(format!("bad port {port:?}")),
        _ => Ok(()),
    }
}

/// `%XX` escapes decoded (credentials and header values may hold them);
/// anything else kept as it is.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request to send.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) content_type: &'a str,
    /// More headers (`OTEL_EXPORTER_OTLP_HEADERS`).
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Put,
    Post,
}

/// A client for one endpoint, kept for the whole recording (its connection
/// is reused between pushes).
pub(crate) struct Client {
    agent: ureq::Agent,
    timeout: Duration,
    /// Why HTTPS cannot work (no root certificates), said at the first push.
    unusable: Option<String>,
}

/// Buffers small enough for memsample's own memory budget, large enough for
/// any answer's headers.
const BUFFER_BYTES: usize = 16 * 1024;

impl Client {
    /// A client whose every request ends within `timeout`. For HTTPS the
    /// system's roots are loaded here, on the publishing thread.
    pub(crate) fn new(timeout: Duration, https: bool) -> Client {
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .input_buffer_size(BUFFER_BYTES)
            .output_buffer_size(BUFFER_BYTES)
            .user_agent(concat!("memsample/", env!("CARGO_PKG_VERSION")));
        let mut unusable = None;
        if https {
            match system_roots() {
                Ok(roots) => {
                    config = config.tls_config(
                        TlsConfig::builder()
                            .provider(TlsProvider::Rustls)
                            .root_certs(RootCerts::Specific(Arc::new(roots)))
                            .unversioned_rustls_crypto_provider(Arc::new(
                                rustls::crypto::ring::default_provider(),
                            ))
                            .build(),
                    );
                }
                Err(why) => unusable = Some(why),
            }
        }
        Client {
            agent: config.build().into(),
            timeout,
            unusable,
        }
    }

    /// Sends the request; a 2xx answer is success. The error is a reason
    /// for a message (`connection refused`, `answered 500 Internal Server
    /// Error`), without the URL.
    pub(crate) fn send(&self, request: &Request<'_>) -> Result<(), String> {
        if let Some(why) = &self.unusable {
            return Err(why.clone());
        }
        let url = request.endpoint.url.as_str();
        let mut builder = match request.method {
            Method::Put => self.agent.put(url),
            Method::Post => self.agent.post(url),
        }
        .header("Content-Type", request.content_type);
        if let Some(authorization) = &request.endpoint.authorization {
            builder = builder.header("Authorization", authorization);
        }
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        match builder.send(request.body) {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(err) => Err(self.reason(&err)),
        }
    }

    fn reason(&self, err: &ureq::Error) -> String {
        match err {
            ureq::Error::Timeout(_) => {
                format!(
                    "no answer within {}",
                    crate::units::format_duration(self.timeout)
                )
            }
            ureq::Error::Io(err) => crate::record::error::reason(err),
            other => other.to_string(),
        }
    }
}

/// The system's root certificates, as OpenSSL would find them.
fn system_roots() -> Result<Vec<Certificate<'static>>, String> {
    let found = rustls_native_certs::load_native_certs();
    let roots: Vec<Certificate<'static>> = found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_string(), ToString::to_string);
        return Err(format!(
            "no root certificates for HTTPS ({why}; SSL_CERT_FILE names a bundle)"
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_for_a_header() {
        let endpoint = Endpoint::parse("http://ci:s3cr%40t@127.0.0.1:9091/base").expect("parses");
        assert_eq!(endpoint.url, "http://127.0.0.1:9091/base");
        assert_eq!(
            endpoint.authorization.as_deref(),
            Some("Basic Y2k6czNjckB0")
        );
        assert!(!format!("{endpoint:?}").contains("s3cr"));
        assert_eq!(endpoint.path(), "/base");
        assert_eq!(
            endpoint.join("/v1/metrics").url,
            "http://127.0.0.1:9091/base/v1/metrics"
        );
        let https = Endpoint::parse("HTTPS://[::1]:4318").expect("parses");
        assert!(https.https);
        assert_eq!(https.url, "https://[::1]:4318");
        assert_eq!(https.path(), "/");
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for (text, why) in [
            ("127.0.0.1:9091", "not a URL"),
            ("ftp://h/", "unknown scheme \"ftp\""),
            ("http://", "no host"),
            ("http://u:hunter2@/x", "no host"),
            ("http://h:99999", "bad port"),
            ("http://h:port", "bad port"),
            ("http://h/a b", "the path holds"),
            ("http://h o/", "the host holds"),
            ("http://h/?q=1", "a query"),
        ] {
            let err = Endpoint::parse(text).expect_err(text);
            assert!(err.starts_with(why), "{text}: {err}");
            assert!(!err.contains("hunter2"));
        }
    }

    #[test]
    fn percent_escapes() {
        assert_eq!(percent_decode("a%20b%2Cc%zz%4"), "a b,c%zz%4");
    }
}
