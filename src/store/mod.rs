//! Storage: the SQLite schema and every SQL statement of newswatch.
//!
//! Owns the database file (WAL, foreign keys on), its migrations, the
//! exclusive owner lock beside it, feed state (validators, schedule, error
//! streak), articles (each row also its own feed's sighting) with the other
//! feeds' sightings and their matches, and the alert outbox. "Is this item
//! new?" is answered here, by unique keys, never by memory elsewhere. An
//! article, its sightings, its matches and its outbox rows are written in
//! one transaction.
//!
//! The boundary is typed: [`Handle`] (the store on its own thread, for the
//! daemon and `once`) and [`Store`] (synchronous, for the read commands and
//! bulk `scan --store`) take and return the plain values of [`types`] and
//! `crate::model`; no `rusqlite` type leaves this module, and no other
//! module hands the store a closure. A second backend implements the same
//! operations.
//!
//! Files: `db` (connection, pragmas, migrations, batches, checkpoints),
//! `lock` (the owner lock), `feeds` (feed rows and poll records),
//! `ingest` (articles, sightings, matches, outbox rows), `outbox`
//! (delivery state), `read` (read queries), `dedup` (pure duplicate
//! heuristics), `thread` ([`Handle`]), `checkpoint` (the background
//! checkpointer), `types` (the values crossing the boundary).

mod checkpoint;
mod db;
mod dedup;
mod feeds;
mod ingest;
mod lock;
pub(crate) mod migrations;
mod outbox;
mod read;
mod thread;
pub(crate) mod types;

#[cfg(test)]
mod tests;

pub(crate) use db::Store;
pub(crate) use dedup::{story_title_key, summary_words};
pub(crate) use lock::lock;
pub(crate) use thread::Handle;
pub(crate) use types::*;

use std::path::PathBuf;

/// Errors from the store. Each says what it is about once, with the
/// database file where it is known.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// SQLite said no.
    #[error("database {}: {message}", path.as_ref().map_or_else(|| "error".to_string(), |p| p.display().to_string()))]
    Sqlite {
        /// The database file, when known.
        path: Option<PathBuf>,
        /// SQLite's own message.
        message: String,
    },
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
    /// The file's schema is older than this newswatch, and this command
    /// does not migrate (the database's owner does).
    #[error(
        "database {path} has schema version {found}, older than this newswatch ({known}); it is migrated by its owner: stop the running newswatch (PID {pid}) and start it again, or run `newswatch once`"
    )]
    TooOld {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
        /// The owner's process id.
        pid: String,
    },
    /// Another process holds the database.
    #[error(
        "database {path} is in use by another newswatch process (PID {pid}, lock {lock}); stop it first"
    )]
    Locked {
        /// The database.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's process id, as its lock file says ("unknown" if it
        /// does not).
        pid: String,
    },
    /// There is no database yet.
    #[error("no database at {path}: run `newswatch once` or `newswatch run` first")]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// File-system trouble around the database.
    #[error("{what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store thread is gone (the process is shutting down, or the
    /// thread died).
    #[error("the database thread has stopped")]
    Closed,
    /// The batch this work ran in was rolled back (the commit failed):
    /// nothing of it is on disk.
    #[error("the database transaction was rolled back; nothing was written")]
    RolledBack,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        // SQLite's message once (rusqlite's Display already says it; its
        // source would say it again).
        StoreError::Sqlite {
            path: None,
            message: e.to_string(),
        }
    }
}

impl StoreError {
    /// The same error, naming the database file if it did not.
    pub(crate) fn at(self, db: &std::path::Path) -> StoreError {
        match self {
            StoreError::Sqlite {
                path: None,
                message,
            } => StoreError::Sqlite {
                path: Some(db.to_path_buf()),
                message,
            },
            e => e,
        }
    }
}
