//! Orchestration: task lifetimes, the poll cycle across feeds (global and
//! per-host concurrency limits), and alert delivery from the outbox.
//! Contains no SQL, no HTTP request building and no rule logic; it only
//! sequences the stages.

pub(crate) mod control;
pub(crate) mod dispatch;
pub(crate) mod fulltext;
pub(crate) mod hosts;
pub(crate) mod pipeline;
pub(crate) mod scheduler;
pub(crate) mod service;
pub(crate) mod supervise;

use crate::config::{Config, FeedConfig};
use crate::fetch::Fetcher;
use crate::model::Timestamp;
use crate::store;
use pipeline::PollResult;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The current Unix time in seconds.
pub(crate) fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What a cycle did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CycleReport {
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

/// What every poll shares: the config it runs under, the HTTP client, the
/// store, and the global and per-host limits.
#[derive(Clone)]
pub(crate) struct PollCtx {
    /// The configuration.
    pub cfg: Arc<Config>,
    /// The feed client.
    pub fetcher: Fetcher,
    /// The store.
    pub store: store::Handle,
    /// Per-host slots and spacing.
    pub gate: Arc<hosts::HostGate>,
    /// Feeds fetched at once.
    pub global: Arc<Semaphore>,
    /// Article pages started per minute.
    pub limiter: Arc<fulltext::Limiter>,
}

impl PollCtx {
    /// The context for `cfg`, with fresh limits.
    pub(crate) fn new(cfg: Arc<Config>, fetcher: Fetcher, store: store::Handle) -> PollCtx {
        let global = Arc::new(Semaphore::new(cfg.http.concurrency));
        let gate = Arc::new(hosts::HostGate::new(
            cfg.http.per_host,
            cfg.http.host_spacing,
        ));
        let limiter = Arc::new(fulltext::Limiter::new(cfg.full_text.per_minute));
        PollCtx {
            cfg,
            fetcher,
            store,
            gate,
            global,
            limiter,
        }
    }
}

/// Polls one feed within the global and per-host limits, and slows its
/// host down when the server says it is rate-limiting. The poll gives
/// its host slot back after the feed's fetch, and its global permit
/// before it waits for article pages (which take host slots of their
/// own): a page never waits for a slot that a poll waiting for a permit
/// holds.
pub(crate) async fn poll_one(
    ctx: &PollCtx,
    feed: &FeedConfig,
) -> Result<pipeline::Polled, store::StoreError> {
    let host = hosts::HostGate::host_of(&feed.url);
    let slot = ctx.gate.enter(&host).await;
    let global = Arc::clone(&ctx.global).acquire_owned().await.ok();
    let permits = pipeline::Permits { slot, global };
    let polled = pipeline::poll_feed(ctx, feed, now(), permits).await?;
    if polled.rate_limited {
        ctx.gate.slow_down(&host);
    }
    Ok(polled)
}

/// The polls in flight: how `once` and `run` both spawn them. A poll task
/// that panics is recorded as that feed's failed poll (kind `internal`),
/// and the others go on.
#[derive(Default)]
pub(crate) struct Polls {
    set: tokio::task::JoinSet<(FeedConfig, Result<pipeline::Polled, store::StoreError>)>,
    feeds: HashMap<tokio::task::Id, FeedConfig>,
}

impl Polls {
    /// No polls in flight.
    pub(crate) fn new() -> Polls {
        Polls::default()
    }

    /// Starts polling `feed` under `ctx`.
    pub(crate) fn spawn(&mut self, ctx: &PollCtx, feed: FeedConfig) {
        let ctx2 = ctx.clone();
        let f = feed.clone();
        let h = self.set.spawn(async move {
            let r = poll_one(&ctx2, &f).await;
            (f, r)
        });
        self.feeds.insert(h.id(), feed);
    }

    /// Whether none are in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The next poll to end, with its feed (`None` when none are in
    /// flight): its result, or why its task died. Cancel-safe: nothing is
    /// awaited once a poll has been taken out of the set.
    pub(crate) async fn next(&mut self) -> Option<(FeedConfig, Ended)> {
        let joined = self.set.join_next_with_id().await?;
        match joined {
            Ok((id, (feed, r))) => {
                self.feeds.remove(&id);
                Some((feed, Ended::Polled(r)))
            }
            Err(e) => {
                let feed = self.feeds.remove(&e.id())?;
                let why = if e.is_panic() {
                    supervise::panic_message(&*e.into_panic())
                } else {
                    e.to_string()
                };
                Some((feed, Ended::Died(why)))
            }
        }
    }
}

/// How a poll task ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// It ran to the end.
    Polled(Result<pipeline::Polled, store::StoreError>),
    /// It panicked (or was aborted): why.
    Died(String),
}

impl Ended {
    /// The poll's result; a task that died is first recorded as that
    /// feed's failed poll (kind `internal`), so that the feed shows it and
    /// is polled again on its backoff.
    pub(crate) async fn settle(
        self,
        ctx: &PollCtx,
        feed: &FeedConfig,
    ) -> Result<pipeline::Polled, store::StoreError> {
        match self {
            Ended::Polled(r) => r,
            Ended::Died(why) => {
                tracing::error!(url = %feed.url, error = %why, "a poll task died; recorded as a failed poll");
                pipeline::record_panic(&ctx.cfg, &ctx.store, feed, now(), &why).await
            }
        }
    }
}

/// Polls every enabled feed once, concurrently within `http.concurrency`,
/// `http.per_host` and `http.host_spacing`. With `progress`, a one-line
/// counter on stderr (for terminals).
pub(crate) async fn poll_all(
    ctx: &PollCtx,
    progress: bool,
) -> Result<CycleReport, store::StoreError> {
    let mut polls = Polls::new();
    let total = ctx.cfg.feeds.iter().filter(|f| f.enabled).count();
    for feed in ctx.cfg.feeds.iter().filter(|f| f.enabled) {
        polls.spawn(ctx, feed.clone());
    }
    let mut rep = CycleReport::default();
    while let Some((feed, ended)) = polls.next().await {
        let r = ended.settle(ctx, &feed).await;
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
