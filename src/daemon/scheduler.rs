//! The scheduler loop of `run`: each feed polled on its own schedule (kept
//! in SQLite, so a restart resumes it), polls spawned through
//! [`super::Polls`] as `once` spawns them, daily retention, and the
//! dispatcher woken when alerts were queued.

use super::pipeline::PollResult;
use super::service::Heartbeats;
use super::{PollCtx, Polls, now};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::store;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// Runs until `stop` is cancelled; then lets in-flight polls finish (the
/// caller bounds the wait).
pub(crate) async fn schedule_loop(
    mut cfg_rx: watch::Receiver<Arc<Config>>,
    stop: CancellationToken,
    store: store::Handle,
    wake_dispatch: Arc<Notify>,
    beats: Arc<Heartbeats>,
) {
    let cfg = cfg_rx.borrow_and_update().clone();
    let fetcher = match Fetcher::new(&cfg.http, cfg.full_text.allow_private) {
        Ok(f) => f,
        Err(e) => {
            // The supervisor reports the loop's end; say why first.
            tracing::error!("{e}");
            return;
        }
    };
    let mut ctx = PollCtx::new(cfg, fetcher, store.clone());
    // When each feed is due (Unix s), seeded from the database so a restart
    // resumes the schedule.
    let mut due: HashMap<String, i64> = match store.feeds().await {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|r| r.next_poll_at.map(|t| (r.url, t)))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the feeds' schedule");
            return;
        }
    };
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut failing: HashSet<String> = HashSet::new();
    let mut last_prune: Option<tokio::time::Instant> = None;
    let mut polls = Polls::new();
    loop {
        beats
            .scheduler
            .store(super::dispatch::now_ms(), Ordering::Relaxed);
        crate::fault::hit("scheduler", "");
        if stop.is_cancelled() {
            break;
        }
        let t = now();
        // Retention, at start and then daily.
        if last_prune.is_none_or(|p| p.elapsed() >= Duration::from_secs(86_400)) {
            last_prune = Some(tokio::time::Instant::now());
            let cutoff = t - ctx.cfg.storage.retention.as_secs() as i64;
            match store.prune(cutoff).await {
                Ok(n) if n > 0 => tracing::info!(
                    pruned = n,
                    "retention: old unmatched articles emptied (keys kept)"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention failed"),
            }
        }
        for feed in ctx.cfg.feeds.iter().filter(|f| f.enabled) {
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
            polls.spawn(&ctx, feed.clone());
        }
        let next_due = ctx
            .cfg
            .feeds
            .iter()
            .filter(|f| f.enabled && !in_flight.contains(&f.url))
            .filter_map(|f| due.get(&f.url).copied())
            .min()
            .unwrap_or(t + beats.max_idle.as_secs() as i64);
        let sleep = Duration::from_secs((next_due - t).max(0) as u64)
            .clamp(Duration::from_millis(200), beats.max_idle);
        tokio::select! {
            _ = stop.cancelled() => {}
            changed = cfg_rx.changed() => {
                if changed.is_err() { break; }
                let new = cfg_rx.borrow_and_update().clone();
                ctx = reconfigure(&ctx, new);
                let keep: HashSet<&str> = ctx.cfg.feeds.iter().map(|f| f.url.as_str()).collect();
                due.retain(|u, _| keep.contains(u.as_str()));
                failing.retain(|u| keep.contains(u.as_str()));
                beats.failing.store(failing.len(), Ordering::Relaxed);
            }
            Some((feed, ended)) = polls.next(), if !polls.is_empty() => {
                let r = ended.settle(&ctx, &feed).await;
                let url = feed.url.clone();
                let next = r
                    .as_ref()
                    .map_or(t + feed.interval.as_secs() as i64, |p| p.next_poll_at);
                in_flight.remove(&url);
                due.insert(url.clone(), next);
                beats.last_poll.store(now(), Ordering::Relaxed);
                match &r {
                    Ok(p) if matches!(p.result, PollResult::Failed(_)) => { failing.insert(url.clone()); }
                    Err(_) => { failing.insert(url.clone()); }
                    Ok(p) if !matches!(p.result, PollResult::Skipped(_)) => { failing.remove(&url); }
                    Ok(_) => {}
                }
                beats.failing.store(failing.len(), Ordering::Relaxed);
                match r.map(|p| p.result) {
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
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    // Stopping: let in-flight polls finish (the caller bounds the wait).
    while let Some((feed, ended)) = polls.next().await {
        if let Ok(p) = ended.settle(&ctx, &feed).await
            && let PollResult::Stored(rep) = p.result
        {
            tracing::info!(url = %feed.url, new = rep.new_articles, alerts = rep.alerts_queued, "polled (while stopping)");
        }
    }
}

/// The poll context for a reloaded config: a new HTTP client only when its
/// settings changed, new limits only when theirs did.
fn reconfigure(old: &PollCtx, new: Arc<Config>) -> PollCtx {
    let (a, b) = (&old.cfg.http, &new.http);
    let mut ctx = old.clone();
    if a.user_agent != b.user_agent
        || a.timeout != b.timeout
        || a.connect_timeout != b.connect_timeout
        || a.max_body != b.max_body
        || old.cfg.full_text.allow_private != new.full_text.allow_private
    {
        match Fetcher::new(b, new.full_text.allow_private) {
            Ok(f) => ctx.fetcher = f,
            Err(e) => tracing::error!("{e}"),
        }
    }
    if a.concurrency != b.concurrency
        || a.per_host != b.per_host
        || a.host_spacing != b.host_spacing
    {
        let fresh = PollCtx::new(Arc::clone(&new), ctx.fetcher.clone(), ctx.store.clone());
        ctx.global = fresh.global;
        ctx.gate = fresh.gate;
    }
    if ctx.limiter.per_minute() != new.full_text.per_minute {
        ctx.limiter = Arc::new(super::fulltext::Limiter::new(new.full_text.per_minute));
    }
    ctx.cfg = new;
    ctx
}
