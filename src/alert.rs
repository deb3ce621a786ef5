//! Alert rendering and delivery to sinks. Each sink kind has its own wire
//! format built from a [`PendingAlert`]; feed text is escaped for each
//! format. This module returns an outcome; it never writes to the
//! database (`daemon` records the outcome through `store`).

use crate::config::SinkConfig;
use crate::model::{Severity, WatchMatch};
use crate::store::PendingAlert;
use std::borrow::Cow;
use std::fmt::Write as _;

/// The highest severity among `watches`.
pub(crate) fn top_severity(watches: &[&WatchMatch]) -> Severity {
    watches
        .iter()
        .map(|w| w.severity)
        .max()
        .unwrap_or(Severity::Low)
}

/// Formats a Unix time as RFC 3339 (UTC).
pub(crate) fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The `log` sink's rendering: a few human-readable lines.
pub(crate) fn render_log(alert: &PendingAlert, watches: &[&WatchMatch]) -> String {
    let a = &alert.article;
    let mut s = String::new();
    let names: Vec<&str> = watches.iter().map(|w| w.watch.as_str()).collect();
    let _ = writeln!(
        s,
        "ALERT [{}] {}: {}",
        top_severity(watches),
        names.join(", "),
        one_line(&a.title)
    );
    if let Some(u) = &a.url {
        let _ = writeln!(s, "  link:      {}", one_line(u));
    }
    let published = a.published.map(rfc3339).unwrap_or_else(|| "unknown".into());
    let _ = writeln!(
        s,
        "  feed:      {} <{}>  published: {published}",
        one_line(&a.feed_name),
        a.feed_url
    );
    for w in watches {
        let terms: Vec<String> = w
            .terms
            .iter()
            .map(|t| format!("{} ({}×{})", one_line(&t.term), t.field, t.count))
            .collect();
        let _ = writeln!(
            s,
            "  {} [{}] score {}: {}",
            w.watch,
            w.severity,
            w.score,
            terms.join(", ")
        );
    }
    if let Some(w) = watches.first() {
        let _ = writeln!(s, "  snippet:   {}", one_line(&w.snippet));
    }
    if let Some((id, facts)) = &a.event
        && let Some(line) = facts.line()
    {
        let _ = writeln!(s, "  {}", one_line(&line));
        let _ = writeln!(s, "  event:     {id}");
    }
    for (name, _, url) in &alert.also_seen_in {
        let _ = writeln!(
            s,
            "  also seen: {} {}",
            one_line(name),
            url.as_deref().map(one_line).unwrap_or_default()
        );
    }
    let _ = writeln!(s, "  alert id:  {}", alert.id);
    s
}

/// Control characters (a feed could embed terminal escapes) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delivery {
    /// The sink accepted it.
    Delivered,
    /// It did not arrive.
    Failed {
        /// What went wrong (`HTTP 503`, `timed out`, …).
        error: String,
        /// What the answer says about the alert and the sink.
        kind: FailKind,
        /// The receiver's `Retry-After`, if any.
        after: Option<std::time::Duration>,
    },
}

impl Delivery {
    /// A failure worth another try later (timeouts, 5xx, a local error).
    pub(crate) fn transient(error: impl Into<String>) -> Delivery {
        Delivery::Failed {
            error: error.into(),
            kind: FailKind::Transient,
            after: None,
        }
    }
}

/// What a failed attempt says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// Try again later (`408`, `425`, `429`, `5xx`, other `4xx`, timeouts,
    /// connection errors).
    Transient,
    /// The sink refuses its credentials or its address (`401`, `403`,
    /// `404`, `3xx`): the sink is failing, no alert is to blame.
    Sink,
    /// The receiver refused this alert (`400`, `413`, `415`, `422`).
    Rejected,
    /// The endpoint is gone (`410`): the sink is disabled.
    Gone,
}

/// The kind of failure an HTTP status means (for a status that is not 2xx).
pub(crate) fn fail_kind(status: u16) -> FailKind {
    match status {
        300..=399 | 401 | 403 | 404 => FailKind::Sink,
        400 | 413 | 415 | 422 => FailKind::Rejected,
        410 => FailKind::Gone,
        _ => FailKind::Transient,
    }
}

/// The generic webhook body, version 1. Its own type: the wire format does
/// not follow internal refactors.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WebhookBody<'a> {
    /// Always 1.
    pub version: u32,
    /// The alert id (also sent as `Idempotency-Key` and `webhook-id`).
    pub id: &'a str,
    /// When the article was detected (RFC 3339, milliseconds).
    pub detected_at: String,
    /// The alert's number among its sink's alerts, in detection order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    /// The highest severity of `watches`.
    pub severity: &'static str,
    /// Every routed watch that fired.
    pub watches: Vec<WireWatch<'a>>,
    /// The article.
    pub article: WireArticle<'a>,
    /// An excerpt with hits marked «like this».
    pub snippet: Cow<'a, str>,
    /// Other feeds that carried the same story.
    pub also_seen_in: Vec<WireSeen<'a>>,
    /// The meeting it reports (`coalition-meeting` articles): the event id
    /// every report of that meeting shares, and the facts found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<WireEvent<'a>>,
}

/// The meeting in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireEvent<'a> {
    /// Shared by the reports of one meeting (same forum and venue country,
    /// days at most three apart).
    pub id: &'a str,
    /// The facts (absent fields are left out).
    #[serde(flatten)]
    pub facts: &'a crate::facts::MeetingFacts,
}

/// A watch in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireWatch<'a> {
    /// Watch name.
    pub name: &'a str,
    /// Its severity.
    pub severity: &'static str,
    /// Its score.
    pub score: f64,
    /// The terms found.
    pub terms: Vec<WireTerm<'a>>,
}

/// A matched term in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireTerm<'a> {
    /// As written in the rule.
    pub term: &'a str,
    /// title, summary or content.
    pub field: &'static str,
    /// Occurrences.
    pub count: u32,
}

/// The article in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireArticle<'a> {
    /// Title.
    pub title: Cow<'a, str>,
    /// Canonical link.
    pub url: Option<&'a str>,
    /// Publication time (RFC 3339), if known.
    pub published: Option<String>,
    /// Language tag, if known.
    pub lang: Option<&'a str>,
    /// Summary (plain text).
    pub summary: Cow<'a, str>,
    /// The feed it came from.
    pub feed: WireFeed<'a>,
}

/// A feed in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireFeed<'a> {
    /// Display name.
    pub name: &'a str,
    /// URL.
    pub url: &'a str,
}

/// Another sighting in the webhook body.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireSeen<'a> {
    /// The feed's name.
    pub feed: &'a str,
    /// The item's link in that feed.
    pub url: Option<&'a str>,
}

/// Formats Unix milliseconds as RFC 3339 (UTC) with milliseconds.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `s` cut to at most `max` bytes at a word boundary, with an ellipsis
/// (unchanged when it fits).
pub(crate) fn cut_at_word(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let room = max.saturating_sub('…'.len_utf8());
    let mut end = room;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    // Back to the last space, unless that would drop most of the room (one
    // very long word).
    if let Some(sp) = s[..end].rfind(char::is_whitespace)
        && sp >= end / 2
    {
        end = sp;
    }
    Cow::Owned(format!("{}…", s[..end].trim_end()))
}

/// Builds the version-1 webhook body, with the long texts (title, summary,
/// snippet) cut to `limit` bytes each and at most `seen` other sightings.
pub(crate) fn webhook_body<'a>(
    alert: &'a PendingAlert,
    watches: &[&'a WatchMatch],
    limit: usize,
    seen: usize,
) -> WebhookBody<'a> {
    let a = &alert.article;
    WebhookBody {
        version: 1,
        id: &alert.id,
        detected_at: rfc3339_ms(alert.created_ms),
        sequence: alert.sequence,
        severity: top_severity(watches).as_str(),
        watches: watches
            .iter()
            .map(|w| WireWatch {
                name: &w.watch,
                severity: w.severity.as_str(),
                score: w.score,
                terms: w
                    .terms
                    .iter()
                    .map(|t| WireTerm {
                        term: &t.term,
                        field: t.field.as_str(),
                        count: t.count,
                    })
                    .collect(),
            })
            .collect(),
        article: WireArticle {
            title: cut_at_word(&a.title, limit),
            url: a.url.as_deref(),
            published: a.published.map(rfc3339),
            lang: a.lang.as_deref(),
            summary: cut_at_word(&a.summary, limit),
            feed: WireFeed {
                name: &a.feed_name,
                url: &a.feed_url,
            },
        },
        snippet: cut_at_word(watches.first().map_or("", |w| w.snippet.as_str()), limit),
        also_seen_in: alert
            .also_seen_in
            .iter()
            .take(seen)
            .map(|(name, _, url)| WireSeen {
                feed: name,
                url: url.as_deref(),
            })
            .collect(),
        event: a.event.as_ref().map(|(id, facts)| WireEvent { id, facts }),
    }
}

/// Encodes a body within `bound` bytes: `build(limit, seen)` is asked for
/// texts of at most `limit` bytes each and at most `seen` other sightings,
/// shorter until the encoding fits (or nothing is left to cut).
pub(crate) fn fit_body<T: serde::Serialize>(
    bound: usize,
    build: impl Fn(usize, usize) -> T,
) -> Result<Vec<u8>, String> {
    let (mut limit, mut seen) = (usize::MAX, usize::MAX);
    loop {
        let body = serde_json::to_vec(&build(limit, seen))
            .map_err(|e| format!("cannot encode the body: {e}"))?;
        if body.len() <= bound || (limit <= 64 && seen <= 5) {
            return Ok(body);
        }
        // Cut the texts to what the excess leaves, then by half each time.
        limit = if limit == usize::MAX {
            bound
                .saturating_sub(body.len() - bound.min(body.len()))
                .max(bound / 2)
        } else {
            (limit / 2).max(64)
        };
        if limit <= 1024 {
            seen = seen.min(20);
        }
        if limit <= 256 {
            seen = 5;
        }
    }
}

/// Sends several alerts as one webhook message: `{"version":1,"digest":true,
/// "id":…,"count":n,"alerts":[…version-1 bodies…]}`, keyed and signed like a
/// single alert; the key is derived from the alert ids it carries.
pub(crate) async fn deliver_webhook_digest(
    client: &reqwest::Client,
    sink: &SinkConfig,
    key: &str,
    alerts: &[&PendingAlert],
    watches: &[Vec<&WatchMatch>],
    now: i64,
) -> Delivery {
    let Some(url) = &sink.url else {
        return Delivery::transient("the sink has no url");
    };
    let body = fit_body(sink.max_body, |limit, seen| {
        let items: Vec<WebhookBody<'_>> = alerts
            .iter()
            .zip(watches)
            .map(|(a, w)| webhook_body(a, w, limit, seen))
            .collect();
        serde_json::json!({
            "version": 1, "digest": true, "id": key, "count": items.len(), "alerts": items,
        })
    });
    match body {
        Ok(body) => post_signed(client, sink, url.expose(), key, body, now).await,
        Err(e) => Delivery::transient(e),
    }
}

/// POSTs a JSON body to a webhook with its `Idempotency-Key`, signed when
/// the sink has secrets: Standard Webhooks (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`, one `v1,` signature per
/// secret) and the version-1 `X-Newswatch-*` headers (first secret).
async fn post_signed(
    client: &reqwest::Client,
    sink: &SinkConfig,
    url: &str,
    key: &str,
    body: Vec<u8>,
    now: i64,
) -> Delivery {
    let mut req = client
        .post(url)
        .timeout(sink.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key);
    if let Some(first) = sink.secrets.first() {
        let signatures: Vec<String> = sink
            .secrets
            .iter()
            .map(|s| standard_signature(&signing_key(s.expose()), key, now, &body))
            .collect();
        req = req
            .header("webhook-id", key)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signatures.join(" "))
            .header("X-Newswatch-Timestamp", now.to_string())
            .header(
                "X-Newswatch-Signature",
                signature(first.expose().as_bytes(), now, &body),
            );
    }
    classify(req.body(body).send().await).await
}

/// The key bytes of a secret: a `whsec_<base64>` secret is decoded as
/// Standard Webhooks says; any other is used as its bytes.
pub(crate) fn signing_key(secret: &str) -> Vec<u8> {
    use base64::Engine as _;
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64>` of HMAC-SHA256 over `id + "." + timestamp + "." + body`
/// (Standard Webhooks 1.0).
pub(crate) fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// `sha256=<hex>` of HMAC-SHA256 over `timestamp + "." + body`.
pub(crate) fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this branch cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut s = String::from("sha256=");
    for b in tag.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Checks a signature as a receiver would (constant-time comparison).
pub(crate) fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    let expected = signature(secret, ts, body);
    expected.len() == header.len()
        && expected
            .bytes()
            .zip(header.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Sends one alert to a webhook-style sink.
pub(crate) async fn deliver_webhook(
    client: &reqwest::Client,
    sink: &SinkConfig,
    alert: &PendingAlert,
    watches: &[&WatchMatch],
    now: i64,
) -> Delivery {
    let Some(url) = &sink.url else {
        return Delivery::transient("the sink has no url");
    };
    match fit_body(sink.max_body, |limit, seen| {
        webhook_body(alert, watches, limit, seen)
    }) {
        Ok(body) => post_signed(client, sink, url.expose(), &alert.id, body, now).await,
        Err(e) => Delivery::transient(e),
    }
}

/// The outcome of a delivery request, classified by [`fail_kind`]. A
/// rejection carries the first 200 bytes of the receiver's answer.
pub(crate) async fn classify(r: Result<reqwest::Response, reqwest::Error>) -> Delivery {
    match r {
        Ok(resp) if resp.status().is_success() => Delivery::Delivered,
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| retry_after(&String::from_utf8_lossy(v.as_bytes())));
            let kind = fail_kind(status);
            let error = match kind {
                FailKind::Rejected => {
                    // What the receiver said about the alert, bounded.
                    let mut said = Vec::new();
                    while said.len() < 200 {
                        match resp.chunk().await {
                            Ok(Some(c)) => said.extend_from_slice(&c),
                            _ => break,
                        }
                    }
                    said.truncate(200);
                    let text = String::from_utf8_lossy(&said);
                    let text = one_line(text.trim_end_matches('\u{fffd}').trim());
                    if text.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        format!("HTTP {status}: {text}")
                    }
                }
                FailKind::Sink if (300..400).contains(&status) => {
                    format!("HTTP {status} (redirects are not followed)")
                }
                _ => format!("HTTP {status}"),
            };
            Delivery::Failed { error, kind, after }
        }
        // Never echo the URL: it may be a secret.
        Err(e) if e.is_timeout() => Delivery::transient("timed out"),
        Err(e) if e.is_connect() => Delivery::transient("cannot connect"),
        Err(e) => Delivery::transient(format!("request failed: {}", e.without_url())),
    }
}

/// A receiver's `Retry-After`: seconds (a number too large for any clock
/// is the longest wait, which `retry_after_max` then bounds) or an HTTP
/// date. A negative or malformed one is ignored, and said.
pub(crate) fn retry_after(v: &str) -> Option<std::time::Duration> {
    let t = v.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return Some(std::time::Duration::from_secs(
            t.parse().unwrap_or(u64::MAX),
        ));
    }
    let d = crate::fetch::parse_retry_after(t);
    if d.is_none() {
        tracing::warn!(retry_after = %one_line(t), "the receiver's Retry-After is neither seconds nor a date; ignored (the sink's schedule applies)");
    }
    d
}

/// The delay after failed attempt number `attempts + 1`: step `attempts`
/// of the sink's `schedule` (the last step repeats), with ±10% jitter; a
/// receiver's `Retry-After` wins when it asks for longer, up to
/// `retry_after_max`.
pub(crate) fn backoff(
    attempts: u32,
    schedule: &[std::time::Duration],
    retry_after: Option<std::time::Duration>,
    retry_after_max: std::time::Duration,
) -> std::time::Duration {
    let step = usize::try_from(attempts)
        .ok()
        .and_then(|i| schedule.get(i).or(schedule.last()))
        .copied()
        .unwrap_or(std::time::Duration::from_secs(1));
    let jitter = 0.9 + fastrand::f64() * 0.2;
    let d = step.mul_f64(jitter);
    match retry_after {
        Some(ra) if ra > d => ra.min(retry_after_max).max(d),
        _ => d,
    }
}

/// Milliseconds after `now_ms` that `d` ends, saturating instead of
/// overflowing (a receiver may name any wait at all).
pub(crate) fn after_ms(now_ms: i64, d: std::time::Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_after_is_bounded_and_times_never_overflow() {
        let schedule = crate::config::DEFAULT_RETRY;
        let cap = Duration::from_secs(3600);
        // Each step of the schedule, ±10%; past its end, its last step.
        for (attempts, step) in [(0, 1), (1, 5), (2, 30), (10, 8 * 3600), (50, 8 * 3600)] {
            let d = backoff(attempts, &schedule, None, cap);
            let step = Duration::from_secs(step);
            assert!(
                d >= step.mul_f64(0.9) && d <= step.mul_f64(1.1),
                "{attempts}: {d:?}"
            );
        }
        // A receiver's wait is honoured up to the cap, never beyond it.
        let asked = Duration::from_secs(120);
        assert_eq!(backoff(0, &schedule, Some(asked), cap), asked);
        for huge in [
            Duration::from_secs(315_360_000),
            Duration::from_secs(u64::MAX),
        ] {
            assert_eq!(backoff(0, &schedule, Some(huge), cap), cap);
        }
        assert_eq!(after_ms(1_000, Duration::from_secs(u64::MAX)), i64::MAX);
        // Seconds beyond any clock are the longest wait; nonsense is none.
        assert_eq!(retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("99999999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        for junk in ["-5", "soon", "", "1.5", "12 s"] {
            assert_eq!(retry_after(junk), None, "{junk:?}");
        }
        assert_eq!(after_ms(i64::MAX - 1, Duration::from_secs(5)), i64::MAX);
        assert_eq!(after_ms(1_000, Duration::from_millis(500)), 1_500);
    }
}
