//! Storage: the SQLite schema and every SQL statement of newswatch.
//!
//! Owns the database file (WAL, foreign keys on), its migrations, the
//! exclusive owner lock beside it, feed state (validators, schedule, error
//! streak), articles (each row also its own feed's sighting) with the
//! other feeds' sightings and their matches, and the alert outbox. "Is this item new?" is answered here, by unique keys, never by
//! memory elsewhere. An article, its sightings, its matches and its outbox
//! rows are written in one transaction.
//!
//! [`Store`] is synchronous; [`Handle`] runs one on a dedicated thread and
//! takes closures from async code, so SQLite never blocks the runtime.

pub mod migrations;

use crate::model::{
    Field, IngestReport, MatchedArticle, Severity, TermHit, Timestamp, Validators, WatchMatch,
};
use crate::text::hex_digest;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer newswatch.
    #[error(
        "database {path} has schema version {found}, newer than this newswatch knows ({known}); refusing to touch it (upgrade newswatch)"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// Another process holds the database.
    #[error(
        "database {path} is in use by another newswatch process (lock {lock} is held); stop it first"
    )]
    Locked {
        /// The database.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// File-system trouble around the database.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store thread is gone (the process is shutting down).
    #[error("the database thread has stopped")]
    Closed,
    /// The batch this work ran in was rolled back (another write in it
    /// failed, or the commit did): nothing of it is on disk.
    #[error("the database transaction was rolled back; nothing was written")]
    RolledBack,
}

/// Holds the exclusive owner lock on a database until dropped.
#[derive(Debug)]
pub struct OwnerLock {
    _file: File,
    path: PathBuf,
}

impl OwnerLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file for a database: `<db>.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

/// Takes the exclusive owner lock for the database at `db`, or says who
/// holds it. The lock is released when the process exits, however it exits.
pub fn lock(db: &Path) -> Result<OwnerLock, StoreError> {
    let path = lock_path(db);
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            what: "cannot create directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io {
            what: "cannot open lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => {
            use std::io::Write;
            let _ = file.set_len(0);
            let _ = writeln!(&file, "{}", std::process::id());
            Ok(OwnerLock { _file: file, path })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: db.to_path_buf(),
            lock: path,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io {
            what: "cannot lock",
            path,
            source,
        }),
    }
}

/// A feed's stored state.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    /// Row id.
    pub id: i64,
    /// URL (identity).
    pub url: String,
    /// Display name.
    pub name: String,
    /// Cache validators from the last 200.
    pub validators: Validators,
    /// Hash of the last body parsed.
    pub body_hash: Option<String>,
    /// When the first successful poll happened (None: never).
    pub first_success_at: Option<Timestamp>,
    /// Last poll time.
    pub last_polled_at: Option<Timestamp>,
    /// Last HTTP status.
    pub last_status: Option<i64>,
    /// When the next poll is due.
    pub next_poll_at: Option<Timestamp>,
    /// Consecutive failed polls.
    pub error_streak: i64,
    /// The last error, if the last poll failed.
    pub last_error: Option<String>,
    /// Items seen in the last successful document.
    pub items_seen: i64,
    /// The current (adaptive) poll interval, in seconds.
    pub interval_s: Option<i64>,
    /// Not to be polled before this time (the server's `Retry-After`).
    pub retry_until: Option<Timestamp>,
    /// `active`, `gone` (HTTP 410) or `disabled` (never a feed).
    pub state: String,
    /// Why the feed is not active.
    pub state_reason: Option<String>,
    /// The kind of the last error (timeout, connect, http-5xx, …).
    pub error_kind: Option<String>,
    /// Last successful poll.
    pub last_success_at: Option<Timestamp>,
    /// Where it is fetched from after a confirmed permanent move.
    pub fetch_url: Option<String>,
    /// The URLs it moved away from, oldest first, one a line.
    pub url_history: Option<String>,
}

/// When a feed is polled next, as decided after a poll.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sched {
    /// The next poll (Unix s).
    pub next_poll_at: Timestamp,
    /// The new adaptive interval, when it changed.
    pub interval_s: Option<i64>,
    /// The end of a `Retry-After` window, if the server set one.
    pub retry_until: Option<Timestamp>,
}

/// An alert waiting in the outbox, with everything a sink needs.
#[derive(Debug, Clone)]
pub struct PendingAlert {
    /// Stable id (the `Idempotency-Key`).
    pub id: String,
    /// Sink name.
    pub sink: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it may be tried next (Unix milliseconds).
    pub next_attempt_ms: i64,
    /// The article.
    pub article: StoredArticle,
    /// The watches that fired (routed or not: the sink filters).
    pub matches: Vec<WatchMatch>,
    /// Other feeds that carried the same story: (feed name, feed url, item url).
    pub also_seen_in: Vec<(String, String, Option<String>)>,
}

/// An article as stored.
#[derive(Debug, Clone)]
pub struct StoredArticle {
    /// Row id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Canonical link.
    pub url: Option<String>,
    /// Publication time.
    pub published: Option<Timestamp>,
    /// Language.
    pub lang: Option<String>,
    /// Summary.
    pub summary: String,
    /// Feed name.
    pub feed_name: String,
    /// Feed URL.
    pub feed_url: String,
}

/// One row of `newswatch alerts`.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// The alert id (its Idempotency-Key).
    pub id: String,
    /// The sink.
    pub sink: String,
    /// pending, delivered, dead or suppressed.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it is tried next (Unix ms).
    pub next_attempt_ms: i64,
    /// The article's title.
    pub title: String,
    /// The article's link.
    pub url: Option<String>,
    /// The feed's name.
    pub feed: String,
}

/// One row of `newswatch matches`.
#[derive(Debug, Clone)]
pub struct MatchRow {
    /// When it matched.
    pub matched_at: Timestamp,
    /// The watch.
    pub watch: WatchMatch,
    /// The article.
    pub article: StoredArticle,
    /// How many other feeds carried it.
    pub sightings: i64,
    /// Those other feeds: (feed name, feed URL, item link).
    pub also_seen_in: Vec<(String, String, Option<String>)>,
}

/// How a poll ended, for [`Store::record_poll`].
#[derive(Debug, Clone)]
pub enum PollRecord {
    /// A document was parsed.
    Fetched {
        /// HTTP status.
        status: u16,
        /// New validators.
        validators: Validators,
        /// Hash of the body.
        body_hash: String,
        /// The feed's own title.
        title: Option<String>,
        /// Items in the document.
        items: usize,
    },
    /// 304, or a body identical to the last one.
    NotModified {
        /// HTTP status.
        status: u16,
    },
    /// The poll failed.
    Failed {
        /// HTTP status, if one came back.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// Its kind (timeout, connect, http, too-large, not-a-feed, …).
        kind: &'static str,
    },
}

/// `execute` through the connection's statement cache: the statements a
/// poll or a delivery runs are compiled once.
trait ExecCached {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
}

impl ExecCached for Connection {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// The database.
pub struct Store {
    conn: Connection,
    /// Where the database is (a checkpointer opens its own connection).
    path: PathBuf,
    /// Inside [`Store::begin_batch`]: the batch is the unit of atomicity,
    /// so feeds are written without a savepoint of their own.
    bulk: bool,
}

const SCHEMA_VERSION: i64 = migrations::MIGRATIONS.len() as i64;

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                what: "cannot create directory",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Self::setup(conn, path, true)
    }

    /// Opens an existing database for reading only (no migration, no lock).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Io {
                what: "no database at",
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "run `newswatch once` or `newswatch run` first",
                ),
            });
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Self::setup(conn, path, false)
    }

    fn setup(conn: Connection, path: &Path, write: bool) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if write {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // A larger page cache and fewer, larger checkpoints: ingest writes
            // many small transactions.
            conn.pragma_update(None, "cache_size", -16_384)?;
            conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
            // A log that grew during a large write is cut back once it
            // starts over.
            conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
            conn.pragma_update(None, "temp_store", "MEMORY")?;
        }
        // Every statement a poll runs stays compiled (the default keeps 16).
        conn.set_prepared_statement_cache_capacity(128);
        // Plans that do not depend on bound values: otherwise a lookup that
        // uses a partial index (`articles_url`, `articles_title_key`) is
        // compiled again whenever its parameter changes, once per feed.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            bulk: false,
        };
        if write {
            store.migrate(version)?;
        }
        Ok(store)
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)",
        )?;
        for (i, (desc, sql)) in migrations::MIGRATIONS
            .iter()
            .enumerate()
            .skip(from as usize)
        {
            let v = i as i64 + 1;
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at, description) VALUES (?1, strftime('%s','now'), ?2)",
                params![v, desc],
            )?;
            tx.pragma_update(None, "user_version", v)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Returns the feed row for `url`, creating it (with `name`) if needed.
    pub fn ensure_feed(
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
            .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    /// The feed row for `url`, if any.
    pub fn feed(&self, url: &str) -> Result<Option<FeedRow>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {FEED_COLS} FROM feeds WHERE url = ?1"))?
            .query_row([url], feed_row)
            .optional()?)
    }

    /// Every feed row, by name.
    pub fn feeds(&self) -> Result<Vec<FeedRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {FEED_COLS} FROM feeds ORDER BY name, url"))?;
        let rows = st.query_map([], feed_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records how a poll of feed `feed_id` ended.
    pub fn record_poll(
        &mut self,
        feed_id: i64,
        now: Timestamp,
        rec: &PollRecord,
        sched: &Sched,
    ) -> Result<(), StoreError> {
        record_poll_on(&self.conn, feed_id, now, rec, sched)
    }

    /// Records whether this poll was permanently redirected to `moved_to`.
    /// After `confirm` consecutive polls to the same target, the feed is
    /// fetched from there (the old URL goes to its history); returns the
    /// new URL then.
    pub fn record_move(
        &mut self,
        feed_id: i64,
        moved_to: Option<&str>,
        confirm: i64,
    ) -> Result<Option<String>, StoreError> {
        let Some(target) = moved_to else {
            // Nothing to forget in the common case: then nothing is written.
            self.conn.exec(
                "UPDATE feeds SET moved_to = NULL, moved_seen = 0 WHERE id = ?1 AND (moved_to IS NOT NULL OR moved_seen != 0)",
                [feed_id],
            )?;
            return Ok(None);
        };
        let tx = self.conn.savepoint()?;
        tx.exec(
            "UPDATE feeds SET moved_seen = CASE WHEN moved_to = ?2 THEN moved_seen + 1 ELSE 1 END, moved_to = ?2 WHERE id = ?1",
            params![feed_id, target],
        )?;
        let seen: i64 = tx.query_row(
            "SELECT moved_seen FROM feeds WHERE id = ?1",
            [feed_id],
            |r| r.get(0),
        )?;
        let switched = if seen >= confirm {
            tx.exec(
                "UPDATE feeds SET url_history = COALESCE(url_history || char(10), '') || COALESCE(fetch_url, url),
                    fetch_url = ?2, moved_to = NULL, moved_seen = 0, etag = NULL, last_modified = NULL WHERE id = ?1",
                params![feed_id, target],
            )?;
            Some(target.to_string())
        } else {
            None
        };
        tx.commit()?;
        Ok(switched)
    }

    /// Takes a feed out of (or back into) the schedule, with the reason
    /// shown by `newswatch feeds`.
    pub fn set_feed_state(
        &mut self,
        feed_id: i64,
        state: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.exec(
            "UPDATE feeds SET state = ?2, state_reason = ?3 WHERE id = ?1",
            params![feed_id, state, reason],
        )?;
        Ok(())
    }

    /// Stores the articles of one poll of `feed_id`: new articles with their
    /// matches and outbox rows, sightings of stories already stored from
    /// other feeds, nothing for items this feed already gave. One
    /// transaction for the batch; each article is whole in it.
    pub fn ingest(
        &mut self,
        feed_id: i64,
        feed_url: &str,
        items: &[MatchedArticle],
        now: Timestamp,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_then(feed_id, feed_url, items, now, |_, _| Ok(()))
    }

    /// [`Store::ingest`], then `after` (recording the poll, see
    /// [`record_poll_in`]) in the same transaction: one commit per poll.
    pub fn ingest_then(
        &mut self,
        feed_id: i64,
        feed_url: &str,
        items: &[MatchedArticle],
        now: Timestamp,
        after: impl FnOnce(&Connection, &IngestReport) -> Result<(), StoreError>,
    ) -> Result<IngestReport, StoreError> {
        // Each feed whole or not at all: its own savepoint, or, inside a
        // bulk batch, the batch's transaction (which an error rolls back).
        // (SQLite may have rolled a batch back by itself, on a full disk
        // or an I/O error: then the feed gets its own savepoint again.)
        let own = !self.bulk || self.conn.is_autocommit();
        if own {
            self.conn.exec("SAVEPOINT ingest", [])?;
        }
        let result = self.ingest_body(feed_id, feed_url, items, now, after);
        if !own {
            return result;
        }
        // On any failure nothing of this feed stays and no transaction is
        // left open.
        let undo = |conn: &Connection| {
            let _ = conn.execute_batch("ROLLBACK TO ingest; RELEASE ingest");
        };
        match &result {
            Ok(_) => {
                if let Err(e) = self.conn.exec("RELEASE ingest", []) {
                    undo(&self.conn);
                    return Err(e.into());
                }
            }
            Err(_) => undo(&self.conn),
        }
        result
    }

    fn ingest_body(
        &self,
        feed_id: i64,
        feed_url: &str,
        items: &[MatchedArticle],
        now: Timestamp,
        after: impl FnOnce(&Connection, &IngestReport) -> Result<(), StoreError>,
    ) -> Result<IngestReport, StoreError> {
        let tx = &self.conn;
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
                "INSERT OR IGNORE INTO outbox (id, article_id, sink, state, created_at, next_attempt_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5 * 1000)",
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
                    story_title_key(&a.title)
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
                            .find(|(_, s)| same_summary(s, &a.summary))
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
                let state = if m.suppressed {
                    "suppressed"
                } else {
                    "pending"
                };
                for sink in &m.sinks {
                    let id = alert_id(feed_url, &a.key, sink);
                    rep.alerts_queued +=
                        ins_outbox.execute(params![id, article_id, sink, state, now])?;
                }
            }
        }
        after(tx, &rep)?;
        Ok(rep)
    }

    /// The pending alerts of one sink in the order they were detected
    /// (due or not: delivery keeps that order, so a sink waits on its oldest).
    pub fn sink_queue(&self, sink: &str, limit: usize) -> Result<Vec<PendingAlert>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, sink, attempts, created_at, next_attempt_ms, article_id FROM outbox
             WHERE sink = ?1 AND state = 'pending' ORDER BY created_at, rowid LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![sink, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, sink, attempts, created_at, next_attempt_ms, article_id) in rows {
            let article = self.article(article_id)?;
            let matches = self.article_matches(article_id)?;
            let also_seen_in = self.other_sightings(article_id)?;
            out.push(PendingAlert {
                id,
                sink,
                attempts: attempts as u32,
                created_at,
                next_attempt_ms,
                article,
                matches,
                also_seen_in,
            });
        }
        Ok(out)
    }

    /// Alerts in the outbox, newest first, optionally in one state.
    pub fn list_alerts(
        &self,
        state: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.id, o.sink, o.state, o.attempts, o.created_at, o.delivered_at, o.last_error, o.next_attempt_ms,
                    a.title, a.url, f.name
             FROM outbox o JOIN articles a ON a.id = o.article_id JOIN feeds f ON f.id = a.feed_id
             WHERE (?1 IS NULL OR o.state = ?1) ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![state, limit as i64], |r| {
                Ok(AlertRow {
                    id: r.get(0)?,
                    sink: r.get(1)?,
                    state: r.get(2)?,
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
    pub fn requeue(&mut self, id: Option<&str>, now_ms: i64) -> Result<usize, StoreError> {
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
    pub fn prune(&mut self, cutoff: Timestamp) -> Result<usize, StoreError> {
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
    /// articles instead of after every feed, and feeds are written without
    /// a savepoint of their own (a savepoint copies every page it touches
    /// to its journal). The batch is the unit: an error, or dropping the
    /// store, before the commit rolls it back whole, so no article or feed
    /// is ever split.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.bulk = true;
        Ok(())
    }

    /// Commits the transaction [`Store::begin_batch`] opened.
    pub fn commit_batch(&mut self) -> Result<(), StoreError> {
        self.bulk = false;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Folds the write-ahead log back into the database file and empties
    /// it. Outside any transaction only: inside one, SQLite cannot.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        // (busy, pages in the log, pages copied). Busy when another
        // checkpoint was running (SQLite does not wait for that one) or a
        // reader kept it from finishing: tried again for a few seconds.
        for _ in 0..100 {
            let busy: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        tracing::warn!("the database is in use: its log was not folded back into the file");
        Ok(())
    }

    /// How many alerts are pending (for any sink).
    pub fn pending_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks an alert delivered.
    pub fn mark_delivered(&mut self, id: &str, now: Timestamp) -> Result<(), StoreError> {
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
    pub fn mark_failed(
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

    /// Recent matches, newest first.
    pub fn recent_matches(
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

    /// Counts rows of the main tables: (feeds, articles, matches, outbox).
    pub fn counts(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles), (SELECT count(*) FROM matches), (SELECT count(*) FROM outbox)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?)
    }

    fn article(&self, id: i64) -> Result<StoredArticle, StoreError> {
        Ok(self.conn.query_row(
            "SELECT a.id, a.title, a.url, a.published_at, a.lang, a.summary, f.name, f.url
             FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?1",
            [id],
            |r| {
                Ok(StoredArticle {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    url: r.get(2)?,
                    published: r.get(3)?,
                    lang: r.get(4)?,
                    summary: r.get(5)?,
                    feed_name: r.get(6)?,
                    feed_url: r.get(7)?,
                })
            },
        )?)
    }

    fn article_matches(&self, article_id: i64) -> Result<Vec<WatchMatch>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT watch, severity, score, terms, snippet FROM matches WHERE article_id = ?1 ORDER BY score DESC, watch",
        )?;
        let v = st
            .query_map([article_id], |r| match_from_row(r, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }

    fn other_sightings(
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

/// [`Store::record_poll`] inside the transaction of [`Store::ingest_then`].
pub fn record_poll_in(
    conn: &Connection,
    feed_id: i64,
    now: Timestamp,
    rec: &PollRecord,
    sched: &Sched,
) -> Result<(), StoreError> {
    record_poll_on(conn, feed_id, now, rec, sched)
}

/// [`Store::record_poll`] on a connection or an open transaction.
fn record_poll_on(
    conn: &Connection,
    feed_id: i64,
    now: Timestamp,
    rec: &PollRecord,
    sched: &Sched,
) -> Result<(), StoreError> {
    let next_poll_at = sched.next_poll_at;
    match rec {
        PollRecord::Fetched {
            status,
            validators,
            body_hash,
            title,
            items,
        } => {
            conn.exec(
                "UPDATE feeds SET etag = ?2, last_modified = ?3, body_hash = ?4, title = COALESCE(?5, title),
                    first_success_at = COALESCE(first_success_at, ?6), last_polled_at = ?6, last_success_at = ?6,
                    last_status = ?7, next_poll_at = ?8, error_streak = 0, last_error = NULL, items_seen = ?9,
                    interval_s = COALESCE(?10, interval_s), retry_until = NULL, error_kind = NULL
                 WHERE id = ?1",
                params![feed_id, validators.etag, validators.last_modified, body_hash, title, now, status, next_poll_at, *items as i64, sched.interval_s],
            )?;
        }
        PollRecord::NotModified { status } => {
            conn.exec(
                "UPDATE feeds SET first_success_at = COALESCE(first_success_at, ?2), last_polled_at = ?2, last_success_at = ?2,
                    last_status = ?3, next_poll_at = ?4, error_streak = 0, last_error = NULL,
                    interval_s = COALESCE(?5, interval_s), retry_until = NULL, error_kind = NULL
                 WHERE id = ?1",
                params![feed_id, now, status, next_poll_at, sched.interval_s],
            )?;
        }
        PollRecord::Failed {
            status,
            error,
            kind,
        } => {
            conn.exec(
                "UPDATE feeds SET last_polled_at = ?2, last_status = ?3, next_poll_at = ?4,
                    error_streak = error_streak + 1, last_error = ?5, error_kind = ?6, retry_until = ?7
                 WHERE id = ?1",
                params![feed_id, now, status, next_poll_at, error, kind, sched.retry_until],
            )?;
        }
    }
    Ok(())
}

const FEED_COLS: &str = "id, url, name, etag, last_modified, body_hash, first_success_at, last_polled_at, last_status, next_poll_at, error_streak, last_error, items_seen, interval_s, retry_until, state, state_reason, error_kind, last_success_at, fetch_url, url_history";

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
        state: r.get(15)?,
        state_reason: r.get(16)?,
        error_kind: r.get(17)?,
        last_success_at: r.get(18)?,
        fetch_url: r.get(19)?,
        url_history: r.get(20)?,
    })
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

/// A key for "the same headline": the normalized title's digest, for titles
/// of five words or more (short ones are too generic to identify a story).
fn story_title_key(title: &str) -> Option<String> {
    let norm = crate::text::normalize_text(title);
    (norm.split(' ').filter(|w| !w.is_empty()).count() >= 5).then(|| hex_digest(&[norm.as_bytes()]))
}

/// Two summaries tell the same story: either is empty, or their word sets
/// overlap by at least half (Jaccard).
fn same_summary(a: &str, b: &str) -> bool {
    let words = |s: &str| -> std::collections::HashSet<String> {
        crate::text::normalize_text(s)
            .split(' ')
            .filter(|w| w.len() > 2)
            .map(str::to_string)
            .collect()
    };
    let (x, y) = (words(a), words(b));
    if x.is_empty() || y.is_empty() {
        return true;
    }
    let inter = x.intersection(&y).count() as f64;
    inter / (x.len() + y.len()) as f64 * 2.0 >= 0.5 || inter / x.union(&y).count() as f64 >= 0.5
}

/// The stable alert id for an item of a feed going to a sink.
pub fn alert_id(feed_url: &str, item_key: &str, sink: &str) -> String {
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

// The same story under another link, and the same story from another feed.
const SAME_TITLE: &str = "SELECT id, summary FROM articles WHERE title_key = ?1 AND feed_id != ?2 AND fetched_at >= ?3 ORDER BY id LIMIT 5";
const SAME_STORY: &str = "SELECT id FROM articles WHERE url = ?1 ORDER BY id LIMIT 1";
// This feed's own article under this link.
const OWN_URL: &str = "SELECT 1 FROM articles WHERE url = ?2 AND feed_id = ?1 LIMIT 1";

/// What a job hands back: the reply to send once its batch is committed
/// (`true`) or rolled back (`false`).
type Reply = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&mut Store) -> Reply + Send>;

/// What the store thread is asked to do.
enum Msg {
    /// A job, run inside the current batch's transaction.
    Job(Job),
    /// A full checkpoint, run between batches (a checkpoint cannot run
    /// inside a transaction): the answer goes back on the sender.
    Checkpoint(tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

/// Jobs run in one transaction at the most.
const BATCH: usize = 64;

/// A [`Store`] on its own thread. Cloneable; the thread ends when the last
/// handle is dropped.
///
/// The thread runs the jobs waiting in its queue (up to [`BATCH`]) inside
/// one transaction, each job's writes in a savepoint of its own (a job that
/// fails leaves the others intact), and answers the callers only after the
/// commit: under load, thousands of small ingests become a few large
/// transactions, and no caller ever sees work that is not on disk. If the
/// commit fails, the batch is rolled back and every caller in it gets
/// [`StoreError::RolledBack`] (their feeds are polled again later; nothing
/// was marked seen, so nothing is lost or alerted twice).
#[derive(Clone)]
pub struct Handle {
    tx: std::sync::mpsc::Sender<Msg>,
}

impl Handle {
    /// Moves `store` onto a new thread, with a checkpointer beside it.
    pub fn spawn(store: Store) -> Handle {
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        std::thread::Builder::new()
            .name("newswatch-store".into())
            .spawn(move || {
                let mut store = store;
                let checkpointer = Checkpointer::start(&store);
                // A transaction left open by a failure is not ours to
                // continue: it is rolled back before the next batch.
                let settle = |store: &mut Store| {
                    if !store.conn.is_autocommit() {
                        let _ = store.conn.execute_batch("ROLLBACK");
                    }
                };
                // A full checkpoint, never beside the checkpointer's own.
                let full_checkpoint = |store: &mut Store| {
                    settle(store);
                    let _alone = checkpointer.hold();
                    store.checkpoint()
                };
                while let Ok(msg) = rx.recv() {
                    let first = match msg {
                        Msg::Job(job) => job,
                        Msg::Checkpoint(reply) => {
                            let _ = reply.send(full_checkpoint(&mut store));
                            continue;
                        }
                    };
                    settle(&mut store);
                    let changes = store.conn.total_changes();
                    // IMMEDIATE: the write lock is taken before anything is
                    // read, waiting (busy timeout) for any other writer; a
                    // deferred transaction that read first could not wait
                    // and would fail with "database is locked".
                    let began = match store.conn.execute_batch("BEGIN IMMEDIATE") {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot begin a transaction; each write commits on its own");
                            false
                        }
                    };
                    let mut replies = vec![first(&mut store)];
                    let mut checkpoint = None;
                    while replies.len() < BATCH {
                        match rx.try_recv() {
                            Ok(Msg::Job(job)) => replies.push(job(&mut store)),
                            Ok(Msg::Checkpoint(reply)) => {
                                checkpoint = Some(reply);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    // Without BEGIN each job committed on its own.
                    let committed = !began
                        || match store.conn.execute_batch("COMMIT") {
                            Ok(()) => true,
                            Err(e) => {
                                tracing::error!(error = %e, "cannot commit to the database; the batch is rolled back");
                                let _ = store.conn.execute_batch("ROLLBACK");
                                false
                            }
                        };
                    if committed && store.conn.total_changes() != changes {
                        checkpointer.poke();
                    }
                    for reply in replies {
                        reply(committed);
                    }
                    if let Some(reply) = checkpoint {
                        let _ = reply.send(full_checkpoint(&mut store));
                    }
                }
                drop(checkpointer);
                // Fold the WAL back into the main file on the way out.
                settle(&mut store);
                let _ = store.checkpoint();
            })
            .map(|_| ())
            .unwrap_or_else(|e| panic!("cannot start the database thread: {e}"));
        Handle { tx }
    }

    /// Runs `f` on the store thread and returns its result once committed.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let (otx, orx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Msg::Job(Box::new(move |s: &mut Store| -> Reply {
                let r = f(s);
                Box::new(move |committed| {
                    let _ = otx.send(if committed {
                        Ok(r)
                    } else {
                        Err(StoreError::RolledBack)
                    });
                })
            })))
            .map_err(|_| StoreError::Closed)?;
        orx.await.map_err(|_| StoreError::Closed)?
    }

    /// Copies the whole log into the database file and empties it, between
    /// two of the store thread's transactions (before exiting).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        let (otx, orx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Msg::Checkpoint(otx))
            .map_err(|_| StoreError::Closed)?;
        orx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Copies committed pages from the write-ahead log into the database file
/// on a thread and connection of its own, half a second after a commit
/// (see [`Checkpointer::poke`]), so the store thread does not stop for
/// checkpoints (their copying and `fsync`s). A passive checkpoint never
/// blocks the writer. When the writer pauses, the log is wholly copied and
/// starts over at the next write; under a write load without pause the
/// writer's own automatic checkpoint, at a large size, starts it over.
/// Without writes the thread sleeps. A full checkpoint of the store thread
/// holds it off ([`Checkpointer::hold`]). Dropping it stops the thread and
/// waits for it.
struct Checkpointer {
    poke: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Held while a checkpoint runs (SQLite runs one at a time and makes
    /// the other fail at once, without waiting).
    gate: std::sync::Arc<std::sync::Mutex<()>>,
}

/// How long after a commit the [`Checkpointer`] runs (commits within it
/// are copied together).
const CHECKPOINT_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// The writer's own automatic checkpoint, in pages, while a
/// [`Checkpointer`] runs (about 400 MB of log, reached only while a large
/// first cycle writes without pause; the log file is cut back to
/// `journal_size_limit` once it starts over).
const BACKSTOP_PAGES: i64 = 100_000;

impl Checkpointer {
    fn start(store: &Store) -> Checkpointer {
        let gate = std::sync::Arc::new(std::sync::Mutex::new(()));
        let none = Checkpointer {
            poke: None,
            thread: None,
            gate: gate.clone(),
        };
        let Ok(conn) = Connection::open(&store.path) else {
            return none;
        };
        // One checkpoint now: a connection that cannot do it (a read-only
        // file, a log it cannot open) leaves the writer checkpointing itself.
        let setup = conn
            .busy_timeout(std::time::Duration::from_secs(1))
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())));
        if let Err(e) = setup {
            tracing::warn!(error = %e, "no background checkpoints; the store thread checkpoints itself");
            return none;
        }
        let held = gate.clone();
        let (poke, poked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("newswatch-ckpt".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                // Asleep until a commit; then the pokes of the next half
                // second are gathered, and one checkpoint copies them all.
                while poked.recv().is_ok() {
                    let due = std::time::Instant::now() + CHECKPOINT_DELAY;
                    let mut open = true;
                    while let Some(left) = due.checked_duration_since(std::time::Instant::now()) {
                        match poked.recv_timeout(left) {
                            Ok(()) => {}
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                    let _alone = held.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "background checkpoint failed");
                    }
                    if !open {
                        break;
                    }
                }
            });
        let Ok(thread) = thread else {
            return none;
        };
        let _ = store
            .conn
            .pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES);
        Checkpointer {
            poke: Some(poke),
            thread: Some(thread),
            gate,
        }
    }

    /// Keeps the background checkpoint from running while held.
    fn hold(&self) -> std::sync::MutexGuard<'_, ()> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says a transaction was committed (never waits).
    fn poke(&self) {
        if let Some(p) = &self.poke {
            let _ = p.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.poke.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Article;

    fn art(key: &str, url: Option<&str>) -> Article {
        Article {
            key: key.into(),
            title: format!("t {key}"),
            url: url.map(str::to_string),
            published: Some(100),
            summary: "s".into(),
            content: String::new(),
            lang: None,
            categories: vec![],
        }
    }

    fn matched(a: Article, sinks: &[&str]) -> MatchedArticle {
        MatchedArticle {
            fingerprint: a.fingerprint(),
            article: a,
            matches: vec![WatchMatch {
                watch: "w".into(),
                severity: Severity::High,
                score: 1.0,
                terms: vec![],
                snippet: "x".into(),
            }],
            sinks: sinks.iter().map(|s| s.to_string()).collect(),
            suppressed: false,
        }
    }

    /// A write that fails inside the store thread's batch is undone alone
    /// and reported to its caller; the other jobs are committed.
    #[tokio::test]
    async fn a_failed_write_in_a_batch_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut s = Store::open(&path).unwrap();
        let f = s.ensure_feed("https://a/", "A", 1).unwrap();
        let h = Handle::spawn(s);
        let url = f.url.clone();
        // No feed 9999: the article's foreign key fails in the middle of
        // the feed; both jobs are queued before either is answered.
        let (bad, good) = tokio::join!(
            h.call(|s| s.ingest(
                9999,
                "https://nope/",
                &[matched(art("g0", None), &["log"])],
                10
            )),
            h.call(move |s| s.ingest(
                f.id,
                &url,
                &[matched(art("g1", Some("https://x/1")), &["log"])],
                10
            )),
        );
        assert!(matches!(bad, Ok(Err(_))), "{bad:?}");
        assert_eq!(good.unwrap().unwrap().new_articles, 1);
        drop(h);
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    /// Committed pages reach the database file without the store thread
    /// checkpointing: the checkpointer copies them shortly after.
    #[tokio::test]
    async fn the_checkpointer_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut s = Store::open(&path).unwrap();
        let f = s.ensure_feed("https://a/", "A", 1).unwrap();
        s.checkpoint().unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let h = Handle::spawn(s);
        let items: Vec<MatchedArticle> = (0..300)
            .map(|i| {
                let mut a = art(&format!("k{i}"), Some(&format!("https://x/{i}")));
                a.content = "words ".repeat(200);
                matched(a, &[])
            })
            .collect();
        let url = f.url.clone();
        let r = h.call(move |s| s.ingest(f.id, &url, &items, 10)).await;
        assert_eq!(r.unwrap().unwrap().new_articles, 300);
        // Still running: only the checkpointer can have grown the file.
        let mut grown = false;
        for _ in 0..50 {
            if std::fs::metadata(&path).unwrap().len() > before + 100_000 {
                grown = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(grown, "the database file stayed at {before} bytes");
        drop(h);
    }

    #[test]
    fn repeats_inside_a_first_poll_are_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let f = s.ensure_feed("https://a/", "A", 1).unwrap();
        let items = [
            matched(art("g1", Some("https://x/1")), &["log"]),
            matched(art("g2", Some("https://x/1")), &["log"]),
            matched(art("g3", Some("https://x/3")), &["log"]),
            matched(art("g3", Some("https://x/4")), &["log"]),
            // x/4 was only carried by a duplicate, which is not stored.
            matched(art("g5", Some("https://x/4")), &["log"]),
        ];
        let first = s.ingest(f.id, &f.url, &items, 10).unwrap();
        assert_eq!((first.new_articles, first.duplicates), (3, 2));
        let again = s.ingest(f.id, &f.url, &items, 20).unwrap();
        assert_eq!((again.new_articles, again.duplicates), (0, 5));
    }

    /// The per-article lookups stay compiled across polls: SQLite
    /// recompiles a statement whose plan depended on a bound value.
    #[test]
    fn per_article_lookups_are_not_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let f = s.ensure_feed("https://a/", "A", 1).unwrap();
        for poll in 0..4 {
            let items: Vec<MatchedArticle> = (0..5)
                .map(|i| {
                    let key = format!("k{poll}-{i}");
                    let mut a = art(&key, Some(&format!("https://x/{key}")));
                    a.title = format!("a title long enough to be a story key {key}");
                    matched(a, &["log"])
                })
                .collect();
            assert_eq!(s.ingest(f.id, &f.url, &items, 10).unwrap().new_articles, 5);
        }
        // And they still use their (partial) indexes.
        for (sql, index) in [
            (SAME_STORY, "articles_url"),
            (SAME_TITLE, "articles_title_key"),
            (OWN_URL, "articles_url"),
        ] {
            let mut st = s
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let n = st.parameter_count();
            let plan: Vec<String> = st
                .query_map(rusqlite::params_from_iter(vec!["x"; n]), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(plan.iter().any(|d| d.contains(index)), "{sql}: {plan:?}");
        }
        for sql in [SAME_STORY, SAME_TITLE] {
            let st = s.conn.prepare_cached(sql).unwrap();
            assert!(
                st.get_status(rusqlite::StatementStatus::VmStep) > 0,
                "{sql} ran"
            );
            assert_eq!(
                st.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql} was recompiled"
            );
        }
    }

    /// A database of schema 2 (a sighting per article in its own feed)
    /// loses those own sightings, keeps the others, and still knows every
    /// item it stored.
    #[test]
    fn own_sightings_migrate_into_the_article_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &migrations::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 2;
                 INSERT INTO feeds (id, url, name, created_at) VALUES (1, 'https://a/', 'A', 1), (2, 'https://b/', 'B', 1);
                 INSERT INTO articles (id, feed_id, item_key, url, title, summary, content, fetched_at, fingerprint)
                   VALUES (10, 1, 'g1', 'https://x/1', 't', 's', '', 5, 'f');
                 INSERT INTO sightings (article_id, feed_id, item_key, url, seen_at)
                   VALUES (10, 1, 'g1', 'https://x/1', 5), (10, 2, 'h1', 'https://x/1', 6);",
            )
            .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let left: Vec<i64> = s
            .conn
            .prepare("SELECT feed_id FROM sightings ORDER BY feed_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, [2]);
        // Both feeds still know the story, by key and by link.
        for (feed, url, key) in [
            (1, "https://a/", "g1"),
            (2, "https://b/", "h1"),
            (1, "https://a/", "other"),
        ] {
            let r = s
                .ingest(
                    feed,
                    url,
                    &[matched(art(key, Some("https://x/1")), &["log"])],
                    20,
                )
                .unwrap();
            assert_eq!(
                (r.new_articles, r.duplicates, r.alerts_queued),
                (0, 1, 0),
                "{feed} {key}"
            );
        }
    }

    #[test]
    fn dedup_sightings_and_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let f1 = s.ensure_feed("https://a/", "A", 1).unwrap();
        let f2 = s.ensure_feed("https://b/", "B", 1).unwrap();
        let r = s
            .ingest(
                f1.id,
                &f1.url,
                &[matched(art("g1", Some("https://x/1")), &["log"])],
                10,
            )
            .unwrap();
        assert_eq!((r.new_articles, r.alerts_queued), (1, 1));
        // Same guid again from the same feed: skipped.
        let r = s
            .ingest(
                f1.id,
                &f1.url,
                &[matched(art("g1", Some("https://x/1")), &["log"])],
                11,
            )
            .unwrap();
        assert_eq!(r.duplicates, 1);
        // Same link under another guid from the same feed: skipped too.
        let r = s
            .ingest(
                f1.id,
                &f1.url,
                &[matched(art("g9", Some("https://x/1")), &["log"])],
                11,
            )
            .unwrap();
        assert_eq!(r.duplicates, 1);
        // Same link from another feed: a sighting, no alert.
        let r = s
            .ingest(
                f2.id,
                &f2.url,
                &[matched(art("other", Some("https://x/1")), &["log"])],
                12,
            )
            .unwrap();
        assert_eq!((r.sightings, r.alerts_queued), (1, 0));
        let due = s.sink_queue("log", 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].also_seen_in.len(), 1);
        assert_eq!(due[0].id, alert_id("https://a/", "g1", "log"));
        s.mark_delivered(&due[0].id, 21).unwrap();
        assert!(s.sink_queue("log", 10).unwrap().is_empty());
    }

    #[test]
    fn the_same_story_under_another_link_is_a_sighting() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let f1 = s.ensure_feed("https://a/", "A", 1).unwrap();
        let f2 = s.ensure_feed("https://b/", "B", 1).unwrap();
        let story = |key: &str, url: &str, summary: &str| {
            let mut a = art(key, Some(url));
            a.title = "Coalition ministers meet in Rome on ISIS".into();
            a.summary = summary.into();
            matched(a, &["log"])
        };
        s.ingest(
            f1.id,
            &f1.url,
            &[story(
                "a1",
                "https://a/1",
                "Ministers of the coalition met in Rome on Tuesday.",
            )],
            100,
        )
        .unwrap();
        let r = s
            .ingest(
                f2.id,
                &f2.url,
                &[story(
                    "b1",
                    "https://b/x?id=9",
                    "Ministers of the coalition met in Rome on Tuesday, officials said.",
                )],
                200,
            )
            .unwrap();
        assert_eq!(
            (r.sightings, r.alerts_queued),
            (1, 0),
            "a syndicated copy alerts nobody"
        );
        // Same headline, different story text: a new article.
        let r = s
            .ingest(
                f2.id,
                &f2.url,
                &[story(
                    "b2",
                    "https://b/y",
                    "A completely different report about weather and football scores.",
                )],
                300,
            )
            .unwrap();
        assert_eq!(r.new_articles, 1);
    }

    #[test]
    fn pruned_articles_keep_their_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let f = s.ensure_feed("https://a/", "A", 1).unwrap();
        let plain = MatchedArticle {
            article: art("old", Some("https://x/old")),
            matches: vec![],
            sinks: vec![],
            suppressed: false,
            fingerprint: "f".into(),
        };
        s.ingest(
            f.id,
            &f.url,
            &[
                plain.clone(),
                matched(art("hit", Some("https://x/hit")), &["log"]),
            ],
            100,
        )
        .unwrap();
        assert_eq!(s.prune(50).unwrap(), 0, "nothing older than the cutoff");
        assert_eq!(
            s.prune(1_000).unwrap(),
            1,
            "only the unmatched article is pruned"
        );
        let title: String = s
            .conn
            .query_row(
                "SELECT title FROM articles WHERE item_key = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(title, "");
        let r = s.ingest(f.id, &f.url, &[plain], 2_000).unwrap();
        assert_eq!(
            (r.duplicates, r.new_articles),
            (1, 0),
            "a pruned item that reappears is not new"
        );
    }

    #[test]
    fn newer_schema_is_refused_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        drop(Store::open(&p).unwrap());
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        assert!(matches!(
            Store::open(&p),
            Err(StoreError::TooNew { found: 99, .. })
        ));
        let l = lock(&p).unwrap();
        assert!(matches!(lock(&p), Err(StoreError::Locked { .. })));
        drop(l);
        assert!(lock(&p).is_ok());
    }
}
