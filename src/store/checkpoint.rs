//! The checkpointer: a thread and connection of its own that copies
//! committed pages from the write-ahead log into the database file.

use super::db::Store;
use super::thread::Died;
use rusqlite::Connection;

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
pub(super) struct Checkpointer {
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
    pub(super) fn start(store: &Store, died: Died) -> Checkpointer {
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
                // A panic here ends the daemon (the supervisor hears of it).
                let _guard = died.panic_guard("checkpointer thread");
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
                    crate::fault::hit("checkpointer", "");
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
    pub(super) fn hold(&self) -> std::sync::MutexGuard<'_, ()> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says a transaction was committed (never waits).
    pub(super) fn poke(&self) {
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
