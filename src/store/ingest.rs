//! Ingest: one poll's articles stored whole (articles, sightings of
//! stories already stored, matches, outbox rows), and the stable alert id.

use super::StoreError;
use super::db::{ExecCached, Store};
use super::dedup::same_summary;
use super::types::OutboxState;
use crate::model::{IngestReport, MatchedArticle, TermHit, Timestamp};
use crate::text::hex_digest;
use rusqlite::{Connection, OptionalExtension, params};

// The same story under another link, and the same story from another feed.
pub(super) const SAME_TITLE: &str = "SELECT id, summary FROM articles WHERE title_key = ?1 AND feed_id != ?2 AND fetched_at >= ?3 ORDER BY id LIMIT 5";
pub(super) const SAME_STORY: &str = "SELECT id FROM articles WHERE url = ?1 ORDER BY id LIMIT 1";
// This feed's own article under this link.
pub(super) const OWN_URL: &str = "SELECT 1 FROM articles WHERE url = ?2 AND feed_id = ?1 LIMIT 1";

impl Store {
    /// Stores the articles of one poll of `feed_id`: new articles with their
    /// matches and outbox rows, sightings of stories already stored from
    /// other feeds, nothing for items this feed already gave. The poll's
    /// articles are whole or absent together ([`Store::atomic`]).
    pub(crate) fn ingest(
        &mut self,
        feed_id: i64,
        feed_url: &str,
        items: &[MatchedArticle],
        now: Timestamp,
    ) -> Result<IngestReport, StoreError> {
        self.atomic(|s| s.ingest_body(feed_id, feed_url, items, now))
    }

    /// For each `(item key, canonical link)` of a poll of `feed_id`,
    /// whether [`Store::ingest`] would store it as a new article: not an
    /// item this feed gave before (by key or link, as its own article or as
    /// a sighting), nor a story stored from another feed under the same
    /// link. Reads only.
    pub(crate) fn unseen(
        &self,
        feed_id: i64,
        items: &[(String, Option<String>)],
    ) -> Result<Vec<bool>, StoreError> {
        let tx = &self.conn;
        let mut own_key =
            tx.prepare_cached("SELECT 1 FROM articles WHERE feed_id = ?1 AND item_key = ?2")?;
        let mut seen_key =
            tx.prepare_cached("SELECT 1 FROM sightings WHERE feed_id = ?1 AND item_key = ?2")?;
        let mut seen_url =
            tx.prepare_cached("SELECT 1 FROM sightings WHERE feed_id = ?1 AND url = ?2 LIMIT 1")?;
        let mut same_story = tx.prepare_cached(SAME_STORY)?;
        let mut out = Vec::with_capacity(items.len());
        for (key, url) in items {
            let known = own_key.exists(params![feed_id, key])?
                || seen_key.exists(params![feed_id, key])?
                || match url {
                    // Any article under this link, this feed's or another's.
                    Some(u) => same_story.exists([u])? || seen_url.exists(params![feed_id, u])?,
                    None => false,
                };
            out.push(!known);
        }
        Ok(out)
    }

    /// Runs `f` whole or not at all: in a savepoint of its own, or, when
    /// atomicity already comes from outside (a bulk batch, or the store
    /// thread's savepoint around its command), inside that. (SQLite may
    /// have rolled a transaction back by itself, on a full disk or an I/O
    /// error: then `f` gets its own savepoint again.) On failure nothing of
    /// `f` stays and no transaction is left open by it.
    pub(super) fn atomic<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.bulk && !self.conn.is_autocommit() {
            return f(self);
        }
        self.conn.exec("SAVEPOINT unit", [])?;
        let outer = std::mem::replace(&mut self.bulk, true);
        let result = f(self);
        self.bulk = outer;
        let undo = |conn: &Connection| {
            let _ = conn.execute_batch("ROLLBACK TO unit; RELEASE unit");
        };
        match result {
            Ok(v) => match self.conn.exec("RELEASE unit", []) {
                Ok(_) => Ok(v),
                Err(e) => {
                    undo(&self.conn);
                    Err(e.into())
                }
            },
            Err(e) => {
                undo(&self.conn);
                Err(e)
            }
        }
    }

    pub(super) fn ingest_body(
        &self,
        feed_id: i64,
        feed_url: &str,
        items: &[MatchedArticle],
        now: Timestamp,
    ) -> Result<IngestReport, StoreError> {
        let tx = &self.conn;
        // Detection time in ms for the alerts' `detected_at` (the wall
        // clock's, when it agrees with `now` to the second).
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let now_ms = if wall_ms.div_euclid(1000) == now {
            wall_ms
        } else {
            now.saturating_mul(1000)
        };
        let mut rep = IngestReport {
            items: items.len(),
            ..IngestReport::default()
        };
        {
            // What this feed already gave: its own articles, and stories
            // first stored from another feed that it also carried (its
            // sightings). Indexed lookups each, not one OR (which would
            // scan every row of the feed, a cost that grows with its
            // history).
            let mut own_key =
                tx.prepare_cached("SELECT 1 FROM articles WHERE feed_id = ?1 AND item_key = ?2")?;
            let mut seen_key =
                tx.prepare_cached("SELECT 1 FROM sightings WHERE feed_id = ?1 AND item_key = ?2")?;
            let mut own_url = tx.prepare_cached(OWN_URL)?;
            let mut seen_url = tx.prepare_cached(
                "SELECT 1 FROM sightings WHERE feed_id = ?1 AND url = ?2 LIMIT 1",
            )?;
            let mut same_title = tx.prepare_cached(SAME_TITLE)?;
            // Reports of one meeting: the same forum and venue country,
            // days at most three apart.
            let mut same_event = tx.prepare_cached(
                "SELECT event_id, event_day FROM meetings WHERE forum = ?1 AND country = ?2
                   AND event_day BETWEEN date(?3, '-3 days') AND date(?3, '+3 days')
                 ORDER BY article_id LIMIT 1",
            )?;
            let mut ins_meeting = tx.prepare_cached(
                "INSERT INTO meetings (article_id, event_id, forum, country, day, event_day, facts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut event_heard = tx.prepare_cached(
                "SELECT 1 FROM outbox o JOIN meetings m ON m.article_id = o.article_id
                 WHERE m.event_id = ?1 AND o.sink = ?2 AND o.state IN ('pending', 'delivered') LIMIT 1",
            )?;
            let mut same_story = tx.prepare_cached(SAME_STORY)?;
            let mut ins_article = tx.prepare_cached(
                "INSERT INTO articles (feed_id, item_key, url, title, summary, content, lang, published_at, fetched_at, fingerprint, title_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut ins_sighting = tx.prepare_cached(
                "INSERT OR IGNORE INTO sightings (article_id, feed_id, item_key, url, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut ins_match = tx.prepare_cached(
                "INSERT OR IGNORE INTO matches (article_id, watch, severity, score, terms, snippet, matched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut ins_outbox = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (id, article_id, sink, state, created_at, next_attempt_ms, watches, created_ms, sequence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5 * 1000, ?6, ?7,
                         CASE WHEN ?4 = 'pending' THEN
                           (SELECT coalesce(max(sequence), 0) + 1 FROM outbox WHERE sink = ?3) END)",
            )?;
            // A feed with nothing stored yet (its first poll, a backfill)
            // can only repeat an item of this same document: two probes for
            // the feed and a set in memory instead of probes per item.
            let fresh = !tx
                .prepare_cached("SELECT 1 FROM articles WHERE feed_id = ?1 LIMIT 1")?
                .exists([feed_id])?
                && !tx
                    .prepare_cached("SELECT 1 FROM sightings WHERE feed_id = ?1 LIMIT 1")?
                    .exists([feed_id])?;
            let mut keys_here: std::collections::HashSet<&str> = Default::default();
            let mut urls_here: std::collections::HashSet<&str> = Default::default();
            for m in items {
                let a = &m.article;
                let seen = if fresh {
                    // As the probes would: only items stored count.
                    let dup = keys_here.contains(a.key.as_str())
                        || a.url.as_deref().is_some_and(|u| urls_here.contains(u));
                    if !dup {
                        keys_here.insert(a.key.as_str());
                        if let Some(u) = a.url.as_deref() {
                            urls_here.insert(u);
                        }
                    }
                    dup
                } else {
                    own_key.exists(params![feed_id, a.key])?
                        || seen_key.exists(params![feed_id, a.key])?
                        || match &a.url {
                            Some(u) => {
                                own_url.exists(params![feed_id, u])?
                                    || seen_url.exists(params![feed_id, u])?
                            }
                            None => false,
                        }
                };
                if seen {
                    rep.duplicates += 1;
                    continue;
                }
                let same_link = match &a.url {
                    Some(u) => same_story
                        .query_row([u], |r| r.get::<_, i64>(0))
                        .optional()?,
                    None => None,
                };
                // A story that can alert is also recognised under another
                // link: the same (long enough) title from another feed in
                // the last three days, with a summary that says the same.
                let tkey = if m.matches.is_empty() {
                    None
                } else {
                    m.title_key.as_deref()
                };
                let same_text = match (&same_link, &tkey) {
                    (None, Some(k)) => {
                        let cands: Vec<(i64, String)> = same_title
                            .query_map(params![k, feed_id, now - 3 * 86_400], |r| {
                                Ok((r.get(0)?, r.get(1)?))
                            })?
                            .collect::<Result<_, _>>()?;
                        cands
                            .into_iter()
                            .find(|(_, s)| same_summary(s, &m.summary_words))
                            .map(|(id, _)| id)
                    }
                    _ => None,
                };
                if let Some(existing) = same_link.or(same_text) {
                    ins_sighting.execute(params![existing, feed_id, a.key, a.url, now])?;
                    rep.sightings += 1;
                    continue;
                }
                ins_article.execute(params![
                    feed_id,
                    a.key,
                    a.url,
                    a.title,
                    a.summary,
                    a.content,
                    a.lang,
                    a.published,
                    now,
                    m.fingerprint,
                    tkey
                ])?;
                // The article row is its own feed's sighting.
                let article_id = tx.last_insert_rowid();
                rep.new_articles += 1;
                if m.matches.is_empty() {
                    continue;
                }
                rep.matched += 1;
                for w in &m.matches {
                    ins_match.execute(params![
                        article_id,
                        w.watch,
                        w.severity.as_str(),
                        w.score,
                        terms_json(&w.terms),
                        w.snippet,
                        now
                    ])?;
                }
                let event = match &m.facts {
                    Some(f) => {
                        let day = f.date.clone().unwrap_or_else(|| {
                            chrono::DateTime::from_timestamp(a.published.unwrap_or(now), 0)
                                .map(|d| d.format("%Y-%m-%d").to_string())
                                .unwrap_or_default()
                        });
                        let earlier = match (&f.forum, &f.country) {
                            (Some(forum), Some(country)) => same_event
                                .query_row(params![forum, country, day], |r| {
                                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                                })
                                .optional()?,
                            _ => None,
                        };
                        let (id, event_day) = earlier
                            .clone()
                            .unwrap_or_else(|| (event_id(feed_url, &a.key), day.clone()));
                        let json = serde_json::to_string(f).unwrap_or_else(|_| "{}".into());
                        ins_meeting.execute(params![
                            article_id, id, f.forum, f.country, day, event_day, json
                        ])?;
                        Some((id, earlier.is_some()))
                    }
                    None => None,
                };
                for route in &m.routes {
                    // A sink that wants each meeting once hears of this
                    // one only if it has heard of none of its reports.
                    let follow_up = !route.follow_ups
                        && match &event {
                            Some((id, true)) => event_heard.exists(params![id, route.sink])?,
                            _ => false,
                        };
                    let state = if m.suppressed || follow_up {
                        OutboxState::Suppressed
                    } else {
                        OutboxState::Pending
                    };
                    let id = alert_id(feed_url, &a.key, &route.sink);
                    let watches = serde_json::to_string(&route.watches).ok();
                    rep.alerts_queued += ins_outbox.execute(params![
                        id,
                        article_id,
                        route.sink,
                        state.as_str(),
                        now,
                        watches,
                        now_ms
                    ])?;
                }
            }
        }
        Ok(rep)
    }
}

/// The event id a meeting's first report gives it.
pub(crate) fn event_id(feed_url: &str, item_key: &str) -> String {
    let d = hex_digest(&[b"event\n", feed_url.as_bytes(), b"\n", item_key.as_bytes()]);
    d[..16].to_string()
}

/// The stable alert id for an item of a feed going to a sink.
pub(crate) fn alert_id(feed_url: &str, item_key: &str, sink: &str) -> String {
    let d = hex_digest(&[
        b"alert\n",
        feed_url.as_bytes(),
        b"\n",
        item_key.as_bytes(),
        b"\n",
        sink.as_bytes(),
    ]);
    d[..32].to_string()
}

fn terms_json(terms: &[TermHit]) -> String {
    let v: Vec<serde_json::Value> = terms
        .iter()
        .map(|t| serde_json::json!({"term": t.term, "field": t.field.as_str(), "count": t.count}))
        .collect();
    serde_json::Value::Array(v).to_string()
}
