//! The command line: clap definitions and one function per subcommand.
//! Each wires config, store and daemon together; none implements pipeline
//! behaviour itself.

use crate::config::{self, Config, ConfigError};
use crate::daemon::{self, dispatch, pipeline, service};
use crate::fetch::Fetcher;
use crate::model::WatchMatch;
use crate::parse::parse_feed;
use crate::store::{self, Store};
use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use serde_json::json;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Exit status for a configuration error (sysexits EX_CONFIG).
pub const EX_CONFIG: u8 = 78;

pub use args::{AlertsAction, Cli, Command, FeedsAction, LogFormat};

mod args;
mod logging;

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
            run_daemon(&path, shutdown_timeout)
        }
        Command::Demo => {
            init_logging("warn");
            let mut out = std::io::stdout();
            runtime()?.block_on(crate::demo::run(&mut out))?;
            Ok(0)
        }
        Command::Check => {
            init_logging("warn");
            check(&path)
        }
        Command::Once {
            deliver_timeout,
            progress,
        } => {
            use std::io::IsTerminal;
            let progress = progress && std::io::stderr().is_terminal();
            // On a terminal with a progress line, per-feed lines would break it.
            init_logging(if progress { "warn" } else { "info" });
            once(&path, deliver_timeout, progress)
        }
        Command::Scan { json, store, files } => {
            init_logging("warn");
            scan(&path, json, store, &files)
        }
        Command::TestRules { jsonl, explain } => {
            init_logging("warn");
            test_rules(&path, jsonl, explain)
        }
        Command::Eval { file, json } => {
            init_logging("warn");
            eval(&path, &file, json)
        }
        Command::Matches {
            since,
            watch,
            limit,
            json,
        } => {
            init_logging("warn");
            matches(&path, since, watch.as_deref(), limit, json)
        }
        Command::Alerts {
            state,
            limit,
            json,
            action,
        } => {
            init_logging("warn");
            alerts(&path, state.as_deref(), limit, json, action)
        }
        Command::Feeds { json, action } => {
            init_logging("warn");
            match action {
                None => feeds(&path, json),
                Some(FeedsAction::Import { file, out }) => feeds_import(&path, &file, out),
                Some(FeedsAction::Export) => {
                    let cfg = load_config(&path)?;
                    print!("{}", crate::opml::render(&cfg.feeds));
                    Ok(0)
                }
            }
        }
    }
}

fn check(path: &Path) -> Result<u8> {
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return Ok(EX_CONFIG);
        }
    };
    let mut out = std::io::stdout().lock();
    let enabled = cfg.feeds.iter().filter(|f| f.enabled).count();
    let (terms, lists) = cfg.rules.counts();
    writeln!(out, "config:   {} (ok)", cfg.path.display())?;
    writeln!(out, "database: {}", cfg.storage.path.display())?;
    writeln!(
        out,
        "feeds:    {} ({} enabled), from {} file(s)",
        cfg.feeds.len(),
        enabled,
        1 + cfg.include_files.len()
    )?;
    writeln!(
        out,
        "rules:    {} watch(es), {} term list(s), {} distinct term(s), from {} pack(s)",
        cfg.rules.watches().len(),
        lists,
        terms,
        cfg.rule_files.len()
    )?;
    for w in cfg.rules.watches() {
        writeln!(
            out,
            "  watch {} [{}]{}",
            w.name,
            w.severity,
            w.description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "sinks:    {}", cfg.sinks.len())?;
    for s in &cfg.sinks {
        let watches = s
            .watches
            .as_ref()
            .map_or_else(|| "every watch".to_string(), |w| w.join(", "));
        let signed = if s.secret.is_some() { ", signed" } else { "" };
        writeln!(
            out,
            "  sink {} ({}{}): {}, severity >= {}",
            s.name,
            s.kind.as_str(),
            signed,
            watches,
            s.min_severity
        )?;
    }
    for w in &cfg.warnings {
        writeln!(out, "warning:  {w}")?;
    }
    Ok(0)
}

fn run_daemon(path: &Path, shutdown_grace: Duration) -> Result<u8> {
    let rt = runtime()?;
    rt.block_on(async {
        // Handlers first: a SIGTERM held since `main` began, or one that
        // arrives while the config loads, stops the daemon cleanly.
        let signals =
            daemon::control::Signals::install().context("cannot install the signal handlers")?;
        let (tx, controls) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(signals.forward(tx));
        let cfg = load_config(path)?;
        let _lock = store::lock(&cfg.storage.path)?;
        let handle = store::Handle::open(&cfg.storage.path)?;
        let opts = service::Options {
            config_path: path.to_path_buf(),
            shutdown_grace,
        };
        let token = tokio_util::sync::CancellationToken::new();
        service::run(opts, cfg, handle, controls, token).await?;
        Ok(0)
    })
}

fn once(path: &Path, deliver_timeout: Duration, progress: bool) -> Result<u8> {
    let cfg = Arc::new(load_config(path)?);
    let _lock = store::lock(&cfg.storage.path)?;
    let handle = store::Handle::open(&cfg.storage.path)?;
    let fetcher = Fetcher::new(&cfg.http).map_err(anyhow::Error::msg)?;
    let client = service::delivery_client(&cfg).map_err(anyhow::Error::msg)?;
    let rt = runtime()?;
    let rep = rt.block_on(async {
        let ctx = daemon::PollCtx::new(Arc::clone(&cfg), fetcher, handle.clone());
        let mut rep = daemon::poll_all(&ctx, progress).await?;
        let out: dispatch::LogOut = Arc::new(std::sync::Mutex::new(std::io::stdout()));
        let round = dispatch::until_idle(&cfg, &client, &handle, &out, deliver_timeout).await?;
        rep.delivered = round.delivered;
        let cutoff = daemon::now() - cfg.storage.retention.as_secs() as i64;
        let pruned = handle.prune(cutoff).await?;
        if pruned > 0 {
            tracing::info!(
                pruned,
                "retention: old unmatched articles emptied (keys kept)"
            );
        }
        rep.pending = handle.pending_count().await?;
        // Leave the database file whole and the log empty for whoever
        // opens it next (the work is done and committed either way).
        if let Err(e) = handle.checkpoint().await {
            tracing::warn!(error = %e, "could not fold the database log back into the file");
        }
        Ok::<_, store::StoreError>(rep)
    })?;
    tracing::info!(
        feeds = rep.feeds,
        failed = rep.failed,
        not_modified = rep.not_modified,
        skipped = rep.skipped,
        new_articles = rep.new_articles,
        matched = rep.matched,
        alerts_queued = rep.alerts_queued,
        delivered = rep.delivered,
        pending = rep.pending,
        "cycle done"
    );
    Ok(0)
}

fn watches_json(ms: &[WatchMatch]) -> serde_json::Value {
    ms.iter()
        .map(|m| {
            json!({
                "name": m.watch,
                "severity": m.severity.as_str(),
                "score": m.score,
                "terms": m.terms.iter().map(|t| json!({"term": t.term, "field": t.field.as_str(), "count": t.count})).collect::<Vec<_>>(),
                "snippet": m.snippet,
            })
        })
        .collect()
}

/// One scanned file: its display name and its matched items, or why it
/// could not be read.
struct Scanned {
    source: String,
    items: Result<Vec<crate::model::MatchedArticle>, String>,
}

/// Reads, parses and matches one file (a worker's share of `scan`).
fn scan_one(cfg: &Config, f: &Path) -> Scanned {
    let source = f.display().to_string();
    let bytes = if source == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(f)
    };
    let items = match bytes {
        Ok(b) => parse_feed(&b, None).map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
    .map(|parsed| pipeline::match_articles(cfg, parsed.articles, &[], |_| true));
    Scanned { source, items }
}

/// Files parsed and matched on every core; results printed and stored on
/// this thread in the order given, so output and database do not depend
/// on which worker finished first.
fn scan(path: &Path, as_json: bool, do_store: bool, files: &[PathBuf]) -> Result<u8> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let cfg = Arc::new(load_config(path)?);
    // The lock outlives the connection (dropped in reverse order).
    let _lock = if do_store {
        Some(store::lock(&cfg.storage.path)?)
    } else {
        None
    };
    let mut writer = if do_store {
        Some(Store::open(&cfg.storage.path)?)
    } else {
        None
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    let now = daemon::now();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(files.len().max(1));
    // Workers may run at most this many files ahead of the writer: memory
    // stays bounded however slow one file is.
    const AHEAD: usize = 32;
    let next = AtomicUsize::new(0);
    let consumed = AtomicUsize::new(0);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Scanned)>(AHEAD);
        for _ in 0..workers {
            let (tx, cfg, next, consumed, stopped) = (tx.clone(), &cfg, &next, &consumed, &stopped);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len() {
                        break;
                    }
                    while i >= consumed.load(Ordering::Acquire) + AHEAD
                        && !stopped.load(Ordering::Relaxed)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    // A panic on one file must not leave a hole in the order
                    // (the writer would wait for it forever).
                    let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        scan_one(cfg, &files[i])
                    }))
                    .unwrap_or_else(|_| Scanned {
                        source: files[i].display().to_string(),
                        items: Err("internal error while scanning this file".to_string()),
                    });
                    if tx.send((i, scanned)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: std::collections::BTreeMap<usize, Scanned> = Default::default();
        let mut want = 0usize;
        // Articles stored in the open transaction; committed past BATCH.
        const BATCH: usize = 5_000;
        let mut in_batch = 0usize;
        let result = (|| -> Result<()> {
            for (i, scanned) in &rx {
                ready.insert(i, scanned);
                while let Some(sc) = ready.remove(&want) {
                    want += 1;
                    consumed.store(want, Ordering::Release);
                    let n = sc.items.as_ref().map_or(0, Vec::len);
                    if let Some(st) = writer.as_mut()
                        && in_batch == 0
                    {
                        st.begin_batch()?;
                    }
                    if !scan_emit(
                        &mut out,
                        writer.as_mut(),
                        &files[want - 1],
                        sc,
                        as_json,
                        now,
                    )? {
                        failed += 1;
                    }
                    in_batch += n.max(1);
                    if let Some(st) = writer.as_mut()
                        && in_batch >= BATCH
                    {
                        st.commit_batch()?;
                        in_batch = 0;
                    }
                }
            }
            if let Some(st) = writer.as_mut()
                && in_batch > 0
            {
                st.commit_batch()?;
            }
            Ok(())
        })();
        // On an error (a closed stdout, a store failure) the workers stop.
        stopped.store(true, Ordering::Relaxed);
        drop(rx);
        result
    })?;
    out.flush()?;
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Prints one scanned file's items and stores them; `false` when the file
/// could not be read or parsed.
fn scan_emit(
    out: &mut impl Write,
    writer: Option<&mut Store>,
    f: &Path,
    sc: Scanned,
    as_json: bool,
    now: crate::model::Timestamp,
) -> Result<bool> {
    let Scanned { source, items } = sc;
    let items = match items {
        Ok(items) => items,
        Err(e) => {
            if as_json {
                writeln!(out, "{}", json!({"source": source, "error": e}))?;
            } else {
                writeln!(out, "{source}: error: {e}")?;
            }
            return Ok(false);
        }
    };
    for m in &items {
        let a = &m.article;
        if as_json {
            let line = json!({
                "source": source,
                "id": a.key,
                "title": a.title,
                "link": a.url,
                "published": a.published.map(crate::alert::rfc3339),
                "lang": a.lang,
                "watches": watches_json(&m.matches),
            });
            writeln!(out, "{line}")?;
        } else {
            let fired: Vec<&str> = m.matches.iter().map(|w| w.watch.as_str()).collect();
            let tag = if fired.is_empty() {
                String::new()
            } else {
                format!("  [{}]", fired.join(", "))
            };
            writeln!(out, "{source}: {}{tag}", a.title)?;
        }
    }
    if let Some(st) = writer {
        let url = if source == "-" {
            "stdin:".to_string()
        } else {
            let canon = std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf());
            format!("file://{}", canon.display())
        };
        let row = st.ensure_feed(&url, &source, now)?;
        // Stored for the record and for search; a scan never alerts.
        let quiet: Vec<_> = items
            .into_iter()
            .map(|mut m| {
                m.routes.clear();
                m
            })
            .collect();
        st.ingest(row.id, &url, &quiet, now)?;
    }
    Ok(true)
}

fn eval(path: &Path, file: &Path, as_json: bool) -> Result<u8> {
    use crate::rules::labelled::{self, Labelled};
    let cfg = load_config(path)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad JSON", file.display(), n + 1))?;
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(crate::text::html_to_text)
                .unwrap_or_default()
        };
        let mut labels: Vec<String> = v
            .get("labels")
            .and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(l) = v.get("label").and_then(|l| l.as_str()) {
            labels.push(l.to_string());
        }
        if labels.is_empty() {
            anyhow::bail!(
                "{}:{}: no `label` (use \"none\" for an article no watch should flag)",
                file.display(),
                n + 1
            );
        }
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("line {}", n + 1),
        };
        items.push(Labelled {
            id,
            title: s("title"),
            summary: s("summary"),
            content: s("content"),
            labels,
        });
    }
    let rep = labelled::score(&cfg.rules, &items);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if as_json {
        let figures: Vec<serde_json::Value> = rep
            .figures
            .iter()
            .map(|f| json!({"watch": f.name, "tp": f.tp, "fp": f.fp, "fn": f.fn_, "precision": f.precision, "recall": f.recall, "f1": f.f1}))
            .collect();
        let misses: Vec<serde_json::Value> = rep
            .misses
            .iter()
            .map(|m| json!({"kind": m.kind, "watch": m.watch, "id": m.id, "title": m.title, "fired": m.fired, "detail": m.detail}))
            .collect();
        writeln!(
            out,
            "{}",
            json!({"items": rep.items, "figures": figures, "misses": misses})
        )?;
    } else {
        writeln!(out, "{} labelled items", rep.items)?;
        writeln!(
            out,
            "{:<20} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}",
            "watch", "precision", "recall", "F1", "tp", "fp", "fn"
        )?;
        for f in &rep.figures {
            writeln!(
                out,
                "{:<20} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}",
                f.name, f.precision, f.recall, f.f1, f.tp, f.fp, f.fn_
            )?;
        }
        if !rep.misses.is_empty() {
            writeln!(out, "\nmisclassified:")?;
        }
        for m in &rep.misses {
            let fired = if m.fired.is_empty() {
                "nothing".to_string()
            } else {
                m.fired.join(", ")
            };
            writeln!(out, "{} {:<18} {:<10} {}", m.kind, m.watch, m.id, m.title)?;
            let what = if m.kind == "FP" { "terms" } else { "missing" };
            writeln!(out, "   fired: {fired}; {what}: {}", m.detail)?;
        }
    }
    out.flush()?;
    Ok(0)
}

fn explain_json(cfg: &Config, title: &str, summary: &str, content: &str) -> serde_json::Value {
    cfg.rules
        .explain(title, summary, content)
        .into_iter()
        .map(|e| json!({"watch": e.watch, "fired": e.fired, "score": e.score, "min_score": e.min_score, "tree": e.tree}))
        .collect()
}

fn test_rules(path: &Path, jsonl: bool, explain: bool) -> Result<u8> {
    let cfg = load_config(path)?;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if jsonl {
        let mut bad = 0;
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("cannot read standard input")?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(e) => {
                    bad += 1;
                    writeln!(
                        out,
                        "{}",
                        json!({"line": n + 1, "error": format!("bad JSON: {e}")})
                    )?;
                    continue;
                }
            };
            let field = |k: &str| {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .map(crate::text::html_to_text)
                    .unwrap_or_default()
            };
            let ms = cfg
                .rules
                .evaluate(&field("title"), &field("summary"), &field("content"));
            let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
            let mut line = json!({"id": id, "watches": watches_json(&ms)});
            if explain {
                line["explain"] =
                    explain_json(&cfg, &field("title"), &field("summary"), &field("content"));
            }
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        return Ok(if bad > 0 { 1 } else { 0 });
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("cannot read standard input")?;
    let (title, content) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let (title, content) = (
        crate::text::html_to_text(title),
        crate::text::html_to_text(content),
    );
    let ms = cfg.rules.evaluate(&title, "", &content);
    if ms.is_empty() {
        writeln!(
            out,
            "no watch fired ({} watches checked)",
            cfg.rules.watches().len()
        )?;
    }
    for m in &ms {
        writeln!(out, "{} [{}] score {}", m.watch, m.severity, m.score)?;
        for t in &m.terms {
            writeln!(out, "  {:<10} {} ×{}", t.field.as_str(), t.term, t.count)?;
        }
        writeln!(out, "  snippet: {}", m.snippet)?;
    }
    let fired: Vec<&str> = ms.iter().map(|m| m.watch.as_str()).collect();
    for w in cfg
        .rules
        .watches()
        .iter()
        .filter(|w| !fired.contains(&w.name.as_str()))
    {
        writeln!(out, "{} did not fire", w.name)?;
    }
    if explain {
        for e in cfg.rules.explain(&title, "", &content) {
            let verdict = if e.fired { "fired" } else { "did not fire" };
            writeln!(
                out,
                "\n{}: {verdict} (score {}, min_score {})",
                e.watch, e.score, e.min_score
            )?;
            write!(out, "{}", e.tree)?;
        }
    }
    out.flush()?;
    Ok(0)
}

fn matches(
    path: &Path,
    since: Duration,
    watch: Option<&str>,
    limit: usize,
    as_json: bool,
) -> Result<u8> {
    let cfg = load_config(path)?;
    let st = Store::open_read_only(&cfg.storage.path)?;
    let rows = st.recent_matches(daemon::now() - since.as_secs() as i64, watch, limit)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for r in rows {
        if as_json {
            let line = json!({
                "matched_at": crate::alert::rfc3339(r.matched_at),
                "watch": r.watch.watch,
                "severity": r.watch.severity.as_str(),
                "score": r.watch.score,
                "title": r.article.title,
                "url": r.article.url,
                "feed": r.article.feed_name,
                "sightings": r.sightings,
                "also_seen_in": r.also_seen_in.iter().map(|(f, _, u)| json!({"feed": f, "url": u})).collect::<Vec<_>>(),
                "snippet": r.watch.snippet,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}  {:<18} [{}] {}  ({}{})",
                crate::alert::rfc3339(r.matched_at),
                r.watch.watch,
                r.watch.severity,
                r.article.title,
                r.article.feed_name,
                if r.sightings > 0 {
                    format!(", +{} sightings", r.sightings)
                } else {
                    String::new()
                }
            )?;
        }
    }
    out.flush()?;
    Ok(0)
}

fn alerts(
    path: &Path,
    state: Option<&str>,
    limit: usize,
    as_json: bool,
    action: Option<AlertsAction>,
) -> Result<u8> {
    let cfg = load_config(path)?;
    match action {
        Some(AlertsAction::Retry { id, dead }) => {
            if id.is_none() && !dead {
                anyhow::bail!("say which alert to retry (an id from `newswatch alerts`) or --dead");
            }
            // With no daemon running, as the database's owner (lock held,
            // migrations run). Beside a running daemon, one short UPDATE
            // transaction without the lock and without migrating (SQLite
            // serializes the two writers; a schema older than ours is
            // refused, naming the daemon's PID); its dispatcher picks the
            // alert up at its next round.
            let (_lock, mut st) = match store::lock(&cfg.storage.path) {
                Ok(lock) => (Some(lock), Store::open(&cfg.storage.path)?),
                Err(store::StoreError::Locked { .. }) => {
                    (None, Store::open_beside_owner(&cfg.storage.path)?)
                }
                Err(e) => return Err(e.into()),
            };
            let n = st.requeue(id.as_deref(), dispatch::now_ms())?;
            println!("{n} alert(s) requeued");
            return Ok(if n == 0 && id.is_some() { 1 } else { 0 });
        }
        Some(AlertsAction::Test { sink }) => {
            let Some(s) = cfg.sinks.iter().find(|s| s.name == sink) else {
                anyhow::bail!("no sink named {sink:?} in {}", path.display());
            };
            let client = service::delivery_client(&cfg).map_err(anyhow::Error::msg)?;
            let outcome = runtime()?.block_on(dispatch::send_test(s, &client));
            return match outcome {
                crate::alert::Delivery::Delivered => {
                    println!("test message delivered to {sink} ({})", s.kind.as_str());
                    Ok(0)
                }
                crate::alert::Delivery::Retry { error, .. } => {
                    eprintln!("newswatch: test message to {sink} failed: {error}");
                    Ok(1)
                }
            };
        }
        None => {}
    }
    let state = match state.map(|s| (s, store::OutboxState::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => {
            eprintln!(
                "newswatch: unknown state {s:?}; expected pending, delivered, dead or suppressed"
            );
            return Ok(2);
        }
    };
    let st = Store::open_read_only(&cfg.storage.path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let t = crate::alert::rfc3339;
    for a in st.list_alerts(state, limit)? {
        if as_json {
            let line = json!({
                "id": a.id, "sink": a.sink, "state": a.state.as_str(), "attempts": a.attempts,
                "detected_at": t(a.created_at), "delivered_at": a.delivered_at.map(t),
                "next_attempt": (a.state == store::OutboxState::Pending).then(|| t(a.next_attempt_ms / 1000)),
                "last_error": a.last_error, "title": a.title, "url": a.url, "feed": a.feed,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}  {:<10} {:<10} {:>2} tries  {}  ({})",
                a.id,
                a.state.as_str(),
                a.sink,
                a.attempts,
                a.title,
                a.feed
            )?;
            if let Some(e) = &a.last_error {
                writeln!(out, "    last error: {e}")?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

fn feeds_import(path: &Path, file: &Path, out: Option<PathBuf>) -> Result<u8> {
    let cfg = load_config(path)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let found =
        crate::opml::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let mut seen: std::collections::HashSet<String> =
        cfg.feeds.iter().map(|f| f.url.clone()).collect();
    let mut fresh = Vec::new();
    let mut bad = 0;
    for f in found {
        match config::normalize_feed_url(&f.url) {
            Ok(u) if seen.insert(u.clone()) => fresh.push(crate::opml::OpmlFeed { url: u, ..f }),
            Ok(_) => {}
            Err(e) => {
                bad += 1;
                eprintln!("skipped: {e}");
            }
        }
    }
    let out = out.unwrap_or_else(|| {
        path.parent()
            .unwrap_or(Path::new("."))
            .join("feeds.d/imported.toml")
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut body = crate::opml::to_toml(&fresh);
    if out.exists() {
        // Append to an earlier import rather than replace it.
        let old = std::fs::read_to_string(&out)
            .with_context(|| format!("cannot read {}", out.display()))?;
        body = format!(
            "{old}\n{}",
            body.lines().skip(1).collect::<Vec<_>>().join("\n")
        );
    }
    std::fs::write(&out, body).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{} new feed(s) written to {}{}",
        fresh.len(),
        out.display(),
        if bad > 0 {
            format!(" ({bad} skipped)")
        } else {
            String::new()
        }
    );
    println!(
        "make sure the config includes it (include = [\"feeds.d/*.toml\"]), then `newswatch check` and reload"
    );
    Ok(0)
}

fn feeds(path: &Path, as_json: bool) -> Result<u8> {
    let cfg = load_config(path)?;
    let st = Store::open_read_only(&cfg.storage.path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let t = crate::alert::rfc3339;
    for f in st.feeds()? {
        let state = if f.state != store::FeedState::Active {
            f.state.as_str()
        } else if f.error_streak >= crate::schedule::LONG_STREAK {
            "failing"
        } else if f.error_streak > 0 {
            "erroring"
        } else if f.last_polled_at.is_none() {
            "new"
        } else {
            "ok"
        };
        if as_json {
            let line = json!({
                "url": f.url, "name": f.name, "state": state, "state_reason": f.state_reason,
                "last_polled": f.last_polled_at.map(t), "last_success": f.last_success_at.map(t),
                "next_poll": f.next_poll_at.map(t), "interval_s": f.interval_s,
                "retry_until": f.retry_until.map(t), "last_status": f.last_status,
                "error_streak": f.error_streak, "error_kind": f.error_kind.map(|k| k.as_str()), "last_error": f.last_error,
                "items": f.items_seen,
            });
            writeln!(out, "{line}")?;
        } else {
            let interval = f
                .interval_s
                .map(|s| format!("every {}m", (s + 59) / 60))
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{:<9} {:<30} {:>4} items  {:<10} next {}  {}",
                state,
                f.name,
                f.items_seen,
                interval,
                f.next_poll_at.map(t).unwrap_or_else(|| "-".into()),
                f.url
            )?;
            if let Some(r) = &f.state_reason {
                writeln!(out, "          reason: {r}")?;
            }
            if let Some(e) = &f.last_error {
                writeln!(
                    out,
                    "          last error ({}, {} in a row): {e}",
                    f.error_kind.map_or("error", |k| k.as_str()),
                    f.error_streak
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}
