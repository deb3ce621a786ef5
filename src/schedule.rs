//! When a feed is polled next: the adaptive interval, error backoff, and
//! the server's own hints. Pure functions of the poll's outcome and the
//! feed's state; `daemon` applies them and `store` keeps the result, so a
//! restart resumes the same schedule.
//!
//! - A poll that brings new items halves the interval; one that brings
//!   nothing lengthens it by a quarter; always within
//!   `[poll.min_interval, poll.max_interval]`.
//! - The feed's hints (RSS `ttl`, `sy:updatePeriod`/`sy:updateFrequency`)
//!   and HTTP `Cache-Control: max-age` are floors: never poll more often than
//!   the publisher asks, within the same bounds.
//! - Failures back off exponentially from `min_interval` with jitter; after
//!   a long streak the feed is polled at `max_interval` and flagged.
//! - `Retry-After` is honoured as given, even past `max_interval` (capped at
//!   a day).

use crate::config::PollConfig;
use std::time::Duration;

/// After this many consecutive failures a feed is polled at
/// `max_interval` and shown as failing.
pub(crate) const LONG_STREAK: i64 = 10;

/// What the publisher said about how often to poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hints {
    /// RSS `ttl` or `sy:updatePeriod`/`sy:updateFrequency`.
    pub feed_ttl: Option<Duration>,
    /// HTTP `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
}

fn clamp(d: Duration, cfg: &PollConfig) -> Duration {
    d.clamp(
        cfg.min_interval.min(cfg.max_interval),
        cfg.max_interval.max(cfg.min_interval),
    )
}

/// ±10 % jitter from a value in [0, 1).
fn jitter(d: Duration, r: f64) -> Duration {
    d.mul_f64(0.9 + 0.2 * r)
}

/// The interval after a successful poll. `current` is the feed's present
/// interval (its configured one on the first poll); `new_items` how many
/// items it brought that were not stored before.
pub(crate) fn after_success(
    cfg: &PollConfig,
    current: Duration,
    new_items: usize,
    hints: Hints,
) -> Duration {
    let next = if new_items > 0 {
        current / 2
    } else {
        current.mul_f64(1.25)
    };
    let floor = hints
        .feed_ttl
        .into_iter()
        .chain(hints.max_age)
        .max()
        .unwrap_or(Duration::ZERO);
    clamp(next.max(floor), cfg)
}

/// The delay before polling again after the `streak`-th consecutive
/// failure (1 for the first), honouring `retry_after` when the server
/// gave one. `r` is a random value in [0, 1) for jitter.
pub(crate) fn after_failure(
    cfg: &PollConfig,
    streak: i64,
    retry_after: Option<Duration>,
    r: f64,
) -> Duration {
    if let Some(ra) = retry_after {
        return ra.clamp(
            cfg.min_interval.min(Duration::from_secs(60)),
            Duration::from_secs(86_400),
        );
    }
    if streak >= LONG_STREAK {
        return jitter(cfg.max_interval, r);
    }
    let exp = cfg
        .min_interval
        .saturating_mul(1u32 << (streak.clamp(1, 20) - 1) as u32);
    jitter(clamp(exp, cfg), r)
}

/// The delay before a feed's first poll after start-up or a reload, spread
/// over `min(interval, spread)` so that thousands of feeds do not all start
/// at once.
pub(crate) fn first_poll(interval: Duration, spread: Duration, r: f64) -> Duration {
    interval.min(spread).mul_f64(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PollConfig {
        PollConfig {
            interval: Duration::from_secs(600),
            min_interval: Duration::from_secs(120),
            max_interval: Duration::from_secs(6 * 3600),
            backfill: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn busy_feeds_speed_up_quiet_ones_slow_down_within_bounds() {
        let c = cfg();
        let ten = Duration::from_secs(600);
        assert_eq!(
            after_success(&c, ten, 3, Hints::default()),
            Duration::from_secs(300)
        );
        assert_eq!(
            after_success(&c, ten, 0, Hints::default()),
            Duration::from_secs(750)
        );
        assert_eq!(
            after_success(&c, Duration::from_secs(130), 5, Hints::default()),
            c.min_interval
        );
        assert_eq!(
            after_success(&c, c.max_interval, 0, Hints::default()),
            c.max_interval
        );
    }

    #[test]
    fn publisher_hints_are_floors() {
        let c = cfg();
        let h = Hints {
            feed_ttl: Some(Duration::from_secs(3600)),
            max_age: Some(Duration::from_secs(900)),
        };
        assert_eq!(
            after_success(&c, Duration::from_secs(600), 4, h),
            Duration::from_secs(3600)
        );
        let huge = Hints {
            feed_ttl: Some(Duration::from_secs(30 * 86_400)),
            max_age: None,
        };
        assert_eq!(
            after_success(&c, Duration::from_secs(600), 0, huge),
            c.max_interval
        );
    }

    #[test]
    fn failures_back_off_and_retry_after_wins() {
        let c = cfg();
        assert_eq!(after_failure(&c, 1, None, 0.5), Duration::from_secs(120));
        assert_eq!(after_failure(&c, 3, None, 0.5), Duration::from_secs(480));
        assert_eq!(after_failure(&c, 30, None, 0.5), c.max_interval);
        assert_eq!(
            after_failure(&c, 1, Some(Duration::from_secs(7200)), 0.5),
            Duration::from_secs(7200)
        );
        let d = after_failure(&c, 2, None, 0.0);
        assert!(d >= Duration::from_secs(216) && d <= Duration::from_secs(240));
    }
}
