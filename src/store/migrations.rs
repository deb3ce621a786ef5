//! Schema migrations, applied in order at start-up inside one transaction
//! each, and recorded in `schema_migrations` and `PRAGMA user_version`.
//! A database whose version is higher than the last migration here was
//! written by a newer newswatch and is refused untouched.

/// The migrations: (description, SQL). Never edit a published one; append.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "feeds, articles, sightings, matches, alert outbox, deliveries",
        r#"
CREATE TABLE feeds (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    title            TEXT,
    etag             TEXT,
    last_modified    TEXT,
    body_hash        TEXT,
    created_at       INTEGER NOT NULL,
    first_success_at INTEGER,
    last_polled_at   INTEGER,
    last_success_at  INTEGER,
    last_status      INTEGER,
    next_poll_at     INTEGER,
    error_streak     INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    items_seen       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id),
    item_key      TEXT NOT NULL,
    url           TEXT,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    content       TEXT NOT NULL,
    lang          TEXT,
    published_at  INTEGER,
    fetched_at    INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    pruned        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (feed_id, item_key)
);
CREATE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;

-- Every time an item is seen in a feed: its own feed first, then other
-- feeds carrying the same story. "Already stored for this feed" is a
-- lookup here.
CREATE TABLE sightings (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    feed_id     INTEGER NOT NULL REFERENCES feeds(id),
    item_key    TEXT NOT NULL,
    url         TEXT,
    seen_at     INTEGER NOT NULL,
    UNIQUE (feed_id, item_key)
);
CREATE INDEX sightings_feed_url ON sightings(feed_id, url);
CREATE INDEX sightings_article ON sightings(article_id);

CREATE TABLE matches (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    watch       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    score       REAL NOT NULL,
    terms       TEXT NOT NULL,
    snippet     TEXT NOT NULL,
    matched_at  INTEGER NOT NULL,
    UNIQUE (article_id, watch)
);
CREATE INDEX matches_time ON matches(matched_at);

-- The alert outbox: one row per (article, sink), written in the same
-- transaction as the article and its matches. The id is the alert's
-- stable Idempotency-Key.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    article_id       INTEGER NOT NULL REFERENCES articles(id),
    sink             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'suppressed')),
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    delivered_at     INTEGER,
    last_error       TEXT,
    UNIQUE (article_id, sink)
);
CREATE INDEX outbox_queue ON outbox(sink, state, created_at);

CREATE TABLE deliveries (
    id        INTEGER PRIMARY KEY,
    alert_id  TEXT NOT NULL REFERENCES outbox(id),
    attempt   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX deliveries_alert ON deliveries(alert_id);
"#,
    ),
    (
        "feed schedule: adaptive interval, Retry-After window, state (active, gone, disabled), error kind, permanent moves, story title keys",
        r#"
ALTER TABLE feeds ADD COLUMN interval_s INTEGER;
ALTER TABLE feeds ADD COLUMN retry_until INTEGER;
ALTER TABLE feeds ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE feeds ADD COLUMN state_reason TEXT;
ALTER TABLE feeds ADD COLUMN error_kind TEXT;
-- Where the feed is fetched from after a confirmed permanent move (NULL:
-- its configured URL), a move being confirmed, and the URLs it left.
ALTER TABLE feeds ADD COLUMN fetch_url TEXT;
ALTER TABLE feeds ADD COLUMN moved_to TEXT;
ALTER TABLE feeds ADD COLUMN moved_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN url_history TEXT;
-- The same story under another link: a key of the normalized title, kept
-- for matched articles only (only they can alert), to find syndicated copies.
ALTER TABLE articles ADD COLUMN title_key TEXT;
CREATE INDEX articles_title_key ON articles(title_key) WHERE title_key IS NOT NULL;
"#,
    ),
    (
        "an article row is its own feed's sighting: sightings keep the other feeds only",
        r#"
-- Before, every article also had a sighting in its own feed; the article
-- row (feed_id, item_key, url) says the same, and "already stored for this
-- feed" now looks in both tables.
DELETE FROM sightings
 WHERE feed_id = (SELECT a.feed_id FROM articles a WHERE a.id = sightings.article_id);
"#,
    ),
    (
        "routing decided at ingest: each outbox row keeps the watches it routes",
        r#"
-- A JSON array of watch names; NULL on rows queued before this migration
-- (their sink then gets every watch of the article, as it did).
ALTER TABLE outbox ADD COLUMN watches TEXT;
"#,
    ),
    (
        "delivery: per-sink sequence, detection in ms, rejections, sink state, delivery times in ms",
        r#"
-- Each sink numbers its alerts in detection order (bodies carry it, so a
-- receiver can order them); NULL on rows queued before this migration.
ALTER TABLE outbox ADD COLUMN sequence INTEGER;
ALTER TABLE outbox ADD COLUMN created_ms INTEGER;
-- Times the receiver rejected this alert (400, 413, 415, 422).
ALTER TABLE outbox ADD COLUMN rejections INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_sequence ON outbox(sink, sequence);
CREATE INDEX outbox_due ON outbox(sink, state, next_attempt_ms);
-- Which sink an attempt went to and when (ms): the pace budgets and digest
-- windows are derived from these, so they survive restarts.
ALTER TABLE deliveries ADD COLUMN sink TEXT;
ALTER TABLE deliveries ADD COLUMN at_ms INTEGER;
CREATE INDEX deliveries_sink ON deliveries(sink, at_ms) WHERE sink IS NOT NULL;
-- A sink's health as delivery saw it: ok, down (failing everything; one
-- probe at a time), failing (401/403/3xx: credentials or address) or
-- disabled (the receiver answered 410 Gone).
CREATE TABLE sink_state (
    sink              TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('ok', 'down', 'failing', 'disabled')),
    since_ms          INTEGER NOT NULL,
    reason            TEXT,
    streak            INTEGER NOT NULL DEFAULT 0,
    first_failure_ms  INTEGER,
    last_failure_ms   INTEGER,
    last_success_ms   INTEGER,
    fingerprint       TEXT
);
"#,
    ),
    (
        "a stopped feed remembers its config entry: a reload that changes it restarts the feed",
        r#"
ALTER TABLE feeds ADD COLUMN stopped_entry TEXT;
"#,
    ),
    (
        "the facts of each meeting, and the event that reports of one meeting share",
        r#"
CREATE TABLE meetings (
    article_id  INTEGER PRIMARY KEY REFERENCES articles(id),
    event_id    TEXT NOT NULL,
    forum       TEXT,
    country     TEXT,
    day         TEXT NOT NULL,  -- the meeting's date, else the article's day
    event_day   TEXT NOT NULL,  -- the day of the event's first report: later
                                -- reports match it, so an event never drifts
    facts       TEXT NOT NULL   -- the facts as JSON
);
CREATE INDEX meetings_event ON meetings(event_id);
CREATE INDEX meetings_match ON meetings(forum, country, event_day);
"#,
    ),
];
