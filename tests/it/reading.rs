//! Feeds as publishers serve them: a document read only in part is said
//! so (`feeds`, the log, `scan`), a feed that has been read before is never
//! stopped for one bad poll, and stopped feeds can be started again
//! (`feeds enable`, `feeds reset`, a changed config entry); `feeds test`
//! reads one feed without storing anything.

use crate::support::*;
use rusqlite::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};

const GOOD: &str = "<rss version=\"2.0\"><channel><title>Wire</title>\
    <item><title>Global Coalition against Daesh ministers meet in Rome</title><guid>g1</guid>\
    <description>Ministers of the coalition against ISIS met.</description></item>\
    <item><title>Weather for the weekend</title><guid>g2</guid></item></channel></rss>";

/// Two items, one with a bare `&` and an undefined entity.
const ILL: &str = "<rss version=\"2.0\"><channel><title>Wire</title>\
    <item><title>Global Coalition against Daesh ministers meet in Rome & Paris&nbsp;today</title><guid>g1</guid>\
    <description>Ministers of the coalition against ISIS met.</description></item>\
    <item><title>Weather for the weekend</title><guid>g2</guid></item></channel></rss>";

fn config(dir: &Path, feed_url: &str, name: &str) -> PathBuf {
    let s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"console\"\nkind = \"log\"\n[[feed]]\nurl = \"{feed_url}\"\nname = \"{name}\"\n",
        shipped_rules()
    );
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn once(dir: &Path, cfg: &Path) -> std::process::Output {
    run(dir, &["--config", cfg.to_str().unwrap(), "once"], None)
}

fn feed_json(dir: &Path, cfg: &Path) -> Value {
    let out = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "feeds", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).lines().next().expect("a feed line")).unwrap()
}

#[test]
fn a_feed_read_in_part_says_so_in_feeds_the_log_and_scan() {
    let srv = FeedServer::start();
    srv.set("/f.xml", ILL, "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv.url("/f.xml"), "Wire");
    let out = once(dir.path(), &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("feed read in part").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("Rome & Paris"),
        "the repaired item alerted: {}",
        stdout(&out)
    );
    let f = feed_json(dir.path(), &cfg);
    assert_eq!(f["state"], "partial", "{f}");
    assert_eq!(f["error_kind"], "partial", "{f}");
    let why = f["last_error"].as_str().unwrap();
    assert!(
        why.contains("a bare &") && why.contains("2 of 2 items read"),
        "{why}"
    );
    let text = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "feeds"],
        None,
    );
    assert!(stdout(&text).contains("read in part:"), "{}", stdout(&text));
    // The same document again: nothing new to say.
    let out = once(dir.path(), &cfg);
    assert!(
        !stderr(&out).contains("feed read in part"),
        "{}",
        stderr(&out)
    );
    // scan: an error line for the file, then its items; exit 1.
    let file = dir.path().join("ill.xml");
    std::fs::write(&file, ILL).unwrap();
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "scan",
            "--json",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("read in part")
    );
    assert_eq!(lines[2]["title"], "Weather for the weekend");
}

#[test]
fn a_feed_that_was_read_before_is_never_stopped_for_bad_polls() {
    let srv = FeedServer::start();
    srv.set("/f.xml", GOOD, "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv.url("/f.xml"), "Wire");
    assert_eq!(once(dir.path(), &cfg).status.code(), Some(0));
    // The site is redesigned and serves a page for a week.
    srv.set(
        "/f.xml",
        "<html><body>We moved!</body></html>",
        "text/html",
        None,
    );
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    db.execute("UPDATE feeds SET created_at = created_at - 7 * 86400", [])
        .unwrap();
    for _ in 0..6 {
        let _ = once(dir.path(), &cfg);
    }
    let f = feed_json(dir.path(), &cfg);
    assert_eq!(f["error_kind"], "not-a-feed", "{f}");
    assert_eq!(f["error_streak"], 6, "{f}");
    assert_ne!(f["state"], "disabled", "{f}");
    // `feeds reset` clears the streak; the feed is due now.
    srv.set("/f.xml", GOOD, "application/rss+xml", None);
    let url = srv.url("/f.xml");
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "feeds", "reset", &url],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let f = feed_json(dir.path(), &cfg);
    assert_eq!(
        (f["error_streak"].clone(), f["last_error"].clone()),
        (Value::from(0), Value::Null)
    );
}

#[test]
fn stopped_feeds_start_again_by_command_or_by_a_changed_entry() {
    let srv = FeedServer::start();
    srv.set_status("/f.xml", 410);
    let dir = tempfile::tempdir().unwrap();
    let url = srv.url("/f.xml");
    let cfg = config(dir.path(), &url, "Wire");
    let c = cfg.to_str().unwrap();
    let _ = once(dir.path(), &cfg);
    assert_eq!(feed_json(dir.path(), &cfg)["state"], "gone");
    // Stopped: not asked again.
    let hits = srv.hits("/f.xml");
    let _ = once(dir.path(), &cfg);
    assert_eq!(srv.hits("/f.xml"), hits);
    // The publisher brings it back; `feeds enable` puts it in the schedule.
    srv.set("/f.xml", GOOD, "application/rss+xml", None);
    let out = run(dir.path(), &["--config", c, "feeds", "enable", &url], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("it was gone"), "{}", stdout(&out));
    assert_eq!(once(dir.path(), &cfg).status.code(), Some(0));
    assert_eq!(srv.hits("/f.xml"), hits + 1);
    assert_eq!(feed_json(dir.path(), &cfg)["state"], "ok");
    // Gone again; this time the admin edits the feed's entry instead.
    srv.set_status("/f.xml", 410);
    let _ = once(dir.path(), &cfg);
    let _ = once(dir.path(), &cfg);
    assert_eq!(feed_json(dir.path(), &cfg)["state"], "gone");
    srv.set("/f.xml", GOOD, "application/rss+xml", None);
    let cfg = config(dir.path(), &url, "Wire (new address book)");
    let hits = srv.hits("/f.xml");
    assert_eq!(once(dir.path(), &cfg).status.code(), Some(0));
    assert_eq!(srv.hits("/f.xml"), hits + 1, "polled again after the edit");
    assert_eq!(feed_json(dir.path(), &cfg)["state"], "ok");
    let unknown = run(
        dir.path(),
        &[
            "--config",
            c,
            "feeds",
            "enable",
            "http://127.0.0.1:9/none.xml",
        ],
        None,
    );
    assert!(!unknown.status.success());
}

#[test]
fn feeds_test_reads_one_feed_and_stores_nothing() {
    let srv = FeedServer::start();
    srv.set("/f.xml", ILL, "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv.url("/other.xml"), "Other");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "feeds",
            "test",
            &srv.url("/f.xml"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let so = stdout(&out);
    assert!(so.contains("HTTP 200"), "{so}");
    assert!(so.contains("read in part: ill-formed XML"), "{so}");
    assert!(so.contains("2 items, 1 would fire"), "{so}");
    assert!(so.contains("coalition-meeting"), "{so}");
    assert!(!dir.path().join("nw.db").exists(), "nothing stored");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "feeds",
            "test",
            "http://127.0.0.1:9/nothing.xml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("cannot fetch"), "{}", stdout(&out));
}
