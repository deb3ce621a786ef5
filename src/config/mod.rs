//! Configuration: reading the TOML files (main config, rule packs, feed
//! lists) into [`raw`] structs and turning them into one validated,
//! immutable [`Config`].
//!
//! Every problem is collected, not just the first, and each names its file,
//! line and column (with the offending line and a caret). Nothing here
//! touches the network or the database; the only I/O is reading the files
//! the config names and the environment for `${VAR}` secrets.

mod diag;
mod include;
pub mod raw;
mod secrets;

pub use diag::{ConfigError, ConfigIssue};
pub use secrets::Secret;

use crate::model::Severity;
use crate::rules::{self, RuleSet, SourcePos, TermListDef, WatchDef};
use diag::Diagnostics;
use raw::{RawFeed, RawHttp, RawPoll, RawSink, RawStorage, SizeValue};
use std::collections::{BTreeSet, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Where the config is looked for when neither `--config` nor
/// `$NEWSWATCH_CONFIG` says.
pub const DEFAULT_PATH: &str = "/etc/newswatch/newswatch.toml";

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
    /// Write each alert to standard output.
    Log,
}

impl SinkKind {
    fn parse(s: &str) -> Option<SinkKind> {
        Some(match s {
            "webhook" => SinkKind::Webhook,
            "slack" => SinkKind::Slack,
            "discord" => SinkKind::Discord,
            "teams" => SinkKind::Teams,
            "telegram" => SinkKind::Telegram,
            "ntfy" => SinkKind::Ntfy,
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
    /// HMAC signing secret.
    pub secret: Option<Secret>,
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
    /// Attempts before an alert is dead.
    pub max_attempts: u32,
    /// First retry delay.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Time for one delivery request.
    pub timeout: Duration,
    /// Messages per minute before grouping into a digest (`None`: no limit).
    pub max_per_minute: Option<u32>,
    /// Digest window (`None`: one message per alert).
    pub digest: Option<Duration>,
}

impl SinkConfig {
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

impl Diagnostics {
    fn duration(
        &mut self,
        file: usize,
        v: &Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(s) => match raw::parse_duration(s.get_ref()) {
                Ok(d) => d,
                Err(m) => {
                    self.issue(file, s.span(), m);
                    default
                }
            },
        }
    }

    fn positive(
        &mut self,
        file: usize,
        v: &Option<Spanned<i64>>,
        default: usize,
        max: usize,
        what: &str,
    ) -> usize {
        match v {
            None => default,
            Some(n) => {
                let x = *n.get_ref();
                if x < 1 || x as u64 > max as u64 {
                    self.issue(
                        file,
                        n.span(),
                        format!("{what} must be between 1 and {max}, not {x}"),
                    );
                    default
                } else {
                    x as usize
                }
            }
        }
    }
}

/// Normalizes a feed URL: parsed, http(s) only, fragment dropped.
pub fn normalize_feed_url(s: &str) -> Result<String, String> {
    let mut u = url::Url::parse(s.trim()).map_err(|e| format!("bad URL {s:?}: {e}"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!(
            "bad URL {s:?}: only http and https feeds are supported"
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("bad URL {s:?}: no host"));
    }
    u.set_fragment(None);
    Ok(u.to_string())
}

/// Reads and validates the configuration at `path`, with every rule pack and
/// feed list it includes.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let mut ld = Diagnostics::new();
    let base = include::base_dir(path);
    let Some(main) = ld.read(path) else {
        return Err(ld.into_error());
    };
    let main_text = ld.text(main).to_string();
    let Some(top) = ld.parse(main, &main_text) else {
        return Err(ld.into_error());
    };

    let mut rules_pats: Vec<Spanned<String>> = Vec::new();
    let mut include_pats: Vec<Spanned<String>> = Vec::new();
    let mut storage = RawStorage::default();
    let mut http = RawHttp::default();
    let mut poll = RawPoll::default();
    let mut raw_feeds: Vec<(usize, RawFeed)> = Vec::new();
    let mut raw_sinks: Vec<RawSink> = Vec::new();

    for (k, v) in top {
        let key_span = k.span();
        match k.get_ref().as_ref() {
            "rules" => rules_pats = ld.de(main, v).unwrap_or_default(),
            "include" => include_pats = ld.de(main, v).unwrap_or_default(),
            "storage" => storage = ld.de(main, v).unwrap_or_default(),
            "http" => http = ld.de(main, v).unwrap_or_default(),
            "poll" => poll = ld.de(main, v).unwrap_or_default(),
            "feed" => include::collect_array(&mut ld, main, v, |ld, item| {
                if let Some(f) = ld.de::<RawFeed>(main, item) {
                    raw_feeds.push((main, f));
                }
            }),
            "sink" => include::collect_array(&mut ld, main, v, |ld, item| {
                if let Some(s) = ld.de::<RawSink>(main, item) {
                    raw_sinks.push(s);
                }
            }),
            other => ld.issue(
                main,
                key_span,
                format!(
                    "unknown key `{other}`; expected one of rules, include, storage, http, poll, feed, sink"
                ),
            ),
        }
    }

    // Included feed lists.
    let include_files = include::expand(&mut ld, main, &base, &include_pats, "include");
    include::read_feed_lists(&mut ld, &include_files, &mut raw_feeds);

    // [storage]
    let storage_path = match &storage.path {
        Some(p) if p.get_ref().trim().is_empty() => {
            ld.issue(main, p.span(), "`storage.path` is empty");
            PathBuf::from("newswatch.db")
        }
        Some(p) => PathBuf::from(p.get_ref()),
        None => PathBuf::from("newswatch.db"),
    };
    let storage_path = if storage_path.is_absolute() {
        storage_path
    } else if let Some(dir) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several colon-separated directories; the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        PathBuf::from(first).join(storage_path)
    } else {
        storage_path
    };
    let retention = ld.duration(main, &storage.retention, Duration::from_secs(90 * 86_400));

    // [http]
    let user_agent = match &http.user_agent {
        Some(u) if u.get_ref().trim().is_empty() || u.get_ref().contains(['\r', '\n']) => {
            ld.issue(
                main,
                u.span(),
                "`http.user_agent` must be one non-empty line",
            );
            default_user_agent()
        }
        Some(u) => u.get_ref().clone(),
        None => default_user_agent(),
    };
    let timeout = ld.duration(main, &http.timeout, Duration::from_secs(30));
    let connect_timeout = ld.duration(main, &http.connect_timeout, Duration::from_secs(10));
    for (d, v, name) in [
        (timeout, &http.timeout, "http.timeout"),
        (
            connect_timeout,
            &http.connect_timeout,
            "http.connect_timeout",
        ),
    ] {
        if let Some(v) = v
            && d.is_zero()
        {
            ld.issue(main, v.span(), format!("`{name}` must be more than 0"));
        }
    }
    let max_body = match &http.max_body {
        None => 10 << 20,
        Some(v) => {
            let r = match v.get_ref() {
                SizeValue::Bytes(n) if *n > 0 => Ok(*n as u64),
                SizeValue::Bytes(n) => Err(format!("`http.max_body` must be positive, not {n}")),
                SizeValue::Text(s) => raw::parse_size(s),
            };
            match r {
                Ok(0) => {
                    ld.issue(main, v.span(), "`http.max_body` must be more than 0");
                    10 << 20
                }
                Ok(n) => n,
                Err(m) => {
                    ld.issue(main, v.span(), m);
                    10 << 20
                }
            }
        }
    };
    let concurrency = ld.positive(main, &http.concurrency, 32, 4096, "`http.concurrency`");
    let per_host = ld.positive(main, &http.per_host, 2, 256, "`http.per_host`");
    let host_spacing = ld.duration(main, &http.host_spacing, Duration::from_millis(250));

    // [poll]
    let interval = ld.duration(main, &poll.interval, Duration::from_secs(600));
    let min_interval = ld.duration(main, &poll.min_interval, Duration::from_secs(120));
    let max_interval = ld.duration(main, &poll.max_interval, Duration::from_secs(6 * 3600));
    let backfill = ld.duration(main, &poll.backfill, Duration::from_secs(2 * 86_400));
    if min_interval > max_interval {
        let span = poll.min_interval.as_ref().map_or(0..0, Spanned::span);
        ld.issue(
            main,
            span,
            "`poll.min_interval` is longer than `poll.max_interval`",
        );
    }
    if min_interval.is_zero() {
        let span = poll.min_interval.as_ref().map_or(0..0, Spanned::span);
        ld.issue(main, span, "`poll.min_interval` must be more than 0");
    }
    let poll_cfg = PollConfig {
        interval: interval.clamp(
            min_interval.min(max_interval),
            max_interval.max(min_interval),
        ),
        min_interval,
        max_interval,
        backfill,
    };

    // [[feed]]
    let mut feeds = Vec::new();
    let mut seen_urls = HashSet::new();
    for (fi, f) in raw_feeds {
        let url = match normalize_feed_url(f.url.get_ref()) {
            Ok(u) => u,
            Err(m) => {
                ld.issue(fi, f.url.span(), m);
                continue;
            }
        };
        if !seen_urls.insert(url.clone()) {
            ld.issue(fi, f.url.span(), format!("feed {url} is listed twice"));
            continue;
        }
        let iv = ld.duration(fi, &f.interval, poll_cfg.interval);
        if let Some(v) = &f.interval
            && (iv < poll_cfg.min_interval || iv > poll_cfg.max_interval)
        {
            ld.warn(format!(
                "{}: feed {url}: interval {} is outside poll.min_interval..poll.max_interval and is clamped",
                ld.path(fi).display(),
                v.get_ref()
            ));
        }
        let name = f
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| url.clone())
            });
        feeds.push(FeedConfig {
            url,
            name,
            interval: iv.clamp(
                poll_cfg.min_interval.min(poll_cfg.max_interval),
                poll_cfg.max_interval.max(poll_cfg.min_interval),
            ),
            tags: f.tags.clone(),
            enabled: f.enabled.unwrap_or(true),
        });
    }

    // Rule packs.
    let rule_files = include::expand(&mut ld, main, &base, &rules_pats, "rules");
    let mut lists = Vec::new();
    let mut watch_defs = Vec::new();
    for rf in &rule_files {
        let Some((fi, pack)) = include::read_rule_pack(&mut ld, rf) else {
            continue;
        };
        for (name, entries) in pack.terms {
            let span = entries.span();
            lists.push(TermListDef {
                name,
                pos: SourcePos {
                    file: fi,
                    offset: span.start,
                },
                entries: entries
                    .into_inner()
                    .into_iter()
                    .map(|e| {
                        let off = string_content_offset(ld.text(fi), e.span());
                        (
                            e.into_inner(),
                            SourcePos {
                                file: fi,
                                offset: off,
                            },
                        )
                    })
                    .collect(),
            });
        }
        for w in pack.watch {
            let severity = match &w.severity {
                None => Severity::Medium,
                Some(s) => match Severity::parse(s.get_ref()) {
                    Some(v) => v,
                    None => {
                        ld.issue(
                            fi,
                            s.span(),
                            format!(
                                "unknown severity {:?}; expected low, medium, high or critical",
                                s.get_ref()
                            ),
                        );
                        Severity::Medium
                    }
                },
            };
            let qoff = string_content_offset(ld.text(fi), w.query.span());
            watch_defs.push(WatchDef {
                name: w.name.get_ref().clone(),
                name_pos: SourcePos {
                    file: fi,
                    offset: w.name.span().start,
                },
                severity,
                description: w.description.clone(),
                query: w.query.into_inner(),
                query_pos: SourcePos {
                    file: fi,
                    offset: qoff,
                },
                min_score: w.min_score.unwrap_or(0.0),
                includes: w
                    .includes
                    .iter()
                    .map(|i| {
                        (
                            i.get_ref().clone(),
                            SourcePos {
                                file: fi,
                                offset: i.span().start,
                            },
                        )
                    })
                    .collect(),
            });
        }
    }
    if rule_files.is_empty() && !ld.has_issues() {
        ld.warn(
            "no rule pack is loaded: no watch can fire (set `rules = [\"rules/*.toml\"]`)".into(),
        );
    }
    let ruleset = match rules::compile(lists, watch_defs) {
        Ok(rs) => rs,
        Err(errs) => {
            for e in errs {
                ld.issue(e.pos.file, e.pos.offset..e.pos.offset + e.len, e.message);
            }
            RuleSet::empty()
        }
    };

    // [[sink]]
    let watch_names: BTreeSet<String> = ruleset.watch_names().map(str::to_string).collect();
    let mut sinks = Vec::new();
    let mut sink_names = HashSet::new();
    for s in raw_sinks {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            ld.issue(main, s.name.span(), "sink `name` is empty");
        } else if !sink_names.insert(name.clone()) {
            ld.issue(
                main,
                s.name.span(),
                format!("sink name {name:?} is used twice"),
            );
        }
        let Some(kind) = SinkKind::parse(s.kind.get_ref()) else {
            ld.issue(main, s.kind.span(), format!("unknown sink kind {:?}; expected webhook, slack, discord, teams, telegram, ntfy or log", s.kind.get_ref()));
            continue;
        };
        let url = secrets::resolve(&mut ld, main, &base, &s.url, &s.url_file, "url");
        let secret = secrets::resolve(&mut ld, main, &base, &s.secret, &s.secret_file, "secret");
        let token = secrets::resolve(&mut ld, main, &base, &s.token, &s.token_file, "token");
        let needs_url = !matches!(kind, SinkKind::Log | SinkKind::Telegram);
        if needs_url && url.is_none() && s.url.is_none() && s.url_file.is_none() {
            ld.issue(
                main,
                s.kind.span(),
                format!("a `{}` sink needs `url` or `url_file`", kind.as_str()),
            );
        }
        if let Some(u) = &url {
            match url::Url::parse(u.expose()) {
                Ok(p) if p.scheme() == "http" || p.scheme() == "https" => {}
                _ => {
                    let span = s
                        .url
                        .as_ref()
                        .or(s.url_file.as_ref())
                        .map_or(0..0, Spanned::span);
                    ld.issue(
                        main,
                        span,
                        format!("sink {name:?}: `url` is not an http(s) URL"),
                    );
                }
            }
        }
        if kind == SinkKind::Telegram && (token.is_none() || s.chat_id.is_none()) {
            ld.issue(
                main,
                s.kind.span(),
                "a `telegram` sink needs `token` (or `token_file`) and `chat_id`",
            );
        }
        let watches = s.watches.as_ref().map(|ws| {
            ws.iter()
                .map(|w| {
                    if !watch_names.contains(w.get_ref()) && !ld.has_issues() {
                        ld.issue(
                            main,
                            w.span(),
                            format!("sink {name:?} routes unknown watch {:?}", w.get_ref()),
                        );
                    }
                    w.get_ref().clone()
                })
                .collect::<Vec<_>>()
        });
        let min_severity = match &s.min_severity {
            None => Severity::Low,
            Some(v) => Severity::parse(v.get_ref()).unwrap_or_else(|| {
                ld.issue(
                    main,
                    v.span(),
                    format!(
                        "unknown severity {:?}; expected low, medium, high or critical",
                        v.get_ref()
                    ),
                );
                Severity::Low
            }),
        };
        let max_attempts = ld.positive(main, &s.max_attempts, 12, 1000, "`max_attempts`") as u32;
        let retry_base = ld.duration(main, &s.retry_base, Duration::from_secs(10));
        let retry_max = ld.duration(main, &s.retry_max, Duration::from_secs(3600));
        let dtimeout = ld.duration(main, &s.timeout, Duration::from_secs(15));
        let max_per_minute = s
            .max_per_minute
            .as_ref()
            .map(|_| ld.positive(main, &s.max_per_minute, 60, 100_000, "`max_per_minute`") as u32);
        let digest = s
            .digest
            .as_ref()
            .map(|_| ld.duration(main, &s.digest, Duration::from_secs(900)));
        sinks.push(SinkConfig {
            name,
            kind,
            url,
            secret,
            token,
            chat_id: s.chat_id.clone(),
            watches,
            tags: s.tags.clone(),
            min_severity,
            max_attempts,
            retry_base,
            retry_max,
            timeout: dtimeout,
            max_per_minute,
            digest,
        });
    }

    let warnings = ld.finish()?;
    Ok(Config {
        path: path.to_path_buf(),
        storage: StorageConfig {
            path: storage_path,
            retention,
        },
        http: HttpConfig {
            user_agent,
            timeout,
            connect_timeout,
            max_body,
            concurrency,
            per_host,
            host_spacing,
        },
        poll: poll_cfg,
        feeds,
        sinks,
        rules: ruleset,
        rule_files,
        include_files,
        warnings,
    })
}

/// The byte offset where a string value's content starts, given the span of
/// the whole string token (quotes included).
fn string_content_offset(text: &str, span: Range<usize>) -> usize {
    let tok = text.get(span.clone()).unwrap_or("");
    let q = if tok.starts_with("'''") || tok.starts_with("\"\"\"") {
        3
    } else if tok.starts_with('\'') || tok.starts_with('"') {
        1
    } else {
        0
    };
    span.start + q
}

fn default_user_agent() -> String {
    format!(
        "newswatch/{} (+https://github.com/newswatch/newswatch)",
        env!("CARGO_PKG_VERSION")
    )
}
