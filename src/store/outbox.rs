//! The alert outbox: each sink's queue, delivery outcomes, requeues and
//! retention.

use super::StoreError;
use super::db::{ExecCached, Store};
use super::types::{AlertRow, OutboxState, PendingAlert};
use crate::model::Timestamp;
use rusqlite::params;

impl Store {
    /// The pending alerts of one sink due by `due_ms` (Unix ms), in the
    /// order they were detected. One that waits for its retry does not hold
    /// back the others.
    pub(crate) fn sink_queue(
        &self,
        sink: &str,
        due_ms: i64,
        limit: usize,
    ) -> Result<Vec<PendingAlert>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, attempts, created_at, article_id, watches FROM outbox
             WHERE sink = ?1 AND state = 'pending' AND next_attempt_ms <= ?3
             ORDER BY created_at, rowid LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![sink, limit as i64, due_ms], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, attempts, created_at, article_id, watches) in rows {
            let article = self.article(article_id)?;
            let mut matches = self.article_matches(article_id)?;
            // The watches routed at ingest (a row queued before routing was
            // stored keeps every watch of its article).
            if let Some(routed) = watches.and_then(|w| serde_json::from_str::<Vec<String>>(&w).ok())
            {
                matches.retain(|m| routed.contains(&m.watch));
            }
            let also_seen_in = self.other_sightings(article_id)?;
            out.push(PendingAlert {
                id,
                attempts: attempts as u32,
                created_at,
                article,
                matches,
                also_seen_in,
            });
        }
        Ok(out)
    }

    /// When the next pending alert of `sink` is due (Unix ms), if any.
    pub(crate) fn sink_next_due(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT min(next_attempt_ms) FROM outbox WHERE sink = ?1 AND state = 'pending'",
            )?
            .query_row([sink], |r| r.get(0))?)
    }

    /// Makes every pending alert of `sink` due at `now_ms` (a sink that
    /// was down is back: its backlog goes out in detection order). Returns
    /// how many.
    pub(crate) fn release_backlog(&mut self, sink: &str, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn.exec(
            "UPDATE outbox SET next_attempt_ms = ?2 WHERE sink = ?1 AND state = 'pending' AND next_attempt_ms > ?2",
            params![sink, now_ms],
        )?)
    }

    /// Alerts in the outbox, newest first, optionally in one state.
    pub(crate) fn list_alerts(
        &self,
        state: Option<OutboxState>,
        limit: usize,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.id, o.sink, o.state, o.attempts, o.created_at, o.delivered_at, o.last_error, o.next_attempt_ms,
                    a.title, a.url, f.name
             FROM outbox o JOIN articles a ON a.id = o.article_id JOIN feeds f ON f.id = a.feed_id
             WHERE (?1 IS NULL OR o.state = ?1) ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![state.map(OutboxState::as_str), limit as i64], |r| {
                Ok(AlertRow {
                    id: r.get(0)?,
                    sink: r.get(1)?,
                    state: OutboxState::parse(&r.get::<_, String>(2)?)
                        .unwrap_or(OutboxState::Pending),
                    attempts: r.get(3)?,
                    created_at: r.get(4)?,
                    delivered_at: r.get(5)?,
                    last_error: r.get(6)?,
                    next_attempt_ms: r.get(7)?,
                    title: r.get(8)?,
                    url: r.get(9)?,
                    feed: r.get(10)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Puts an alert (or, with `None`, every dead alert) back in the queue,
    /// due now, with a fresh count of attempts. Returns how many.
    pub(crate) fn requeue(&mut self, id: Option<&str>, now_ms: i64) -> Result<usize, StoreError> {
        let n = match id {
            Some(id) => self.conn.exec(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?2 WHERE id = ?1 AND state IN ('dead', 'pending', 'delivered')",
                params![id, now_ms],
            )?,
            None => self.conn.exec(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?1 WHERE state = 'dead'",
                params![now_ms],
            )?,
        };
        Ok(n)
    }

    /// Retention: empties the text of unmatched articles fetched before
    /// `cutoff` but keeps their keys, links and sightings, so an item that
    /// reappears in a feed is still recognised and never alerts again.
    /// Returns how many were pruned.
    pub(crate) fn prune(&mut self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let n = self.conn.exec(
            "UPDATE articles SET title = '', summary = '', content = '', pruned = 1
             WHERE pruned = 0 AND fetched_at < ?1
               AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.article_id = articles.id)",
            [cutoff],
        )?;
        Ok(n)
    }

    /// Opens a transaction that the following ingests join until
    /// [`Store::commit_batch`]: bulk loads commit every few thousand
    /// How many alerts are pending (for any sink).
    pub(crate) fn pending_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks an alert delivered.
    pub(crate) fn mark_delivered(&mut self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        tx.exec(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        tx.exec(
            "INSERT INTO deliveries (alert_id, attempt, at, outcome) SELECT id, attempts, ?2, 'delivered' FROM outbox WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `None`.
    pub(crate) fn mark_failed(
        &mut self,
        id: &str,
        now: Timestamp,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        match retry_at {
            Some(t) => tx.exec(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
                params![id, t, error],
            )?,
            None => tx.exec(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?,
        };
        tx.exec(
            "INSERT INTO deliveries (alert_id, attempt, at, outcome, detail) SELECT id, attempts, ?2, ?3, ?4 FROM outbox WHERE id = ?1",
            params![id, now, if retry_at.is_some() { "retry" } else { "dead" }, error],
        )?;
        tx.commit()?;
        Ok(())
    }
}
