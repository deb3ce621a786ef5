//! Plain domain types that cross module boundaries.
//!
//! Nothing here does I/O or depends on another module of the crate: `fetch`,
//! `parse`, `rules`, `store` and `alert` all speak in these types, and only
//! `daemon` moves them from one stage to the next. Wire formats (webhook
//! bodies, `--json` output) have their own types at the edge.

use std::fmt;
use std::time::Duration;

/// Unix time in seconds, the clock every stage is handed (never read inside
/// the pure stages).
pub type Timestamp = i64;

/// An article as it leaves `parse`: plain text, our own stable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// Our identity for the item inside its feed: the feed's guid when it has
    /// one, else the canonical link, else a hash of title and text.
    pub key: String,
    /// Title as plain text (HTML stripped, entities decoded).
    pub title: String,
    /// Canonical link: absolute, without fragment or tracking parameters.
    pub url: Option<String>,
    /// Publication time (falls back to the update time).
    pub published: Option<Timestamp>,
    /// Summary as plain text.
    pub summary: String,
    /// Full content as plain text (empty when the feed sends none).
    pub content: String,
    /// Language tag as given by the feed or guessed from the script.
    pub lang: Option<String>,
    /// Category labels from the feed.
    pub categories: Vec<String>,
}

impl Article {
    /// A fingerprint of the article's text, used to recognise the same
    /// story; stable across processes and versions.
    pub fn fingerprint(&self) -> String {
        crate::text::hex_digest(&[self.title.as_bytes(), b"\n", self.summary.as_bytes()])
    }
}

/// The text fields a rule can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The article title.
    Title,
    /// The summary or description.
    Summary,
    /// The full content.
    Content,
}

impl Field {
    /// All fields in evaluation order.
    pub const ALL: [Field; 3] = [Field::Title, Field::Summary, Field::Content];

    /// The name used in rules and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
        }
    }

    /// Position in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Alert severities, ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// The default.
    Medium,
    /// Needs attention today.
    High,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// Parses `low`, `medium`, `high` or `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One matched term of a watch: what matched, where, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct TermHit {
    /// The term as written in the rule (`"islamic state"`, `terror*`).
    pub term: String,
    /// The field it was found in.
    pub field: Field,
    /// How many times.
    pub count: u32,
}

/// A watch that fired on an article.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchMatch {
    /// The watch's name.
    pub watch: String,
    /// The watch's severity.
    pub severity: Severity,
    /// A ranking score (higher means more and better-placed hits).
    pub score: f64,
    /// The terms that made it fire.
    pub terms: Vec<TermHit>,
    /// A short excerpt with the hits marked «like this».
    pub snippet: String,
}

/// HTTP cache validators kept per feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The last `ETag` the server sent.
    pub etag: Option<String>,
    /// The last `Last-Modified` the server sent.
    pub last_modified: Option<String>,
}

/// What a fetch produced.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed since the validators we sent.
    NotModified {
        /// HTTP status (304).
        status: u16,
        /// The target, when the request was redirected only permanently (301/308).
        moved_to: Option<String>,
    },
    /// A body to parse.
    Body {
        /// HTTP status (200).
        status: u16,
        /// The body, at most `http.max_body` bytes, decompressed.
        bytes: Vec<u8>,
        /// The URL after redirects.
        final_url: String,
        /// New validators to store.
        validators: Validators,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// `Cache-Control: max-age`, if given.
        max_age: Option<Duration>,
        /// The target, when the request was redirected only permanently (301/308).
        moved_to: Option<String>,
    },
}

/// A feed document turned into articles.
#[derive(Debug, Default)]
pub struct ParsedFeed {
    /// The feed's own title.
    pub title: Option<String>,
    /// The feed's language, if declared.
    pub lang: Option<String>,
    /// How often the publisher says to poll (RSS `ttl`, `sy:updatePeriod`).
    pub ttl: Option<Duration>,
    /// The articles, in document order.
    pub articles: Vec<Article>,
    /// Why the document was read only in part, or only after repairs
    /// (`None`: read whole, as it is).
    pub partial: Option<String>,
}

/// An article with what fired on it, ready for `store`.
#[derive(Debug, Clone)]
pub struct MatchedArticle {
    /// The article.
    pub article: Article,
    /// Every watch that fired (may be empty: unmatched articles are stored too).
    pub matches: Vec<WatchMatch>,
    /// Where it alerts, decided once here (stored with each outbox row,
    /// never recomputed at delivery): each sink with the watches it routes,
    /// best first. Empty when nothing fired or nothing is routed.
    pub routes: Vec<Route>,
    /// True when the item is stored without alerting (backfill of a first poll).
    pub suppressed: bool,
    /// [`Article::fingerprint`], computed where the article is matched
    /// (beside the parser, on every core) rather than by the store.
    pub fingerprint: String,
    /// The "same headline" key (`store::story_title_key`), computed off the
    /// store's writer thread; `None` for unmatched articles and short titles.
    pub title_key: Option<String>,
    /// The summary's words for "the same summary" (`store::summary_words`),
    /// computed with the title key.
    pub summary_words: Vec<String>,
    /// The facts of the meeting, for an article that fired
    /// `coalition-meeting`.
    pub facts: Option<crate::facts::MeetingFacts>,
}

/// One sink an alert goes to, with the watches of the article it routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The sink's name.
    pub sink: String,
    /// The routed watches' names.
    pub watches: Vec<String>,
    /// False: a later report of a meeting this sink heard of is not sent.
    pub follow_ups: bool,
}

/// The kind of a failed poll, as recorded on the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request timed out.
    Timeout,
    /// No connection (DNS, refused, TLS).
    Connect,
    /// HTTP 429.
    RateLimited,
    /// HTTP 410.
    Gone,
    /// Another 5xx.
    Http5xx,
    /// Another 4xx (or an unexpected status).
    Http4xx,
    /// The body was larger than `http.max_body`.
    TooLarge,
    /// A broken HTTP exchange (bad redirect, bad encoding, ...).
    Protocol,
    /// The document is not a feed at all.
    NotAFeed,
    /// A feed that could not be read (the parser crashed on it).
    Parse,
    /// A feed (a feed's root, or items) of which nothing could be read.
    Unreadable,
    /// A feed read only in part, or only after repairs (not a failure: the
    /// poll succeeded with what could be read).
    Partial,
    /// newswatch failed (a panic while polling).
    Internal,
}

impl ErrorKind {
    const ALL: [ErrorKind; 13] = [
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::RateLimited,
        ErrorKind::Gone,
        ErrorKind::Http5xx,
        ErrorKind::Http4xx,
        ErrorKind::TooLarge,
        ErrorKind::Protocol,
        ErrorKind::NotAFeed,
        ErrorKind::Parse,
        ErrorKind::Unreadable,
        ErrorKind::Partial,
        ErrorKind::Internal,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Gone => "gone",
            ErrorKind::Http5xx => "http-5xx",
            ErrorKind::Http4xx => "http-4xx",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Protocol => "protocol",
            ErrorKind::NotAFeed => "not-a-feed",
            ErrorKind::Parse => "parse",
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::Partial => "partial",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `s` (as stored), if any.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one ingest did, per feed poll.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestReport {
    /// Items seen in the document.
    pub items: usize,
    /// Items stored as new articles.
    pub new_articles: usize,
    /// Items recorded as a sighting of an article stored from another feed.
    pub sightings: usize,
    /// Items already stored for this feed (skipped).
    pub duplicates: usize,
    /// Articles with at least one watch match.
    pub matched: usize,
    /// Outbox rows created.
    pub alerts_queued: usize,
}
