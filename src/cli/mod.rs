//! The command line: clap definitions and one function per subcommand.
//! Each wires config, store and daemon together; none implements pipeline
//! behaviour itself.

use crate::config::{self, Config, ConfigError};
use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit status for a configuration error (sysexits EX_CONFIG).
pub const EX_CONFIG: u8 = 78;

pub use args::{AlertsAction, Cli, Command, FeedsAction, LogFormat};

mod args;
mod check;
mod feeds;
mod logging;
mod read;
mod rules;
mod scan;
mod service;

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    config::raw::parse_duration(s)
}

/// Blocks SIGTERM, SIGINT and SIGHUP until `run` has its handlers (the
/// first thing `main` does; see `daemon::control`).
pub fn hold_signals() {
    crate::daemon::control::hold_signals();
}

/// Installs the process's panic hook (see `panics`).
pub fn install_panic_hook() {
    crate::panics::install();
}

/// Parses the process arguments (exits 2 on bad usage, 0 for --help).
pub fn parse() -> Cli {
    Cli::parse()
}

/// Reports a fatal error on stderr (with journal priorities under systemd).
pub fn print_error(e: &anyhow::Error) {
    logging::print_error(&format!("{e:#}"));
}

/// Maps an error to the process exit code.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.downcast_ref::<ConfigError>().is_some()) {
        EX_CONFIG
    } else {
        1
    }
}

fn config_path(cli: &Cli) -> PathBuf {
    cli.config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH))
}

fn load_config(path: &Path) -> Result<Config> {
    let cfg = config::load(path)?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    Ok(cfg)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let path = config_path(&cli);
    let format = cli.log_format;
    let init_logging = |default: &str| logging::init(format, default);
    // Only `run` handles signals; every other command keeps their default
    // actions (`main` held them blocked until here).
    if !matches!(cli.command, Command::Run { .. }) {
        crate::daemon::control::release_signals();
    }
    match cli.command {
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "newswatch", &mut out);
            out.flush()?;
            Ok(0)
        }
        Command::Run { shutdown_timeout } => {
            init_logging("info");
            service::run_daemon(&path, shutdown_timeout)
        }
        Command::Demo => {
            init_logging("warn");
            let mut out = std::io::stdout();
            runtime()?.block_on(crate::demo::run(&mut out))?;
            Ok(0)
        }
        Command::Check => {
            init_logging("warn");
            check::check(&path)
        }
        Command::Once {
            deliver_timeout,
            progress,
        } => {
            use std::io::IsTerminal;
            let progress = progress && std::io::stderr().is_terminal();
            // On a terminal with a progress line, per-feed lines would break it.
            init_logging(if progress { "warn" } else { "info" });
            service::once(&path, deliver_timeout, progress)
        }
        Command::Scan { json, store, files } => {
            init_logging("warn");
            scan::scan(&path, json, store, &files)
        }
        Command::TestRules { jsonl, explain } => {
            init_logging("warn");
            rules::test_rules(&path, jsonl, explain)
        }
        Command::Eval { file, json } => {
            init_logging("warn");
            rules::eval(&path, &file, json)
        }
        Command::Matches {
            since,
            watch,
            limit,
            json,
        } => {
            init_logging("warn");
            read::matches(&path, since, watch.as_deref(), limit, json)
        }
        Command::Alerts {
            state,
            limit,
            json,
            action,
        } => {
            init_logging("warn");
            read::alerts(&path, state.as_deref(), limit, json, action)
        }
        Command::Feeds { json, action } => {
            init_logging("warn");
            match action {
                None => read::feeds(&path, json),
                Some(FeedsAction::Import { file, out }) => feeds::feeds_import(&path, &file, out),
                Some(FeedsAction::Enable { url }) => feeds::feeds_enable(&path, &url, false),
                Some(FeedsAction::Reset { url }) => feeds::feeds_enable(&path, &url, true),
                Some(FeedsAction::Test { url }) => feeds::feeds_test(&path, &url),
                Some(FeedsAction::Export) => {
                    let cfg = load_config(&path)?;
                    print!("{}", crate::opml::render(&cfg.feeds));
                    Ok(0)
                }
            }
        }
    }
}
