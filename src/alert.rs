//! Alert rendering and delivery to sinks. Each sink kind has its own wire
//! format built from a [`PendingAlert`]; feed text is escaped for each
//! format. This module returns an outcome; it never writes to the
//! database (`daemon` records the outcome through `store`).

use crate::config::SinkConfig;
use crate::model::{Severity, WatchMatch};
use crate::store::PendingAlert;
use std::fmt::Write as _;

/// The watches of `alert` that `sink` routes, best first.
pub fn routed<'a>(
    alert: &'a PendingAlert,
    sink: &SinkConfig,
    feed_tags: &[String],
) -> Vec<&'a WatchMatch> {
    alert
        .matches
        .iter()
        .filter(|m| sink.routes(&m.watch, m.severity, feed_tags))
        .collect()
}

/// The highest severity among `watches`.
pub fn top_severity(watches: &[&WatchMatch]) -> Severity {
    watches
        .iter()
        .map(|w| w.severity)
        .max()
        .unwrap_or(Severity::Low)
}

/// Formats a Unix time as RFC 3339 (UTC).
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The `log` sink's rendering: a few human-readable lines.
pub fn render_log(alert: &PendingAlert, watches: &[&WatchMatch]) -> String {
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
