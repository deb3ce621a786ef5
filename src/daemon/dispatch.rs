//! Draining the alert outbox: each sink's due alerts are tried in the
//! order they were detected, sinks in parallel. A failed alert waits for
//! its own retry (backoff, or the receiver's `Retry-After` up to
//! `retry_after_max`) and holds back no other; after 5 failed attempts in
//! a row a sink is down for the round, and its first success after that
//! makes its whole backlog due at once. Dead after `max_attempts`. Every
//! outcome is recorded in the store before the next alert of that sink is
//! tried.

use crate::alert::{self, Delivery, FailKind};
use crate::config::{Config, SinkConfig, SinkKind};
use crate::store::{self, AttemptEnd, PendingAlert, SinkCondition, SinkHealth};
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
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One pass over every sink's queue, sinks in parallel: delivers what is
/// due, in order. Nothing is started after `deadline_ms`.
pub(crate) async fn round(
    cfg: &Arc<Config>,
    client: &reqwest::Client,
    store: &store::Handle,
    out: &LogOut,
    deadline_ms: i64,
) -> Result<Round, store::StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for sink in cfg.sinks.clone() {
        let (store, client, out) = (store.clone(), client.clone(), Arc::clone(out));
        tasks.spawn(async move {
            let ctx = SinkCtx {
                sink: &sink,
                client: &client,
                store: &store,
                out: &out,
                deadline_ms,
            };
            drain_sink(&ctx).await
        });
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
        total.add(&r);
    }
    Ok(total)
}

impl Round {
    fn add(&mut self, r: &Round) {
        self.delivered += r.delivered;
        self.failed += r.failed;
        self.dead += r.dead;
        self.next_due_ms = match (self.next_due_ms, r.next_due_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn soonest(&mut self, t: i64) {
        self.next_due_ms = Some(self.next_due_ms.map_or(t, |n| n.min(t)));
    }
}

/// Unix ms of the last step any sink's delivery made (a batch read or an
/// attempt finished): the watchdog's proof that a long drain is alive.
static LAST_STEP_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// When the delivery side last made a step (see [`LAST_STEP_MS`]).
pub(crate) fn last_step_ms() -> i64 {
    LAST_STEP_MS.load(std::sync::atomic::Ordering::Relaxed)
}

fn step() {
    LAST_STEP_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
}

/// Consecutive failed attempts (of any alerts) after which a sink is down.
const DOWN_AFTER: u32 = 5;

/// Time without a success, while attempts fail, after which a sink is down.
const DOWN_AFTER_MS: i64 = 60_000;

/// While a sink is down or failing, the time between two probes.
const PROBE_EVERY_MS: i64 = 10_000;

/// Attempts a rejected alert (400, 413, 415, 422) gets after its first
/// rejection before it is dead.
const REJECTED_RETRIES: u32 = 2;

/// Alerts read from a sink's queue at a time.
const BATCH: usize = 50;

/// What draining one sink needs.
struct SinkCtx<'a> {
    sink: &'a SinkConfig,
    client: &'a reqwest::Client,
    store: &'a store::Handle,
    out: &'a LogOut,
    /// No attempt starts after this (Unix ms), and none runs past it.
    deadline_ms: i64,
}

/// Whether draining goes on after an attempt.
enum Next {
    /// Take the next alert.
    Go,
    /// Stop this round (the sink is down, failing or disabled).
    Stop,
}

/// One pass over a sink: a probe first if it is down or failing, then its
/// due alerts in detection order.
async fn drain_sink(ctx: &SinkCtx<'_>) -> Result<Round, store::StoreError> {
    let (sink, store) = (ctx.sink, ctx.store);
    let mut r = Round::default();
    let mut h = store.sink_health(&sink.name).await?;
    if h.condition == SinkCondition::Disabled {
        if h.fingerprint.as_deref() == Some(sink.fingerprint().as_str()) {
            // Until `alerts enable` or a reload that changes the sink.
            return Ok(r);
        }
        tracing::info!(sink = %sink.name, "the sink changed since its receiver disabled it; enabled again");
        h = SinkHealth::default();
        store.set_sink_health(&sink.name, h.clone()).await?;
    }
    if matches!(h.condition, SinkCondition::Down | SinkCondition::Failing) {
        let probe_at = h
            .last_failure_ms
            .unwrap_or(0)
            .saturating_add(PROBE_EVERY_MS);
        if now_ms() < probe_at {
            r.soonest(probe_at);
            return Ok(r);
        }
        if now_ms() >= ctx.deadline_ms {
            return Ok(r);
        }
        // One probe: the oldest alert, whatever its retry time. Its failure
        // costs it no attempt.
        let Some(a) = store.sink_oldest(&sink.name).await? else {
            return Ok(r);
        };
        let outcome = deliver(ctx, &a).await;
        let end = now_ms();
        match outcome {
            Delivery::Delivered => {
                store
                    .mark_delivered(vec![a.id.clone()], &sink.name, end)
                    .await?;
                r.delivered += 1;
                back(ctx, &mut h, end).await?;
            }
            Delivery::Failed {
                kind: FailKind::Transient | FailKind::Sink,
                error,
                ..
            } => {
                r.failed += 1;
                store
                    .mark_failed(
                        vec![a.id.clone()],
                        &sink.name,
                        end,
                        &error,
                        AttemptEnd::Uncounted,
                        false,
                    )
                    .await?;
                h.streak = h.streak.saturating_add(1);
                h.last_failure_ms = Some(end);
                h.reason = Some(error);
                store.set_sink_health(&sink.name, h.clone()).await?;
                tracing::debug!(sink = %sink.name, reason = h.reason.as_deref().unwrap_or(""), "probe failed; the sink is still {}", h.condition.as_str());
                r.soonest(end.saturating_add(PROBE_EVERY_MS));
                return Ok(r);
            }
            Delivery::Failed {
                kind: FailKind::Rejected,
                error,
                after,
            } => {
                // The receiver answers: the sink is back, this alert is not.
                back(ctx, &mut h, end).await?;
                let failure = Delivery::Failed {
                    kind: FailKind::Rejected,
                    error,
                    after,
                };
                settle(ctx, &mut h, &[&a], failure, end, &mut r).await?;
            }
            gone @ Delivery::Failed {
                kind: FailKind::Gone,
                ..
            } => {
                settle(ctx, &mut h, &[&a], gone, end, &mut r).await?;
                return Ok(r);
            }
        }
    }
    loop {
        step();
        if now_ms() >= ctx.deadline_ms {
            return Ok(r);
        }
        // Only what is due: an alert waiting for its retry holds back no
        // other (ordering is best effort; bodies carry `detected_at` and
        // `sequence`).
        let queue = store.sink_queue(&sink.name, now_ms(), BATCH).await?;
        if queue.is_empty() {
            if let Some(t) = store.sink_next_due(&sink.name).await? {
                r.soonest(t);
            }
            return Ok(r);
        }
        let full = queue.len() == BATCH;
        // Rate limit and digest windows: group what is due into one message.
        match group_now(sink, store, queue.len()).await? {
            Grouping::Wait(until) => {
                r.soonest(until);
                return Ok(r);
            }
            Grouping::Digest => {
                let due: Vec<&PendingAlert> = queue.iter().collect();
                let outcome = deliver_digest(ctx, &due).await;
                let end = now_ms();
                match settle(ctx, &mut h, &due, outcome, end, &mut r).await? {
                    Next::Go => continue,
                    Next::Stop => return Ok(r),
                }
            }
            Grouping::Single => {}
        }
        for a in &queue {
            if now_ms() >= ctx.deadline_ms {
                return Ok(r);
            }
            let outcome = deliver(ctx, a).await;
            let end = now_ms();
            if let Next::Stop = settle(ctx, &mut h, &[a], outcome, end, &mut r).await? {
                return Ok(r);
            }
        }
        if !full {
            if let Some(t) = store.sink_next_due(&sink.name).await? {
                r.soonest(t);
            }
            return Ok(r);
        }
    }
}

/// A down or failing sink answered: it is ok again and its whole backlog
/// is due now, to go out in detection order.
async fn back(ctx: &SinkCtx<'_>, h: &mut SinkHealth, now: i64) -> Result<(), store::StoreError> {
    let was = h.condition;
    *h = SinkHealth {
        last_success_ms: Some(now),
        since_ms: now,
        ..SinkHealth::default()
    };
    ctx.store.set_sink_health(&ctx.sink.name, h.clone()).await?;
    let n = ctx.store.release_backlog(&ctx.sink.name, now).await?;
    tracing::info!(sink = %ctx.sink.name, backlog = n, "the sink was {} and is back; its backlog is due now", was.as_str());
    Ok(())
}

/// Records how an attempt of `alerts` (one, or a digest) ended, updates
/// the sink's health, and says whether draining goes on.
async fn settle(
    ctx: &SinkCtx<'_>,
    h: &mut SinkHealth,
    alerts: &[&PendingAlert],
    outcome: Delivery,
    end: i64,
    r: &mut Round,
) -> Result<Next, store::StoreError> {
    let (sink, store) = (ctx.sink, ctx.store);
    let ids: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
    let Some(first) = alerts.first() else {
        return Ok(Next::Go);
    };
    let (error, kind, after) = match outcome {
        Delivery::Delivered => {
            store.mark_delivered(ids, &sink.name, end).await?;
            r.delivered += alerts.len();
            if alerts.len() > 1 {
                tracing::info!(sink = %sink.name, alerts = alerts.len(), "digest delivered");
            } else {
                tracing::info!(sink = %sink.name, alert = %first.id, title = %first.article.title, "alert delivered");
            }
            if h.streak > 0 || h.condition != SinkCondition::Ok {
                *h = SinkHealth {
                    last_success_ms: Some(end),
                    since_ms: end,
                    ..SinkHealth::default()
                };
                store.set_sink_health(&sink.name, h.clone()).await?;
            }
            return Ok(Next::Go);
        }
        Delivery::Failed { error, kind, after } => (error, kind, after),
    };
    r.failed += alerts.len();
    match kind {
        FailKind::Gone => {
            store
                .mark_failed(ids, &sink.name, end, &error, AttemptEnd::Uncounted, false)
                .await?;
            *h = SinkHealth {
                condition: SinkCondition::Disabled,
                since_ms: end,
                reason: Some(error),
                last_failure_ms: Some(end),
                fingerprint: Some(sink.fingerprint()),
                ..h.clone()
            };
            store.set_sink_health(&sink.name, h.clone()).await?;
            tracing::error!(sink = %sink.name, "the receiver says the endpoint is gone (410); the sink is disabled and its alerts kept pending until `newswatch alerts enable {}` or a reload that changes the sink", sink.name);
            Ok(Next::Stop)
        }
        FailKind::Sink => {
            // Credentials or address: the sink's fault, not the alert's.
            store
                .mark_failed(ids, &sink.name, end, &error, AttemptEnd::Uncounted, false)
                .await?;
            *h = SinkHealth {
                condition: SinkCondition::Failing,
                since_ms: end,
                reason: Some(error.clone()),
                streak: h.streak.saturating_add(1),
                first_failure_ms: h.first_failure_ms.or(Some(end)),
                last_failure_ms: Some(end),
                ..h.clone()
            };
            store.set_sink_health(&sink.name, h.clone()).await?;
            tracing::error!(sink = %sink.name, error = %error, "the sink refuses its credentials or address; no alert loses an attempt to it; probing it every 10 s");
            r.soonest(end.saturating_add(PROBE_EVERY_MS));
            Ok(Next::Stop)
        }
        FailKind::Rejected => {
            // The receiver is alive and refuses this alert: it gets two
            // more attempts, then it is dead with the receiver's answer.
            // Each alert of a digest by its own count.
            for a in alerts {
                let rejections = a.rejections.saturating_add(1);
                let attempts = a.attempts.saturating_add(1);
                let end_of = if rejections > REJECTED_RETRIES || attempts >= sink.max_attempts() {
                    r.dead += 1;
                    tracing::error!(sink = %sink.name, alert = %a.id, error = %error, "the receiver rejected the alert {rejections} times; it is dead");
                    AttemptEnd::Dead
                } else {
                    let d = retry_delay(sink, a.attempts, after);
                    tracing::warn!(sink = %sink.name, alert = %a.id, error = %error, retry_in = ?d, "the receiver rejected the alert; will retry");
                    let t = alert::after_ms(end, d);
                    r.soonest(t);
                    AttemptEnd::Retry(t)
                };
                store
                    .mark_failed(vec![a.id.clone()], &sink.name, end, &error, end_of, true)
                    .await?;
            }
            if h.streak > 0 {
                *h = SinkHealth {
                    last_success_ms: h.last_success_ms,
                    since_ms: end,
                    ..SinkHealth::default()
                };
                store.set_sink_health(&sink.name, h.clone()).await?;
            }
            Ok(Next::Go)
        }
        FailKind::Transient => {
            // Each alert of a digest by its own count.
            for a in alerts {
                let attempts = a.attempts.saturating_add(1);
                let end_of = if attempts >= sink.max_attempts() {
                    r.dead += 1;
                    tracing::error!(sink = %sink.name, alert = %a.id, attempts, error = %error, "alert is dead after its last attempt");
                    AttemptEnd::Dead
                } else {
                    let d = retry_delay(sink, a.attempts, after);
                    tracing::warn!(sink = %sink.name, alert = %a.id, attempts, error = %error, retry_in = ?d, "delivery failed; will retry");
                    let t = alert::after_ms(end, d);
                    r.soonest(t);
                    AttemptEnd::Retry(t)
                };
                store
                    .mark_failed(vec![a.id.clone()], &sink.name, end, &error, end_of, false)
                    .await?;
            }
            if let Some(reason) = failed_once_more(h, end, &error) {
                h.condition = SinkCondition::Down;
                h.since_ms = end;
                tracing::warn!(sink = %sink.name, reason = %reason, "the sink is down; probing it every 10 s with one alert at a time");
                h.reason = Some(reason);
                store.set_sink_health(&sink.name, h.clone()).await?;
                r.soonest(end.saturating_add(PROBE_EVERY_MS));
                return Ok(Next::Stop);
            }
            store.set_sink_health(&sink.name, h.clone()).await?;
            Ok(Next::Go)
        }
    }
}

/// Counts a transient failure at `end` in the sink's health; says why the
/// sink is now down, if it is (5 failures in a row, or 60 s of failures
/// without a success).
fn failed_once_more(h: &mut SinkHealth, end: i64, error: &str) -> Option<String> {
    h.streak = h.streak.saturating_add(1);
    let since = *h.first_failure_ms.get_or_insert(end);
    h.last_failure_ms = Some(end);
    let failing_for = end.saturating_sub(since);
    if h.streak >= DOWN_AFTER {
        Some(format!(
            "{} failed attempts in a row; last: {error}",
            h.streak
        ))
    } else if failing_for >= DOWN_AFTER_MS {
        Some(format!(
            "no success for {} s; last: {error}",
            failing_for / 1000
        ))
    } else {
        None
    }
}

/// How long to wait after a sink's failed attempt: the next step of its
/// schedule, or the receiver's `Retry-After` up to `retry_after_max` (a
/// longer one is clamped, and said).
fn retry_delay(sink: &SinkConfig, attempts: u32, after: Option<Duration>) -> Duration {
    if let Some(ra) = after.filter(|ra| *ra > sink.retry_after_max) {
        tracing::warn!(sink = %sink.name, asked_s = ra.as_secs(), used_s = sink.retry_after_max.as_secs(), "the receiver's Retry-After is longer than retry_after_max; clamped");
    }
    alert::backoff(attempts, &sink.retry, after, sink.retry_after_max)
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
        Err(e) => Delivery::transient(format!("cannot write: {e}")),
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

/// What the sink's pace allows now, from the messages it recorded as sent
/// (so budgets and digest windows hold across restarts).
async fn group_now(
    sink: &SinkConfig,
    store: &store::Handle,
    due: usize,
) -> Result<Grouping, store::StoreError> {
    let now = now_ms();
    if let Some(window) = sink.digest {
        let w = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        return Ok(match store.sink_last_sent(&sink.name).await? {
            Some(last) if now.saturating_sub(last) < w => Grouping::Wait(last.saturating_add(w)),
            _ => Grouping::Digest,
        });
    }
    if let Some(max) = sink.max_per_minute {
        let recent = store.sink_sent_since(&sink.name, now - 60_000).await?;
        let budget = (max as usize).saturating_sub(recent.len());
        if budget == 0 {
            return Ok(Grouping::Wait(
                recent.first().map_or(now + 1000, |t| t + 60_000),
            ));
        }
        if due > budget {
            return Ok(Grouping::Digest);
        }
    }
    Ok(Grouping::Single)
}

/// The Idempotency-Key of a digest: derived from the ids it carries.
pub(crate) fn digest_key(ids: &[&str]) -> String {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    let joined = sorted.join("\n");
    crate::text::hex_digest(&[b"digest\n", joined.as_bytes()])[..32].to_string()
}

/// The sink as an attempt starting now may use it: its `timeout` cut to
/// what is left before the deadline.
fn bounded<'a>(ctx: &SinkCtx<'a>) -> std::borrow::Cow<'a, SinkConfig> {
    let left = ctx.deadline_ms.saturating_sub(now_ms()).max(1);
    let left = Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX));
    if left < ctx.sink.timeout {
        let mut s = ctx.sink.clone();
        s.timeout = left;
        std::borrow::Cow::Owned(s)
    } else {
        std::borrow::Cow::Borrowed(ctx.sink)
    }
}

async fn deliver_digest(ctx: &SinkCtx<'_>, alerts: &[&PendingAlert]) -> Delivery {
    step();
    let sink = bounded(ctx);
    let (client, out) = (ctx.client, ctx.out);
    let sink: &SinkConfig = &sink;
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
        SinkKind::Email => crate::email::deliver(sink, &key, alerts, &routed).await,
        _ => crate::sinks::deliver_digest(client, sink, &key, alerts, &routed).await,
    }
}

async fn deliver(ctx: &SinkCtx<'_>, a: &PendingAlert) -> Delivery {
    step();
    let d = deliver_one(&bounded(ctx), ctx.client, ctx.out, a).await;
    step();
    d
}

async fn deliver_one(
    sink: &SinkConfig,
    client: &reqwest::Client,
    out: &LogOut,
    a: &PendingAlert,
) -> Delivery {
    // The watches routed to this sink when the alert was queued.
    let watches: Vec<&crate::model::WatchMatch> = a.matches.iter().collect();
    let now = now_ms() / 1000;
    match sink.kind {
        SinkKind::Log => {
            let text = alert::render_log(a, &watches);
            write_log(out, &text)
        }
        SinkKind::Webhook => alert::deliver_webhook(client, sink, a, &watches, now).await,
        SinkKind::Email => {
            crate::email::deliver(sink, &a.id, &[a], std::slice::from_ref(&watches)).await
        }
        SinkKind::Slack
        | SinkKind::Discord
        | SinkKind::Teams
        | SinkKind::Telegram
        | SinkKind::Ntfy => crate::sinks::deliver(client, sink, a, &watches).await,
    }
}

/// Delivers until nothing pending is due within `bound`: sleeps for
/// retries that fall inside the bound, and starts nothing after it (an
/// attempt under way is cut at it), so `bound` holds for the whole phase.
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
        let r = round(cfg, client, store, out, deadline).await?;
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.dead += r.dead;
        total.next_due_ms = r.next_due_ms;
        match r.next_due_ms {
            Some(t) if t < deadline && now_ms() < deadline => {
                let wait = (t - now_ms()).clamp(10, (deadline - now_ms()).max(10));
                tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(10))).await;
            }
            _ => return Ok(total),
        }
    }
}

/// Sends a clearly marked test alert through `sink`, outside the outbox.
pub(crate) async fn send_test(sink: &SinkConfig, client: &reqwest::Client) -> Delivery {
    use crate::model::{Field, Severity, TermHit, WatchMatch};
    let now = now_ms();
    let alert = PendingAlert {
        id: format!("test-{}", now / 1000),
        attempts: 0,
        created_ms: now,
        sequence: None,
        rejections: 0,
        article: crate::store::StoredArticle {
            title: "TEST — newswatch test message, not a real alert".into(),
            url: None,
            published: Some(now / 1000),
            lang: Some("en".into()),
            summary: "If you can read this, the sink works.".into(),
            feed_name: "newswatch alerts test".into(),
            feed_url: "about:newswatch-test".into(),
            event: None,
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
    deliver_one(sink, client, &out, &alert).await
}

/// One sink's delivery loop in `run`: a pass over its queue whenever it is
/// woken (alerts queued) or its next alert is due, until `stop`.
async fn sink_loop(
    sink: SinkConfig,
    client: reqwest::Client,
    store: store::Handle,
    out: LogOut,
    wake: Arc<tokio::sync::Notify>,
    stop: tokio_util::sync::CancellationToken,
    max_idle: Duration,
) {
    let idle = i64::try_from(max_idle.as_millis()).unwrap_or(60_000);
    loop {
        if stop.is_cancelled() {
            return;
        }
        let ctx = SinkCtx {
            sink: &sink,
            client: &client,
            store: &store,
            out: &out,
            deadline_ms: i64::MAX,
        };
        let pass = tokio::select! {
            _ = stop.cancelled() => return,
            pass = drain_sink(&ctx) => pass,
        };
        let next = match pass {
            Ok(r) => r.next_due_ms,
            Err(e) => {
                tracing::error!(sink = %sink.name, error = %e, "delivery pass failed");
                Some(now_ms().saturating_add(1000))
            }
        };
        let wait = next.map_or(idle, |t| (t - now_ms()).clamp(10, idle));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(10))) => {}
        }
    }
}

/// The dispatcher of `run`: one delivery loop per sink (so sinks never
/// wait on each other), restarted with the new sinks on a reload, until
/// `stop` is cancelled. A sink loop that dies ends the dispatcher, which
/// its supervisor reports.
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
    loop {
        let client = match super::service::delivery_client(&cfg) {
            Ok(c) => c,
            Err(e) => {
                // The supervisor reports the loop's end; say why first.
                tracing::error!("{e}");
                return;
            }
        };
        let sinks_stop = stop.child_token();
        let mut loops = tokio::task::JoinSet::new();
        let mut wakes = Vec::new();
        for sink in cfg.sinks.iter().cloned() {
            let w = Arc::new(tokio::sync::Notify::new());
            wakes.push(Arc::clone(&w));
            loops.spawn(sink_loop(
                sink,
                client.clone(),
                store.clone(),
                Arc::clone(&out),
                w,
                sinks_stop.clone(),
                beats.max_idle,
            ));
        }
        let reload = loop {
            beats.dispatcher.store(now_ms(), Ordering::Relaxed);
            crate::fault::hit("dispatcher", "");
            tokio::select! {
                _ = stop.cancelled() => break false,
                _ = wake.notified() => wakes.iter().for_each(|w| w.notify_one()),
                changed = cfg_rx.changed() => {
                    if changed.is_err() { break false; }
                    break true;
                }
                Some(ended) = loops.join_next() => {
                    if let Err(e) = ended && e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                    if !stop.is_cancelled() {
                        tracing::error!("a sink's delivery loop ended");
                        return;
                    }
                }
                _ = tokio::time::sleep(beats.max_idle) => {}
            }
        };
        sinks_stop.cancel();
        while let Some(ended) = loops.join_next().await {
            if let Err(e) = ended
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        if !reload {
            return;
        }
        cfg = cfg_rx.borrow_and_update().clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_is_down_after_five_failures_or_a_minute_without_success() {
        // Five in a row, however fast.
        let mut h = SinkHealth::default();
        for i in 0..4 {
            assert_eq!(failed_once_more(&mut h, 1_000 + i, "HTTP 503"), None);
        }
        let why = failed_once_more(&mut h, 1_005, "HTTP 503").unwrap();
        assert!(why.starts_with("5 failed attempts in a row"), "{why}");
        // Failures over a minute, with no success between.
        let mut h = SinkHealth::default();
        assert_eq!(failed_once_more(&mut h, 10_000, "timed out"), None);
        assert_eq!(failed_once_more(&mut h, 69_999, "timed out"), None);
        let why = failed_once_more(&mut h, 70_000, "timed out").unwrap();
        assert!(why.starts_with("no success for 60 s"), "{why}");
        assert_eq!(
            (h.first_failure_ms, h.last_failure_ms),
            (Some(10_000), Some(70_000))
        );
    }
}
