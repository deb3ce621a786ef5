//! The values that cross the store's boundary: feed state, the outcome of
//! a poll, outbox rows and read rows. Plain data; no SQL.

use crate::model::{ErrorKind, IngestReport, MatchedArticle, Timestamp, Validators, WatchMatch};

/// A feed's stored state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeedRow {
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
    /// Polled, or taken out of the schedule.
    pub state: FeedState,
    /// Why the feed is not active.
    pub state_reason: Option<String>,
    /// The kind of the last error (timeout, connect, http-5xx, …).
    pub error_kind: Option<ErrorKind>,
    /// Last successful poll.
    pub last_success_at: Option<Timestamp>,
    /// Where it is fetched from after a confirmed permanent move.
    pub fetch_url: Option<String>,
    /// The URLs it moved away from, oldest first, one a line.
    pub url_history: Option<String>,
    /// When the feed was first seen.
    pub created_at: Timestamp,
    /// The fingerprint of the feed's config entry when it was stopped.
    pub stopped_entry: Option<String>,
}

/// When a feed is polled next, as decided after a poll.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sched {
    /// The next poll (Unix s).
    pub next_poll_at: Timestamp,
    /// The new adaptive interval, when it changed.
    pub interval_s: Option<i64>,
    /// The end of a `Retry-After` window, if the server set one.
    pub retry_until: Option<Timestamp>,
}

/// An alert waiting in the outbox, with everything a sink needs.
#[derive(Debug, Clone)]
pub(crate) struct PendingAlert {
    /// Stable id (the `Idempotency-Key`).
    pub id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued, in Unix ms.
    pub created_ms: i64,
    /// Its number among the sink's alerts, in detection order (`None` on
    /// alerts queued before sinks numbered them).
    pub sequence: Option<i64>,
    /// Times the receiver rejected it (400, 413, 415, 422).
    pub rejections: u32,
    /// The article.
    pub article: StoredArticle,
    /// The watches routed to this sink, as decided at ingest (stored with
    /// the outbox row), best first.
    pub matches: Vec<WatchMatch>,
    /// Other feeds that carried the same story: (feed name, feed url, item url).
    pub also_seen_in: Vec<(String, String, Option<String>)>,
}

/// An article as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredArticle {
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
    /// The meeting it reports (for `coalition-meeting` articles): the
    /// event id its reports share, and its facts.
    pub event: Option<(String, crate::facts::MeetingFacts)>,
}

/// One row of `newswatch alerts`.
#[derive(Debug, Clone)]
pub(crate) struct AlertRow {
    /// The alert id (its Idempotency-Key).
    pub id: String,
    /// The sink.
    pub sink: String,
    /// Where it is in its delivery.
    pub state: OutboxState,
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
pub(crate) struct MatchRow {
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

/// Whether a feed is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedState {
    /// Polled on its schedule.
    Active,
    /// The publisher removed it (HTTP 410).
    Gone,
    /// It answered with something that is not a feed, again and again.
    Disabled,
}

impl FeedState {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FeedState::Active => "active",
            FeedState::Gone => "gone",
            FeedState::Disabled => "disabled",
        }
    }

    /// The state stored as `s` (an unknown name reads as active: a feed is
    /// never dropped by a misread).
    pub(crate) fn parse(s: &str) -> FeedState {
        match s {
            "gone" => FeedState::Gone,
            "disabled" => FeedState::Disabled,
            _ => FeedState::Active,
        }
    }
}

impl std::fmt::Display for FeedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an alert is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboxState {
    /// Waiting (due now or at `next_attempt_ms`).
    Pending,
    /// Accepted by its sink.
    Delivered,
    /// Given up after its last attempt (`newswatch alerts retry` requeues).
    Dead,
    /// Stored without alerting (a first poll's backfill).
    Suppressed,
}

impl OutboxState {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Dead => "dead",
            OutboxState::Suppressed => "suppressed",
        }
    }

    /// The state named `s`, if any.
    pub(crate) fn parse(s: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Delivered,
            OutboxState::Dead,
            OutboxState::Suppressed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a feed is polled next after a document was stored: the schedule
/// depends on whether it brought new articles, which only the store knows
/// once it has looked.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NextPoll {
    /// When it brought at least one new article.
    pub if_new: Sched,
    /// When it brought none.
    pub if_quiet: Sched,
}

/// How one poll of a feed ended: the one value a poll hands the store,
/// recorded by one command ([`super::Handle::record_poll`]) in one
/// transaction.
#[derive(Debug)]
pub(crate) enum PollOutcome {
    /// A document was fetched and parsed.
    Fetched {
        /// HTTP status.
        status: u16,
        /// New validators.
        validators: Validators,
        /// Hash of the body.
        body_hash: String,
        /// The feed's own title.
        title: Option<String>,
        /// Its items, matched and routed.
        items: Vec<MatchedArticle>,
        /// Why the document was read only in part or after repairs.
        partial: Option<String>,
        /// Where a permanent redirect pointed, if one did.
        moved_to: Option<String>,
        /// The schedule.
        next: NextPoll,
    },
    /// 304, or a body identical to the last one.
    NotModified {
        /// HTTP status.
        status: u16,
        /// New validators and body hash when a full body came back the same.
        refreshed: Option<(Validators, String)>,
        /// Where a permanent redirect pointed, if one did.
        moved_to: Option<String>,
        /// The schedule.
        sched: Sched,
    },
    /// The poll failed.
    Failed {
        /// HTTP status, if one came back.
        status: Option<u16>,
        /// What kind of failure.
        kind: ErrorKind,
        /// What went wrong.
        error: String,
        /// The schedule (backoff).
        sched: Sched,
        /// The feed leaves the schedule, with the reason shown by `feeds`.
        retire: Option<(FeedState, String)>,
    },
    /// Not polled (gone, disabled, inside a Retry-After window): nothing is
    /// written.
    Skipped,
}

/// What recording a poll did.
#[derive(Debug, Default)]
pub(crate) struct PollRecorded {
    /// What the ingest of a fetched document did.
    pub report: Option<IngestReport>,
    /// When the feed is due next (Unix s); 0 for a skipped poll.
    pub next_poll_at: Timestamp,
    /// The feed's new address, when this poll confirmed a permanent move.
    pub switched_to: Option<String>,
    /// The poll's articles, handed back so that they are freed by the
    /// caller rather than on the store thread.
    pub items: Vec<MatchedArticle>,
}

/// A sink's health as delivery saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkCondition {
    /// Accepting alerts (or failing fewer than it takes to be down).
    Ok,
    /// Failing everything: one probe at a time, at most 10 s apart.
    Down,
    /// Refusing the credentials or the address (401, 403, 3xx): probed as
    /// when down, and no alert loses an attempt to it.
    Failing,
    /// The receiver said the endpoint is gone (410): nothing is sent until
    /// `alerts enable` or a reload that changes the sink.
    Disabled,
}

impl SinkCondition {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SinkCondition::Ok => "ok",
            SinkCondition::Down => "down",
            SinkCondition::Failing => "failing",
            SinkCondition::Disabled => "disabled",
        }
    }

    /// The condition stored as `s` (unknown reads as ok: a sink is never
    /// silenced by a misread).
    pub(crate) fn parse(s: &str) -> SinkCondition {
        match s {
            "down" => SinkCondition::Down,
            "failing" => SinkCondition::Failing,
            "disabled" => SinkCondition::Disabled,
            _ => SinkCondition::Ok,
        }
    }
}

/// A sink's recorded health (`sink_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SinkHealth {
    /// Its condition.
    pub condition: SinkCondition,
    /// Since when (Unix ms; 0 for a sink never seen failing).
    pub since_ms: i64,
    /// Why it is not ok (`HTTP 401`, `5 failed attempts in a row`, …).
    pub reason: Option<String>,
    /// Failed attempts in a row (of any alerts).
    pub streak: u32,
    /// When the current run of failures began (Unix ms).
    pub first_failure_ms: Option<i64>,
    /// The last failure (Unix ms).
    pub last_failure_ms: Option<i64>,
    /// The last success (Unix ms).
    pub last_success_ms: Option<i64>,
    /// The sink's config fingerprint when it was disabled.
    pub fingerprint: Option<String>,
}

impl Default for SinkHealth {
    fn default() -> Self {
        SinkHealth {
            condition: SinkCondition::Ok,
            since_ms: 0,
            reason: None,
            streak: 0,
            first_failure_ms: None,
            last_failure_ms: None,
            last_success_ms: None,
            fingerprint: None,
        }
    }
}

/// How a failed attempt ends for the alerts it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptEnd {
    /// Counted; tried again at this time (Unix ms).
    Retry(i64),
    /// Counted; that was the last attempt.
    Dead,
    /// Not counted against the alerts (a probe of a down sink, a sink
    /// refusing its credentials): they stay as they were.
    Uncounted,
}

/// One sink's queue, for `newswatch alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SinkQueue {
    /// The sink.
    pub sink: String,
    /// Its recorded health.
    pub health: SinkHealth,
    /// Alerts pending.
    pub pending: i64,
    /// Alerts dead.
    pub dead: i64,
    /// When the oldest pending alert was queued (Unix s).
    pub oldest_pending: Option<Timestamp>,
    /// When the next pending alert is due (Unix ms).
    pub next_due_ms: Option<i64>,
}
