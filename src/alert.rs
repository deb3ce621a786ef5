//! Alert rendering and delivery to sinks. Each sink kind has its own wire
//! format built from a [`PendingAlert`]; feed text is escaped for each
//! format. This module returns an outcome; it never writes to the
//! database (`daemon` records the outcome through `store`).

use crate::config::SinkConfig;
use crate::model::{Severity, WatchMatch};
use crate::store::PendingAlert;
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
    /// It did not arrive; try again (after `after`, when the sink said so).
    Retry {
        /// What went wrong.
        error: String,
        /// The sink's `Retry-After`, if any.
        after: Option<std::time::Duration>,
    },
}

/// The generic webhook body, version 1. Its own type: the wire format does
/// not follow internal refactors.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WebhookBody<'a> {
    /// Always 1.
    pub version: u32,
    /// The alert id (also sent as `Idempotency-Key`).
    pub id: &'a str,
    /// When the article was detected (RFC 3339).
    pub detected_at: String,
    /// The highest severity of `watches`.
    pub severity: &'static str,
    /// Every routed watch that fired.
    pub watches: Vec<WireWatch<'a>>,
    /// The article.
    pub article: WireArticle<'a>,
    /// An excerpt with hits marked «like this».
    pub snippet: &'a str,
    /// Other feeds that carried the same story.
    pub also_seen_in: Vec<WireSeen<'a>>,
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
    pub title: &'a str,
    /// Canonical link.
    pub url: Option<&'a str>,
    /// Publication time (RFC 3339), if known.
    pub published: Option<String>,
    /// Language tag, if known.
    pub lang: Option<&'a str>,
    /// Summary (plain text).
    pub summary: &'a str,
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

/// Builds the version-1 webhook body.
pub(crate) fn webhook_body<'a>(
    alert: &'a PendingAlert,
    watches: &[&'a WatchMatch],
) -> WebhookBody<'a> {
    let a = &alert.article;
    WebhookBody {
        version: 1,
        id: &alert.id,
        detected_at: rfc3339(alert.created_at),
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
            title: &a.title,
            url: a.url.as_deref(),
            published: a.published.map(rfc3339),
            lang: a.lang.as_deref(),
            summary: &a.summary,
            feed: WireFeed {
                name: &a.feed_name,
                url: &a.feed_url,
            },
        },
        snippet: watches.first().map_or("", |w| w.snippet.as_str()),
        also_seen_in: alert
            .also_seen_in
            .iter()
            .map(|(name, _, url)| WireSeen {
                feed: name,
                url: url.as_deref(),
            })
            .collect(),
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
        return Delivery::Retry {
            error: "the sink has no url".into(),
            after: None,
        };
    };
    let items: Vec<WebhookBody<'_>> = alerts
        .iter()
        .zip(watches)
        .map(|(a, w)| webhook_body(a, w))
        .collect();
    let body = match serde_json::to_vec(&serde_json::json!({
        "version": 1, "digest": true, "id": key, "count": items.len(), "alerts": items,
    })) {
        Ok(b) => b,
        Err(e) => {
            return Delivery::Retry {
                error: format!("cannot encode the body: {e}"),
                after: None,
            };
        }
    };
    post_signed(client, sink, url.expose(), key, body, now).await
}

/// POSTs a JSON body to a webhook with its `Idempotency-Key`, signed when
/// the sink has a secret.
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
    if let Some(secret) = &sink.secret {
        req = req.header("X-Newswatch-Timestamp", now.to_string()).header(
            "X-Newswatch-Signature",
            signature(secret.expose().as_bytes(), now, &body),
        );
    }
    classify(req.body(body).send().await)
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
        return Delivery::Retry {
            error: "the sink has no url".into(),
            after: None,
        };
    };
    let body = match serde_json::to_vec(&webhook_body(alert, watches)) {
        Ok(b) => b,
        Err(e) => {
            return Delivery::Retry {
                error: format!("cannot encode the body: {e}"),
                after: None,
            };
        }
    };
    post_signed(client, sink, url.expose(), &alert.id, body, now).await
}

/// The outcome of a delivery request: 2xx delivered, anything else retried
/// (with the sink's `Retry-After`).
pub(crate) fn classify(r: Result<reqwest::Response, reqwest::Error>) -> Delivery {
    match r {
        Ok(resp) if resp.status().is_success() => Delivery::Delivered,
        Ok(resp) => {
            let status = resp.status();
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::fetch::parse_retry_after);
            Delivery::Retry {
                error: format!("HTTP {}", status.as_u16()),
                after,
            }
        }
        // Never echo the URL: it may be a secret.
        Err(e) if e.is_timeout() => Delivery::Retry {
            error: "timed out".into(),
            after: None,
        },
        Err(e) if e.is_connect() => Delivery::Retry {
            error: "cannot connect".into(),
            after: None,
        },
        Err(e) => Delivery::Retry {
            error: format!("request failed: {}", e.without_url()),
            after: None,
        },
    }
}

/// The delay before attempt number `attempts + 1`: exponential from
/// `base`, capped at `max`, with ±20% jitter; a sink's `Retry-After` wins
/// when it asks for longer.
pub(crate) fn backoff(
    attempts: u32,
    base: std::time::Duration,
    max: std::time::Duration,
    retry_after: Option<std::time::Duration>,
    retry_after_max: std::time::Duration,
) -> std::time::Duration {
    let exp = base.saturating_mul(1u32 << attempts.min(20)).min(max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    let d = exp.mul_f64(jitter).min(max);
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
        let (base, max, cap) = (
            Duration::from_secs(10),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        );
        for attempts in [0, 5, 50] {
            let d = backoff(attempts, base, max, None, cap);
            assert!(d >= Duration::from_secs(8) && d <= max, "{attempts}: {d:?}");
        }
        // A receiver's wait is honoured up to the cap, never beyond it.
        let asked = Duration::from_secs(120);
        assert_eq!(backoff(0, base, max, Some(asked), cap), asked);
        for huge in [
            Duration::from_secs(315_360_000),
            Duration::from_secs(u64::MAX),
        ] {
            assert_eq!(backoff(0, base, max, Some(huge), cap), cap);
        }
        assert_eq!(after_ms(1_000, Duration::from_secs(u64::MAX)), i64::MAX);
        assert_eq!(after_ms(i64::MAX - 1, Duration::from_secs(5)), i64::MAX);
        assert_eq!(after_ms(1_000, Duration::from_millis(500)), 1_500);
    }
}
