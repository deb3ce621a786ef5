//! End to end: loopback feed server, temporary config and database, the
//! built binary's `once`.

use crate::support::*;
use rusqlite::Connection;
use std::path::Path;

fn recent_feed(name: &str) -> String {
    let now = chrono::Utc::now() - chrono::Duration::hours(1);
    fixture(name)
        .replace("{{RECENT}}", &now.to_rfc2822())
        .replace("{{RECENT_ISO}}", &now.to_rfc3339())
}

fn write_config(dir: &Path, feeds: &[(String, &str)]) -> std::path::PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[http]\ntimeout = \"5s\"\n[poll]\nbackfill = \"2d\"\n[[sink]]\nname = \"console\"\nkind = \"log\"\n",
        shipped_rules()
    );
    for (url, name) in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{url}\"\nname = \"{name}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn once_end_to_end_then_conditional_get() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent_feed("feeds/fr-coalition.xml"),
        "application/rss+xml",
        Some("\"v1\""),
    );
    srv.set(
        "/mixed.xml",
        recent_feed("feeds/near-misses.xml"),
        "application/atom+xml",
        Some("\"m1\""),
    );
    // The same coalition story from another outlet, other guid, other tracking tags.
    let copy = recent_feed("feeds/fr-coalition.xml")
        .replace("qi-2026-0511-coalition", "copy-1")
        .replace("utm_source=rss&amp;utm_medium=feed", "utm_campaign=x")
        .replace("qi-2026-0512-lyon", "copy-2")
        .replace("qi-2026-0512-meteo", "copy-3")
        .replace("qi-2019-coalition-rome", "copy-4");
    srv.set("/copy.xml", copy, "text/xml", None);
    srv.set(
        "/broken.xml",
        "<rss version=\"2.0\"><channel><item><title>unterminated",
        "application/rss+xml",
        None,
    );
    srv.set_status("/down.xml", 503);

    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &[
            (srv.url("/fr.xml"), "Quotidien"),
            (srv.url("/mixed.xml"), "Mixed"),
            (srv.url("/broken.xml"), "Broken"),
            (srv.url("/down.xml"), "Down"),
        ],
    );
    let cfg_s = cfg.to_str().unwrap();
    let out = run(dir.path(), &["--config", cfg_s, "once"], None);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{so}\nstderr:\n{se}");

    // What fired, as printed by the log sink.
    let alerts: Vec<&str> = so.lines().filter(|l| l.starts_with("ALERT")).collect();
    assert!(
        alerts.iter().any(|l| l.contains("coalition-meeting")
            && l.contains("coalition internationale contre Daech à Paris")),
        "{so}"
    );
    assert!(
        alerts
            .iter()
            .any(|l| l.contains("counterterrorism") && l.contains("Lyon")),
        "{so}"
    );
    for quiet in [
        "météo",
        "Archives",
        "goddess",
        "Coalition talks",
        "Al Shabab",
        "box office",
        "Ransomware",
    ] {
        assert!(
            !alerts.iter().any(|l| l.contains(quiet)),
            "{quiet} must not alert:\n{so}"
        );
    }
    assert_eq!(alerts.len(), 2, "{so}");
    assert!(so.contains("«"), "snippet marks hits: {so}");
    // Broken and failing feeds are reported and the cycle still succeeds.
    assert!(se.contains("Broken") && se.contains("Down"), "{se}");
    // Everything was folded into the database file before exiting.
    let wal = dir.path().join("nw.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "{} left behind", wal.display());

    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 9);
    assert_eq!(
        count(&db, "SELECT count(*) FROM outbox WHERE state = 'delivered'"),
        2
    );
    // The 2019 item matched but is older than the backfill window: stored, not alerted.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE state = 'suppressed'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles WHERE url = 'https://quotidien.example/2026/coalition-daech-paris'"
        ),
        1,
        "tracking parameters are dropped from the canonical link"
    );
    let err: String = db
        .query_row(
            "SELECT last_error FROM feeds WHERE name = 'Broken'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // It is a feed (it has a feed's root and an item), cut short: unreadable,
    // not "not a feed" (which could stop it).
    assert!(err.contains("unreadable feed"), "{err}");
    let kind: String = db
        .query_row(
            "SELECT error_kind FROM feeds WHERE name = 'Broken'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "unreadable");
    assert_eq!(
        count(&db, "SELECT error_streak FROM feeds WHERE name = 'Down'"),
        1
    );
    let fired: Vec<String> = db
        .prepare("SELECT m.watch FROM matches m JOIN articles a ON a.id = m.article_id WHERE a.item_key = 'guid:qi-2026-0511-coalition' ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        fired.contains(&"coalition-meeting".to_string()),
        "{fired:?}"
    );
    drop(db);

    // A new feed carrying the same stories: sightings, no new alert.
    let cfg = write_config(
        dir.path(),
        &[
            (srv.url("/fr.xml"), "Quotidien"),
            (srv.url("/mixed.xml"), "Mixed"),
            (srv.url("/copy.xml"), "Copy"),
        ],
    );
    let before = srv.requests().len();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!so.contains("ALERT"), "nothing new may alert: {so}");
    let second: Vec<SeenRequest> = srv.requests()[before..].to_vec();
    let fr = second
        .iter()
        .find(|r| r.path == "/fr.xml")
        .expect("fr polled again");
    assert_eq!(
        fr.headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 9);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sightings WHERE feed_id = (SELECT id FROM feeds WHERE name = 'Copy')"
        ),
        4
    );
    assert_eq!(
        count(
            &db,
            "SELECT last_status FROM feeds WHERE name = 'Quotidien'"
        ),
        304
    );
    assert_eq!(count(&db, "SELECT count(*) FROM outbox"), 3);
    drop(db);

    // `matches` lists what fired, with the other feeds that carried it.
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "matches",
            "--json",
            "--watch",
            "coalition-meeting",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paris = rows
        .iter()
        .find(|r| r["title"].as_str().unwrap().contains("Paris"))
        .expect("the Paris meeting is listed");
    assert_eq!(paris["also_seen_in"][0]["feed"], "Copy", "{paris}");
}

#[test]
fn a_second_process_is_refused_while_one_owns_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[]);
    let lock = std::fs::File::create(dir.path().join("nw.db.lock")).unwrap();
    lock.lock().unwrap();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("in use by another newswatch process"),
        "{}",
        stderr(&out)
    );
    drop(lock);
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[]);
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    db.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 42;")
        .unwrap();
    drop(db);
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("schema version 42"),
        "{}",
        stderr(&out)
    );
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    assert_eq!(count(&db, "PRAGMA user_version"), 42);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sqlite_master WHERE name = 'feeds'"
        ),
        0
    );
}

/// Errors about the database say each thing once and name the file; the
/// "in use" message names the running daemon's PID; `alerts retry` works
/// beside that daemon.
#[test]
fn database_errors_are_said_once_and_name_the_file_and_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[]);
    let c = cfg.to_str().unwrap();
    let once_said = |text: &str, what: &str| {
        assert_eq!(text.matches(what).count(), 1, "{what:?} once in: {text}");
    };
    // No database yet: a read command says how to make one, once.
    let out = run(dir.path(), &["--config", c, "feeds"], None);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("nw.db"), "{e}");
    once_said(&e, "newswatch once");
    // Not a database: SQLite's words once, with the path.
    std::fs::write(dir.path().join("nw.db"), "not sqlite at all ".repeat(100)).unwrap();
    for cmd in ["feeds", "once"] {
        let out = run(dir.path(), &["--config", c, cmd], None);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let e = stderr(&out);
        assert!(e.contains("database nw.db"), "{cmd}: {e}");
        once_said(&e, "not a database");
        assert!(!e.contains("Error code"), "{cmd}: {e}");
    }
    std::fs::remove_file(dir.path().join("nw.db")).unwrap();
    // A running daemon owns it: `once` names its PID; `alerts retry` goes
    // beside it.
    let mut d = Daemon::start(dir.path(), &cfg);
    assert!(
        wait_for(15, || d.log().contains("newswatch running")),
        "{}",
        d.log()
    );
    let out = run(dir.path(), &["--config", c, "once"], None);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains(&format!("PID {}", d.child.id())), "{e}");
    once_said(&e, "in use by another newswatch process");
    let out = run(
        dir.path(),
        &["--config", c, "alerts", "retry", "--dead"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 alert(s) requeued"),
        "{}",
        stdout(&out)
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
}
