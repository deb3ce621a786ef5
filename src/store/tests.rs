//! The store's tests. Most speak to it as the daemon does, through
//! [`Handle`]'s typed commands, so that they hold for any backend behind
//! the same operations; the few that check SQLite itself (query plans,
//! migrations, the file lock) open the file beside it.

use super::db::SCHEMA_VERSION;
use super::ingest::{OWN_URL, SAME_STORY, SAME_TITLE, alert_id};
use super::*;
use crate::model::MatchedArticle;
use crate::model::{Article, Route, Severity, Validators, WatchMatch};
use rusqlite::Connection;

fn art(key: &str, url: Option<&str>) -> Article {
    Article {
        key: key.into(),
        title: format!("t {key}"),
        url: url.map(str::to_string),
        published: Some(100),
        summary: "s".into(),
        content: String::new(),
        lang: None,
        categories: vec![],
    }
}

fn matched(a: Article, sinks: &[&str]) -> MatchedArticle {
    MatchedArticle {
        fingerprint: a.fingerprint(),
        title_key: story_title_key(&a.title),
        summary_words: summary_words(&a.summary),
        article: a,
        matches: vec![WatchMatch {
            watch: "w".into(),
            severity: Severity::High,
            score: 1.0,
            terms: vec![],
            snippet: "x".into(),
        }],
        routes: sinks
            .iter()
            .map(|s| Route {
                sink: s.to_string(),
                watches: vec!["w".into()],
                follow_ups: true,
            })
            .collect(),
        suppressed: false,
        facts: None,
    }
}

fn fetched(items: Vec<MatchedArticle>, moved_to: Option<&str>) -> PollOutcome {
    PollOutcome::Fetched {
        status: 200,
        validators: Validators::default(),
        body_hash: format!("h{}", items.len()),
        title: None,
        items,
        partial: None,
        moved_to: moved_to.map(str::to_string),
        next: NextPoll::default(),
    }
}

/// A command that fails inside the store thread's batch is undone alone,
/// including what it wrote before the failure (the move its poll saw), and
/// its error goes to its caller; the other commands are committed.
#[tokio::test]
async fn a_failed_command_in_a_batch_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let h = Handle::open(&path).unwrap();
    let a = h.ensure_feed("https://a/", "A", 1).await.unwrap();
    let b = h.ensure_feed("https://b/", "B", 1).await.unwrap();
    // An article SQLite refuses, in the middle of feed a's document.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON articles WHEN NEW.item_key = 'boom'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    let bad_items = vec![
        matched(art("ok-before", Some("https://x/0")), &["log"]),
        matched(art("boom", None), &["log"]),
    ];
    let good_items = vec![matched(art("g1", Some("https://x/1")), &["log"])];
    // Both are queued before either is answered: one batch.
    let (bad, good) = tokio::join!(
        h.record_poll(a.id, &a.url, 10, fetched(bad_items, Some("https://a2/")), 1),
        h.record_poll(b.id, &b.url, 10, fetched(good_items, None), 1),
    );
    let e = bad.unwrap_err().to_string();
    assert!(e.contains("refused by the test"), "{e}");
    assert_eq!(good.unwrap().report.unwrap().new_articles, 1);
    // Feed a: no article, no move (with confirm = 1 it would have switched),
    // no poll recorded.
    let a2 = h.ensure_feed("https://a/", "A", 1).await.unwrap();
    assert_eq!(a2.fetch_url, None);
    assert_eq!(a2.last_polled_at, None);
    let b2 = h.ensure_feed("https://b/", "B", 1).await.unwrap();
    assert_eq!(b2.last_polled_at, Some(10));
    drop(h);
    let conn = Connection::open(&path).unwrap();
    let keys: Vec<String> = conn
        .prepare("SELECT item_key FROM articles")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, ["g1"]);
}

/// A confirmed move and the poll that confirmed it are one record; the
/// routes decided at ingest come back with the sink's queue.
#[tokio::test]
async fn a_poll_is_one_record_and_routes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let h = Handle::open(&dir.path().join("t.db")).unwrap();
    let f = h.ensure_feed("https://a/", "A", 1).await.unwrap();
    let mut m = matched(art("k1", Some("https://x/1")), &[]);
    m.matches.push(WatchMatch {
        watch: "other".into(),
        severity: Severity::Low,
        score: 0.5,
        terms: vec![],
        snippet: "y".into(),
    });
    m.routes = vec![
        Route {
            sink: "desk".into(),
            watches: vec!["other".into()],
            follow_ups: true,
        },
        Route {
            sink: "all".into(),
            watches: vec!["w".into(), "other".into()],
            follow_ups: true,
        },
    ];
    let done = h
        .record_poll(f.id, &f.url, 10, fetched(vec![m], Some("https://a2/")), 1)
        .await
        .unwrap();
    assert_eq!(done.switched_to.as_deref(), Some("https://a2/"));
    assert_eq!(done.report.unwrap().alerts_queued, 2);
    let desk = h.sink_queue("desk", i64::MAX, 10).await.unwrap();
    let names: Vec<&str> = desk[0].matches.iter().map(|m| m.watch.as_str()).collect();
    assert_eq!(names, ["other"]);
    let all = h.sink_queue("all", i64::MAX, 10).await.unwrap();
    assert_eq!(all[0].matches.len(), 2);
    let row = h.ensure_feed("https://a/", "A", 1).await.unwrap();
    assert_eq!(row.fetch_url.as_deref(), Some("https://a2/"));
    // A failure with a typed kind, and a feed leaving the schedule.
    let failed = PollOutcome::Failed {
        status: Some(410),
        kind: crate::model::ErrorKind::Gone,
        error: "HTTP 410".into(),
        sched: Sched {
            next_poll_at: 99,
            ..Sched::default()
        },
        retire: Some((FeedState::Gone, "removed".into())),
    };
    let done = h.record_poll(f.id, &f.url, 20, failed, 1).await.unwrap();
    assert_eq!(done.next_poll_at, 99);
    let row = h.ensure_feed("https://a/", "A", 1).await.unwrap();
    assert_eq!(row.state, FeedState::Gone);
    assert_eq!(row.error_kind, Some(crate::model::ErrorKind::Gone));
    assert_eq!(row.error_streak, 1);
}

/// Committed pages reach the database file without the store thread
/// checkpointing: the checkpointer copies them shortly after.
#[tokio::test]
async fn the_checkpointer_copies_commits_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut s = Store::open(&path).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    s.checkpoint().unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let h = Handle::spawn(s);
    let items: Vec<MatchedArticle> = (0..300)
        .map(|i| {
            let mut a = art(&format!("k{i}"), Some(&format!("https://x/{i}")));
            a.content = "words ".repeat(200);
            matched(a, &[])
        })
        .collect();
    let r = h
        .record_poll(f.id, &f.url, 10, fetched(items, None), 3)
        .await;
    assert_eq!(r.unwrap().report.unwrap().new_articles, 300);
    // Still running: only the checkpointer can have grown the file.
    let mut grown = false;
    for _ in 0..50 {
        if std::fs::metadata(&path).unwrap().len() > before + 100_000 {
            grown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(grown, "the database file stayed at {before} bytes");
    drop(h);
}

#[test]
fn repeats_inside_a_first_poll_are_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    let items = [
        matched(art("g1", Some("https://x/1")), &["log"]),
        matched(art("g2", Some("https://x/1")), &["log"]),
        matched(art("g3", Some("https://x/3")), &["log"]),
        matched(art("g3", Some("https://x/4")), &["log"]),
        // x/4 was only carried by a duplicate, which is not stored.
        matched(art("g5", Some("https://x/4")), &["log"]),
    ];
    let first = s.ingest(f.id, &f.url, &items, 10).unwrap();
    assert_eq!((first.new_articles, first.duplicates), (3, 2));
    let again = s.ingest(f.id, &f.url, &items, 20).unwrap();
    assert_eq!((again.new_articles, again.duplicates), (0, 5));
}

/// The per-article lookups stay compiled across polls: SQLite
/// recompiles a statement whose plan depended on a bound value.
#[test]
fn per_article_lookups_are_not_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    for poll in 0..4 {
        let items: Vec<MatchedArticle> = (0..5)
            .map(|i| {
                let key = format!("k{poll}-{i}");
                let mut a = art(&key, Some(&format!("https://x/{key}")));
                a.title = format!("a title long enough to be a story key {key}");
                matched(a, &["log"])
            })
            .collect();
        assert_eq!(s.ingest(f.id, &f.url, &items, 10).unwrap().new_articles, 5);
    }
    // And they still use their (partial) indexes.
    for (sql, index) in [
        (SAME_STORY, "articles_url"),
        (SAME_TITLE, "articles_title_key"),
        (OWN_URL, "articles_url"),
    ] {
        let mut st = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let n = st.parameter_count();
        let plan: Vec<String> = st
            .query_map(rusqlite::params_from_iter(vec!["x"; n]), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|d| d.contains(index)), "{sql}: {plan:?}");
    }
    for sql in [SAME_STORY, SAME_TITLE] {
        let st = s.conn.prepare_cached(sql).unwrap();
        assert!(
            st.get_status(rusqlite::StatementStatus::VmStep) > 0,
            "{sql} ran"
        );
        assert_eq!(
            st.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "{sql} was recompiled"
        );
    }
}

/// A database of schema 2 (a sighting per article in its own feed)
/// loses those own sightings, keeps the others, and still knows every
/// item it stored.
#[test]
fn own_sightings_migrate_into_the_article_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let conn = Connection::open(&path).unwrap();
        for (_, sql) in &migrations::MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO feeds (id, url, name, created_at) VALUES (1, 'https://a/', 'A', 1), (2, 'https://b/', 'B', 1);
             INSERT INTO articles (id, feed_id, item_key, url, title, summary, content, fetched_at, fingerprint)
               VALUES (10, 1, 'g1', 'https://x/1', 't', 's', '', 5, 'f');
             INSERT INTO sightings (article_id, feed_id, item_key, url, seen_at)
               VALUES (10, 1, 'g1', 'https://x/1', 5), (10, 2, 'h1', 'https://x/1', 6);",
        )
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let left: Vec<i64> = s
        .conn
        .prepare("SELECT feed_id FROM sightings ORDER BY feed_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, [2]);
    // Both feeds still know the story, by key and by link.
    for (feed, url, key) in [
        (1, "https://a/", "g1"),
        (2, "https://b/", "h1"),
        (1, "https://a/", "other"),
    ] {
        let r = s
            .ingest(
                feed,
                url,
                &[matched(art(key, Some("https://x/1")), &["log"])],
                20,
            )
            .unwrap();
        assert_eq!(
            (r.new_articles, r.duplicates, r.alerts_queued),
            (0, 1, 0),
            "{feed} {key}"
        );
    }
}

#[test]
fn dedup_sightings_and_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f1 = s.ensure_feed("https://a/", "A", 1).unwrap();
    let f2 = s.ensure_feed("https://b/", "B", 1).unwrap();
    let r = s
        .ingest(
            f1.id,
            &f1.url,
            &[matched(art("g1", Some("https://x/1")), &["log"])],
            10,
        )
        .unwrap();
    assert_eq!((r.new_articles, r.alerts_queued), (1, 1));
    // Same guid again from the same feed: skipped.
    let r = s
        .ingest(
            f1.id,
            &f1.url,
            &[matched(art("g1", Some("https://x/1")), &["log"])],
            11,
        )
        .unwrap();
    assert_eq!(r.duplicates, 1);
    // Same link under another guid from the same feed: skipped too.
    let r = s
        .ingest(
            f1.id,
            &f1.url,
            &[matched(art("g9", Some("https://x/1")), &["log"])],
            11,
        )
        .unwrap();
    assert_eq!(r.duplicates, 1);
    // Same link from another feed: a sighting, no alert.
    let r = s
        .ingest(
            f2.id,
            &f2.url,
            &[matched(art("other", Some("https://x/1")), &["log"])],
            12,
        )
        .unwrap();
    assert_eq!((r.sightings, r.alerts_queued), (1, 0));
    let due = s.sink_queue("log", i64::MAX, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].also_seen_in.len(), 1);
    assert_eq!(due[0].id, alert_id("https://a/", "g1", "log"));
    s.mark_delivered(&due[0].id, "log", 21_000).unwrap();
    assert!(s.sink_queue("log", i64::MAX, 10).unwrap().is_empty());
}

#[test]
fn sinks_number_their_alerts_and_keep_their_health_and_pace() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    let items: Vec<_> = (0..3)
        .map(|i| {
            let mut a = art(&format!("k{i}"), Some(&format!("https://a/{i}")));
            a.title = format!("Story number {i} about an entirely different matter");
            matched(a, &["log", "hook"])
        })
        .collect();
    s.ingest(f.id, &f.url, &items, 100).unwrap();
    // Each sink counts its own alerts from 1, in detection order.
    for sink in ["log", "hook"] {
        let q = s.sink_queue(sink, i64::MAX, 10).unwrap();
        let seq: Vec<Option<i64>> = q.iter().map(|a| a.sequence).collect();
        assert_eq!(seq, vec![Some(1), Some(2), Some(3)], "{sink}");
        // Detected at the ingest's second (in ms).
        assert!(q.iter().all(|a| a.created_ms / 1000 == 100), "{sink}");
    }
    let q = s.sink_queue("log", i64::MAX, 10).unwrap();
    // A probe's failure costs the alert nothing; a counted one does.
    s.mark_failed(
        &q[0].id,
        "log",
        200_000,
        "HTTP 503",
        AttemptEnd::Uncounted,
        false,
    )
    .unwrap();
    let again = s.sink_oldest("log").unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (q[0].id.as_str(), 0));
    s.mark_failed(
        &q[0].id,
        "log",
        201_000,
        "HTTP 400: no",
        AttemptEnd::Retry(900_000),
        true,
    )
    .unwrap();
    let again = s.sink_oldest("log").unwrap().unwrap();
    assert_eq!((again.attempts, again.rejections), (1, 1));
    // Not due before its retry time; the others are.
    let due: Vec<String> = s
        .sink_queue("log", 300_000, 10)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(due, vec![q[1].id.clone(), q[2].id.clone()]);
    // Health round-trips; a sink never recorded is ok.
    assert_eq!(s.sink_health("log").unwrap(), SinkHealth::default());
    let h = SinkHealth {
        condition: SinkCondition::Down,
        since_ms: 5,
        reason: Some("5 failed attempts in a row".into()),
        streak: 5,
        first_failure_ms: Some(1),
        last_failure_ms: Some(5),
        last_success_ms: None,
        fingerprint: None,
    };
    s.set_sink_health("log", &h).unwrap();
    assert_eq!(s.sink_health("log").unwrap(), h);
    // Pace from what was recorded: two messages (one a digest of two).
    s.mark_delivered(&q[1].id, "log", 400_000).unwrap();
    s.mark_delivered(&q[2].id, "log", 400_000).unwrap();
    let hq = s.sink_queue("hook", i64::MAX, 10).unwrap();
    s.mark_delivered(&hq[0].id, "hook", 410_000).unwrap();
    assert_eq!(s.sink_sent_since("log", 0).unwrap(), vec![400_000]);
    assert_eq!(s.sink_last_sent("hook").unwrap(), Some(410_000));
    assert!(s.sink_sent_since("log", 400_001).unwrap().is_empty());
    // Enabling resets the health and makes the backlog due.
    assert_eq!(s.enable_sink("log", 500_000).unwrap(), 1);
    assert_eq!(s.sink_health("log").unwrap(), SinkHealth::default());
    assert_eq!(s.sink_queue("log", 500_000, 10).unwrap().len(), 1);
    let queues = s
        .sink_queues(&["log".into(), "hook".into(), "idle".into()])
        .unwrap();
    let pending: Vec<(&str, i64)> = queues
        .iter()
        .map(|q| (q.sink.as_str(), q.pending))
        .collect();
    assert_eq!(pending, vec![("log", 1), ("hook", 2), ("idle", 0)]);
}

#[test]
fn the_same_story_under_another_link_is_a_sighting() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f1 = s.ensure_feed("https://a/", "A", 1).unwrap();
    let f2 = s.ensure_feed("https://b/", "B", 1).unwrap();
    let story = |key: &str, url: &str, summary: &str| {
        let mut a = art(key, Some(url));
        a.title = "Coalition ministers meet in Rome on ISIS".into();
        a.summary = summary.into();
        matched(a, &["log"])
    };
    s.ingest(
        f1.id,
        &f1.url,
        &[story(
            "a1",
            "https://a/1",
            "Ministers of the coalition met in Rome on Tuesday.",
        )],
        100,
    )
    .unwrap();
    let r = s
        .ingest(
            f2.id,
            &f2.url,
            &[story(
                "b1",
                "https://b/x?id=9",
                "Ministers of the coalition met in Rome on Tuesday, officials said.",
            )],
            200,
        )
        .unwrap();
    assert_eq!(
        (r.sightings, r.alerts_queued),
        (1, 0),
        "a syndicated copy alerts nobody"
    );
    // Same headline, different story text: a new article.
    let r = s
        .ingest(
            f2.id,
            &f2.url,
            &[story(
                "b2",
                "https://b/y",
                "A completely different report about weather and football scores.",
            )],
            300,
        )
        .unwrap();
    assert_eq!(r.new_articles, 1);
}

#[test]
fn pruned_articles_keep_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    let plain = MatchedArticle {
        article: art("old", Some("https://x/old")),
        matches: vec![],
        routes: vec![],
        title_key: None,
        summary_words: vec![],
        suppressed: false,
        fingerprint: "f".into(),
        facts: None,
    };
    s.ingest(
        f.id,
        &f.url,
        &[
            plain.clone(),
            matched(art("hit", Some("https://x/hit")), &["log"]),
        ],
        100,
    )
    .unwrap();
    assert_eq!(s.prune(50).unwrap(), 0, "nothing older than the cutoff");
    assert_eq!(
        s.prune(1_000).unwrap(),
        1,
        "only the unmatched article is pruned"
    );
    let title: String = s
        .conn
        .query_row(
            "SELECT title FROM articles WHERE item_key = 'old'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(title, "");
    let r = s.ingest(f.id, &f.url, &[plain], 2_000).unwrap();
    assert_eq!(
        (r.duplicates, r.new_articles),
        (1, 0),
        "a pruned item that reappears is not new"
    );
}

#[test]
fn newer_schema_is_refused_and_lock_is_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.db");
    drop(Store::open(&p).unwrap());
    let c = Connection::open(&p).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    assert!(matches!(
        Store::open(&p),
        Err(StoreError::TooNew { found: 99, .. })
    ));
    let l = lock(&p).unwrap();
    assert!(matches!(lock(&p), Err(StoreError::Locked { .. })));
    drop(l);
    assert!(lock(&p).is_ok());
}

/// Reports of one meeting share its event while their days stay within
/// three days of the event's first report (the window never drifts); a
/// sink with `follow_ups = false` gets a pending row for the first report
/// only, the others stored as suppressed; and a dead first alert does not
/// count as heard.
#[test]
fn events_are_anchored_to_their_first_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("t.db")).unwrap();
    let f = s.ensure_feed("https://a/", "A", 1).unwrap();
    let report = |key: &str, day: &str| {
        let mut m = matched(
            art(key, Some(&format!("https://x/{key}"))),
            &["once", "each"],
        );
        for r in &mut m.routes {
            r.follow_ups = r.sink != "once";
        }
        m.facts = Some(crate::facts::MeetingFacts {
            forum: Some("Global Coalition to Defeat ISIS".into()),
            country: Some("Morocco".into()),
            date: Some(day.into()),
            ..Default::default()
        });
        m
    };
    for (k, (key, day)) in [
        ("a", "2026-05-10"),
        ("b", "2026-05-12"),
        ("c", "2026-05-14"),
    ]
    .into_iter()
    .enumerate()
    {
        s.ingest(f.id, &f.url, &[report(key, day)], 10 + k as i64)
            .unwrap();
    }
    let events: Vec<(String, String)> = s
        .conn
        .prepare("SELECT a.item_key, m.event_id FROM meetings m JOIN articles a ON a.id = m.article_id ORDER BY a.id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0].1, events[1].1,
        "two days after the first: the same event"
    );
    assert_ne!(
        events[0].1, events[2].1,
        "four days after the first: another event"
    );
    fn states(s: &Store, sink: &str) -> Vec<String> {
        s.conn
            .prepare("SELECT state FROM outbox WHERE sink = ?1 ORDER BY article_id")
            .unwrap()
            .query_map([sink], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
    assert_eq!(states(&s, "each"), ["pending", "pending", "pending"]);
    assert_eq!(states(&s, "once"), ["pending", "suppressed", "pending"]);
    // The first alert of a new event dies: a later report of it is sent.
    s.conn
        .execute("UPDATE outbox SET state = 'dead' WHERE sink = 'once'", [])
        .unwrap();
    s.ingest(f.id, &f.url, &[report("d", "2026-05-15")], 20)
        .unwrap();
    assert_eq!(
        states(&s, "once").last().map(String::as_str),
        Some("pending")
    );
}
