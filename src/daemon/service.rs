//! The long-running daemon (`newswatch run`): the scheduler (each feed on
//! its own schedule, kept in SQLite so a restart resumes it), the
//! dispatcher (the outbox drained continuously), signals (SIGHUP reloads,
//! SIGTERM/SIGINT stop), and what systemd is told (READY, RELOADING,
//! STOPPING, STATUS, WATCHDOG).
//!
//! Config is an immutable `Arc<Config>` published on a `watch` channel; a
//! reload builds a new one with the same code as start-up and swaps it in,
//! or keeps the old one when the new one is broken.

use super::dispatch::{self, LogOut};
use super::hosts::HostGate;
use super::now;
use super::pipeline::PollResult;
use crate::config::{self, Config};
use crate::fetch::{self, Fetcher};
use crate::store;
use sd_notify::NotifyState;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};

/// Options of `newswatch run`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file, re-read on SIGHUP.
    pub config_path: PathBuf,
    /// How long SIGTERM waits for in-flight polls and deliveries.
    pub shutdown_grace: Duration,
}

/// Progress marks for the watchdog: Unix ms of each loop's last pass, and
/// the longest a loop may sleep (short enough for the watchdog, long enough
/// that an idle daemon costs no measurable CPU).
struct Heartbeats {
    scheduler: AtomicI64,
    dispatcher: AtomicI64,
    max_idle: Duration,
    /// Unix s of the last finished poll (0: none yet), for STATUS.
    last_poll: AtomicI64,
    /// Feeds whose last poll failed, for STATUS.
    failing: AtomicUsize,
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "cannot notify systemd");
    }
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(opts: Options, initial: Config, store: store::Handle) -> anyhow::Result<()> {
    let initial = Arc::new(initial);
    let (cfg_tx, cfg_rx) = watch::channel(Arc::clone(&initial));
    let (stop_tx, stop_rx) = watch::channel(false);
    let wake_dispatch = Arc::new(Notify::new());
    let watchdog = sd_notify::watchdog_enabled();
    let beats = Arc::new(Heartbeats {
        scheduler: AtomicI64::new(dispatch::now_ms()),
        dispatcher: AtomicI64::new(dispatch::now_ms()),
        max_idle: watchdog.map_or(Duration::from_secs(60), |d| {
            (d / 4).clamp(Duration::from_millis(200), Duration::from_secs(60))
        }),
        last_poll: AtomicI64::new(0),
        failing: AtomicUsize::new(0),
    });
    let out: LogOut = Arc::new(std::sync::Mutex::new(std::io::stdout()));

    let scheduler = tokio::spawn(schedule_loop(
        cfg_rx.clone(),
        stop_rx.clone(),
        store.clone(),
        Arc::clone(&wake_dispatch),
        Arc::clone(&beats),
    ));
    let dispatcher = tokio::spawn(dispatch_loop(
        cfg_rx.clone(),
        stop_rx.clone(),
        store.clone(),
        Arc::clone(&wake_dispatch),
        out,
        Arc::clone(&beats),
    ));

    let feeds = initial.feeds.iter().filter(|f| f.enabled).count();
    tracing::info!(feeds, sinks = initial.sinks.len(), watches = initial.rules.watches().len(), database = %initial.storage.path.display(), "newswatch running");
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&format!("watching {feeds} feeds")),
    ]);

    let mut dog = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    dog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut status_tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => {
                let ts = NotifyState::monotonic_usec_now().ok();
                let mut states = vec![NotifyState::Reloading];
                states.extend(ts);
                notify(&states);
                let current = cfg_tx.borrow().clone();
                match reload(&opts, &current) {
                    Ok(new) => {
                        let n = new.feeds.iter().filter(|f| f.enabled).count();
                        tracing::info!(feeds = n, sinks = new.sinks.len(), watches = new.rules.watches().len(), "configuration reloaded");
                        let _ = cfg_tx.send(Arc::new(new));
                        notify(&[NotifyState::Ready, NotifyState::Status(&format!("watching {n} feeds (reloaded)"))]);
                    }
                    Err(msg) => {
                        tracing::error!("reload failed; keeping the running configuration:\n{msg}");
                        let first = msg.lines().nth(1).unwrap_or(&msg).to_string();
                        notify(&[NotifyState::Ready, NotifyState::Status(&format!("reload failed: {first}"))]);
                    }
                }
            }
            _ = dog.tick(), if watchdog.is_some() => {
                let limit = watchdog.map_or(0, |d| d.as_millis() as i64);
                let now = dispatch::now_ms();
                let fresh = |a: &AtomicI64| now - a.load(Ordering::Relaxed) < limit;
                // A long drain of a backlog counts as progress while each
                // step (a batch, an attempt) still finishes.
                let delivering = now - dispatch::last_step_ms() < limit;
                if fresh(&beats.scheduler) && (fresh(&beats.dispatcher) || delivering) {
                    notify(&[NotifyState::Watchdog]);
                } else {
                    tracing::warn!("a loop has stopped making progress; not petting the watchdog");
                }
            }
            _ = status_tick.tick() => {
                let pending = store.call(|s| s.pending_count()).await.ok().and_then(Result::ok).unwrap_or(0);
                let n = cfg_tx.borrow().feeds.iter().filter(|f| f.enabled).count();
                notify(&[NotifyState::Status(&status_line(n, &beats, pending))]);
            }
        }
    }
    notify(&[NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let grace = opts.shutdown_grace;
    let both = async {
        let _ = scheduler.await;
        let _ = dispatcher.await;
    };
    if tokio::time::timeout(grace, both).await.is_err() {
        tracing::warn!(grace = ?grace, "in-flight work did not finish in time; the outbox keeps what was not delivered");
    }
    // Fold the WAL into the database before exiting.
    let _ = store.checkpoint().await;
    tracing::info!("stopped");
    Ok(())
}

/// The one-line STATUS: feeds, the last poll and failures, alerts pending.
fn status_line(feeds: usize, beats: &Heartbeats, pending: i64) -> String {
    let last = beats.last_poll.load(Ordering::Relaxed);
    let last = if last == 0 {
        "no poll yet".to_string()
    } else {
        chrono::DateTime::from_timestamp(last, 0).map_or_else(
            || "no poll yet".to_string(),
            |t| format!("last poll {}", t.format("%Y-%m-%d %H:%M:%SZ")),
        )
    };
    let failing = beats.failing.load(Ordering::Relaxed);
    format!("watching {feeds} feeds; {last}, {failing} failing; {pending} alerts pending")
}

/// Builds the new config for a reload; refuses changes that need a restart.
fn reload(opts: &Options, current: &Config) -> Result<Config, String> {
    let new = config::load(&opts.config_path).map_err(|e| e.to_string())?;
    if new.storage.path != current.storage.path {
        return Err(format!(
            "\nstorage.path changed ({} → {}); that needs a restart",
            current.storage.path.display(),
            new.storage.path.display()
        ));
    }
    for w in &new.warnings {
        tracing::warn!("{w}");
    }
    Ok(new)
}

type PollDone = (String, Result<PollResult, store::StoreError>, i64);

async fn schedule_loop(
    mut cfg_rx: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
    store: store::Handle,
    wake_dispatch: Arc<Notify>,
    beats: Arc<Heartbeats>,
) {
    let mut cfg = cfg_rx.borrow_and_update().clone();
    let mut fetcher = match Fetcher::new(&cfg.http) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("{e}");
            return;
        }
    };
    let mut global = Arc::new(Semaphore::new(cfg.http.concurrency));
    let mut gate = Arc::new(HostGate::new(cfg.http.per_host, cfg.http.host_spacing));
    // When each feed is due (Unix s), seeded from the database so a restart
    // resumes the schedule.
    let mut due: HashMap<String, i64> = match store.call(|s| s.feeds()).await {
        Ok(Ok(rows)) => rows
            .into_iter()
            .filter_map(|r| r.next_poll_at.map(|t| (r.url, t)))
            .collect(),
        _ => HashMap::new(),
    };
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut failing: HashSet<String> = HashSet::new();
    let mut last_prune: Option<tokio::time::Instant> = None;
    let mut tasks: tokio::task::JoinSet<PollDone> = tokio::task::JoinSet::new();
    loop {
        beats.scheduler.store(dispatch::now_ms(), Ordering::Relaxed);
        if *stop.borrow() {
            break;
        }
        let t = now();
        // Retention, at start and then daily.
        if last_prune.is_none_or(|p| p.elapsed() >= Duration::from_secs(86_400)) {
            last_prune = Some(tokio::time::Instant::now());
            let cutoff = t - cfg.storage.retention.as_secs() as i64;
            match store.call(move |s| s.prune(cutoff)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(
                    pruned = n,
                    "retention: old unmatched articles emptied (keys kept)"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
                _ => {}
            }
        }
        for feed in cfg.feeds.iter().filter(|f| f.enabled) {
            // A feed never polled (new, or added by a reload) starts at a
            // random point of its first interval (at most a minute), so that
            // many feeds do not all start at once.
            due.entry(feed.url.clone()).or_insert_with(|| {
                t + crate::schedule::first_poll(
                    feed.interval,
                    Duration::from_secs(60),
                    fastrand::f64(),
                )
                .as_secs() as i64
            });
            if in_flight.contains(&feed.url) || due.get(&feed.url).is_some_and(|&d| d > t) {
                continue;
            }
            in_flight.insert(feed.url.clone());
            let (cfg2, fetcher, store, feed, global, gate) = (
                Arc::clone(&cfg),
                fetcher.clone(),
                store.clone(),
                feed.clone(),
                Arc::clone(&global),
                Arc::clone(&gate),
            );
            tasks.spawn(async move {
                let started = now();
                let r = super::poll_one(&cfg2, &fetcher, &store, &gate, &global, &feed).await;
                let next = r
                    .as_ref()
                    .map_or(started + feed.interval.as_secs() as i64, |p| p.next_poll_at);
                (feed.url, r.map(|p| p.result), next)
            });
        }
        let next_due = cfg
            .feeds
            .iter()
            .filter(|f| f.enabled && !in_flight.contains(&f.url))
            .filter_map(|f| due.get(&f.url).copied())
            .min()
            .unwrap_or(t + beats.max_idle.as_secs() as i64);
        let sleep = Duration::from_secs((next_due - t).max(0) as u64)
            .clamp(Duration::from_millis(200), beats.max_idle);
        tokio::select! {
            _ = stop.changed() => {}
            changed = cfg_rx.changed() => {
                if changed.is_err() { break; }
                let new = cfg_rx.borrow_and_update().clone();
                if new.http.user_agent != cfg.http.user_agent || new.http.timeout != cfg.http.timeout
                    || new.http.connect_timeout != cfg.http.connect_timeout || new.http.max_body != cfg.http.max_body
                {
                    match Fetcher::new(&new.http) {
                        Ok(f) => fetcher = f,
                        Err(e) => tracing::error!("{e}"),
                    }
                }
                if new.http.concurrency != cfg.http.concurrency || new.http.per_host != cfg.http.per_host
                    || new.http.host_spacing != cfg.http.host_spacing
                {
                    global = Arc::new(Semaphore::new(new.http.concurrency));
                    gate = Arc::new(HostGate::new(new.http.per_host, new.http.host_spacing));
                }
                let keep: HashSet<&str> = new.feeds.iter().map(|f| f.url.as_str()).collect();
                due.retain(|u, _| keep.contains(u.as_str()));
                failing.retain(|u| keep.contains(u.as_str()));
                beats.failing.store(failing.len(), Ordering::Relaxed);
                cfg = new;
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok((url, r, next)) => {
                        in_flight.remove(&url);
                        due.insert(url.clone(), next);
                        beats.last_poll.store(now(), Ordering::Relaxed);
                        if matches!(r, Ok(PollResult::Failed(_)) | Err(_)) {
                            failing.insert(url.clone());
                        } else if !matches!(r, Ok(PollResult::Skipped(_))) {
                            failing.remove(&url);
                        }
                        beats.failing.store(failing.len(), Ordering::Relaxed);
                        match r {
                            Ok(PollResult::Stored(rep)) => {
                                tracing::info!(url = %url, items = rep.items, new = rep.new_articles, sightings = rep.sightings, matched = rep.matched, alerts = rep.alerts_queued, "polled");
                                if rep.alerts_queued > 0 { wake_dispatch.notify_one(); }
                            }
                            Ok(PollResult::NotModified) => tracing::debug!(url = %url, "not modified"),
                            Ok(PollResult::Failed(e)) => tracing::warn!(url = %url, error = %e, "poll failed"),
                            Ok(PollResult::Skipped(why)) => tracing::debug!(url = %url, reason = %why, "skipped"),
                            Err(e) => tracing::error!(url = %url, error = %e, "cannot record the poll"),
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "a poll task failed"),
                }
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    // Stopping: let in-flight polls finish (the caller bounds the wait).
    while let Some(done) = tasks.join_next().await {
        if let Ok((url, Ok(PollResult::Stored(rep)), _)) = done {
            tracing::info!(url = %url, new = rep.new_articles, alerts = rep.alerts_queued, "polled (while stopping)");
        }
    }
}

async fn dispatch_loop(
    mut cfg_rx: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
    store: store::Handle,
    wake: Arc<Notify>,
    out: LogOut,
    beats: Arc<Heartbeats>,
) {
    let mut cfg = cfg_rx.borrow_and_update().clone();
    let mut client = match delivery_client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return;
        }
    };
    loop {
        beats
            .dispatcher
            .store(dispatch::now_ms(), Ordering::Relaxed);
        if *stop.borrow() {
            break;
        }
        let next = match dispatch::round(&cfg, &client, &store, &out).await {
            Ok(r) => r.next_due_ms,
            Err(e) => {
                tracing::error!(error = %e, "delivery round failed");
                None
            }
        };
        beats
            .dispatcher
            .store(dispatch::now_ms(), Ordering::Relaxed);
        let idle = beats.max_idle.as_millis() as i64;
        let wait = next.map_or(idle, |t| (t - dispatch::now_ms()).clamp(10, idle)) as u64;
        tokio::select! {
            _ = stop.changed() => {}
            _ = wake.notified() => {}
            changed = cfg_rx.changed() => {
                if changed.is_err() { break; }
                cfg = cfg_rx.borrow_and_update().clone();
                if let Ok(c) = delivery_client(&cfg) { client = c; }
            }
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}

/// The HTTP client for sinks (per-sink timeouts are set per request).
pub fn delivery_client(cfg: &Config) -> Result<reqwest::Client, String> {
    fetch::build_client(
        &cfg.http.user_agent,
        Duration::from_secs(120),
        cfg.http.connect_timeout,
    )
}
