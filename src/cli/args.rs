//! The command-line grammar: clap definitions only, no behaviour. Kept free
//! of crate paths so that `build.rs` can compile the same definitions to
//! write the man page and shell completions.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use super::parse_duration_arg;

/// newswatch: watch news feeds for coalition meetings and counterterrorism,
/// store what matches in SQLite, and send alerts.
#[derive(Debug, Parser)]
#[command(name = "newswatch", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file [default: $NEWSWATCH_CONFIG, else /etc/newswatch/newswatch.toml]
    #[arg(
        long,
        short = 'c',
        global = true,
        value_name = "FILE",
        env = "NEWSWATCH_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Log line format on stderr. `auto` is `journal` when stderr is the
    /// journal (JOURNAL_STREAM), else `text`. RUST_LOG filters either way.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `journal` under systemd's journal, `text` otherwise.
    Auto,
    /// Timestamped human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
    /// A syslog priority prefix (`<3>`, `<4>`, `<6>`, `<7>`) on every line,
    /// no timestamp, no colour: what journald records levels from.
    Journal,
}

/// `newswatch alerts retry|test|enable`.
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Put an alert (by id) or every dead alert back in the queue, due now.
    Retry {
        /// The alert id (its Idempotency-Key), as `alerts` lists it.
        id: Option<String>,
        /// Every dead alert.
        #[arg(long, conflicts_with = "id")]
        dead: bool,
    },
    /// Send a clearly marked test message through one sink, now, to check it end to end.
    Test {
        /// The sink's name.
        sink: String,
    },
    /// Enable a sink again (one its receiver disabled with 410, or one that
    /// is down or failing): its health is reset and its backlog due now.
    Enable {
        /// The sink's name.
        sink: String,
    },
}

/// `newswatch feeds import|export`.
#[derive(Debug, Subcommand)]
pub enum FeedsAction {
    /// Read an OPML subscription list and write its feeds as [[feed]] entries
    /// to a TOML file the config includes (feeds already configured are skipped).
    Import {
        /// The OPML file.
        #[arg(value_name = "FILE.opml")]
        file: PathBuf,
        /// Where to write [[feed]] entries [default: feeds.d/imported.toml beside the config].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the configured feeds as OPML 2.0.
    Export,
    /// Put a stopped feed (gone or disabled) back in the schedule, due now.
    Enable {
        /// The feed's URL, as configured.
        url: String,
    },
    /// Clear a feed's error streak and schedule: it is polled again now, as
    /// if new to the schedule (its stored items and validators are kept).
    Reset {
        /// The feed's URL, as configured.
        url: String,
    },
    /// Fetch, parse and match one feed now, store nothing, and say what was
    /// found: the items, what was read only in part and why, what would fire.
    Test {
        /// The feed's URL (need not be configured).
        url: String,
    },
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll each feed on its schedule, store, match and deliver alerts until SIGTERM.
    ///
    /// SIGHUP reloads the config and rules (a broken new config is logged and
    /// the running one kept). Under systemd it reports READY/RELOADING/STOPPING.
    Run {
        /// Longest time SIGTERM waits for in-flight polls and deliveries.
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_arg)]
        shutdown_timeout: Duration,
    },
    /// Validate the config and rule packs and print a summary; no network.
    Check,
    /// An offline tour: sample feeds and a webhook receiver on loopback, one cycle, what fired.
    Demo,
    /// Run one cycle now: poll every feed, store and match, deliver pending alerts, exit.
    Once {
        /// Show a progress line on stderr while polling (only when stderr is a terminal).
        #[arg(long)]
        progress: bool,
        /// Longest time spent delivering alerts before exiting.
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration_arg)]
        deliver_timeout: Duration,
    },
    /// Parse feed files (or - for stdin), match them, and print the items.
    Scan {
        /// One JSON object per item (and per unreadable file).
        #[arg(long)]
        json: bool,
        /// Also store the items and matches in the database (never alerts).
        #[arg(long)]
        store: bool,
        /// Feed documents to read; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Match articles from stdin against the rules and show which watches fire and why.
    ///
    /// Plain text: the first line is the title, the rest the content. With
    /// --jsonl, one JSON object per line: {"id","title","summary","content","lang"}.
    TestRules {
        /// Read JSON Lines and print one JSON result per line.
        #[arg(long)]
        jsonl: bool,
        /// Also show each watch's query tree with which parts held (✓) and which did not (✗).
        #[arg(long)]
        explain: bool,
    },
    /// Measure the rules on labelled articles: precision, recall and F1 per watch, and the misses.
    ///
    /// FILE is JSON Lines: {"id","title","summary","content","label"} with label
    /// `none` or a watch name written with `_` (coalition_meeting ↔ coalition-meeting);
    /// "labels": [...] gives several.
    Eval {
        /// The labelled file.
        #[arg(value_name = "FILE.jsonl")]
        file: PathBuf,
        /// One JSON object with the figures and the misses.
        #[arg(long)]
        json: bool,
    },
    /// List recent matches from the database.
    Matches {
        /// Only matches newer than this (e.g. 24h, 7d).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "7d")]
        since: Duration,
        /// Only this watch.
        #[arg(long, value_name = "NAME")]
        watch: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// List alerts and their delivery state; requeue or test a sink.
    Alerts {
        /// Only alerts in this state: pending, delivered, dead or suppressed.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Retry or test instead of listing.
        #[command(subcommand)]
        action: Option<AlertsAction>,
    },
    /// Print the man page (roff) on stdout.
    Man,
    /// Print a shell completion script on stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Show each feed's health from the database; import or export OPML.
    Feeds {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Import, export, enable, reset or test instead of listing.
        #[command(subcommand)]
        action: Option<FeedsAction>,
    },
}
