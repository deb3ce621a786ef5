//! Draining the alert outbox: each sink's due alerts are tried in the
//! order they were detected, sinks in parallel. A failed alert waits for
//! its own retry (backoff, or the receiver's `Retry-After` up to
//! `retry_after_max`) and holds back no other; after 5 failed attempts in
//! a row a sink is down for the round, and its first success after that
//! makes its whole backlog due at once. Dead after `max_attempts`. Every
//! outcome is recorded in the store before the next alert of that sink is
//! tried.

use crate::alert::{self, Delivery};
use crate::config::{Config, SinkConfig, SinkKind};
use crate::store::{self, PendingAlert};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where `log` sinks write (stdout in the binary, a buffer in tests).
pub(crate) type LogOut = Arc<Mutex<dyn Write + Send>>;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Round {
    /// Alerts delivered.
    pub delivered: usize,
    /// Failed attempts (retried later or dead).
    pub failed: usize,
    /// Alerts that became dead.
    pub dead: usize,
    /// The earliest time (Unix ms) a pending alert becomes due, if any remain.
    pub next_due_ms: Option<i64>,
}

/// Current Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One pass over every sink's queue: delivers what is due, in order.
pub(crate) async fn round(
    cfg: &Arc<Config>,
    client: &reqwest::Client,
    store: &store::Handle,
    out: &LogOut,
) -> Result<Round, store::StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for sink in cfg.sinks.clone() {
        let (store, client, out) = (store.clone(), client.clone(), Arc::clone(out));
        tasks.spawn(async move { drain_sink(&sink, &client, &store, &out).await });
    }
    let mut total = Round::default();
    while let Some(r) = tasks.join_next().await {
        let r = match r {
            Ok(r) => r?,
            Err(e) => {
                tracing::error!(error = %e, "a delivery task failed");
                continue;
            }
        };
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.dead += r.dead;
        total.next_due_ms = match (total.next_due_ms, r.next_due_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(total)
}

/// Unix ms of the last step any sink's delivery made (a batch read or an
/// attempt finished): the watchdog's proof that a long drain is alive.
static LAST_STEP_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// When the delivery side last made a step (see [`LAST_STEP_MS`]).
pub(crate) fn last_step_ms() -> i64 {
    LAST_STEP_MS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Consecutive failed attempts (of any alerts) after which a sink counts
/// as down for the rest of a round.
const DOWN_AFTER: u32 = 5;

/// While a sink is down, how soon it is tried again at the latest.
const PROBE_EVERY_MS: i64 = 10_000;

/// Each sink's consecutive failed attempts and the time of the last one
/// (Unix ms), across rounds.
type Streaks = HashMap<String, (u32, i64)>;
static STREAKS: std::sync::Mutex<Option<Streaks>> = std::sync::Mutex::new(None);

fn streak(sink: &str, f: impl FnOnce(&mut (u32, i64))) -> (u32, i64) {
    let mut g = STREAKS.lock().unwrap_or_else(|e| e.into_inner());
    let n = g
        .get_or_insert_with(HashMap::new)
        .entry(sink.to_string())
        .or_insert((0, 0));
    f(n);
    *n
}

async fn drain_sink(
    sink: &SinkConfig,
    client: &reqwest::Client,
    store: &store::Handle,
    out: &LogOut,
) -> Result<Round, store::StoreError> {
    let mut r = Round::default();
    let soonest = |r: &mut Round, t: i64| {
        r.next_due_ms = Some(r.next_due_ms.map_or(t, |n| n.min(t)));
    };
    // Down (its last 5 attempts failed): tried again once 10 s have passed
    // since the last failure, not on every wake-up.
    let (failed_in_a_row, last_failure) = streak(&sink.name, |_| {});
    let probe_at = last_failure.saturating_add(PROBE_EVERY_MS);
    if failed_in_a_row >= DOWN_AFTER && now_ms() < probe_at {
        soonest(&mut r, probe_at);
        return Ok(r);
    }
    loop {
        LAST_STEP_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
        // Only what is due: an alert waiting for its retry holds back no
        // other (ordering is best effort; bodies carry `detected_at`).
        let queue = store.sink_queue(&sink.name, now_ms(), 50).await?;
        if queue.is_empty() {
            if let Some(t) = store.sink_next_due(&sink.name).await? {
                soonest(&mut r, t);
            }
            return Ok(r);
        }
        let full = queue.len() == 50;
        // Rate limit and digest windows: group what is due into one message.
        let due: Vec<&PendingAlert> = queue.iter().collect();
        match group_now(sink, due.len()) {
            Grouping::Wait(until) => {
                soonest(&mut r, until);
                return Ok(r);
            }
            Grouping::Digest if !due.is_empty() => {
                let outcome = deliver_digest(sink, client, out, &due).await;
                let now = now_ms();
                let ids: Vec<String> = due.iter().map(|a| a.id.clone()).collect();
                match outcome {
                    Delivery::Delivered => {
                        pace_record(&sink.name);
                        streak(&sink.name, |n| n.0 = 0);
                        let n = ids.len();
                        store.mark_delivered(ids, now / 1000).await?;
                        r.delivered += n;
                        tracing::info!(sink = %sink.name, alerts = n, "digest delivered");
                        continue;
                    }
                    Delivery::Retry { error, after } => {
                        r.failed += ids.len();
                        streak(&sink.name, |n| *n = (n.0 + 1, now));
                        let first = due[0].attempts;
                        let d = retry_delay(sink, first, after);
                        let dead = first + 1 >= sink.max_attempts;
                        let retry_at = (!dead).then(|| alert::after_ms(now, d));
                        tracing::warn!(sink = %sink.name, alerts = ids.len(), error = %error, "digest delivery failed");
                        store.mark_failed(ids, now / 1000, &error, retry_at).await?;
                        if let Some(t) = store.sink_next_due(&sink.name).await? {
                            soonest(&mut r, t);
                        }
                        return Ok(r);
                    }
                }
            }
            _ => {}
        }
        for a in queue {
            let now = now_ms();
            let outcome = deliver(sink, client, out, &a).await;
            let id = a.id.clone();
            match outcome {
                Delivery::Delivered => {
                    pace_record(&sink.name);
                    store.mark_delivered(vec![id], now / 1000).await?;
                    r.delivered += 1;
                    tracing::info!(sink = %sink.name, alert = %a.id, title = %a.article.title, "alert delivered");
                    // Back after being down: the whole backlog is due now
                    // and goes out in detection order.
                    let (was, _) = streak(&sink.name, |n| n.0 = 0);
                    if was >= DOWN_AFTER {
                        let n = store.release_backlog(&sink.name, now_ms()).await?;
                        tracing::info!(sink = %sink.name, backlog = n, "sink is back; its backlog is due now");
                        break;
                    }
                }
                Delivery::Retry { error, after } => {
                    r.failed += 1;
                    let attempts = a.attempts + 1;
                    let retry_at = if attempts >= sink.max_attempts {
                        r.dead += 1;
                        tracing::error!(sink = %sink.name, alert = %a.id, attempts, error = %error, "alert is dead after its last attempt");
                        None
                    } else {
                        let d = retry_delay(sink, a.attempts, after);
                        tracing::warn!(sink = %sink.name, alert = %a.id, attempts, error = %error, retry_in = ?d, "delivery failed; will retry");
                        Some(alert::after_ms(now, d))
                    };
                    store
                        .mark_failed(vec![id], now / 1000, &error, retry_at)
                        .await?;
                    if let Some(t) = retry_at {
                        soonest(&mut r, t);
                    }
                    let failed_at = now_ms();
                    if streak(&sink.name, |n| *n = (n.0 + 1, failed_at)).0 >= DOWN_AFTER {
                        // Down: no more attempts until PROBE_EVERY_MS has
                        // passed, however many alerts are due.
                        tracing::warn!(sink = %sink.name, "sink is down after {DOWN_AFTER} failed attempts in a row; trying it again in 10 s");
                        r.next_due_ms = Some(failed_at.saturating_add(PROBE_EVERY_MS));
                        return Ok(r);
                    }
                }
            }
        }
        if !full {
            if let Some(t) = store.sink_next_due(&sink.name).await? {
                soonest(&mut r, t);
            }
            return Ok(r);
        }
    }
}

/// How long to wait after a sink's failed attempt: the backoff, or the
/// receiver's `Retry-After` up to `retry_after_max` (a longer one is
/// clamped, and said).
fn retry_delay(sink: &SinkConfig, attempts: u32, after: Option<Duration>) -> Duration {
    if let Some(ra) = after.filter(|ra| *ra > sink.retry_after_max) {
        tracing::warn!(sink = %sink.name, asked_s = ra.as_secs(), used_s = sink.retry_after_max.as_secs(), "the receiver's Retry-After is longer than retry_after_max; clamped");
    }
    alert::backoff(
        attempts,
        sink.retry_base,
        sink.retry_max,
        after,
        sink.retry_after_max,
    )
}

/// Writes a `log` sink's text to its output.
fn write_log(out: &LogOut, text: &str) -> Delivery {
    let res = out
        .lock()
        .map_err(|_| std::io::Error::other("log output poisoned"))
        .and_then(|mut o| {
            o.write_all(text.as_bytes())?;
            o.flush()
        });
    match res {
        Ok(()) => Delivery::Delivered,
        Err(e) => Delivery::Retry {
            error: format!("cannot write: {e}"),
            after: None,
        },
    }
}

/// What a sink's pace allows now.
enum Grouping {
    /// Send one message per alert.
    Single,
    /// Send everything due as one digest.
    Digest,
    /// Nothing may go out before this time (Unix ms).
    Wait(i64),
}

/// Messages sent per sink in this process (for `max_per_minute` and
/// `digest` windows): send times, newest last.
fn pace() -> &'static Mutex<HashMap<String, std::collections::VecDeque<i64>>> {
    static PACE: std::sync::OnceLock<Mutex<HashMap<String, std::collections::VecDeque<i64>>>> =
        std::sync::OnceLock::new();
    PACE.get_or_init(Mutex::default)
}

fn pace_record(sink: &str) {
    if let Ok(mut p) = pace().lock() {
        let q = p.entry(sink.to_string()).or_default();
        q.push_back(now_ms());
        while q.len() > 1000 {
            q.pop_front();
        }
    }
}

fn group_now(sink: &SinkConfig, due: usize) -> Grouping {
    let now = now_ms();
    let sent: Vec<i64> = pace()
        .lock()
        .ok()
        .and_then(|p| p.get(&sink.name).map(|q| q.iter().copied().collect()))
        .unwrap_or_default();
    if let Some(window) = sink.digest {
        let w = window.as_millis() as i64;
        return match sent.last() {
            Some(&last) if now - last < w => Grouping::Wait(last + w),
            _ => Grouping::Digest,
        };
    }
    if let Some(max) = sink.max_per_minute {
        let recent: Vec<i64> = sent.into_iter().filter(|&t| now - t < 60_000).collect();
        let budget = (max as usize).saturating_sub(recent.len());
        if budget == 0 {
            return Grouping::Wait(recent.first().map_or(now + 1000, |t| t + 60_000));
        }
        if due > budget {
            return Grouping::Digest;
        }
    }
    Grouping::Single
}

/// The Idempotency-Key of a digest: derived from the ids it carries.
pub(crate) fn digest_key(ids: &[&str]) -> String {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    let joined = sorted.join("\n");
    crate::text::hex_digest(&[b"digest\n", joined.as_bytes()])[..32].to_string()
}

async fn deliver_digest(
    sink: &SinkConfig,
    client: &reqwest::Client,
    out: &LogOut,
    alerts: &[&PendingAlert],
) -> Delivery {
    // Each alert's watches as routed at ingest.
    let routed: Vec<Vec<&crate::model::WatchMatch>> =
        alerts.iter().map(|a| a.matches.iter().collect()).collect();
    let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    let key = digest_key(&ids);
    match sink.kind {
        SinkKind::Log => {
            let mut text = format!("DIGEST {} alerts (key {key})\n", alerts.len());
            for (a, w) in alerts.iter().zip(&routed) {
                text.push_str(&alert::render_log(a, w));
            }
            write_log(out, &text)
        }
        SinkKind::Webhook => {
            alert::deliver_webhook_digest(client, sink, &key, alerts, &routed, now_ms() / 1000)
                .await
        }
        _ => crate::sinks::deliver_digest(client, sink, &key, alerts, &routed).await,
    }
}

async fn deliver(
    sink: &SinkConfig,
    client: &reqwest::Client,
    out: &LogOut,
    a: &PendingAlert,
) -> Delivery {
    LAST_STEP_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    // The watches routed to this sink when the alert was queued.
    let watches: Vec<&crate::model::WatchMatch> = a.matches.iter().collect();
    let now = now_ms() / 1000;
    match sink.kind {
        SinkKind::Log => {
            let text = alert::render_log(a, &watches);
            write_log(out, &text)
        }
        SinkKind::Webhook => alert::deliver_webhook(client, sink, a, &watches, now).await,
        SinkKind::Slack
        | SinkKind::Discord
        | SinkKind::Teams
        | SinkKind::Telegram
        | SinkKind::Ntfy => crate::sinks::deliver(client, sink, a, &watches).await,
    }
}

/// Delivers until nothing pending is due within `bound`: sleeps for
/// retries that fall inside the bound, stops at the bound or on `stop`.
pub(crate) async fn until_idle(
    cfg: &Arc<Config>,
    client: &reqwest::Client,
    store: &store::Handle,
    out: &LogOut,
    bound: Duration,
) -> Result<Round, store::StoreError> {
    let deadline = alert::after_ms(now_ms(), bound);
    let mut total = Round::default();
    loop {
        let r = round(cfg, client, store, out).await?;
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.dead += r.dead;
        total.next_due_ms = r.next_due_ms;
        match r.next_due_ms {
            Some(t) if t < deadline => {
                let wait = (t - now_ms()).max(0) as u64;
                tokio::time::sleep(Duration::from_millis(wait.max(10))).await;
            }
            _ => return Ok(total),
        }
    }
}

/// Sends a clearly marked test alert through `sink`, outside the outbox.
pub(crate) async fn send_test(sink: &SinkConfig, client: &reqwest::Client) -> Delivery {
    use crate::model::{Field, Severity, TermHit, WatchMatch};
    let now = now_ms() / 1000;
    let alert = PendingAlert {
        id: format!("test-{now}"),
        attempts: 0,
        created_at: now,
        article: crate::store::StoredArticle {
            title: "TEST — newswatch test message, not a real alert".into(),
            url: None,
            published: Some(now),
            lang: Some("en".into()),
            summary: "If you can read this, the sink works.".into(),
            feed_name: "newswatch alerts test".into(),
            feed_url: "about:newswatch-test".into(),
        },
        matches: vec![WatchMatch {
            watch: "test".into(),
            severity: Severity::Low,
            score: 0.0,
            terms: vec![TermHit {
                term: "test".into(),
                field: Field::Title,
                count: 1,
            }],
            snippet: "This is a «test» message from newswatch.".into(),
        }],
        also_seen_in: Vec::new(),
    };
    let out: LogOut = Arc::new(Mutex::new(std::io::stdout()));
    deliver(sink, client, &out, &alert).await
}

/// The dispatcher loop of `run`: one delivery round per wake-up (alerts
/// queued, the next retry due, a reload), until `stop` is cancelled.
pub(crate) async fn dispatch_loop(
    mut cfg_rx: tokio::sync::watch::Receiver<Arc<Config>>,
    stop: tokio_util::sync::CancellationToken,
    store: store::Handle,
    wake: Arc<tokio::sync::Notify>,
    out: LogOut,
    beats: Arc<super::service::Heartbeats>,
) {
    use std::sync::atomic::Ordering;
    let mut cfg = cfg_rx.borrow_and_update().clone();
    let mut client = match super::service::delivery_client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            // The supervisor reports the loop's end; say why first.
            tracing::error!("{e}");
            return;
        }
    };
    loop {
        beats.dispatcher.store(now_ms(), Ordering::Relaxed);
        crate::fault::hit("dispatcher", "");
        if stop.is_cancelled() {
            break;
        }
        let next = match round(&cfg, &client, &store, &out).await {
            Ok(r) => r.next_due_ms,
            Err(e) => {
                tracing::error!(error = %e, "delivery round failed");
                None
            }
        };
        beats.dispatcher.store(now_ms(), Ordering::Relaxed);
        let idle = beats.max_idle.as_millis() as i64;
        let wait = next.map_or(idle, |t| (t - now_ms()).clamp(10, idle)) as u64;
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = wake.notified() => {}
            changed = cfg_rx.changed() => {
                if changed.is_err() { break; }
                cfg = cfg_rx.borrow_and_update().clone();
                match super::service::delivery_client(&cfg) {
                    Ok(c) => client = c,
                    Err(e) => tracing::error!("{e}"),
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}
