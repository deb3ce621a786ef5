//! The connection: opening (pragmas, the statement cache, migrations),
//! bulk batches, checkpoints and counts.

use super::{StoreError, migrations};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};

/// `execute` through the connection's statement cache: the statements a
/// poll or a delivery runs are compiled once.
pub(super) trait ExecCached {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
}

impl ExecCached for Connection {
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// The database.
pub(crate) struct Store {
    pub(super) conn: Connection,
    /// Where the database is (a checkpointer opens its own connection).
    pub(super) path: PathBuf,
    /// Atomicity comes from outside (a bulk batch of
    /// [`Store::begin_batch`], or the store thread's savepoint around each
    /// command), so feeds are written without a savepoint of their own.
    pub(super) bulk: bool,
}

/// How a database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// By its owner (holding the lock): created and migrated if needed.
    Owner,
    /// Beside a running owner, for a short write (`alerts retry`): never
    /// created or migrated; its schema must be this newswatch's.
    Shared,
    /// For reading only.
    ReadOnly,
}

pub(super) const SCHEMA_VERSION: i64 = migrations::MIGRATIONS.len() as i64;

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`. The
    /// caller holds its owner lock ([`super::lock`]).
    pub(crate) fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                what: "cannot create directory",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Self::open_as(path, Mode::Owner)
    }

    /// Opens an existing database for reading only (no migration, no lock).
    pub(crate) fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Self::open_as(path, Mode::ReadOnly)
    }

    /// Opens an existing database whose owner lock another process holds,
    /// for a short write beside it: no migration (a schema older than
    /// this newswatch is refused, naming the owner's PID). SQLite
    /// serializes the two writers; each waits for the other's transaction.
    pub(crate) fn open_beside_owner(path: &Path) -> Result<Store, StoreError> {
        Self::open_as(path, Mode::Shared)
    }

    fn open_as(path: &Path, mode: Mode) -> Result<Store, StoreError> {
        if mode != Mode::Owner && !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let conn = match mode {
            Mode::ReadOnly => {
                Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            }
            Mode::Owner | Mode::Shared => Connection::open(path),
        };
        let conn = conn.map_err(|e| StoreError::from(e).at(path))?;
        Self::setup(conn, path, mode).map_err(|e| e.at(path))
    }

    fn setup(conn: Connection, path: &Path, mode: Mode) -> Result<Store, StoreError> {
        let write = mode == Mode::Owner;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if mode == Mode::Shared && version < SCHEMA_VERSION {
            return Err(StoreError::TooOld {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
                pid: super::lock::held_by(path).unwrap_or_else(|| "unknown".into()),
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
    #[cfg(test)]
    pub(crate) fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Opens a transaction that the following ingests join until
    /// [`Store::commit_batch`]: bulk loads commit every few thousand
    /// articles instead of after every feed, and feeds are written without
    /// a savepoint of their own (a savepoint copies every page it touches
    /// to its journal). The batch is the unit: an error, or dropping the
    /// store, before the commit rolls it back whole, so no article or feed
    /// is ever split.
    pub(crate) fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.bulk = true;
        Ok(())
    }

    /// Commits the transaction [`Store::begin_batch`] opened.
    pub(crate) fn commit_batch(&mut self) -> Result<(), StoreError> {
        self.bulk = false;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Folds the write-ahead log back into the database file and empties
    /// it. Outside any transaction only: inside one, SQLite cannot.
    pub(crate) fn checkpoint(&mut self) -> Result<(), StoreError> {
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
}
