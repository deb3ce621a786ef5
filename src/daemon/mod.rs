//! Orchestration: task lifetimes, the poll cycle across feeds (global and
//! per-host concurrency limits), and alert delivery from the outbox.
//! Contains no SQL, no HTTP request building and no rule logic; it only
//! sequences the stages.

pub mod dispatch;
pub mod pipeline;
pub mod service;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::model::Timestamp;
use crate::store;
use pipeline::PollResult;
use std::collections::HashMap;
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

/// Polls every enabled feed once, concurrently within `http.concurrency`
/// and `http.per_host`.
pub async fn poll_all(
    cfg: &Arc<Config>,
    fetcher: &Fetcher,
    store: &store::Handle,
) -> Result<CycleReport, store::StoreError> {
    let global = Arc::new(Semaphore::new(cfg.http.concurrency));
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for feed in cfg.feeds.iter().filter(|f| f.enabled) {
        let host = url::Url::parse(&feed.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let per_host = Arc::clone(
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(cfg.http.per_host))),
        );
        let (cfg, fetcher, store, feed, global) = (
            Arc::clone(cfg),
            fetcher.clone(),
            store.clone(),
            feed.clone(),
            Arc::clone(&global),
        );
        tasks.spawn(async move {
            let _h = per_host.acquire_owned().await;
            let _g = global.acquire_owned().await;
            let r = pipeline::poll_feed(&cfg, &fetcher, &store, &feed, now()).await;
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
    Ok(rep)
}
