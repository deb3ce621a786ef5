//! Supervision: every long-lived task of `run` is spawned here, and the
//! end of any of them before shutdown was asked for (a panic, an error, a
//! return) is reported as a [`Death`], which makes the daemon exit non-zero
//! so that the service manager restarts it. Shutdown is passed in as a
//! [`CancellationToken`]; the [`TaskTracker`] lets `run` wait for every
//! task it started.

use std::future::Future;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A supervised task (or thread) that ended while the daemon was running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Death {
    /// What died ("scheduler", "dispatcher", "store thread", …).
    pub what: String,
    /// Why, as far as it is known (the panic message, the error).
    pub why: String,
}

impl std::fmt::Display for Death {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} died: {}", self.what, self.why)
    }
}

/// Spawns and watches the daemon's tasks.
#[derive(Debug)]
pub(crate) struct Supervisor {
    token: CancellationToken,
    tracker: TaskTracker,
    tx: mpsc::UnboundedSender<Death>,
    rx: mpsc::UnboundedReceiver<Death>,
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

impl Supervisor {
    /// A supervisor whose tasks stop when `token` is cancelled.
    pub(crate) fn new(token: CancellationToken) -> Supervisor {
        let (tx, rx) = mpsc::unbounded_channel();
        Supervisor {
            token,
            tracker: TaskTracker::new(),
            tx,
            rx,
        }
    }

    /// Spawns `task` as `what`. Its end before the token is cancelled is a
    /// [`Death`].
    pub(crate) fn spawn<F>(&self, what: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = self.tracker.spawn(task);
        let (token, tx) = (self.token.clone(), self.tx.clone());
        self.tracker.spawn(async move {
            let why = match handle.await {
                Ok(()) if token.is_cancelled() => return,
                Ok(()) => "it stopped on its own".to_string(),
                Err(e) if e.is_panic() => panic_message(&*e.into_panic()),
                Err(e) => e.to_string(),
            };
            let _ = tx.send(Death {
                what: what.to_string(),
                why,
            });
        });
    }

    /// Watches something that is not a tokio task (a thread): `ended`
    /// resolves with what ended and why; that is a [`Death`] unless the
    /// token was cancelled first.
    pub(crate) fn watch<F>(&self, ended: F)
    where
        F: Future<Output = Death> + Send + 'static,
    {
        let (token, tx) = (self.token.clone(), self.tx.clone());
        self.tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                death = ended => {
                    if !token.is_cancelled() {
                        let _ = tx.send(death);
                    }
                }
            }
        });
    }

    /// The next death (pending forever while all live).
    pub(crate) async fn death(&mut self) -> Death {
        match self.rx.recv().await {
            Some(d) => d,
            // Never: the supervisor holds a sender itself.
            None => std::future::pending().await,
        }
    }

    /// Cancels the token and waits up to `grace` for every task to end;
    /// returns whether they all did.
    pub(crate) async fn shutdown(&self, grace: std::time::Duration) -> bool {
        self.token.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_early_is_a_death_and_shutdown_waits() {
        let mut sup = Supervisor::new(CancellationToken::new());
        let token = sup.token.clone();
        sup.spawn("waiter", async move { token.cancelled().await });
        sup.spawn("quitter", async {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        });
        sup.spawn("panicker", async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            panic!("boom");
        });
        let first = sup.death().await;
        assert_eq!(first.what, "quitter");
        assert_eq!(first.why, "it stopped on its own");
        let second = sup.death().await;
        assert_eq!(second.what, "panicker");
        assert_eq!(second.why, "panic: boom");
        assert_eq!(second.to_string(), "the panicker died: panic: boom");
        // The waiter ends on the token: no death, and shutdown sees it end.
        assert!(sup.shutdown(std::time::Duration::from_secs(1)).await);
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(60), sup.death())
                .await
                .is_err()
        );
    }
}
