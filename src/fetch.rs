//! Fetching over HTTP: the `reqwest::Client`s for feeds and article pages,
//! conditional GET, redirects, timeouts, the body cap, the address guard,
//! and classifying failures.
//!
//! Knows nothing of parsing, rules or the database: it turns a URL and the
//! validators from the last poll into a [`FetchOutcome`] or a
//! [`FetchError`], and an article link into a [`Page`].
//!
//! The address guard: a URL the admin wrote (a feed, and any link on that
//! feed's own origin) is trusted as written. Every other address (an
//! article link from feed content, a redirect hop to another origin) may
//! reach only public addresses unless `full_text.allow_private` is set: an
//! IP literal is checked before the request, a name on the address it
//! resolves to at connect time ([`PublicOnly`], the guarded client's
//! resolver), so every hop is checked again and a name that re-resolves
//! to a private address (DNS rebinding) is refused.

use crate::config::HttpConfig;
use crate::model::{FetchOutcome, Validators};
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// Could not connect (DNS, refused, TLS).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The server answered with an error status.
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
    },
    /// The body is larger than `http.max_body`.
    #[error(
        "body larger than the {0}-byte limit (http.max_body, or full_text.max_body for a page)"
    )]
    TooLarge(u64),
    /// Too many redirects or another protocol problem.
    #[error("{0}")]
    Protocol(String),
    /// The address guard refused an untrusted address.
    #[error("refused: {0}")]
    Refused(String),
}

impl FetchError {
    /// A short name for the kind of failure, recorded on the feed.
    pub(crate) fn kind(&self) -> crate::model::ErrorKind {
        use crate::model::ErrorKind;
        match self {
            FetchError::Timeout => ErrorKind::Timeout,
            FetchError::Connect(_) | FetchError::Refused(_) => ErrorKind::Connect,
            FetchError::Status { status, .. } if *status == 429 => ErrorKind::RateLimited,
            FetchError::Status { status, .. } if *status == 410 => ErrorKind::Gone,
            FetchError::Status { status, .. } if *status >= 500 => ErrorKind::Http5xx,
            FetchError::Status { .. } => ErrorKind::Http4xx,
            FetchError::TooLarge(_) => ErrorKind::TooLarge,
            FetchError::Protocol(_) => ErrorKind::Protocol,
        }
    }

    /// The HTTP status, if the server answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Installs the process-wide TLS crypto provider (ring). Safe to call more
/// than once; every client built by newswatch calls it first.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds an HTTP client with newswatch's defaults. Used for feeds and for
/// alert delivery alike.
pub(crate) fn build_client(
    user_agent: &str,
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, String> {
    finish(client_builder(user_agent, timeout, connect_timeout))
}

/// newswatch's client settings (user agent, timeouts, redirects by hand),
/// for a caller to add to before [`finish`].
fn client_builder(
    user_agent: &str,
    timeout: Duration,
    connect_timeout: Duration,
) -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
}

fn finish(b: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Redirect hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Whether `ip` is a public address: not loopback, private, link-local,
/// CGNAT (100.64/10), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), unique-local,
/// multicast, documentation, benchmarking, reserved or unspecified. An
/// IPv4-mapped or IPv4-compatible IPv6 address is judged as its IPv4
/// address.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // ::a.b.c.d (deprecated IPv4-compatible), but not :: or ::1.
            if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
                return is_public_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0; 3])) // discard-only 100::/64
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || o[0] == 0 // 0.0.0.0/8
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF 192.0.0.0/24
        || ip.is_documentation()
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || ip.is_multicast()
        || o[0] >= 240) // reserved and broadcast
}

/// Names under the special-use top-level domains `example`, `invalid` and
/// `test` (RFC 6761): no public site has one, so an untrusted link to one
/// is refused without a lookup.
fn is_special_use(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let tld = d.rsplit('.').next().unwrap_or("");
    matches!(tld, "example" | "invalid" | "test")
}

/// The guarded client's resolver: a name resolves to its public addresses
/// only, and one with none is refused. It runs for every new connection,
/// so each redirect hop is checked on the address actually connected to.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let shown: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "refused: {host} resolves to no public address ({}); set full_text.allow_private to allow it",
                    shown.join(", ")
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An article page as fetched.
#[derive(Debug)]
pub(crate) struct Page {
    /// The body (at most the page cap).
    pub bytes: Vec<u8>,
    /// The URL after redirects.
    pub final_url: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
}

/// The fetcher: one trusted client, one guarded client, the body cap.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    guarded: reqwest::Client,
    max_body: u64,
    allow_private: bool,
}

/// What one request wants back.
struct Want {
    headers: HeaderMap,
    /// Hops on this origin use the trusted client.
    trusted: url::Origin,
    /// And hops on this host, whatever their scheme and port (a feed's
    /// `http` → `https` upgrade).
    trusted_host: Option<String>,
    max_body: u64,
}

impl Fetcher {
    /// Builds the fetcher from `[http]`; `allow_private` lifts the address
    /// guard (`full_text.allow_private`).
    pub(crate) fn new(cfg: &HttpConfig, allow_private: bool) -> Result<Fetcher, String> {
        let guarded = finish(
            client_builder(&cfg.user_agent, cfg.timeout, cfg.connect_timeout)
                .dns_resolver(Arc::new(PublicOnly))
                // Through a proxy the resolver would see only the proxy's
                // name, and the proxy would reach whatever the link names:
                // guarded requests go direct.
                .no_proxy(),
        )?;
        Ok(Fetcher {
            client: build_client(&cfg.user_agent, cfg.timeout, cfg.connect_timeout)?,
            guarded,
            max_body: cfg.max_body,
            allow_private,
        })
    }

    /// GETs `url`, sending `If-None-Match` / `If-Modified-Since` from
    /// `validators`. `trusted` is the URL the admin wrote (`url` itself, or
    /// the address a feed moved from): a hop on its host is trusted (a
    /// scheme or port change included), any other hop guarded.
    pub(crate) async fn get(
        &self,
        url: &str,
        trusted: &str,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            ),
        );
        if let Some(v) = validators
            .etag
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = validators
            .last_modified
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let start =
            url::Url::parse(url).map_err(|e| FetchError::Protocol(format!("bad URL: {e}")))?;
        let trusted = url::Url::parse(trusted).ok();
        let want = Want {
            headers,
            trusted: trusted
                .as_ref()
                .map_or_else(url::Origin::new_opaque, url::Url::origin),
            trusted_host: trusted.and_then(|u| u.host_str().map(str::to_string)),
            max_body: self.max_body,
        };
        let (resp, moved_to) = self.follow(start, &want).await?;
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(FetchOutcome::NotModified { status, moved_to });
        }
        let resp = check_status(resp)?;
        let h = resp.headers();
        let text =
            |n: header::HeaderName| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let new_validators = Validators {
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
        };
        let content_type = text(header::CONTENT_TYPE);
        let max_age = text(header::CACHE_CONTROL).and_then(|cc| {
            cc.split(',')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        });
        let final_url = resp.url().to_string();
        let bytes = read_body(resp, want.max_body).await?;
        Ok(FetchOutcome::Body {
            status,
            bytes,
            final_url,
            validators: new_validators,
            content_type,
            max_age,
            moved_to,
        })
    }

    /// GETs an article page at `url` (a link from feed content, so
    /// untrusted unless on `trusted`'s origin: the feed's own), at most
    /// `max_body` bytes of it.
    pub(crate) async fn page(
        &self,
        url: &str,
        trusted: &str,
        max_body: u64,
    ) -> Result<Page, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, application/xhtml+xml;q=0.9, */*;q=0.5"),
        );
        let start =
            url::Url::parse(url).map_err(|e| FetchError::Protocol(format!("bad URL: {e}")))?;
        if !matches!(start.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!(
                "{url}: only http and https links are fetched"
            )));
        }
        // An unparsable feed URL trusts nothing (an opaque origin equals
        // no other).
        let trusted = url::Url::parse(trusted)
            .map(|u| u.origin())
            .unwrap_or_else(|_| url::Origin::new_opaque());
        let want = Want {
            headers,
            trusted,
            trusted_host: None,
            max_body,
        };
        let (resp, _) = self.follow(start, &want).await?;
        let resp = check_status(resp)?;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let final_url = resp.url().to_string();
        let bytes = read_body(resp, max_body).await?;
        Ok(Page {
            bytes,
            final_url,
            content_type,
        })
    }

    /// The client for one hop to `u`: the trusted one on the trusted
    /// origin (or with the guard lifted), else the guarded one, after an
    /// IP literal is checked here (the resolver never sees it).
    fn client_for(&self, u: &url::Url, want: &Want) -> Result<&reqwest::Client, FetchError> {
        if self.allow_private
            || u.origin() == want.trusted
            || (want.trusted_host.is_some() && u.host_str() == want.trusted_host.as_deref())
        {
            return Ok(&self.client);
        }
        let literal = match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && !is_public(ip)
        {
            return Err(FetchError::Refused(format!(
                "{u}: {ip} is not a public address; set full_text.allow_private to allow it"
            )));
        }
        if let Some(url::Host::Domain(d)) = u.host()
            && is_special_use(d)
        {
            return Err(FetchError::Refused(format!(
                "{u}: {d} is a special-use name (RFC 6761), never a public site"
            )));
        }
        Ok(&self.guarded)
    }

    /// Sends the request and follows redirects by hand, so that the kind of
    /// every hop is known (only a chain of permanent ones, 301/308, may
    /// move a feed) and every hop's address is guarded. Returns the final
    /// answer and, for a chain of permanent redirects, where it ended.
    async fn follow(
        &self,
        start: url::Url,
        want: &Want,
    ) -> Result<(reqwest::Response, Option<String>), FetchError> {
        let mut current = start;
        let mut visited = vec![current.clone()];
        let mut all_permanent = true;
        let resp = loop {
            let resp = self
                .client_for(&current, want)?
                .get(current.clone())
                .headers(want.headers.clone())
                .send()
                .await
                .map_err(classify)?;
            let st = resp.status().as_u16();
            if !matches!(st, 301 | 302 | 303 | 307 | 308) {
                break resp;
            }
            let Some(loc) = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(FetchError::Protocol(format!(
                    "HTTP {st} without a Location header"
                )));
            };
            let next = current
                .join(loc.trim())
                .map_err(|e| FetchError::Protocol(format!("bad redirect Location {loc:?}: {e}")))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Protocol(format!(
                    "redirect to {next}: only http and https are followed"
                )));
            }
            if visited.contains(&next) {
                return Err(FetchError::Protocol(format!(
                    "redirect loop through {next}"
                )));
            }
            if visited.len() > MAX_REDIRECTS {
                return Err(FetchError::Protocol(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            all_permanent &= matches!(st, 301 | 308);
            visited.push(next.clone());
            current = next;
        };
        let moved_to = (visited.len() > 1 && all_permanent).then(|| current.to_string());
        Ok((resp, moved_to))
    }
}

/// An error status as a [`FetchError`] (with its `Retry-After`).
fn check_status(resp: reqwest::Response) -> Result<reqwest::Response, FetchError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    Err(FetchError::Status {
        status: resp.status().as_u16(),
        retry_after,
    })
}

/// The body, refused as soon as it passes `max_body` (decompressed).
async fn read_body(mut resp: reqwest::Response, max_body: u64) -> Result<Vec<u8>, FetchError> {
    if let Some(len) = resp.content_length()
        && len > max_body
    {
        return Err(FetchError::TooLarge(max_body));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if bytes.len() as u64 + chunk.len() as u64 > max_body {
            return Err(FetchError::TooLarge(max_body));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_redirect() {
        FetchError::Protocol("too many redirects or a redirect loop".into())
    } else if e.is_connect() {
        FetchError::Connect(error_chain(&e))
    } else {
        FetchError::Protocol(error_chain(&e))
    }
}

/// The error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// `Retry-After` as seconds or as an HTTP date (relative to now).
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = when.timestamp() - chrono::Utc::now().timestamp();
    Some(Duration::from_secs(secs.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        let private = [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2001:db8::1",
            "100::1",
        ];
        for a in private {
            let ip: IpAddr = a.parse().unwrap();
            assert!(!is_public(ip), "{a} must not be public");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9a::1",
        ];
        for a in public {
            let ip: IpAddr = a.parse().unwrap();
            assert!(is_public(ip), "{a} must be public");
        }
    }

    fn fetcher(allow_private: bool) -> Fetcher {
        let http = crate::config::HttpConfig {
            user_agent: "t".into(),
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            max_body: 1 << 20,
            concurrency: 1,
            per_host: 1,
            host_spacing: Duration::ZERO,
        };
        Fetcher::new(&http, allow_private).unwrap()
    }

    /// Which client each hop gets: the trusted one on the trusted origin
    /// (or host, for feeds), the guarded one for a public address, none
    /// for a private literal or a special-use name.
    #[test]
    fn each_hop_gets_the_client_its_address_deserves() {
        let f = fetcher(false);
        let want = |trusted: &str, host: bool| Want {
            headers: HeaderMap::new(),
            trusted: url::Url::parse(trusted).unwrap().origin(),
            trusted_host: host.then(|| {
                url::Url::parse(trusted)
                    .unwrap()
                    .host_str()
                    .unwrap()
                    .to_string()
            }),
            max_body: 1,
        };
        let page = want("http://10.0.0.5:8080/feed", false);
        let is = |c: Result<&reqwest::Client, FetchError>, which: &reqwest::Client| {
            c.is_ok_and(|c| std::ptr::eq(c, which))
        };
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(is(
            f.client_for(&u("http://10.0.0.5:8080/a/1"), &page),
            &f.client
        ));
        assert!(is(
            f.client_for(&u("http://93.184.215.14/a"), &page),
            &f.guarded
        ));
        assert!(is(
            f.client_for(&u("https://news.example.org/a"), &page),
            &f.guarded
        ));
        for refused in [
            "http://10.0.0.5:8081/a",
            "https://10.0.0.5/a",
            "http://127.0.0.1/a",
            "http://2130706433/a",
            "http://0x7f.1/a",
            "http://[::ffff:127.0.0.1]/a",
            "http://169.254.169.254/latest/meta-data",
            "http://wire.demo.invalid/a",
        ] {
            let got = f.client_for(&u(refused), &page);
            assert!(matches!(got, Err(FetchError::Refused(_))), "{refused}");
        }
        // A feed's own host is trusted across a scheme upgrade.
        let feed = want("http://10.0.0.5/feed", true);
        assert!(is(
            f.client_for(&u("https://10.0.0.5/feed"), &feed),
            &f.client
        ));
        // The guard lifted: everything goes through the trusted client.
        let open = fetcher(true);
        assert!(is(
            open.client_for(&u("http://127.0.0.1/a"), &page),
            &open.client
        ));
    }

    /// The guarded resolver refuses a name with no public address
    /// (`localhost` is answered from the hosts file, no DNS).
    #[tokio::test]
    async fn the_resolver_keeps_only_public_addresses() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let got = PublicOnly.resolve(name).await;
        let err = got.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("refused: localhost resolves to no public address"),
            "{err}"
        );
    }

    #[test]
    fn special_use_names_are_known() {
        for d in ["news.example", "WIRE.DEMO.INVALID", "a.test.", "example"] {
            assert!(is_special_use(d), "{d}");
        }
        for d in ["example.org", "test.com", "invalid.net", "localhost"] {
            assert!(!is_special_use(d), "{d}");
        }
    }
}
