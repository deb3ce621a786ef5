//! The second stage for summary-only feeds: which new items get their
//! article page (short feed text that the rules' terms touch, or every
//! short item of a feed configured `full_text = true`), fetching the pages
//! within the per-host politeness of feed fetches and at most
//! `full_text.per_minute` starts a minute, extracting their main text, and
//! the bounded wait: a poll waits at most `full_text.timeout` for its
//! pages, then goes on with the feed text of the items still waiting.
//!
//! It only sequences: the request is `fetch`'s, the extraction `parse`'s,
//! the "is it new?" question the store's, the matching the caller's.

use super::hosts::HostGate;
use crate::config::{Config, FeedConfig};
use crate::fetch::Fetcher;
use crate::model::{Article, MatchedArticle, Timestamp};
use crate::store;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// At most `per_minute` starts in any sliding minute, shared by every poll.
pub(crate) struct Limiter {
    per_minute: usize,
    starts: Mutex<VecDeque<Instant>>,
}

impl Limiter {
    /// A limiter allowing `per_minute` starts per minute (at least one).
    pub(crate) fn new(per_minute: usize) -> Limiter {
        Limiter {
            per_minute: per_minute.max(1),
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// The allowance per minute.
    pub(crate) fn per_minute(&self) -> usize {
        self.per_minute
    }

    /// Waits until a start is allowed, and counts it.
    pub(crate) async fn acquire(&self) {
        const MINUTE: Duration = Duration::from_secs(60);
        loop {
            let wait = {
                let Ok(mut starts) = self.starts.lock() else {
                    return;
                };
                let now = Instant::now();
                while starts.front().is_some_and(|&t| t + MINUTE <= now) {
                    starts.pop_front();
                }
                if starts.len() < self.per_minute {
                    starts.push_back(now);
                    None
                } else {
                    starts.front().map(|&t| t + MINUTE - now)
                }
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }
}

/// Words in a text field.
fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Whether `a`'s page is worth fetching: its feed text is short and the
/// feed asks for every item, or the rules' terms touch it.
pub(crate) fn wants(cfg: &Config, feed: &FeedConfig, a: &Article) -> bool {
    let ft = &cfg.full_text;
    if !ft.enabled || feed.full_text == Some(false) || a.url.is_none() {
        return false;
    }
    let short = words(&a.summary).max(words(&a.content)) < ft.min_words;
    short && (feed.full_text == Some(true) || cfg.rules.touches(&a.title, &a.summary, &a.content))
}

/// What the stage did for one poll.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Items whose page was asked for.
    pub asked: usize,
    /// Pages whose text replaced the feed text.
    pub extracted: usize,
    /// Pages that failed (HTTP, refused, no text), with the first reason.
    pub failed: usize,
    /// Of those, links the address guard refused.
    pub refused: usize,
    /// Pages not ready within the timeout.
    pub late: usize,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

/// What the stage needs from the poll context.
pub(crate) struct Stage<'a> {
    /// The configuration.
    pub cfg: &'a Arc<Config>,
    /// The HTTP fetcher (its guard decides which links may be reached).
    pub fetcher: &'a Fetcher,
    /// The store (which items are new).
    pub store: &'a store::Handle,
    /// Per-host politeness, shared with feed fetches.
    pub gate: &'a Arc<HostGate>,
    /// Starts per minute.
    pub limiter: &'a Arc<Limiter>,
}

impl Stage<'_> {
    /// Fetches the pages of the items of `feed` (polled as `feed_id`) that
    /// want one and are new, and gives each page's main text to `rematch`,
    /// which matches the article again (`backfilled` items, which cannot
    /// alert, are left alone). Waits at most
    /// `full_text.timeout`; the items still waiting go on as they are.
    pub(crate) async fn enrich(
        &self,
        feed: &FeedConfig,
        feed_id: i64,
        items: &mut [MatchedArticle],
        backfilled: impl Fn(Option<Timestamp>) -> bool,
        rematch: impl Fn(Article) -> MatchedArticle,
    ) -> Result<Report, store::StoreError> {
        let mut report = Report::default();
        // A backfilled item never alerts: its page is not worth a fetch.
        let candidates: Vec<usize> = (0..items.len())
            .filter(|&i| {
                let a = &items[i].article;
                !backfilled(a.published) && wants(self.cfg, feed, a)
            })
            .collect();
        if candidates.is_empty() {
            return Ok(report);
        }
        let keys = candidates
            .iter()
            .map(|&i| (items[i].article.key.clone(), items[i].article.url.clone()))
            .collect();
        let unseen = self.store.unseen(feed_id, keys).await?;
        let ft = &self.cfg.full_text;
        let deadline = Instant::now() + ft.timeout;
        let mut set = tokio::task::JoinSet::new();
        for (&i, new) in candidates.iter().zip(unseen) {
            let Some(link) = items[i].article.url.clone().filter(|_| new) else {
                continue;
            };
            report.asked += 1;
            let (fetcher, gate, limiter) = (
                self.fetcher.clone(),
                Arc::clone(self.gate),
                Arc::clone(self.limiter),
            );
            let (trusted, max_body) = (feed.url.clone(), ft.max_body);
            set.spawn(async move {
                (
                    i,
                    page_text(&fetcher, &gate, &limiter, &link, &trusted, max_body).await,
                )
            });
        }
        loop {
            let next = tokio::time::timeout_at(deadline, set.join_next()).await;
            let (i, got) = match next {
                Err(_) => {
                    report.late = set.len();
                    set.abort_all();
                    break;
                }
                Ok(None) => break,
                Ok(Some(Err(join))) => {
                    report.failed += 1;
                    report.first_error.get_or_insert_with(|| join.to_string());
                    continue;
                }
                Ok(Some(Ok(v))) => v,
            };
            match got {
                Ok(text) => {
                    let a = &items[i].article;
                    tracing::debug!(url = ?a.url, words = words(&text), "article page read");
                    if words(&text) > words(&a.content) {
                        let mut article = a.clone();
                        article.content = text;
                        items[i] = rematch(article);
                        report.extracted += 1;
                    }
                }
                Err(e) => {
                    tracing::debug!(url = ?items[i].article.url, error = %e, "article page not read");
                    report.failed += 1;
                    if e.contains("refused: ") {
                        report.refused += 1;
                    }
                    report.first_error.get_or_insert(e);
                }
            }
        }
        Ok(report)
    }
}

/// One article page's main text, within the limits.
async fn page_text(
    fetcher: &Fetcher,
    gate: &HostGate,
    limiter: &Limiter,
    link: &str,
    trusted: &str,
    max_body: u64,
) -> Result<String, String> {
    limiter.acquire().await;
    let host = HostGate::host_of(link);
    let page = {
        let _slot = gate.enter(&host).await;
        match fetcher.page(link, trusted, max_body).await {
            Ok(p) => p,
            Err(e) => {
                if e.status() == Some(429) {
                    gate.slow_down(&host);
                }
                return Err(format!("{link}: {e}"));
            }
        }
    };
    let url = page.final_url.clone();
    tokio::task::spawn_blocking(move || {
        crate::parse::page::main_text(&page.bytes, &page.final_url, page.content_type.as_deref())
    })
    .await
    .map_err(|e| format!("{url}: {e}"))?
    .map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn starts_are_limited_per_sliding_minute() {
        let l = Limiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        assert_eq!(Instant::now(), t0, "the first three start at once");
        tokio::time::sleep(Duration::from_secs(20)).await;
        l.acquire().await;
        assert_eq!(
            Instant::now() - t0,
            Duration::from_secs(60),
            "the fourth waits until the first is a minute old"
        );
        l.acquire().await;
        l.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(60));
        l.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(120));
    }
}
