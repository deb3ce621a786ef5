//! One poll of one feed, end to end: fetch → parse → match → route → (article
//! pages of short items, matched again: `fulltext`) → store,
//! and when to poll it next (`crate::schedule`). This is the only function
//! that sequences the stages; the stages never call each other.

use crate::config::{Config, FeedConfig};
use crate::fetch::FetchError;
use crate::model::{ErrorKind, FetchOutcome, IngestReport, MatchedArticle, Route, Timestamp};
use crate::parse::{ParseError, parse_feed_http};
use crate::schedule::{self, Hints};
use crate::store::{self, FeedRow, FeedState, NextPoll, PollOutcome, Sched};
use crate::text::hex_digest;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// Consecutive "this is not a feed" answers after which a URL that never
/// served a feed is disabled (if they span [`NOT_A_FEED_SPAN`]).
const NOT_A_FEED_LIMIT: i64 = 5;

/// The least time, from the feed's first poll, before a URL that never
/// served a feed is disabled.
const NOT_A_FEED_SPAN: i64 = 3 * 86_400;

/// Consecutive polls permanently redirected to the same feed before the
/// feed is fetched from its new address.
pub(crate) const MOVE_CONFIRMATIONS: i64 = 3;

/// The limits a poll holds when it starts: its host's slot (given back
/// after the feed's fetch) and its place among `http.concurrency` (given
/// back before article pages are waited for).
#[derive(Default)]
pub(crate) struct Permits {
    /// The host slot.
    pub slot: Option<OwnedSemaphorePermit>,
    /// The global permit.
    pub global: Option<OwnedSemaphorePermit>,
}

/// How one poll ended, and when the feed is due next.
#[derive(Debug)]
pub(crate) struct Polled {
    /// What happened.
    pub result: PollResult,
    /// When the next poll is due (Unix s), as recorded in the store.
    pub next_poll_at: Timestamp,
    /// The server answered 429: its whole host may be limiting us.
    pub rate_limited: bool,
}

/// What one poll did.
#[derive(Debug)]
pub(crate) enum PollResult {
    /// A document was parsed and stored.
    Stored(IngestReport),
    /// Nothing changed (304, an identical body, or an unchanged ETag).
    NotModified,
    /// The poll failed; recorded on the feed.
    Failed(String),
    /// Not polled: gone, disabled, or inside the server's Retry-After window.
    Skipped(String),
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PollError {
    /// HTTP.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

fn current_interval(row: &FeedRow, feed: &FeedConfig) -> Duration {
    row.interval_s
        .filter(|&s| s > 0)
        .map_or(feed.interval, |s| Duration::from_secs(s as u64))
}

/// Documents up to this size are parsed on the runtime's worker; larger
/// ones on the blocking pool.
const INLINE_PARSE_MAX: usize = 64 * 1024;

/// Polls `feed` once and records everything in the store: the poll ends in
/// one [`PollOutcome`], recorded by one store command.
pub(crate) async fn poll_feed(
    ctx: &super::PollCtx,
    feed: &FeedConfig,
    now: Timestamp,
    permits: Permits,
) -> Result<Polled, store::StoreError> {
    let Permits { slot, global } = permits;
    let (cfg, fetcher, store) = (&ctx.cfg, &ctx.fetcher, &ctx.store);
    crate::fault::hit("poll", &feed.url);
    let mut row = store.ensure_feed(&feed.url, &feed.name, now).await?;
    if row.state != FeedState::Active {
        let entry = feed.fingerprint();
        match row.stopped_entry.as_deref() {
            // Stopped with this very entry: it stays stopped.
            Some(e) if e == entry => {}
            // The entry changed since (a reload, an edit): restarted.
            Some(_) => {
                tracing::info!(feed = %feed.name, url = %feed.url, was = %row.state, "the feed's entry changed since it was stopped; polling it again");
                store.restart_feed(&feed.url, false, now).await?;
                row = store.ensure_feed(&feed.url, &feed.name, now).await?;
            }
            None => store.set_stopped_entry(row.id, &entry).await?,
        }
    }
    let skip = if row.state != FeedState::Active {
        let why = format!(
            "{}: {}",
            row.state,
            row.state_reason.clone().unwrap_or_default()
        );
        Some((why, now + cfg.poll.max_interval.as_secs() as i64))
    } else {
        row.retry_until.filter(|&t| t > now).map(|until| {
            (
                format!("server asked to wait until {until} (Retry-After)"),
                until,
            )
        })
    };
    if let Some((why, next_poll_at)) = skip {
        // Recorded like every other end of a poll (it writes nothing).
        let skipped = PollResult::Skipped(why);
        let mut p = record(store, &row, feed, now, PollOutcome::Skipped, skipped, false).await?;
        p.next_poll_at = next_poll_at;
        return Ok(p);
    }
    let current = current_interval(&row, feed);
    let fetch_url = row.fetch_url.clone().unwrap_or_else(|| feed.url.clone());
    let fetched = fetcher.get(&fetch_url, &feed.url, &row.validators).await;
    drop(slot);
    let quiet = |hints: Hints| {
        let interval = schedule::after_success(&cfg.poll, current, 0, hints);
        sched_in(now, interval)
    };
    let (status, bytes, final_url, validators, content_type, max_age, moved_to) = match fetched {
        Ok(FetchOutcome::NotModified { status, moved_to }) => {
            let outcome = PollOutcome::NotModified {
                status,
                refreshed: None,
                moved_to,
                sched: quiet(Hints::default()),
            };
            return record(
                store,
                &row,
                feed,
                now,
                outcome,
                PollResult::NotModified,
                false,
            )
            .await;
        }
        Ok(FetchOutcome::Body {
            status,
            bytes,
            final_url,
            validators,
            content_type,
            max_age,
            moved_to,
        }) => (
            status,
            bytes,
            final_url,
            validators,
            content_type,
            max_age,
            moved_to,
        ),
        Err(e) => {
            let retry_after = match &e {
                FetchError::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let gone = (e.status() == Some(410)).then(|| {
                (
                    FeedState::Gone,
                    "HTTP 410 Gone: the publisher removed this feed".to_string(),
                )
            });
            let kind = e.kind();
            let status = e.status();
            return fail(
                store,
                &row,
                feed,
                cfg,
                now,
                Failure {
                    status,
                    error: PollError::from(e).to_string(),
                    kind,
                    retry_after,
                    retire: gone,
                },
            )
            .await;
        }
    };
    let body_hash = hex_digest(&[&bytes]);
    let same_etag = validators.etag.is_some() && validators.etag == row.validators.etag;
    if row.body_hash.as_deref() == Some(body_hash.as_str()) || same_etag {
        // The server ignored our validators but sent the same document.
        let outcome = PollOutcome::NotModified {
            status,
            refreshed: Some((validators, body_hash)),
            moved_to,
            sched: quiet(Hints::default()),
        };
        return record(
            store,
            &row,
            feed,
            now,
            outcome,
            PollResult::NotModified,
            false,
        )
        .await;
    }
    let first_poll = row.first_success_at.is_none();
    let cfg2 = Arc::clone(cfg);
    let tags = feed.tags.clone();
    let inline = bytes.len() <= INLINE_PARSE_MAX;
    let cutoff = now - cfg.poll.backfill.as_secs() as i64;
    let backfilled =
        move |published: Option<Timestamp>| first_poll && published.is_some_and(|p| p < cutoff);
    let job = move || {
        let parsed = parse_feed_http(&bytes, Some(&final_url), content_type.as_deref())?;
        let items = match_articles(&cfg2, parsed.articles, &tags, backfilled);
        Ok::<_, ParseError>((parsed.title, parsed.ttl, items, parsed.partial))
    };
    // A small document is parsed right here (a fraction of a millisecond);
    // a large one on the blocking pool, so the runtime's workers never
    // stall on it.
    let parsed: Result<_, String> = if inline {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            .map_err(|_| "a panic while parsing".to_string())
    } else {
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| e.to_string())
    };
    let (title, ttl, mut items, partial) = match parsed {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let kind = match e {
                ParseError::Invalid(_) | ParseError::Empty => ErrorKind::NotAFeed,
                ParseError::Unreadable(_) => ErrorKind::Unreadable,
                ParseError::Panicked(_) => ErrorKind::Parse,
            };
            let failure = Failure {
                status: Some(status),
                error: PollError::from(e).to_string(),
                kind,
                retry_after: None,
                retire: None,
            };
            return fail(store, &row, feed, cfg, now, failure).await;
        }
        Err(join) => {
            let failure = Failure {
                status: Some(status),
                error: format!("internal error while parsing: {join}"),
                kind: ErrorKind::Internal,
                retry_after: None,
                retire: None,
            };
            return fail(store, &row, feed, cfg, now, failure).await;
        }
    };
    // The second stage: article pages of short new items the rules touch,
    // read and matched again before anything is stored.
    drop(global);
    if cfg.full_text.enabled && feed.full_text != Some(false) {
        let stage = super::fulltext::Stage {
            cfg,
            fetcher,
            store,
            gate: &ctx.gate,
            limiter: &ctx.limiter,
        };
        let rematch = |article| match_article(cfg, article, &feed.tags, backfilled);
        let r = stage
            .enrich(feed, row.id, &mut items, backfilled, rematch)
            .await?;
        if r.asked > 0 {
            tracing::info!(
                feed = %feed.name,
                url = %feed.url,
                asked = r.asked,
                extracted = r.extracted,
                failed = r.failed,
                refused = r.refused,
                late = r.late,
                first_error = r.first_error.as_deref().unwrap_or(""),
                "article pages"
            );
        }
    }
    let hints = Hints {
        feed_ttl: ttl,
        max_age,
    };
    let busy = schedule::after_success(&cfg.poll, current, 1, hints);
    if let Some(why) = &partial {
        // Once per document: the same body is not read again.
        tracing::warn!(feed = %feed.name, url = %feed.url, reason = %why, "feed read in part");
    }
    let outcome = PollOutcome::Fetched {
        status,
        validators,
        body_hash,
        title,
        items,
        partial,
        moved_to,
        next: NextPoll {
            if_new: sched_in(now, busy),
            if_quiet: quiet(hints),
        },
    };
    record(
        store,
        &row,
        feed,
        now,
        outcome,
        PollResult::NotModified,
        false,
    )
    .await
}

fn sched_in(now: Timestamp, interval: Duration) -> Sched {
    Sched {
        next_poll_at: now + interval.as_secs() as i64,
        interval_s: Some(interval.as_secs() as i64),
        retry_until: None,
    }
}

/// Records `outcome` for `row` in one store command and says what the poll
/// did (`result`, unless a document was stored).
async fn record(
    store: &store::Handle,
    row: &FeedRow,
    feed: &FeedConfig,
    now: Timestamp,
    outcome: PollOutcome,
    result: PollResult,
    rate_limited: bool,
) -> Result<Polled, store::StoreError> {
    let moved_from = row.fetch_url.clone().unwrap_or_else(|| row.url.clone());
    let done = store
        .record_poll(row.id, &feed.url, now, outcome, MOVE_CONFIRMATIONS)
        .await?;
    if let Some(new) = &done.switched_to {
        tracing::info!(from = %moved_from, to = %new, "feed moved permanently; fetching it from its new address");
    }
    // The articles are freed here, not on the store thread.
    drop(done.items);
    Ok(Polled {
        rate_limited,
        result: done.report.map_or(result, PollResult::Stored),
        next_poll_at: done.next_poll_at,
    })
}

/// Runs the rules over articles and decides where each alert goes.
/// `suppress(published)` says whether an item is stored without alerting
/// (backfill of a feed's first poll).
pub(crate) fn match_articles(
    cfg: &Config,
    articles: Vec<crate::model::Article>,
    feed_tags: &[String],
    suppress: impl Fn(Option<Timestamp>) -> bool,
) -> Vec<MatchedArticle> {
    articles
        .into_iter()
        .map(|article| match_article(cfg, article, feed_tags, &suppress))
        .collect()
}

/// Runs the rules over one article and decides where its alerts go.
pub(crate) fn match_article(
    cfg: &Config,
    article: crate::model::Article,
    feed_tags: &[String],
    suppress: impl Fn(Option<Timestamp>) -> bool,
) -> MatchedArticle {
    let matches = cfg.rules.evaluate_article(&article);
    // Routing is decided here, once: each sink with the watches it takes
    // (stored with its outbox row).
    let routes: Vec<Route> = cfg
        .sinks
        .iter()
        .filter_map(|s| {
            let watches: Vec<String> = matches
                .iter()
                .filter(|m| s.routes(&m.watch, m.severity, feed_tags))
                .map(|m| m.watch.clone())
                .collect();
            (!watches.is_empty()).then(|| Route {
                sink: s.name.clone(),
                watches,
                follow_ups: s.follow_ups,
            })
        })
        .collect();
    let suppressed = !matches.is_empty() && suppress(article.published);
    // The duplicate keys, here beside the matcher rather than on the
    // store's writer thread (only matched articles need them).
    let (title_key, summary_words) = if matches.is_empty() {
        (None, Vec::new())
    } else {
        match store::story_title_key(&article.title) {
            Some(k) => (Some(k), store::summary_words(&article.summary)),
            None => (None, Vec::new()),
        }
    };
    // The facts of a meeting, only for what fired coalition-meeting.
    let facts = matches
        .iter()
        .any(|m| m.watch == crate::facts::MEETING_WATCH)
        .then(|| {
            let published = article.published.unwrap_or_else(super::now);
            crate::facts::extract(
                &article.title,
                &article.summary,
                &article.content,
                published,
            )
        });
    MatchedArticle {
        fingerprint: article.fingerprint(),
        article,
        matches,
        routes,
        suppressed,
        title_key,
        summary_words,
        facts,
    }
}

/// Why a poll failed, for [`fail`].
struct Failure {
    status: Option<u16>,
    error: String,
    kind: ErrorKind,
    retry_after: Option<Duration>,
    retire: Option<(FeedState, String)>,
}

/// Records a failed poll: backoff, and the feed's leaving the schedule
/// after too many "not a feed" answers in a row.
async fn fail(
    store: &store::Handle,
    row: &FeedRow,
    feed: &FeedConfig,
    cfg: &Config,
    now: Timestamp,
    f: Failure,
) -> Result<Polled, store::StoreError> {
    let streak = row.error_streak + 1;
    let delay = schedule::after_failure(&cfg.poll, streak, f.retry_after, fastrand::f64());
    let next = now + delay.as_secs() as i64;
    let sched = Sched {
        next_poll_at: next,
        interval_s: None,
        retry_until: f.retry_after.map(|_| next),
    };
    // Only a URL that never served a feed, after five such answers over at
    // least three days: a feed that has parsed before is never disabled
    // because one poll could not be read.
    let disable = f.kind == ErrorKind::NotAFeed
        && streak >= NOT_A_FEED_LIMIT
        && row.error_kind == Some(ErrorKind::NotAFeed)
        && row.first_success_at.is_none()
        && now.saturating_sub(row.created_at) >= NOT_A_FEED_SPAN;
    let retire = f.retire.or_else(|| {
        disable.then(|| {
            (
                FeedState::Disabled,
                format!(
                    "the URL never served a feed: {streak} answers in a row over {} days were something else",
                    now.saturating_sub(row.created_at) / 86_400
                ),
            )
        })
    });
    let outcome = PollOutcome::Failed {
        status: f.status,
        kind: f.kind,
        error: f.error.clone(),
        sched,
        retire,
    };
    let rate_limited = f.kind == ErrorKind::RateLimited;
    record(
        store,
        row,
        feed,
        now,
        outcome,
        PollResult::Failed(f.error),
        rate_limited,
    )
    .await
}

/// Records a poll task that panicked as that feed's failed poll (kind
/// `internal`), so that the feed shows it and is polled again later.
pub(crate) async fn record_panic(
    cfg: &Config,
    store: &store::Handle,
    feed: &FeedConfig,
    now: Timestamp,
    why: &str,
) -> Result<Polled, store::StoreError> {
    let row = store.ensure_feed(&feed.url, &feed.name, now).await?;
    let failure = Failure {
        status: None,
        error: format!("internal error while polling: {why}"),
        kind: ErrorKind::Internal,
        retry_after: None,
        retire: None,
    };
    fail(store, &row, feed, cfg, now, failure).await
}
