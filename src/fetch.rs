//! Fetching feed documents over HTTP: the one `reqwest::Client` for feeds,
//! conditional GET, redirects, timeouts, the body cap, and classifying
//! failures.
//!
//! Knows nothing of parsing, rules or the database: it turns a URL and the
//! validators from the last poll into a [`FetchOutcome`] or a
//! [`FetchError`].

use crate::config::HttpConfig;
use crate::model::{FetchOutcome, Validators};
use reqwest::header::{self, HeaderMap, HeaderValue};
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
    #[error("body larger than the {0}-byte limit (http.max_body)")]
    TooLarge(u64),
    /// Too many redirects or another protocol problem.
    #[error("{0}")]
    Protocol(String),
}

impl FetchError {
    /// A short name for the kind of failure, recorded on the feed.
    pub(crate) fn kind(&self) -> crate::model::ErrorKind {
        use crate::model::ErrorKind;
        match self {
            FetchError::Timeout => ErrorKind::Timeout,
            FetchError::Connect(_) => ErrorKind::Connect,
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
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Redirect hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// The feed fetcher: one client, one body cap.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
}

impl Fetcher {
    /// Builds the fetcher from `[http]`.
    pub(crate) fn new(cfg: &HttpConfig) -> Result<Fetcher, String> {
        Ok(Fetcher {
            client: build_client(&cfg.user_agent, cfg.timeout, cfg.connect_timeout)?,
            max_body: cfg.max_body,
        })
    }

    /// GETs `url`, sending `If-None-Match` / `If-Modified-Since` from
    /// `validators`.
    pub(crate) async fn get(
        &self,
        url: &str,
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
        // Redirects are followed here, not by reqwest, so that the kind of
        // every hop is known: only a chain of permanent ones (301/308) may
        // move a feed.
        let mut current =
            url::Url::parse(url).map_err(|e| FetchError::Protocol(format!("bad URL: {e}")))?;
        let mut visited = vec![current.clone()];
        let mut all_permanent = true;
        let mut resp = loop {
            let resp = self
                .client
                .get(current.clone())
                .headers(headers.clone())
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
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(FetchOutcome::NotModified { status, moved_to });
        }
        if !resp.status().is_success() {
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        if let Some(len) = resp.content_length()
            && len > self.max_body
        {
            return Err(FetchError::TooLarge(self.max_body));
        }
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
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge(self.max_body));
            }
            bytes.extend_from_slice(&chunk);
        }
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
