//! Politeness per host: at most `http.per_host` requests in flight, a
//! minimum spacing between request starts (`http.host_spacing`), and a
//! spacing that doubles (up to a minute) when a host answers 429, so that a
//! host-wide limit slows every feed of that host instead of stopping them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest spacing a rate-limited host is given.
const MAX_SPACING: Duration = Duration::from_secs(60);

struct Host {
    slots: Arc<Semaphore>,
    next_start: Instant,
    spacing: Duration,
}

/// Shared by every poll task of a cycle or of the daemon.
pub(crate) struct HostGate {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Host>>,
}

impl HostGate {
    /// A gate allowing `per_host` requests in flight per host, started at
    /// least `spacing` apart.
    pub(crate) fn new(per_host: usize, spacing: Duration) -> HostGate {
        HostGate {
            per_host: per_host.max(1),
            spacing,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The host part of a URL (the key of the limits).
    pub(crate) fn host_of(url: &str) -> String {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Waits for a slot and for the host's spacing; the permit frees the slot.
    pub(crate) async fn enter(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let slots = {
            let mut hosts = self.hosts.lock().ok()?;
            let h = hosts.entry(host.to_string()).or_insert_with(|| Host {
                slots: Arc::new(Semaphore::new(self.per_host)),
                next_start: Instant::now(),
                spacing: self.spacing,
            });
            Arc::clone(&h.slots)
        };
        let permit = slots.acquire_owned().await.ok()?;
        loop {
            let wait = {
                let mut hosts = self.hosts.lock().ok()?;
                let h = hosts.get_mut(host)?;
                let now = Instant::now();
                if h.next_start <= now {
                    h.next_start = now + h.spacing;
                    None
                } else {
                    Some(h.next_start - now)
                }
            };
            match wait {
                None => return Some(permit),
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// The host said it is limited (429): double its spacing, up to a minute.
    pub(crate) fn slow_down(&self, host: &str) {
        if let Ok(mut hosts) = self.hosts.lock()
            && let Some(h) = hosts.get_mut(host)
        {
            h.spacing = (h.spacing.max(Duration::from_millis(500)) * 2).min(MAX_SPACING);
            tracing::warn!(host, spacing = ?h.spacing, "host is rate-limiting; spacing its requests further");
        }
    }

    /// The current spacing of `host`.
    #[cfg(test)]
    pub(crate) fn spacing(&self, host: &str) -> Duration {
        self.hosts
            .lock()
            .ok()
            .and_then(|h| h.get(host).map(|h| h.spacing))
            .unwrap_or(self.spacing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_are_spaced_and_slowed_by_429() {
        let gate = HostGate::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        let a = gate.enter("h").await;
        let b = gate.enter("h").await;
        assert!(
            Instant::now() - t0 >= Duration::from_secs(1),
            "second start waits the spacing"
        );
        drop((a, b));
        let other = Instant::now();
        let _c = gate.enter("elsewhere").await;
        assert_eq!(Instant::now(), other, "other hosts are not held up");
        gate.slow_down("h");
        assert_eq!(gate.spacing("h"), Duration::from_secs(2));
        for _ in 0..10 {
            gate.slow_down("h");
        }
        assert_eq!(gate.spacing("h"), MAX_SPACING);
    }
}
