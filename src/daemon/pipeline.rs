//! One poll of one feed, end to end: fetch → parse → match → route → store,
//! and when to poll it next (`crate::schedule`). This is the only function
//! that sequences the stages; the stages never call each other.

use crate::config::{Config, FeedConfig};
use crate::fetch::{FetchError, Fetcher};
use crate::model::{FetchOutcome, IngestReport, MatchedArticle, Timestamp};
use crate::parse::{ParseError, parse_feed_http};
use crate::schedule::{self, Hints};
use crate::store::{self, FeedRow, PollRecord, Sched};
use crate::text::hex_digest;
use std::sync::Arc;
use std::time::Duration;

/// Consecutive "this is not a feed" answers after which a feed is disabled.
const NOT_A_FEED_LIMIT: i64 = 3;

/// Consecutive polls permanently redirected to the same feed before the
/// feed is fetched from its new address.
pub const MOVE_CONFIRMATIONS: i64 = 3;

/// How one poll ended, and when the feed is due next.
#[derive(Debug)]
pub struct Polled {
    /// What happened.
    pub result: PollResult,
    /// When the next poll is due (Unix s), as recorded in the store.
    pub next_poll_at: Timestamp,
    /// The server answered 429: its whole host may be limiting us.
    pub rate_limited: bool,
}

/// What one poll did.
#[derive(Debug)]
pub enum PollResult {
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
pub enum PollError {
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

/// Polls `feed` once and records everything in the store.
pub async fn poll_feed(
    cfg: &Arc<Config>,
    fetcher: &Fetcher,
    store: &store::Handle,
    feed: &FeedConfig,
    now: Timestamp,
) -> Result<Polled, store::StoreError> {
    let (url, name) = (feed.url.clone(), feed.name.clone());
    let row = store
        .call(move |s| s.ensure_feed(&url, &name, now))
        .await??;
    if row.state != "active" {
        let why = format!(
            "{}: {}",
            row.state,
            row.state_reason.clone().unwrap_or_default()
        );
        return Ok(Polled {
            rate_limited: false,
            result: PollResult::Skipped(why),
            next_poll_at: now + cfg.poll.max_interval.as_secs() as i64,
        });
    }
    if let Some(until) = row.retry_until.filter(|&t| t > now) {
        return Ok(Polled {
            rate_limited: false,
            result: PollResult::Skipped(format!(
                "server asked to wait until {until} (Retry-After)"
            )),
            next_poll_at: until,
        });
    }
    let current = current_interval(&row, feed);
    let fetch_url = row.fetch_url.clone().unwrap_or_else(|| feed.url.clone());
    let fetched = fetcher.get(&fetch_url, &row.validators).await;
    let (status, bytes, final_url, validators, content_type, max_age, moved_to) = match fetched {
        Ok(FetchOutcome::NotModified { status, moved_to }) => {
            note_move(store, &row, moved_to).await?;
            return not_modified(store, &row, cfg, current, status, None, now).await;
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
            if e.status() == Some(410) {
                let id = row.id;
                store
                    .call(move |s| {
                        s.set_feed_state(
                            id,
                            "gone",
                            Some("HTTP 410 Gone: the publisher removed this feed"),
                        )
                    })
                    .await??;
            }
            let retry_after = match &e {
                FetchError::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let kind = e.kind();
            return fail(
                store,
                &row,
                cfg,
                now,
                e.status(),
                PollError::from(e).to_string(),
                kind,
                retry_after,
            )
            .await;
        }
    };
    let body_hash = hex_digest(&[&bytes]);
    let redirect = moved_to.clone();
    let same_etag = validators.etag.is_some() && validators.etag == row.validators.etag;
    if row.body_hash.as_deref() == Some(body_hash.as_str()) || same_etag {
        // The server ignored our validators but sent the same document.
        note_move(store, &row, redirect).await?;
        return not_modified(
            store,
            &row,
            cfg,
            current,
            status,
            Some((validators, body_hash)),
            now,
        )
        .await;
    }
    let first_poll = row.first_success_at.is_none();
    let cfg2 = Arc::clone(cfg);
    let tags = feed.tags.clone();
    let inline = bytes.len() <= INLINE_PARSE_MAX;
    let job = move || {
        let parsed = parse_feed_http(&bytes, Some(&final_url), content_type.as_deref())?;
        let cutoff = now - cfg2.poll.backfill.as_secs() as i64;
        let items = match_articles(&cfg2, parsed.articles, &tags, |published| {
            first_poll && published.is_some_and(|p| p < cutoff)
        });
        Ok::<_, ParseError>((parsed.title, parsed.ttl, items))
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
    let (title, ttl, items) = match parsed {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let kind = if matches!(e, ParseError::Invalid(_) | ParseError::Empty) {
                "not-a-feed"
            } else {
                "parse"
            };
            return fail(
                store,
                &row,
                cfg,
                now,
                Some(status),
                PollError::from(e).to_string(),
                kind,
                None,
            )
            .await;
        }
        Err(join) => {
            return fail(
                store,
                &row,
                cfg,
                now,
                Some(status),
                format!("internal error while parsing: {join}"),
                "internal",
                None,
            )
            .await;
        }
    };
    let feed_url = feed.url.clone();
    let n = items.len();
    let pcfg = cfg.poll.clone();
    let moved_from = row.fetch_url.clone().unwrap_or_else(|| row.url.clone());
    let (report, switched, _items) = store
        .call(move |s| {
            // The target served a feed: the move counts towards
            // confirmation (in the same commit as what it served).
            let switched = s.record_move(row.id, redirect.as_deref(), MOVE_CONFIRMATIONS)?;
            let mut next = now;
            // Articles, matches, outbox rows and the feed's poll record: one commit.
            let rep = s.ingest_then(row.id, &feed_url, &items, now, |conn, rep| {
                let interval = schedule::after_success(
                    &pcfg,
                    current,
                    rep.new_articles,
                    Hints {
                        feed_ttl: ttl,
                        max_age,
                    },
                );
                let sched = Sched {
                    next_poll_at: now + interval.as_secs() as i64,
                    interval_s: Some(interval.as_secs() as i64),
                    retry_until: None,
                };
                next = sched.next_poll_at;
                let rec = PollRecord::Fetched {
                    status,
                    validators,
                    body_hash,
                    title,
                    items: n,
                };
                store::record_poll_in(conn, row.id, now, &rec, &sched)
            })?;
            // The articles go back to be freed here, not on the store thread.
            Ok::<_, store::StoreError>(((rep, next), switched, items))
        })
        .await??;
    if let Some(new) = switched {
        tracing::info!(from = %moved_from, to = %new, "feed moved permanently; fetching it from its new address");
    }
    Ok(Polled {
        rate_limited: false,
        result: PollResult::Stored(report.0),
        next_poll_at: report.1,
    })
}

async fn note_move(
    store: &store::Handle,
    row: &FeedRow,
    moved_to: Option<String>,
) -> Result<(), store::StoreError> {
    let (id, from) = (
        row.id,
        row.fetch_url.clone().unwrap_or_else(|| row.url.clone()),
    );
    if let Some(new) = store
        .call(move |s| s.record_move(id, moved_to.as_deref(), MOVE_CONFIRMATIONS))
        .await??
    {
        tracing::info!(from = %from, to = %new, "feed moved permanently; fetching it from its new address");
    }
    Ok(())
}

async fn not_modified(
    store: &store::Handle,
    row: &FeedRow,
    cfg: &Config,
    current: Duration,
    status: u16,
    fetched: Option<(crate::model::Validators, String)>,
    now: Timestamp,
) -> Result<Polled, store::StoreError> {
    let interval = schedule::after_success(&cfg.poll, current, 0, Hints::default());
    let sched = Sched {
        next_poll_at: now + interval.as_secs() as i64,
        interval_s: Some(interval.as_secs() as i64),
        retry_until: None,
    };
    let rec = match fetched {
        Some((validators, body_hash)) => PollRecord::Fetched {
            status,
            validators,
            body_hash,
            title: None,
            items: row.items_seen as usize,
        },
        None => PollRecord::NotModified { status },
    };
    let id = row.id;
    store
        .call(move |s| s.record_poll(id, now, &rec, &sched))
        .await??;
    Ok(Polled {
        rate_limited: false,
        result: PollResult::NotModified,
        next_poll_at: sched.next_poll_at,
    })
}

/// Runs the rules over articles and decides where each alert goes.
/// `suppress(published)` says whether an item is stored without alerting
/// (backfill of a feed's first poll).
pub fn match_articles(
    cfg: &Config,
    articles: Vec<crate::model::Article>,
    feed_tags: &[String],
    suppress: impl Fn(Option<Timestamp>) -> bool,
) -> Vec<MatchedArticle> {
    articles
        .into_iter()
        .map(|article| {
            let matches = cfg.rules.evaluate_article(&article);
            let sinks: Vec<String> = cfg
                .sinks
                .iter()
                .filter(|s| {
                    matches
                        .iter()
                        .any(|m| s.routes(&m.watch, m.severity, feed_tags))
                })
                .map(|s| s.name.clone())
                .collect();
            let suppressed = !matches.is_empty() && suppress(article.published);
            MatchedArticle {
                fingerprint: article.fingerprint(),
                article,
                matches,
                sinks,
                suppressed,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn fail(
    store: &store::Handle,
    row: &FeedRow,
    cfg: &Config,
    now: Timestamp,
    status: Option<u16>,
    error: String,
    kind: &'static str,
    retry_after: Option<Duration>,
) -> Result<Polled, store::StoreError> {
    let streak = row.error_streak + 1;
    let delay = schedule::after_failure(&cfg.poll, streak, retry_after, fastrand::f64());
    let next = now + delay.as_secs() as i64;
    let sched = Sched {
        next_poll_at: next,
        interval_s: None,
        retry_until: retry_after.map(|_| next),
    };
    let rec = PollRecord::Failed {
        status,
        error: error.clone(),
        kind,
    };
    let id = row.id;
    let disable = kind == "not-a-feed"
        && streak >= NOT_A_FEED_LIMIT
        && row.error_kind.as_deref() == Some("not-a-feed");
    store
        .call(move |s| {
            s.record_poll(id, now, &rec, &sched)?;
            if disable {
                s.set_feed_state(
                    id,
                    "disabled",
                    Some(&format!(
                        "the URL answered {streak} times in a row with something that is not a feed"
                    )),
                )?;
            }
            Ok::<_, store::StoreError>(())
        })
        .await??;
    Ok(Polled {
        rate_limited: kind == "rate-limited",
        result: PollResult::Failed(error),
        next_poll_at: next,
    })
}
