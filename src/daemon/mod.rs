//! Orchestration: task lifetimes, the poll cycle across feeds (global and
//! per-host concurrency limits), and alert delivery from the outbox.
//! Contains no SQL, no HTTP request building and no rule logic; it only
//! sequences the stages.

pub mod dispatch;
pub mod hosts;
pub mod pipeline;
pub mod service;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::model::Timestamp;
use crate::store;
use pipeline::PollResult;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The current Unix time in seconds.
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What a cycle did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CycleReport {
    /// Feeds polled.
    pub feeds: usize,
    /// Feeds whose poll failed.
    pub failed: usize,
    /// Feeds that had not changed.
    pub not_modified: usize,
    /// Feeds not polled (gone, disabled, inside a Retry-After window).
    pub skipped: usize,
    /// New articles stored.
    pub new_articles: usize,
    /// Articles some watch fired on.
    pub matched: usize,
    /// Outbox rows created.
    pub alerts_queued: usize,
    /// Alerts delivered in this run.
    pub delivered: usize,
    /// Alerts still pending afterwards.
    pub pending: i64,
}

/// Polls one feed within the global and per-host limits, and slows its
/// host down when the server says it is rate-limiting.
pub async fn poll_one(
    cfg: &Arc<Config>,
    fetcher: &Fetcher,
    store: &store::Handle,
    gate: &hosts::HostGate,
    global: &Semaphore,
    feed: &crate::config::FeedConfig,
) -> Result<pipeline::Polled, store::StoreError> {
    let host = hosts::HostGate::host_of(&feed.url);
    let _slot = gate.enter(&host).await;
    let _permit = global.acquire().await;
    let polled = pipeline::poll_feed(cfg, fetcher, store, feed, now()).await?;
    if polled.rate_limited {
        gate.slow_down(&host);
    }
    Ok(polled)
}

/// Polls every enabled feed once, concurrently within `http.concurrency`,
/// `http.per_host` and `http.host_spacing`. With `progress`, a one-line
/// counter on stderr (for terminals).
pub async fn poll_all(
    cfg: &Arc<Config>,
    fetcher: &Fetcher,
    store: &store::Handle,
    progress: bool,
) -> Result<CycleReport, store::StoreError> {
    let global = Arc::new(Semaphore::new(cfg.http.concurrency));
    let gate = Arc::new(hosts::HostGate::new(
        cfg.http.per_host,
        cfg.http.host_spacing,
    ));
    let mut tasks = tokio::task::JoinSet::new();
    let total = cfg.feeds.iter().filter(|f| f.enabled).count();
    for feed in cfg.feeds.iter().filter(|f| f.enabled) {
        let (cfg, fetcher, store, feed, global, gate) = (
            Arc::clone(cfg),
            fetcher.clone(),
            store.clone(),
            feed.clone(),
            Arc::clone(&global),
            Arc::clone(&gate),
        );
        tasks.spawn(async move {
            let r = poll_one(&cfg, &fetcher, &store, &gate, &global, &feed).await;
            (feed, r)
        });
    }
    let mut rep = CycleReport::default();
    while let Some(joined) = tasks.join_next().await {
        let (feed, r) = match joined {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "a poll task failed");
                rep.failed += 1;
                continue;
            }
        };
        rep.feeds += 1;
        if progress {
            eprint!(
                "\r\x1b[Kpolled {}/{total} feeds ({} failed)",
                rep.feeds, rep.failed
            );
        }
        match r?.result {
            PollResult::Stored(i) => {
                tracing::info!(feed = %feed.name, url = %feed.url, items = i.items, new = i.new_articles, sightings = i.sightings, matched = i.matched, alerts = i.alerts_queued, "polled");
                rep.new_articles += i.new_articles;
                rep.matched += i.matched;
                rep.alerts_queued += i.alerts_queued;
            }
            PollResult::NotModified => {
                tracing::info!(feed = %feed.name, url = %feed.url, "not modified");
                rep.not_modified += 1;
            }
            PollResult::Failed(e) => {
                tracing::warn!(feed = %feed.name, url = %feed.url, error = %e, "poll failed");
                rep.failed += 1;
            }
            PollResult::Skipped(why) => {
                tracing::info!(feed = %feed.name, url = %feed.url, reason = %why, "skipped");
                rep.skipped += 1;
            }
        }
    }
    if progress {
        eprintln!();
    }
    Ok(rep)
}
