//! The validated, immutable configuration: [`Config`] and the section types
//! it is made of ([`StorageConfig`], [`HttpConfig`], [`PollConfig`],
//! [`FeedConfig`], [`SinkConfig`]). These are what the rest of the crate
//! reads; how they are built from the files is the rest of `config`.

use super::secrets::Secret;
use crate::model::Severity;
use crate::rules::RuleSet;
use std::path::PathBuf;
use std::time::Duration;

/// `[storage]`, validated.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The database file, resolved.
    pub path: PathBuf,
    /// Unmatched articles older than this are pruned (keys kept).
    pub retention: Duration,
}

/// `[http]`, validated.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Total time for one request.
    pub timeout: Duration,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Body cap in bytes (decompressed).
    pub max_body: u64,
    /// Feeds in flight.
    pub concurrency: usize,
    /// Requests in flight per host.
    pub per_host: usize,
    /// Least time between two request starts to one host.
    pub host_spacing: Duration,
}

/// `[poll]`, validated.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// Default interval.
    pub interval: Duration,
    /// Lower bound for any feed's interval.
    pub min_interval: Duration,
    /// Upper bound for any feed's interval.
    pub max_interval: Duration,
    /// First-poll alert window.
    pub backfill: Duration,
}

/// `[full_text]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextConfig {
    /// Fetch article pages at all.
    pub enabled: bool,
    /// Feed text under this many words is short.
    pub min_words: usize,
    /// The longest an item waits for its page.
    pub timeout: Duration,
    /// Article fetches started per minute, at most.
    pub per_minute: usize,
    /// Body cap for one page, in bytes (decompressed).
    pub max_body: u64,
    /// Article links may reach private addresses.
    pub allow_private: bool,
}

impl Default for FullTextConfig {
    fn default() -> FullTextConfig {
        FullTextConfig {
            enabled: true,
            min_words: 80,
            timeout: Duration::from_secs(10),
            per_minute: 60,
            max_body: 2 << 20,
            allow_private: false,
        }
    }
}

/// One feed, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// The URL, normalized (its identity).
    pub url: String,
    /// Display name.
    pub name: String,
    /// Poll interval (already bounded by `poll`).
    pub interval: Duration,
    /// Labels for routing.
    pub tags: Vec<String>,
    /// False: configured but not polled.
    pub enabled: bool,
    /// `Some(true)`: every short item's page is fetched; `Some(false)`:
    /// none; `None`: those the rules' terms touch.
    pub full_text: Option<bool>,
}

impl FeedConfig {
    /// What identifies the feed's entry in the config: a reload that changes
    /// it restarts a stopped feed.
    pub fn fingerprint(&self) -> String {
        let entry = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.url,
            self.name,
            self.interval.as_secs(),
            self.tags.join(","),
            self.enabled
        );
        crate::text::hex_digest(&[entry.as_bytes()])[..16].to_string()
    }
}

/// The kinds of sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// Generic JSON webhook (body version 1).
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// Discord webhook.
    Discord,
    /// Microsoft Teams workflow webhook.
    Teams,
    /// Telegram Bot API.
    Telegram,
    /// ntfy topic.
    Ntfy,
    /// Email over SMTP.
    Email,
    /// Write each alert to standard output.
    Log,
}

impl SinkKind {
    /// The kind named `s` in the config.
    pub(crate) fn parse(s: &str) -> Option<SinkKind> {
        Some(match s {
            "webhook" => SinkKind::Webhook,
            "slack" => SinkKind::Slack,
            "discord" => SinkKind::Discord,
            "teams" => SinkKind::Teams,
            "telegram" => SinkKind::Telegram,
            "ntfy" => SinkKind::Ntfy,
            "email" => SinkKind::Email,
            "log" => SinkKind::Log,
            _ => return None,
        })
    }

    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Slack => "slack",
            SinkKind::Discord => "discord",
            SinkKind::Teams => "teams",
            SinkKind::Telegram => "telegram",
            SinkKind::Ntfy => "ntfy",
            SinkKind::Email => "email",
            SinkKind::Log => "log",
        }
    }
}

/// One sink, validated.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Unique name.
    pub name: String,
    /// Kind.
    pub kind: SinkKind,
    /// Endpoint (absent for `log`).
    pub url: Option<Secret>,
    /// Signing secrets, newest first (several while keys rotate; the
    /// version-1 signature uses the first).
    pub secrets: Vec<Secret>,
    /// Telegram bot token.
    pub token: Option<Secret>,
    /// Telegram chat id.
    pub chat_id: Option<String>,
    /// Watches routed here; `None` means all.
    pub watches: Option<Vec<String>>,
    /// Feed tags routed here; `None` means all feeds.
    pub tags: Option<Vec<String>>,
    /// Lowest severity sent.
    pub min_severity: Severity,
    /// The wait before each retry, in order; an alert that fails its last
    /// attempt (`retry.len() + 1` in all) is dead.
    pub retry: Vec<Duration>,
    /// Longest wait a receiver's `Retry-After` may impose (longer ones
    /// are clamped to it).
    pub retry_after_max: Duration,
    /// Time for one delivery request.
    pub timeout: Duration,
    /// Messages per minute before grouping into a digest (`None`: no limit).
    pub max_per_minute: Option<u32>,
    /// Digest window (`None`: one message per alert).
    pub digest: Option<Duration>,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Where and as whom an `email` sink sends.
    pub email: Option<EmailConfig>,
    /// False: one alert per meeting (its event id), not per report.
    pub follow_ups: bool,
}

/// How an `email` sink reaches its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Implicit,
    /// `smtp://`: STARTTLS, required (port 587 by default).
    StartTls,
    /// `smtp://…?tls=none`: no TLS, for a relay on loopback only.
    None,
}

/// An `email` sink's server, envelope and credentials.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The `From` mailbox (`Name <addr>` or `addr`).
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// SMTP user name, when the server wants one.
    pub username: Option<String>,
    /// SMTP password (from `password` or `password_file`).
    pub password: Option<Secret>,
}

/// The retry schedule a sink gets by default: the first retries within
/// seconds, the last about a day after the first attempt.
pub const DEFAULT_RETRY: [Duration; 11] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(7200),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
    Duration::from_secs(8 * 3600),
];

impl SinkConfig {
    /// Attempts an alert gets before it is dead.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.retry.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// What identifies the sink's destination and credentials: a reload
    /// that changes it re-enables a sink its receiver disabled (`410`).
    pub fn fingerprint(&self) -> String {
        let mut parts: Vec<&[u8]> = vec![self.kind.as_str().as_bytes()];
        for s in [&self.url, &self.token].into_iter().flatten() {
            parts.push(b"\n");
            parts.push(s.expose().as_bytes());
        }
        for s in &self.secrets {
            parts.push(b"\n");
            parts.push(s.expose().as_bytes());
        }
        let email = self.email.as_ref().map(|e| {
            format!(
                "{}:{}:{:?}:{}:{}:{}:{}",
                e.host,
                e.port,
                e.tls,
                e.from,
                e.to.join(","),
                e.username.as_deref().unwrap_or(""),
                e.password.as_ref().map_or("", |p| p.expose())
            )
        });
        if let Some(e) = &email {
            parts.push(b"\n");
            parts.push(e.as_bytes());
        }
        crate::text::hex_digest(&parts)[..16].to_string()
    }

    /// Whether an alert for `watch` at `severity` from a feed with `tags`
    /// goes to this sink.
    pub fn routes(&self, watch: &str, severity: Severity, feed_tags: &[String]) -> bool {
        if severity < self.min_severity {
            return false;
        }
        if let Some(ws) = &self.watches
            && !ws.iter().any(|w| w == watch)
        {
            return false;
        }
        if let Some(ts) = &self.tags
            && !ts.iter().any(|t| feed_tags.contains(t))
        {
            return false;
        }
        true
    }
}

/// The whole validated configuration. Immutable: a reload builds a new one.
#[derive(Debug)]
pub struct Config {
    /// The main config file.
    pub path: PathBuf,
    /// Storage settings.
    pub storage: StorageConfig,
    /// HTTP settings.
    pub http: HttpConfig,
    /// Polling settings.
    pub poll: PollConfig,
    /// Article pages of short items.
    pub full_text: FullTextConfig,
    /// Feeds, from the main file and its includes.
    pub feeds: Vec<FeedConfig>,
    /// Sinks.
    pub sinks: Vec<SinkConfig>,
    /// The compiled rule packs.
    pub rules: RuleSet,
    /// The rule pack files that were read.
    pub rule_files: Vec<PathBuf>,
    /// The feed list files that were included.
    pub include_files: Vec<PathBuf>,
    /// Things that are allowed but probably not meant.
    pub warnings: Vec<String>,
}
