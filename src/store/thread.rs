//! The store on its own thread ([`Handle`]): one typed method per
//! operation, each sent to the thread as a [`Cmd`]; the commands waiting in
//! its queue run in one transaction, each in a savepoint of its own, and
//! are answered after the commit. The thread's death (a panic in a
//! command) is reported to whoever watches [`Handle::stopped`].

use super::StoreError;
use super::checkpoint::Checkpointer;
use super::db::Store;
use super::types::{
    AttemptEnd, FeedRow, MatchRow, PendingAlert, PollOutcome, PollRecorded, SinkHealth,
};
use crate::model::Timestamp;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

type Tx<T> = oneshot::Sender<Result<T, StoreError>>;

/// What the store thread is asked to do: one variant per operation of
/// [`Handle`], with the channel its answer goes back on.
enum Cmd {
    RestartFeed {
        url: String,
        reset: bool,
        now: Timestamp,
        reply: Tx<Option<super::types::FeedState>>,
    },
    SetStoppedEntry {
        feed_id: i64,
        fingerprint: String,
        reply: Tx<()>,
    },
    EnsureFeed {
        url: String,
        name: String,
        now: Timestamp,
        reply: Tx<FeedRow>,
    },
    Feeds {
        reply: Tx<Vec<FeedRow>>,
    },
    Unseen {
        feed_id: i64,
        items: Vec<(String, Option<String>)>,
        reply: Tx<Vec<bool>>,
    },
    RecordPoll {
        feed_id: i64,
        feed_url: String,
        now: Timestamp,
        outcome: Box<PollOutcome>,
        confirm: i64,
        reply: Tx<PollRecorded>,
    },
    SinkQueue {
        sink: String,
        due_ms: i64,
        limit: usize,
        reply: Tx<Vec<PendingAlert>>,
    },
    SinkNextDue {
        sink: String,
        reply: Tx<Option<i64>>,
    },
    ReleaseBacklog {
        sink: String,
        now_ms: i64,
        reply: Tx<usize>,
    },
    SinkOldest {
        sink: String,
        reply: Tx<Option<PendingAlert>>,
    },
    SinkHealth {
        sink: String,
        reply: Tx<SinkHealth>,
    },
    SetSinkHealth {
        sink: String,
        health: SinkHealth,
        reply: Tx<()>,
    },
    SinkSentSince {
        sink: String,
        since_ms: i64,
        reply: Tx<Vec<i64>>,
    },
    SinkLastSent {
        sink: String,
        reply: Tx<Option<i64>>,
    },
    MarkDelivered {
        ids: Vec<String>,
        sink: String,
        now_ms: i64,
        reply: Tx<()>,
    },
    MarkFailed {
        ids: Vec<String>,
        sink: String,
        now_ms: i64,
        error: String,
        end: AttemptEnd,
        rejected: bool,
        reply: Tx<()>,
    },
    Prune {
        cutoff: Timestamp,
        reply: Tx<usize>,
    },
    PendingCount {
        reply: Tx<i64>,
    },
    RecentMatches {
        since: Timestamp,
        watch: Option<String>,
        limit: usize,
        reply: Tx<Vec<MatchRow>>,
    },
}

/// A command's answer, held until its batch is committed (`true`) or
/// rolled back (`false`).
type Reply = Box<dyn FnOnce(bool) + Send>;

fn held<T: Send + 'static>(reply: Tx<T>, r: Result<T, StoreError>) -> (bool, Reply) {
    let ok = r.is_ok();
    (
        ok,
        Box::new(move |committed| {
            let _ = reply.send(match r {
                Ok(v) if committed => Ok(v),
                Ok(_) => Err(StoreError::RolledBack),
                Err(e) => Err(e),
            });
        }),
    )
}

impl Cmd {
    /// The command's name (for fault injection and logs).
    fn name(&self) -> &'static str {
        match self {
            Cmd::RestartFeed { .. } => "restart_feed",
            Cmd::SetStoppedEntry { .. } => "set_stopped_entry",
            Cmd::EnsureFeed { .. } => "ensure_feed",
            Cmd::Feeds { .. } => "feeds",
            Cmd::Unseen { .. } => "unseen",
            Cmd::RecordPoll { .. } => "record_poll",
            Cmd::SinkQueue { .. } => "sink_queue",
            Cmd::SinkNextDue { .. } => "sink_next_due",
            Cmd::ReleaseBacklog { .. } => "release_backlog",
            Cmd::SinkOldest { .. } => "sink_oldest",
            Cmd::SinkHealth { .. } => "sink_health",
            Cmd::SetSinkHealth { .. } => "set_sink_health",
            Cmd::SinkSentSince { .. } => "sink_sent_since",
            Cmd::SinkLastSent { .. } => "sink_last_sent",
            Cmd::MarkDelivered { .. } => "mark_delivered",
            Cmd::MarkFailed { .. } => "mark_failed",
            Cmd::Prune { .. } => "prune",
            Cmd::PendingCount { .. } => "pending_count",
            Cmd::RecentMatches { .. } => "recent_matches",
        }
    }

    /// Runs the command on `s`; says whether it succeeded, and the answer.
    fn run(self, s: &mut Store) -> (bool, Reply) {
        match self {
            Cmd::RestartFeed {
                url,
                reset,
                now,
                reply,
            } => held(reply, s.restart_feed(&url, reset, now)),
            Cmd::SetStoppedEntry {
                feed_id,
                fingerprint,
                reply,
            } => held(reply, s.set_stopped_entry(feed_id, &fingerprint)),
            Cmd::EnsureFeed {
                url,
                name,
                now,
                reply,
            } => held(reply, s.ensure_feed(&url, &name, now)),
            Cmd::Feeds { reply } => held(reply, s.feeds()),
            Cmd::Unseen {
                feed_id,
                items,
                reply,
            } => held(reply, s.unseen(feed_id, &items)),
            Cmd::RecordPoll {
                feed_id,
                feed_url,
                now,
                outcome,
                confirm,
                reply,
            } => held(
                reply,
                s.record_poll(feed_id, &feed_url, now, *outcome, confirm),
            ),
            Cmd::SinkQueue {
                sink,
                due_ms,
                limit,
                reply,
            } => held(reply, s.sink_queue(&sink, due_ms, limit)),
            Cmd::SinkNextDue { sink, reply } => held(reply, s.sink_next_due(&sink)),
            Cmd::ReleaseBacklog {
                sink,
                now_ms,
                reply,
            } => held(reply, s.release_backlog(&sink, now_ms)),
            Cmd::SinkOldest { sink, reply } => held(reply, s.sink_oldest(&sink)),
            Cmd::SinkHealth { sink, reply } => held(reply, s.sink_health(&sink)),
            Cmd::SetSinkHealth {
                sink,
                health,
                reply,
            } => held(reply, s.set_sink_health(&sink, &health)),
            Cmd::SinkSentSince {
                sink,
                since_ms,
                reply,
            } => held(reply, s.sink_sent_since(&sink, since_ms)),
            Cmd::SinkLastSent { sink, reply } => held(reply, s.sink_last_sent(&sink)),
            Cmd::MarkDelivered {
                ids,
                sink,
                now_ms,
                reply,
            } => held(
                reply,
                ids.iter()
                    .try_for_each(|id| s.mark_delivered(id, &sink, now_ms)),
            ),
            Cmd::MarkFailed {
                ids,
                sink,
                now_ms,
                error,
                end,
                rejected,
                reply,
            } => held(
                reply,
                ids.iter()
                    .try_for_each(|id| s.mark_failed(id, &sink, now_ms, &error, end, rejected)),
            ),
            Cmd::Prune { cutoff, reply } => held(reply, s.prune(cutoff)),
            Cmd::PendingCount { reply } => held(reply, s.pending_count()),
            Cmd::RecentMatches {
                since,
                watch,
                limit,
                reply,
            } => held(reply, s.recent_matches(since, watch.as_deref(), limit)),
        }
    }
}

/// What the store thread is sent.
enum Msg {
    /// A command, run inside the current batch's transaction.
    Cmd(Cmd),
    /// A full checkpoint, run between batches (a checkpoint cannot run
    /// inside a transaction).
    Checkpoint(Tx<()>),
}

/// Commands run in one transaction at the most.
const BATCH: usize = 64;

/// Where the store's threads say that they ended: the first to end sets
/// why. Shared by the store thread and its checkpointer.
#[derive(Clone)]
pub(super) struct Died(Arc<watch::Sender<Option<(String, String)>>>);

/// Says, when dropped, that its thread ended (and whether by a panic).
pub(super) struct DeathGuard {
    died: Died,
    what: &'static str,
    /// Whether an end without a panic counts (the checkpointer stops
    /// normally whenever its store thread does, which says so itself).
    stop_counts: bool,
}

impl Died {
    /// A guard for the thread `what`: its panic or its end is reported.
    pub(super) fn guard(&self, what: &'static str) -> DeathGuard {
        DeathGuard {
            died: self.clone(),
            what,
            stop_counts: true,
        }
    }

    /// A guard for the thread `what` that reports only its panic.
    pub(super) fn panic_guard(&self, what: &'static str) -> DeathGuard {
        DeathGuard {
            died: self.clone(),
            what,
            stop_counts: false,
        }
    }
}

impl Drop for DeathGuard {
    fn drop(&mut self) {
        let why = if std::thread::panicking() {
            format!(
                "panic: {}",
                crate::panics::last().unwrap_or_else(|| "(no message)".into())
            )
        } else if self.stop_counts {
            "it stopped".to_string()
        } else {
            return;
        };
        self.died.0.send_if_modified(|v| {
            if v.is_none() {
                *v = Some((self.what.to_string(), why));
                true
            } else {
                false
            }
        });
    }
}

/// A [`Store`] on its own thread, spoken to through one typed method per
/// operation. Cloneable; the thread ends when the last handle is dropped.
///
/// The thread runs the commands waiting in its queue (up to [`BATCH`])
/// inside one transaction, each in a savepoint of its own (a command that
/// fails is undone alone: nothing it wrote stays, and the others keep
/// theirs), and answers the callers only after the commit: under load,
/// thousands of small ingests become a few large transactions, and no
/// caller ever sees work that is not on disk. If the commit fails, the
/// batch is rolled back and every caller in it gets
/// [`StoreError::RolledBack`] (their feeds are polled again later; nothing
/// was marked seen, so nothing is lost or alerted twice).
#[derive(Clone)]
pub(crate) struct Handle {
    tx: std::sync::mpsc::Sender<Msg>,
    died: watch::Receiver<Option<(String, String)>>,
}

impl Handle {
    /// Takes the owner lock's database at `path` (opened and migrated) onto
    /// a new thread, with a checkpointer beside it.
    pub(crate) fn open(path: &Path) -> Result<Handle, StoreError> {
        Ok(Handle::spawn(Store::open(path)?))
    }

    /// Moves `store` onto a new thread, with a checkpointer beside it.
    pub(crate) fn spawn(store: Store) -> Handle {
        let (tx, rx) = std::sync::mpsc::channel::<Msg>();
        let (died_tx, died) = watch::channel(None);
        let died_tx = Died(Arc::new(died_tx));
        let path = store.path.clone();
        let spawned = std::thread::Builder::new()
            .name("newswatch-store".into())
            .spawn(move || {
                let _guard = died_tx.guard("store thread");
                serve(store, &rx, &died_tx);
            });
        if let Err(e) = spawned {
            // No thread: every call answers Closed, and the watch says so
            // (its sender is gone with the closure).
            tracing::error!(error = %e, database = %path.display(), "cannot start the database thread");
        }
        Handle { tx, died }
    }

    /// Resolves when the store thread (or its checkpointer) has ended:
    /// which thread, and why (a panic in a command, or the thread
    /// stopping).
    pub(crate) async fn stopped(&self) -> (String, String) {
        let mut rx = self.died.clone();
        let ended = match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone(),
            Err(_) => None,
        };
        ended.unwrap_or_else(|| ("store thread".into(), "it stopped".into()))
    }

    async fn ask<T>(&self, make: impl FnOnce(Tx<T>) -> Cmd) -> Result<T, StoreError> {
        let (otx, orx) = oneshot::channel();
        self.tx
            .send(Msg::Cmd(make(otx)))
            .map_err(|_| StoreError::Closed)?;
        orx.await.map_err(|_| StoreError::Closed)?
    }

    /// The feed row for `url`, created (with `name`) if needed.
    /// Puts a stopped feed back in the schedule (see `Store::restart_feed`).
    pub(crate) async fn restart_feed(
        &self,
        url: &str,
        reset: bool,
        now: Timestamp,
    ) -> Result<Option<super::types::FeedState>, StoreError> {
        let url = url.to_string();
        self.ask(|reply| Cmd::RestartFeed {
            url,
            reset,
            now,
            reply,
        })
        .await
    }

    /// Remembers the config entry a stopped feed had.
    pub(crate) async fn set_stopped_entry(
        &self,
        feed_id: i64,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let fingerprint = fingerprint.to_string();
        self.ask(|reply| Cmd::SetStoppedEntry {
            feed_id,
            fingerprint,
            reply,
        })
        .await
    }

    pub(crate) async fn ensure_feed(
        &self,
        url: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<FeedRow, StoreError> {
        let (url, name) = (url.to_string(), name.to_string());
        self.ask(|reply| Cmd::EnsureFeed {
            url,
            name,
            now,
            reply,
        })
        .await
    }

    /// Every feed row.
    pub(crate) async fn feeds(&self) -> Result<Vec<FeedRow>, StoreError> {
        self.ask(|reply| Cmd::Feeds { reply }).await
    }

    /// For each `(item key, canonical link)`, whether ingesting it now
    /// would store a new article ([`Store::unseen`]).
    pub(crate) async fn unseen(
        &self,
        feed_id: i64,
        items: Vec<(String, Option<String>)>,
    ) -> Result<Vec<bool>, StoreError> {
        self.ask(|reply| Cmd::Unseen {
            feed_id,
            items,
            reply,
        })
        .await
    }

    /// Records how a poll ended ([`Store::record_poll`]), in one
    /// transaction.
    pub(crate) async fn record_poll(
        &self,
        feed_id: i64,
        feed_url: &str,
        now: Timestamp,
        outcome: PollOutcome,
        confirm: i64,
    ) -> Result<PollRecorded, StoreError> {
        let feed_url = feed_url.to_string();
        self.ask(|reply| Cmd::RecordPoll {
            feed_id,
            feed_url,
            now,
            outcome: Box::new(outcome),
            confirm,
            reply,
        })
        .await
    }

    /// A sink's pending alerts due by `due_ms`, in detection order (at
    /// most `limit`).
    pub(crate) async fn sink_queue(
        &self,
        sink: &str,
        due_ms: i64,
        limit: usize,
    ) -> Result<Vec<PendingAlert>, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkQueue {
            sink,
            due_ms,
            limit,
            reply,
        })
        .await
    }

    /// When a sink's next pending alert is due (Unix ms), if any.
    pub(crate) async fn sink_next_due(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkNextDue { sink, reply }).await
    }

    /// Makes a sink's whole backlog due now (it is back after being down).
    pub(crate) async fn release_backlog(
        &self,
        sink: &str,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::ReleaseBacklog {
            sink,
            now_ms,
            reply,
        })
        .await
    }

    /// A sink's oldest pending alert, due or not (a down sink's probe).
    pub(crate) async fn sink_oldest(&self, sink: &str) -> Result<Option<PendingAlert>, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkOldest { sink, reply }).await
    }

    /// A sink's recorded health.
    pub(crate) async fn sink_health(&self, sink: &str) -> Result<SinkHealth, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkHealth { sink, reply }).await
    }

    /// Records a sink's health.
    pub(crate) async fn set_sink_health(
        &self,
        sink: &str,
        health: SinkHealth,
    ) -> Result<(), StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SetSinkHealth {
            sink,
            health,
            reply,
        })
        .await
    }

    /// When a sink sent its messages since `since_ms` (Unix ms).
    pub(crate) async fn sink_sent_since(
        &self,
        sink: &str,
        since_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkSentSince {
            sink,
            since_ms,
            reply,
        })
        .await
    }

    /// When a sink last sent a message (Unix ms).
    pub(crate) async fn sink_last_sent(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::SinkLastSent { sink, reply }).await
    }

    /// Marks alerts delivered to `sink` at `now_ms` (all or none).
    pub(crate) async fn mark_delivered(
        &self,
        ids: Vec<String>,
        sink: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let sink = sink.to_string();
        self.ask(|reply| Cmd::MarkDelivered {
            ids,
            sink,
            now_ms,
            reply,
        })
        .await
    }

    /// Records a failed attempt of each alert to `sink` at `now_ms`, ended
    /// as `end` says (all or none).
    pub(crate) async fn mark_failed(
        &self,
        ids: Vec<String>,
        sink: &str,
        now_ms: i64,
        error: &str,
        end: AttemptEnd,
        rejected: bool,
    ) -> Result<(), StoreError> {
        let (sink, error) = (sink.to_string(), error.to_string());
        self.ask(|reply| Cmd::MarkFailed {
            ids,
            sink,
            now_ms,
            error,
            end,
            rejected,
            reply,
        })
        .await
    }

    /// Retention: empties unmatched articles fetched before `cutoff`.
    pub(crate) async fn prune(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        self.ask(|reply| Cmd::Prune { cutoff, reply }).await
    }

    /// How many alerts are pending.
    pub(crate) async fn pending_count(&self) -> Result<i64, StoreError> {
        self.ask(|reply| Cmd::PendingCount { reply }).await
    }

    /// Recent matches, newest first.
    pub(crate) async fn recent_matches(
        &self,
        since: Timestamp,
        watch: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MatchRow>, StoreError> {
        let watch = watch.map(str::to_string);
        self.ask(|reply| Cmd::RecentMatches {
            since,
            watch,
            limit,
            reply,
        })
        .await
    }

    /// Copies the whole log into the database file and empties it, between
    /// two of the store thread's transactions (before exiting).
    pub(crate) async fn checkpoint(&self) -> Result<(), StoreError> {
        let (otx, orx) = oneshot::channel();
        self.tx
            .send(Msg::Checkpoint(otx))
            .map_err(|_| StoreError::Closed)?;
        orx.await.map_err(|_| StoreError::Closed)?
    }
}

/// The store thread's loop: until every [`Handle`] is gone.
fn serve(mut store: Store, rx: &std::sync::mpsc::Receiver<Msg>, died: &Died) {
    let checkpointer = Checkpointer::start(&store, died.clone());
    let path = store.path.clone();
    // A transaction left open by a failure is not ours to continue: it is
    // rolled back before the next batch.
    let settle = |store: &mut Store| {
        if !store.conn.is_autocommit() {
            let _ = store.conn.execute_batch("ROLLBACK");
        }
    };
    // A full checkpoint, never beside the checkpointer's own.
    let full_checkpoint = |store: &mut Store| {
        settle(store);
        let _alone = checkpointer.hold();
        store.checkpoint().map_err(|e| e.at(&path))
    };
    // One command in its own savepoint (inside the batch's transaction).
    let run = |store: &mut Store, cmd: Cmd| -> Reply {
        crate::fault::hit("store", cmd.name());
        let mut reply = None;
        let r = store.atomic(|s| {
            let (ok, r) = cmd.run(s);
            reply = Some(r);
            if ok {
                Ok(())
            } else {
                // Undo what the command wrote; its own error goes back to
                // its caller in `reply`.
                Err(StoreError::RolledBack)
            }
        });
        match (reply, r) {
            (Some(reply), _) => reply,
            // The savepoint itself could not be opened.
            (None, Err(e)) => {
                let e = e.at(&path);
                Box::new(move |_| tracing::error!(error = %e, "a database command could not start"))
            }
            (None, Ok(())) => Box::new(|_| {}),
        }
    };
    while let Ok(msg) = rx.recv() {
        let first = match msg {
            Msg::Cmd(cmd) => cmd,
            Msg::Checkpoint(reply) => {
                let _ = reply.send(full_checkpoint(&mut store));
                continue;
            }
        };
        settle(&mut store);
        let changes = store.conn.total_changes();
        // IMMEDIATE: the write lock is taken before anything is read,
        // waiting (busy timeout) for any other writer; a deferred
        // transaction that read first could not wait and would fail with
        // "database is locked".
        let began = match store.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, database = %path.display(), "cannot begin a transaction; each command commits on its own");
                false
            }
        };
        let mut replies = vec![run(&mut store, first)];
        let mut checkpoint = None;
        while replies.len() < BATCH {
            match rx.try_recv() {
                Ok(Msg::Cmd(cmd)) => replies.push(run(&mut store, cmd)),
                Ok(Msg::Checkpoint(reply)) => {
                    checkpoint = Some(reply);
                    break;
                }
                Err(_) => break,
            }
        }
        // Without BEGIN each command committed on its own.
        let committed = !began
            || match store.conn.execute_batch("COMMIT") {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, database = %path.display(), "cannot commit to the database; the batch is rolled back");
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
}
