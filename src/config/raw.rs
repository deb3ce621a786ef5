//! The TOML schema as written by users: serde structs with
//! `deny_unknown_fields`, spans kept on every value that is checked later,
//! and the parsers for durations and sizes.
//!
//! Every field's `///` comment is the user reference for that key; the
//! shipped `config/newswatch.toml` repeats it in prose.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

/// `[storage]`: where and how long things are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    /// SQLite file; relative paths resolve against `$STATE_DIRECTORY`, else the
    /// working directory.
    pub path: Option<Spanned<String>>,
    /// How long unmatched articles are kept (their keys are kept for ever).
    pub retention: Option<Spanned<String>>,
}

/// `[http]`: how feeds are fetched.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// The `User-Agent` header; say who you are and how to reach you.
    pub user_agent: Option<Spanned<String>>,
    /// Total time allowed for one request, body included.
    pub timeout: Option<Spanned<String>>,
    /// Time allowed to establish a connection.
    pub connect_timeout: Option<Spanned<String>>,
    /// Largest body read (after decompression); the rest is refused.
    pub max_body: Option<Spanned<SizeValue>>,
    /// Feeds fetched at the same time.
    pub concurrency: Option<Spanned<i64>>,
    /// Requests in flight per host.
    pub per_host: Option<Spanned<i64>>,
    /// Least time between two request starts to one host.
    pub host_spacing: Option<Spanned<String>>,
}

/// A size written as `"10MiB"` or as a number of bytes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    /// Bytes.
    Bytes(i64),
    /// With a unit.
    Text(String),
}

/// `[poll]`: when feeds are fetched.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoll {
    /// Default interval between polls of a feed.
    pub interval: Option<Spanned<String>>,
    /// Shortest interval the schedule may use.
    pub min_interval: Option<Spanned<String>>,
    /// Longest interval the schedule may use.
    pub max_interval: Option<Spanned<String>>,
    /// A feed's first poll alerts only on items published this recently.
    pub backfill: Option<Spanned<String>>,
}

/// One `[[feed]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    /// The feed's URL: its identity.
    pub url: Spanned<String>,
    /// A display name (default: the host).
    pub name: Option<String>,
    /// Poll interval for this feed (default: `poll.interval`).
    pub interval: Option<Spanned<String>>,
    /// Free labels, used for routing alerts to sinks.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Set to false to keep the feed configured but not polled.
    pub enabled: Option<bool>,
    /// `true`: fetch the article page of every short item of this feed
    /// (not only those the rules' terms touch); `false`: never for this
    /// feed. Default: `[full_text]` decides.
    pub full_text: Option<bool>,
}

/// `[full_text]`: the article page of short items the rules touch.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFullText {
    /// Fetch article pages at all (default true).
    pub enabled: Option<bool>,
    /// An item is short when its feed text has fewer words than this.
    pub min_words: Option<Spanned<i64>>,
    /// The longest an item waits for its page (then goes on with its feed text).
    pub timeout: Option<Spanned<String>>,
    /// Article fetches started per minute, at most.
    pub per_minute: Option<Spanned<i64>>,
    /// Largest article page read (after decompression).
    pub max_body: Option<Spanned<SizeValue>>,
    /// Let article links (and feed redirects) reach loopback, private,
    /// link-local, CGNAT and NAT64 addresses.
    pub allow_private: Option<bool>,
}

/// One `[[sink]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    /// Unique name, used in `alerts` and logs.
    pub name: Spanned<String>,
    /// `webhook`, `slack`, `discord`, `teams`, `telegram`, `ntfy`, `email` or `log`.
    pub kind: Spanned<String>,
    /// Endpoint URL (secret: inline, `${ENV}` or via `url_file`).
    pub url: Option<Spanned<String>>,
    /// File holding the endpoint URL.
    pub url_file: Option<Spanned<String>>,
    /// Signing secret (inline or `${ENV}`); a list while keys rotate.
    pub secret: Option<Spanned<OneOrMany>>,
    /// File holding the signing secret; a list while keys rotate.
    pub secret_file: Option<Spanned<OneOrMany>>,
    /// Telegram bot token (inline or `${ENV}`).
    pub token: Option<Spanned<String>>,
    /// File holding the Telegram bot token.
    pub token_file: Option<Spanned<String>>,
    /// Telegram chat id.
    pub chat_id: Option<String>,
    /// Watches routed to this sink (default: every watch).
    pub watches: Option<Vec<Spanned<String>>>,
    /// Only feeds with one of these tags (default: every feed).
    pub tags: Option<Vec<String>>,
    /// Lowest severity sent.
    pub min_severity: Option<Spanned<String>>,
    /// The wait before each retry (`["1s", "5s", …]`); after the last, the
    /// alert is dead.
    pub retry: Option<Spanned<Vec<Spanned<String>>>>,
    /// Attempts before an alert is dead (shorthand, with `retry_base` and
    /// `retry_max`, for an exponential `retry`).
    pub max_attempts: Option<Spanned<i64>>,
    /// First retry delay; doubles each attempt.
    pub retry_base: Option<Spanned<String>>,
    /// Longest retry delay.
    pub retry_max: Option<Spanned<String>>,
    /// Longest wait a receiver's `Retry-After` may impose.
    pub retry_after_max: Option<Spanned<String>>,
    /// Time allowed for one delivery request.
    pub timeout: Option<Spanned<String>>,
    /// Messages per minute before alerts are grouped into a digest.
    pub max_per_minute: Option<Spanned<i64>>,
    /// Send one digest per window instead of one message per alert.
    pub digest: Option<Spanned<String>>,
    /// Largest request body (default 64 KiB); longer texts are cut at a word.
    pub max_body: Option<Spanned<SizeValue>>,
    /// `email`: the `From` mailbox.
    pub from: Option<Spanned<String>>,
    /// `email`: the recipients (one or a list).
    pub to: Option<Spanned<OneOrMany>>,
    /// `email`: SMTP user name.
    pub username: Option<Spanned<String>>,
    /// `email`: SMTP password (inline or `${ENV}`).
    pub password: Option<Spanned<String>>,
    /// `email`: file holding the SMTP password.
    pub password_file: Option<Spanned<String>>,
    /// `false`: one alert per meeting (event), not one per report of it.
    pub follow_ups: Option<bool>,
}

/// A value that may be given once or as a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values, in order.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values, in order.
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A rule pack file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPack {
    /// Named term lists, referenced in queries as `@name`.
    #[serde(default)]
    pub terms: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    /// Watches.
    #[serde(default)]
    pub watch: Vec<RawWatch>,
}

/// One `[[watch]]` of a rule pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatch {
    /// Unique name.
    pub name: Spanned<String>,
    /// `low`, `medium`, `high` or `critical` (default `medium`).
    pub severity: Option<Spanned<String>>,
    /// One line for humans.
    pub description: Option<String>,
    /// The query.
    pub query: Spanned<String>,
    /// Fires only when the matched terms score at least this (default 0).
    pub min_score: Option<f64>,
    /// Watches whose labelled items this one may also fire on without
    /// counting against it in `newswatch eval`.
    #[serde(default)]
    pub includes: Vec<Spanned<String>>,
}

/// Parses `"90s"`, `"10m"`, `"1h30m"`, `"2d"`, `"500ms"`, `"1w"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "bad duration {s:?}: expected a number, e.g. \"90s\", \"10m\", \"2d\""
            ));
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let ms: u128 = match unit {
            "ms" => 1,
            "s" | "sec" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "" => {
                return Err(format!(
                    "bad duration {s:?}: missing unit (ms, s, m, h, d or w), e.g. \"{n}s\""
                ));
            }
            other => {
                return Err(format!(
                    "bad duration {s:?}: unknown unit {other:?} (use ms, s, m, h, d or w)"
                ));
            }
        };
        total = total
            .checked_add(n.saturating_mul(ms))
            .ok_or_else(|| format!("bad duration {s:?}: too large"))?;
    }
    if total > u128::from(u64::MAX) {
        return Err(format!("bad duration {s:?}: too large"));
    }
    Ok(Duration::from_millis(total as u64))
}

/// Parses `"10MiB"`, `"512KiB"`, `"1GB"`, `"2048"` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits == 0 {
        return Err(format!("bad size {s:?}: expected a number, e.g. \"10MiB\""));
    }
    let n: u64 = t[..digits]
        .parse()
        .map_err(|_| format!("bad size {s:?}: number too large"))?;
    let mult: u64 = match t[digits..].trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "bad size {s:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, kB, MB or GB)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("bad size {s:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("77"), Ok(77));
        assert!(parse_size("10 parsecs").is_err());
    }
}
