//! One poll of one feed, end to end: fetch → parse → match → route → store.
//! This is the only function that sequences the stages; the stages never
//! call each other.

use crate::config::{Config, FeedConfig};
use crate::fetch::{FetchError, Fetcher};
use crate::model::{FetchOutcome, IngestReport, MatchedArticle, Timestamp};
use crate::parse::{ParseError, parse_feed};
use crate::store::{self, PollRecord};
use crate::text::hex_digest;
use std::sync::Arc;
use std::time::Duration;

/// How one poll ended, and when the feed is due next.
#[derive(Debug)]
pub struct Polled {
    /// What happened.
    pub result: PollResult,
    /// When the next poll is due (Unix s), as recorded in the store.
    pub next_poll_at: Timestamp,
}

/// What one poll did.
#[derive(Debug)]
pub enum PollResult {
    /// A document was parsed and stored.
    Stored(IngestReport),
    /// Nothing changed (304 or an identical body).
    NotModified,
    /// The poll failed; recorded on the feed.
    Failed(String),
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
    let interval = feed.interval.as_secs() as i64;
    let next = now + interval;
    let fetched = fetcher.get(&feed.url, &row.validators).await;
    let (status, bytes, final_url, validators) = match fetched {
        Ok(FetchOutcome::NotModified { status }) => {
            let rec = PollRecord::NotModified { status };
            store
                .call(move |s| s.record_poll(row.id, now, &rec, next))
                .await??;
            return Ok(Polled {
                result: PollResult::NotModified,
                next_poll_at: next,
            });
        }
        Ok(FetchOutcome::Body {
            status,
            bytes,
            final_url,
            validators,
            ..
        }) => (status, bytes, final_url, validators),
        Err(e) => {
            return fail(
                store,
                &row,
                cfg,
                now,
                e.status(),
                PollError::from(e).to_string(),
            )
            .await;
        }
    };
    let body_hash = hex_digest(&[&bytes]);
    if row.body_hash.as_deref() == Some(body_hash.as_str()) {
        // The server ignored our validators but sent the same bytes.
        let rec = PollRecord::Fetched {
            status,
            validators,
            body_hash,
            title: None,
            items: row.items_seen as usize,
        };
        store
            .call(move |s| s.record_poll(row.id, now, &rec, next))
            .await??;
        return Ok(Polled {
            result: PollResult::NotModified,
            next_poll_at: next,
        });
    }
    let first_poll = row.first_success_at.is_none();
    let cfg2 = Arc::clone(cfg);
    let tags = feed.tags.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let parsed = parse_feed(&bytes, Some(&final_url))?;
        let cutoff = now - cfg2.poll.backfill.as_secs() as i64;
        let items = match_articles(&cfg2, parsed.articles, &tags, |published| {
            first_poll && published.is_some_and(|p| p < cutoff)
        });
        Ok::<_, ParseError>((parsed.title, items))
    })
    .await;
    let (title, items) = match parsed {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return fail(
                store,
                &row,
                cfg,
                now,
                Some(status),
                PollError::from(e).to_string(),
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
            )
            .await;
        }
    };
    let feed_url = feed.url.clone();
    let n = items.len();
    let report = store
        .call(move |s| {
            let rep = s.ingest(row.id, &feed_url, &items, now)?;
            let rec = PollRecord::Fetched {
                status,
                validators,
                body_hash,
                title,
                items: n,
            };
            s.record_poll(row.id, now, &rec, next)?;
            Ok::<_, store::StoreError>(rep)
        })
        .await??;
    Ok(Polled {
        result: PollResult::Stored(report),
        next_poll_at: next,
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
                article,
                matches,
                sinks,
                suppressed,
            }
        })
        .collect()
}

async fn fail(
    store: &store::Handle,
    row: &store::FeedRow,
    cfg: &Config,
    now: Timestamp,
    status: Option<u16>,
    error: String,
) -> Result<Polled, store::StoreError> {
    // Exponential backoff on the error streak, within the poll bounds.
    let streak = row.error_streak.clamp(0, 16) as u32;
    let base = cfg.poll.min_interval.max(Duration::from_secs(60));
    let delay = base
        .saturating_mul(1 << streak.min(10))
        .min(cfg.poll.max_interval);
    let rec = PollRecord::Failed {
        status,
        error: error.clone(),
    };
    let id = row.id;
    let next = now + delay.as_secs() as i64;
    store
        .call(move |s| s.record_poll(id, now, &rec, next))
        .await??;
    Ok(Polled {
        result: PollResult::Failed(error),
        next_poll_at: next,
    })
}
