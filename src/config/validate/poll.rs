//! `[poll]`: the default interval, its bounds and the first-poll backfill
//! window.

use super::duration;
use crate::config::diag::Diagnostics;
use crate::config::raw::RawPoll;
use crate::config::types::PollConfig;
use std::time::Duration;
use toml::Spanned;

/// Validates `[poll]` of the main file.
pub(crate) fn poll(dg: &mut Diagnostics, main: usize, poll: &RawPoll) -> PollConfig {
    let interval = duration(dg, main, &poll.interval, Duration::from_secs(600));
    let min_interval = duration(dg, main, &poll.min_interval, Duration::from_secs(120));
    let max_interval = duration(dg, main, &poll.max_interval, Duration::from_secs(6 * 3600));
    let backfill = duration(dg, main, &poll.backfill, Duration::from_secs(2 * 86_400));
    if min_interval > max_interval {
        let span = poll.min_interval.as_ref().map_or(0..0, Spanned::span);
        dg.issue(
            main,
            span,
            "`poll.min_interval` is longer than `poll.max_interval`",
        );
    }
    if min_interval.is_zero() {
        let span = poll.min_interval.as_ref().map_or(0..0, Spanned::span);
        dg.issue(main, span, "`poll.min_interval` must be more than 0");
    }
    PollConfig {
        interval: interval.clamp(
            min_interval.min(max_interval),
            max_interval.max(min_interval),
        ),
        min_interval,
        max_interval,
        backfill,
    }
}
