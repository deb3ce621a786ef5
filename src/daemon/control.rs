//! Signals, mapped in one place to the one control enum the daemon obeys.
//!
//! `main` holds SIGTERM, SIGINT and SIGHUP blocked from its first
//! instruction ([`hold_signals`]); `run` installs tokio's handlers and only
//! then lets them through ([`Signals::install`]), so a SIGTERM that arrives
//! while the process is still starting is delivered to the handler, never
//! to the default action that would kill the process half-started. Every
//! other command lets them through at once ([`release_signals`]) and keeps
//! the default actions.

/// What the daemon is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Stop: finish in-flight work within the grace period, then exit 0.
    /// Carries the signal's name for the log.
    Stop(&'static str),
    /// Re-read the configuration (SIGHUP).
    Reload,
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset only write the set they are given,
    // which is a plain value owned here.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

fn mask(how: libc::c_int) {
    let set = signal_set();
    // SAFETY: pthread_sigmask with a valid set and a null old set changes
    // only this thread's mask (threads started later inherit it).
    unsafe {
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Blocks SIGTERM, SIGINT and SIGHUP for this thread and every thread it
/// starts later; a signal that arrives meanwhile stays pending. Called
/// first thing in `main`.
pub(crate) fn hold_signals() {
    mask(libc::SIG_BLOCK);
}

/// Lets SIGTERM, SIGINT and SIGHUP through to this thread again (pending
/// ones are delivered now).
pub(crate) fn release_signals() {
    mask(libc::SIG_UNBLOCK);
}

/// The daemon's signal handlers.
#[derive(Debug)]
pub(crate) struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers, then releases the signals held since `main`
    /// began: one that arrived before is seen by [`Signals::next`]. Must be
    /// called inside a tokio runtime, on the thread that held them.
    pub(crate) fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let s = Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        };
        release_signals();
        Ok(s)
    }

    /// The next signal, as a [`Control`].
    pub(crate) async fn next(&mut self) -> Control {
        tokio::select! {
            _ = self.term.recv() => Control::Stop("SIGTERM"),
            _ = self.int.recv() => Control::Stop("SIGINT"),
            _ = self.hup.recv() => Control::Reload,
        }
    }

    /// Forwards every signal to `tx` until its receiver is gone.
    pub(crate) async fn forward(mut self, tx: tokio::sync::mpsc::UnboundedSender<Control>) {
        loop {
            let c = self.next().await;
            if tx.send(c).is_err() {
                return;
            }
        }
    }
}
