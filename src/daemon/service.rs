//! The long-running daemon (`newswatch run`): its main loop. It starts the
//! supervised tasks (the scheduler in `scheduler.rs`, the dispatcher in
//! `dispatch.rs`, and a watch on the store's threads), obeys [`Control`]s
//! (stop, reload), and tells systemd READY, RELOADING, STOPPING, STATUS and
//! WATCHDOG. Any supervised task or thread that ends before shutdown was
//! asked for ends `run` with an error naming it (exit 1, so that systemd
//! restarts the daemon).
//!
//! Config is an immutable `Arc<Config>` published on a `watch` channel; a
//! reload builds a new one with the same code as start-up and swaps it in,
//! or keeps the old one when the new one is broken.
//!
//! `run` takes its controls and its shutdown token from the caller, so a
//! test drives it in-process (tokio's paused clock included) exactly as
//! the binary does with signals.

use super::control::Control;
use super::dispatch::{self, LogOut};
use super::supervise::Supervisor;
use crate::config::{self, Config};
use crate::fetch;
use crate::store;
use sd_notify::NotifyState;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Options of `newswatch run`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The config file, re-read on SIGHUP.
    pub config_path: PathBuf,
    /// How long SIGTERM waits for in-flight polls and deliveries.
    pub shutdown_grace: Duration,
}

/// How long a daemon that lost a task waits for the others before it
/// exits (its store may be gone; there is little left to finish).
const FATAL_GRACE: Duration = Duration::from_secs(2);

/// Progress marks for the watchdog: Unix ms of each loop's last pass, and
/// the longest a loop may sleep (short enough for the watchdog, long enough
/// that an idle daemon costs no measurable CPU).
pub(crate) struct Heartbeats {
    pub(crate) scheduler: AtomicI64,
    pub(crate) dispatcher: AtomicI64,
    pub(crate) max_idle: Duration,
    /// Unix s of the last finished poll (0: none yet), for STATUS.
    pub(crate) last_poll: AtomicI64,
    /// Feeds whose last poll failed, for STATUS.
    pub(crate) failing: AtomicUsize,
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "cannot notify systemd");
    }
}

/// Runs until a [`Control::Stop`] arrives on `controls` (or `shutdown` is
/// cancelled), then stops within the grace period and returns `Ok`. If a
/// supervised task or thread dies first, it returns the error naming it.
pub(crate) async fn run(
    opts: Options,
    initial: Config,
    store: store::Handle,
    mut controls: mpsc::UnboundedReceiver<Control>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let initial = Arc::new(initial);
    let (cfg_tx, cfg_rx) = watch::channel(Arc::clone(&initial));
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

    let mut sup = Supervisor::new(shutdown.clone());
    sup.spawn(
        "scheduler",
        super::scheduler::schedule_loop(
            cfg_rx.clone(),
            shutdown.clone(),
            store.clone(),
            Arc::clone(&wake_dispatch),
            Arc::clone(&beats),
        ),
    );
    sup.spawn(
        "dispatcher",
        dispatch::dispatch_loop(
            cfg_rx.clone(),
            shutdown.clone(),
            store.clone(),
            Arc::clone(&wake_dispatch),
            out,
            Arc::clone(&beats),
        ),
    );
    {
        let store = store.clone();
        sup.watch(async move {
            let (what, why) = store.stopped().await;
            super::supervise::Death { what, why }
        });
    }

    let feeds = initial.feeds.iter().filter(|f| f.enabled).count();
    tracing::info!(feeds, sinks = initial.sinks.len(), watches = initial.rules.watches().len(), database = %initial.storage.path.display(), "newswatch running");
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&format!("watching {feeds} feeds")),
    ]);

    let mut dog = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    dog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status_tick = tokio::time::interval(Duration::from_secs(30));
    let mut fatal = None;
    let mut controls_open = true;
    loop {
        tokio::select! {
            c = controls.recv(), if controls_open => match c {
                Some(Control::Stop(sig)) => { tracing::info!("{sig}: stopping"); break; }
                Some(Control::Reload) => reload_now(&opts, &cfg_tx),
                // Nobody can send controls any more: only the token stops us.
                None => controls_open = false,
            },
            _ = shutdown.cancelled() => { tracing::info!("stopping"); break; }
            death = sup.death() => { fatal = Some(death); break; }
            _ = dog.tick(), if watchdog.is_some() => {
                let limit = watchdog.map_or(0, |d| d.as_millis() as i64);
                let now = dispatch::now_ms();
                let fresh = |a: &AtomicI64| now - a.load(Ordering::Relaxed) < limit;
                // A long drain of a backlog counts as progress while each
                // step (a batch, an attempt) still finishes. Every task is
                // alive here: a death ends the loop before this tick.
                let delivering = now - dispatch::last_step_ms() < limit;
                if fresh(&beats.scheduler) && (fresh(&beats.dispatcher) || delivering) {
                    notify(&[NotifyState::Watchdog]);
                } else {
                    tracing::warn!("a loop has stopped making progress; not petting the watchdog");
                }
            }
            _ = status_tick.tick() => {
                let pending = store.pending_count().await.unwrap_or(0);
                let n = cfg_tx.borrow().feeds.iter().filter(|f| f.enabled).count();
                notify(&[NotifyState::Status(&status_line(n, &beats, pending))]);
            }
        }
    }
    notify(&[NotifyState::Stopping]);
    let grace = if fatal.is_some() {
        opts.shutdown_grace.min(FATAL_GRACE)
    } else {
        opts.shutdown_grace
    };
    if !sup.shutdown(grace).await && fatal.is_none() {
        tracing::warn!(grace = ?grace, "in-flight work did not finish in time; the outbox keeps what was not delivered");
    }
    if let Some(death) = fatal {
        anyhow::bail!("{death}; exiting so that the service manager restarts newswatch");
    }
    // Fold the WAL into the database before exiting.
    if let Err(e) = store.checkpoint().await {
        tracing::warn!(error = %e, "could not fold the database log back into the file");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Re-reads the configuration and publishes it, or keeps the running one.
fn reload_now(opts: &Options, cfg_tx: &watch::Sender<Arc<Config>>) {
    let ts = NotifyState::monotonic_usec_now().ok();
    let mut states = vec![NotifyState::Reloading];
    states.extend(ts);
    notify(&states);
    let current = cfg_tx.borrow().clone();
    match reload(opts, &current) {
        Ok(new) => {
            let n = new.feeds.iter().filter(|f| f.enabled).count();
            tracing::info!(
                feeds = n,
                sinks = new.sinks.len(),
                watches = new.rules.watches().len(),
                "configuration reloaded"
            );
            let _ = cfg_tx.send(Arc::new(new));
            notify(&[
                NotifyState::Ready,
                NotifyState::Status(&format!("watching {n} feeds (reloaded)")),
            ]);
        }
        Err(msg) => {
            tracing::error!("reload failed; keeping the running configuration:\n{msg}");
            let first = msg.lines().nth(1).unwrap_or(&msg).to_string();
            notify(&[
                NotifyState::Ready,
                NotifyState::Status(&format!("reload failed: {first}")),
            ]);
        }
    }
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

/// The HTTP client for sinks (per-sink timeouts are set per request).
pub(crate) fn delivery_client(cfg: &Config) -> Result<reqwest::Client, String> {
    fetch::build_client(
        &cfg.http.user_agent,
        Duration::from_secs(120),
        cfg.http.connect_timeout,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run` driven in-process as the binary drives it, on tokio's paused
    /// clock: a reload (a broken one keeps the running config), minutes of
    /// idle time in an instant, then a stop that returns `Ok`.
    #[tokio::test(start_paused = true)]
    async fn run_obeys_controls_on_a_paused_clock() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("newswatch.toml");
        let db = dir.path().join("nw.db");
        let good = format!(
            "[storage]\npath = \"{}\"\n[[sink]]\nname = \"c\"\nkind = \"log\"\n",
            db.display()
        );
        std::fs::write(&cfg_path, &good).unwrap();
        let cfg = config::load(&cfg_path).unwrap();
        let store = store::Handle::open(&db).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let opts = Options {
            config_path: cfg_path.clone(),
            shutdown_grace: Duration::from_secs(5),
        };
        let token = CancellationToken::new();
        let daemon = tokio::spawn(run(opts, cfg, store.clone(), rx, token));
        std::fs::write(&cfg_path, "[storage\n").unwrap();
        tx.send(Control::Reload).unwrap();
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!daemon.is_finished(), "a broken reload keeps it running");
        std::fs::write(&cfg_path, &good).unwrap();
        tx.send(Control::Reload).unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(Control::Stop("test")).unwrap();
        // (No timeout around it: on a paused clock, time jumps ahead while
        // the store thread works, and any timeout would fire at once.)
        let r = daemon.await.expect("no panic");
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(store.pending_count().await.unwrap(), 0);
    }
}
