//! Read queries: recent matches, stored articles and their sightings.

use super::StoreError;
use super::db::Store;
use super::types::{MatchRow, StoredArticle};
use crate::model::{Field, Severity, TermHit, Timestamp, WatchMatch};
use rusqlite::params;

impl Store {
    /// Recent matches, newest first.
    pub(crate) fn recent_matches(
        &self,
        since: Timestamp,
        watch: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MatchRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT m.article_id, m.watch, m.severity, m.score, m.terms, m.snippet, m.matched_at,
                    (SELECT count(*) FROM sightings s WHERE s.article_id = m.article_id)
             FROM matches m WHERE m.matched_at >= ?1 AND (?2 IS NULL OR m.watch = ?2)
             ORDER BY m.matched_at DESC, m.id DESC LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![since, watch, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    match_from_row(r, 1)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (aid, watch, at, sightings) in rows {
            out.push(MatchRow {
                matched_at: at,
                watch,
                article: self.article(aid)?,
                sightings,
                also_seen_in: self.other_sightings(aid)?,
            });
        }
        Ok(out)
    }

    pub(super) fn article(&self, id: i64) -> Result<StoredArticle, StoreError> {
        Ok(self.conn.query_row(
            "SELECT a.title, a.url, a.published_at, a.lang, a.summary, f.name, f.url, m.event_id, m.facts
             FROM articles a JOIN feeds f ON f.id = a.feed_id
             LEFT JOIN meetings m ON m.article_id = a.id WHERE a.id = ?1",
            [id],
            |r| {
                Ok(StoredArticle {
                    title: r.get(0)?,
                    url: r.get(1)?,
                    published: r.get(2)?,
                    lang: r.get(3)?,
                    summary: r.get(4)?,
                    feed_name: r.get(5)?,
                    feed_url: r.get(6)?,
                    event: match (r.get::<_, Option<String>>(7)?, r.get::<_, Option<String>>(8)?) {
                        (Some(id), Some(facts)) => {
                            let f = serde_json::from_str(&facts).unwrap_or_else(|e| {
                                tracing::warn!(event = %id, error = %e, "stored meeting facts unreadable; the event id is kept");
                                crate::facts::MeetingFacts::default()
                            });
                            Some((id, f))
                        }
                        _ => None,
                    },
                })
            },
        )?)
    }

    pub(super) fn article_matches(&self, article_id: i64) -> Result<Vec<WatchMatch>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT watch, severity, score, terms, snippet FROM matches WHERE article_id = ?1 ORDER BY score DESC, watch",
        )?;
        let v = st
            .query_map([article_id], |r| match_from_row(r, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }

    pub(super) fn other_sightings(
        &self,
        article_id: i64,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT f.name, f.url, s.url FROM sightings s JOIN feeds f ON f.id = s.feed_id
             JOIN articles a ON a.id = s.article_id
             WHERE s.article_id = ?1 AND s.feed_id != a.feed_id ORDER BY s.id",
        )?;
        let v = st
            .query_map([article_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }
}

fn match_from_row(r: &rusqlite::Row<'_>, base: usize) -> rusqlite::Result<WatchMatch> {
    let sev: String = r.get(base + 1)?;
    let terms: String = r.get(base + 3)?;
    Ok(WatchMatch {
        watch: r.get(base)?,
        severity: Severity::parse(&sev).unwrap_or(Severity::Medium),
        score: r.get(base + 2)?,
        terms: terms_from_json(&terms),
        snippet: r.get(base + 4)?,
    })
}

fn terms_from_json(s: &str) -> Vec<TermHit> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(s) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|v| {
            let field = match v.get("field")?.as_str()? {
                "title" => Field::Title,
                "summary" => Field::Summary,
                _ => Field::Content,
            };
            Some(TermHit {
                term: v.get("term")?.as_str()?.to_string(),
                field,
                count: v.get("count")?.as_u64()? as u32,
            })
        })
        .collect()
}
