//! The alert outbox: each sink's queue, delivery outcomes, requeues and
//! retention.

use super::StoreError;
use super::db::{ExecCached, Store};
use super::types::{
    AlertRow, AttemptEnd, OutboxState, PendingAlert, SinkCondition, SinkHealth, SinkQueue,
};
use crate::model::Timestamp;
use rusqlite::{OptionalExtension, params};

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
            "SELECT id, attempts, created_at, article_id, watches, created_ms, sequence, rejections FROM outbox
             WHERE sink = ?1 AND state = 'pending' AND next_attempt_ms <= ?3
             ORDER BY created_at, rowid LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![sink, limit as i64, due_ms], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ),
                    (
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, i64>(7)?,
                    ),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for ((id, attempts, created_at, article_id, watches), (created_ms, sequence, rejections)) in
            rows
        {
            let mut article = self.article(article_id)?;
            let mut matches = self.article_matches(article_id)?;
            // The watches routed at ingest (a row queued before routing was
            // stored keeps every watch of its article).
            if let Some(routed) = watches.and_then(|w| serde_json::from_str::<Vec<String>>(&w).ok())
            {
                matches.retain(|m| routed.contains(&m.watch));
            }
            // The meeting goes only to a sink that takes coalition-meeting.
            if !matches
                .iter()
                .any(|m| m.watch == crate::facts::MEETING_WATCH)
            {
                article.event = None;
            }
            let also_seen_in = self.other_sightings(article_id)?;
            out.push(PendingAlert {
                id,
                attempts: u32::try_from(attempts).unwrap_or(0),
                created_ms: created_ms.unwrap_or(created_at.saturating_mul(1000)),
                sequence,
                rejections: u32::try_from(rejections).unwrap_or(0),
                article,
                matches,
                also_seen_in,
            });
        }
        Ok(out)
    }

    /// The oldest pending alert of `sink`, due or not (a down sink's probe).
    pub(crate) fn sink_oldest(&self, sink: &str) -> Result<Option<PendingAlert>, StoreError> {
        let first = self
            .conn
            .prepare_cached(
                "SELECT next_attempt_ms FROM outbox WHERE sink = ?1 AND state = 'pending'
                 ORDER BY created_at, rowid LIMIT 1",
            )?
            .query_row([sink], |r| r.get::<_, i64>(0))
            .optional()?;
        let Some(due) = first else {
            return Ok(None);
        };
        // The same row, read as the queue reads rows: due by its own time.
        Ok(self.sink_queue(sink, due, 1)?.into_iter().next())
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

    /// The recorded health of `sink` (ok when nothing was recorded).
    pub(crate) fn sink_health(&self, sink: &str) -> Result<SinkHealth, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT state, since_ms, reason, streak, first_failure_ms, last_failure_ms, last_success_ms, fingerprint
                 FROM sink_state WHERE sink = ?1",
            )?
            .query_row([sink], |r| {
                Ok(SinkHealth {
                    condition: SinkCondition::parse(&r.get::<_, String>(0)?),
                    since_ms: r.get(1)?,
                    reason: r.get(2)?,
                    streak: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    first_failure_ms: r.get(4)?,
                    last_failure_ms: r.get(5)?,
                    last_success_ms: r.get(6)?,
                    fingerprint: r.get(7)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Records the health of `sink`.
    pub(crate) fn set_sink_health(&mut self, sink: &str, h: &SinkHealth) -> Result<(), StoreError> {
        self.conn.exec(
            "INSERT INTO sink_state (sink, state, since_ms, reason, streak, first_failure_ms, last_failure_ms, last_success_ms, fingerprint)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (sink) DO UPDATE SET state = ?2, since_ms = ?3, reason = ?4, streak = ?5,
               first_failure_ms = ?6, last_failure_ms = ?7, last_success_ms = ?8, fingerprint = ?9",
            params![
                sink,
                h.condition.as_str(),
                h.since_ms,
                h.reason,
                i64::from(h.streak),
                h.first_failure_ms,
                h.last_failure_ms,
                h.last_success_ms,
                h.fingerprint
            ],
        )?;
        Ok(())
    }

    /// Makes a sink ok again (`alerts enable`): its health is reset and its
    /// backlog due at `now_ms`. Returns how many alerts were waiting.
    pub(crate) fn enable_sink(&mut self, sink: &str, now_ms: i64) -> Result<usize, StoreError> {
        let tx = self.conn.savepoint()?;
        tx.exec("DELETE FROM sink_state WHERE sink = ?1", [sink])?;
        let n = tx.exec(
            "UPDATE outbox SET next_attempt_ms = min(next_attempt_ms, ?2) WHERE sink = ?1 AND state = 'pending'",
            params![sink, now_ms],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// When `sink` sent its messages since `since_ms` (Unix ms, oldest
    /// first; a digest is one message): its pace, from what was recorded.
    pub(crate) fn sink_sent_since(
        &self,
        sink: &str,
        since_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT at_ms FROM deliveries
             WHERE sink = ?1 AND at_ms >= ?2 AND outcome = 'delivered' ORDER BY at_ms",
        )?;
        let rows = st
            .query_map(params![sink, since_ms], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// When `sink` last sent a message (Unix ms), if it ever did.
    pub(crate) fn sink_last_sent(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT max(at_ms) FROM deliveries WHERE sink = ?1 AND outcome = 'delivered'",
            )?
            .query_row([sink], |r| r.get(0))?)
    }

    /// Each sink's health and queue: every sink named in `sinks`, and any
    /// other that has alerts in the outbox.
    pub(crate) fn sink_queues(&self, sinks: &[String]) -> Result<Vec<SinkQueue>, StoreError> {
        let mut names: Vec<String> = sinks.to_vec();
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT sink FROM outbox WHERE state IN ('pending', 'dead')",
        )?;
        for n in st.query_map([], |r| r.get::<_, String>(0))? {
            let n = n?;
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let mut counts = self.conn.prepare_cached(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'dead'),
                    min(created_at) FILTER (WHERE state = 'pending'), min(next_attempt_ms) FILTER (WHERE state = 'pending')
             FROM outbox WHERE sink = ?1 AND state IN ('pending', 'dead')",
        )?;
        let mut out = Vec::with_capacity(names.len());
        for sink in names {
            let (pending, dead, oldest_pending, next_due_ms) = counts.query_row([&sink], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            let health = self.sink_health(&sink)?;
            out.push(SinkQueue {
                sink,
                health,
                pending,
                dead,
                oldest_pending,
                next_due_ms,
            });
        }
        Ok(out)
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

    /// Marks an alert delivered to `sink` at `now_ms` (Unix ms).
    pub(crate) fn mark_delivered(
        &mut self,
        id: &str,
        sink: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        tx.exec(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, now_ms.div_euclid(1000)],
        )?;
        tx.exec(
            "INSERT INTO deliveries (alert_id, attempt, at, outcome, sink, at_ms)
             SELECT id, attempts, ?2, 'delivered', ?3, ?4 FROM outbox WHERE id = ?1",
            params![id, now_ms.div_euclid(1000), sink, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt of an alert to `sink` at `now_ms`, ended as
    /// `end` says; `rejected` when the receiver refused the alert itself.
    pub(crate) fn mark_failed(
        &mut self,
        id: &str,
        sink: &str,
        now_ms: i64,
        error: &str,
        end: AttemptEnd,
        rejected: bool,
    ) -> Result<(), StoreError> {
        let tx = self.conn.savepoint()?;
        let rejected = i64::from(rejected);
        let outcome = match end {
            AttemptEnd::Retry(t) => {
                tx.exec(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3, rejections = rejections + ?4 WHERE id = ?1",
                    params![id, t, error, rejected],
                )?;
                "retry"
            }
            AttemptEnd::Dead => {
                tx.exec(
                    "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2, rejections = rejections + ?3 WHERE id = ?1",
                    params![id, error, rejected],
                )?;
                "dead"
            }
            AttemptEnd::Uncounted => {
                tx.exec(
                    "UPDATE outbox SET last_error = ?2 WHERE id = ?1",
                    params![id, error],
                )?;
                "uncounted"
            }
        };
        tx.exec(
            "INSERT INTO deliveries (alert_id, attempt, at, outcome, detail, sink, at_ms)
             SELECT id, attempts, ?2, ?3, ?4, ?5, ?6 FROM outbox WHERE id = ?1",
            params![id, now_ms.div_euclid(1000), outcome, error, sink, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }
}
