//! Feed state: rows, the record of each poll, moves and states.

use super::StoreError;
use super::db::{ExecCached, Store};
use super::types::{FeedRow, FeedState, PollOutcome, PollRecorded};
use crate::model::{ErrorKind, Timestamp, Validators};
use rusqlite::{OptionalExtension, params};

impl Store {
    /// Returns the feed row for `url`, creating it (with `name`) if needed.
    pub(crate) fn ensure_feed(
        &mut self,
        url: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<FeedRow, StoreError> {
        // Read first: the common case (the feed exists, same name) writes nothing.
        if let Some(row) = self.feed(url)?
            && row.name == name
        {
            return Ok(row);
        }
        self.conn.exec(
            "INSERT INTO feeds (url, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(url) DO UPDATE SET name = excluded.name",
            params![url, name, now],
        )?;
        self.feed(url)?
            .ok_or_else(|| StoreError::from(rusqlite::Error::QueryReturnedNoRows))
    }

    /// The feed row for `url`, if any.
    pub(crate) fn feed(&self, url: &str) -> Result<Option<FeedRow>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {FEED_COLS} FROM feeds WHERE url = ?1"))?
            .query_row([url], feed_row)
            .optional()?)
    }

    /// Every feed row, by name.
    pub(crate) fn feeds(&self) -> Result<Vec<FeedRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {FEED_COLS} FROM feeds ORDER BY name, url"))?;
        let rows = st.query_map([], feed_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records how a poll of feed `feed_id` ended, whole or not at all:
    /// a permanent move it saw, the articles of a fetched document (with
    /// their matches and outbox rows), the feed's validators, error streak
    /// and schedule, and its leaving the schedule. `confirm` is how many
    /// consecutive polls redirected to one place make the move final.
    pub(crate) fn record_poll(
        &mut self,
        feed_id: i64,
        feed_url: &str,
        now: Timestamp,
        outcome: PollOutcome,
        confirm: i64,
    ) -> Result<PollRecorded, StoreError> {
        self.atomic(|s| s.record_poll_body(feed_id, feed_url, now, outcome, confirm))
    }

    fn record_poll_body(
        &mut self,
        feed_id: i64,
        feed_url: &str,
        now: Timestamp,
        outcome: PollOutcome,
        confirm: i64,
    ) -> Result<PollRecorded, StoreError> {
        let conn = &self.conn;
        let mut done = PollRecorded::default();
        match outcome {
            PollOutcome::Fetched {
                status,
                validators,
                body_hash,
                title,
                items,
                partial,
                moved_to,
                next,
            } => {
                // The target served a feed: the move counts towards
                // confirmation, in the same commit as what it served.
                done.switched_to = self.record_move(feed_id, moved_to.as_deref(), confirm)?;
                let rep = self.ingest_body(feed_id, feed_url, &items, now)?;
                let sched = if rep.new_articles > 0 {
                    next.if_new
                } else {
                    next.if_quiet
                };
                self.conn.exec(
                    "UPDATE feeds SET etag = ?2, last_modified = ?3, body_hash = ?4, title = COALESCE(?5, title),
                        first_success_at = COALESCE(first_success_at, ?6), last_polled_at = ?6, last_success_at = ?6,
                        last_status = ?7, next_poll_at = ?8, error_streak = 0, last_error = ?11, items_seen = ?9,
                        interval_s = COALESCE(?10, interval_s), retry_until = NULL,
                        error_kind = CASE WHEN ?11 IS NULL THEN NULL ELSE 'partial' END
                     WHERE id = ?1",
                    params![feed_id, validators.etag, validators.last_modified, body_hash, title, now, status, sched.next_poll_at, items.len() as i64, sched.interval_s, partial],
                )?;
                done.next_poll_at = sched.next_poll_at;
                done.report = Some(rep);
                done.items = items;
            }
            PollOutcome::NotModified {
                status,
                refreshed,
                moved_to,
                sched,
            } => {
                done.switched_to = self.record_move(feed_id, moved_to.as_deref(), confirm)?;
                let conn = &self.conn;
                if let Some((validators, body_hash)) = refreshed {
                    conn.exec(
                        "UPDATE feeds SET etag = ?2, last_modified = ?3, body_hash = ?4 WHERE id = ?1",
                        params![feed_id, validators.etag, validators.last_modified, body_hash],
                    )?;
                }
                conn.exec(
                    "UPDATE feeds SET first_success_at = COALESCE(first_success_at, ?2), last_polled_at = ?2, last_success_at = ?2,
                        last_status = ?3, next_poll_at = ?4, error_streak = 0, last_error = NULL,
                        interval_s = COALESCE(?5, interval_s), retry_until = NULL, error_kind = NULL
                     WHERE id = ?1",
                    params![feed_id, now, status, sched.next_poll_at, sched.interval_s],
                )?;
                done.next_poll_at = sched.next_poll_at;
            }
            PollOutcome::Failed {
                status,
                kind,
                error,
                sched,
                retire,
            } => {
                conn.exec(
                    "UPDATE feeds SET last_polled_at = ?2, last_status = ?3, next_poll_at = ?4,
                        error_streak = error_streak + 1, last_error = ?5, error_kind = ?6, retry_until = ?7
                     WHERE id = ?1",
                    params![feed_id, now, status, sched.next_poll_at, error, kind.as_str(), sched.retry_until],
                )?;
                if let Some((state, reason)) = retire {
                    self.set_feed_state(feed_id, state, Some(&reason))?;
                }
                done.next_poll_at = sched.next_poll_at;
            }
            PollOutcome::Skipped => {}
        }
        Ok(done)
    }

    /// Records whether this poll was permanently redirected to `moved_to`.
    /// After `confirm` consecutive polls to the same target, the feed is
    /// fetched from there (the old URL goes to its history); returns the
    /// new URL then.
    fn record_move(
        &mut self,
        feed_id: i64,
        moved_to: Option<&str>,
        confirm: i64,
    ) -> Result<Option<String>, StoreError> {
        let conn = &self.conn;
        let Some(target) = moved_to else {
            // Nothing to forget in the common case: then nothing is written.
            conn.exec(
                "UPDATE feeds SET moved_to = NULL, moved_seen = 0 WHERE id = ?1 AND (moved_to IS NOT NULL OR moved_seen != 0)",
                [feed_id],
            )?;
            return Ok(None);
        };
        conn.exec(
            "UPDATE feeds SET moved_seen = CASE WHEN moved_to = ?2 THEN moved_seen + 1 ELSE 1 END, moved_to = ?2 WHERE id = ?1",
            params![feed_id, target],
        )?;
        let seen: i64 = conn
            .prepare_cached("SELECT moved_seen FROM feeds WHERE id = ?1")?
            .query_row([feed_id], |r| r.get(0))?;
        if seen < confirm {
            return Ok(None);
        }
        conn.exec(
            "UPDATE feeds SET url_history = COALESCE(url_history || char(10), '') || COALESCE(fetch_url, url),
                fetch_url = ?2, moved_to = NULL, moved_seen = 0, etag = NULL, last_modified = NULL WHERE id = ?1",
            params![feed_id, target],
        )?;
        Ok(Some(target.to_string()))
    }

    /// Takes a feed out of (or back into) the schedule, with the reason
    /// shown by `newswatch feeds`.
    pub(crate) fn set_feed_state(
        &mut self,
        feed_id: i64,
        state: FeedState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.exec(
            "UPDATE feeds SET state = ?2, state_reason = ?3 WHERE id = ?1",
            params![feed_id, state.as_str(), reason],
        )?;
        Ok(())
    }
}

impl Store {
    /// Puts a feed back in the schedule, due at `now`: a stopped one (gone,
    /// disabled) becomes active; with `reset`, its error streak, last error
    /// and adaptive interval are cleared too. Returns what its state was,
    /// or `None` when the feed has no row yet.
    pub(crate) fn restart_feed(
        &mut self,
        url: &str,
        reset: bool,
        now: Timestamp,
    ) -> Result<Option<FeedState>, StoreError> {
        let tx = self.conn.savepoint()?;
        let was: Option<String> = tx
            .query_row("SELECT state FROM feeds WHERE url = ?1", [url], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(was) = was else {
            return Ok(None);
        };
        tx.exec(
            "UPDATE feeds SET state = 'active', state_reason = NULL, stopped_entry = NULL, next_poll_at = ?2, retry_until = NULL WHERE url = ?1",
            params![url, now],
        )?;
        if reset {
            tx.exec(
                "UPDATE feeds SET error_streak = 0, last_error = NULL, error_kind = NULL, interval_s = NULL WHERE url = ?1",
                [url],
            )?;
        }
        tx.commit()?;
        Ok(Some(FeedState::parse(&was)))
    }
}

impl Store {
    /// Remembers the config entry (its fingerprint) a stopped feed had.
    pub(crate) fn set_stopped_entry(
        &mut self,
        feed_id: i64,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        self.conn.exec(
            "UPDATE feeds SET stopped_entry = ?2 WHERE id = ?1",
            params![feed_id, fingerprint],
        )?;
        Ok(())
    }
}

const FEED_COLS: &str = "id, url, name, etag, last_modified, body_hash, first_success_at, last_polled_at, last_status, next_poll_at, error_streak, last_error, items_seen, interval_s, retry_until, state, state_reason, error_kind, last_success_at, fetch_url, url_history, created_at, stopped_entry";

fn feed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedRow> {
    Ok(FeedRow {
        id: r.get(0)?,
        url: r.get(1)?,
        name: r.get(2)?,
        validators: Validators {
            etag: r.get(3)?,
            last_modified: r.get(4)?,
        },
        body_hash: r.get(5)?,
        first_success_at: r.get(6)?,
        last_polled_at: r.get(7)?,
        last_status: r.get(8)?,
        next_poll_at: r.get(9)?,
        error_streak: r.get(10)?,
        last_error: r.get(11)?,
        items_seen: r.get(12)?,
        interval_s: r.get(13)?,
        retry_until: r.get(14)?,
        state: FeedState::parse(&r.get::<_, String>(15)?),
        state_reason: r.get(16)?,
        error_kind: r
            .get::<_, Option<String>>(17)?
            .and_then(|k| ErrorKind::parse(&k)),
        last_success_at: r.get(18)?,
        fetch_url: r.get(19)?,
        url_history: r.get(20)?,
        created_at: r.get(21)?,
        stopped_entry: r.get(22)?,
    })
}
