//! Polling against a loopback server with scripted faults: what is recorded
//! on each feed, when it is polled next, and that healthy feeds go on.

use crate::support::*;
use rusqlite::Connection;
use std::io::Write as _;
use std::path::Path;

const GOOD: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Good</title>
<item><title>Plain news</title><guid>g1</guid><link>https://good.example/1</link></item></channel></rss>"#;

fn config(dir: &Path, feeds: &[(String, &str)], http_extra: &str) -> std::path::PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[http]\ntimeout = \"2s\"\nhost_spacing = \"0s\"\n{http_extra}\n[poll]\ninterval = \"10m\"\nmin_interval = \"2m\"\nmax_interval = \"6h\"\n",
        shipped_rules()
    );
    for (url, name) in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{url}\"\nname = \"{name}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

struct Row {
    state: String,
    streak: i64,
    kind: Option<String>,
    next: i64,
    retry_until: Option<i64>,
    interval: Option<i64>,
    status: Option<i64>,
}

fn row(db: &Connection, name: &str) -> Row {
    db.query_row(
        "SELECT state, error_streak, error_kind, next_poll_at, retry_until, interval_s, last_status FROM feeds WHERE name = ?1",
        [name],
        |r| {
            Ok(Row {
                state: r.get(0)?,
                streak: r.get(1)?,
                kind: r.get(2)?,
                next: r.get(3)?,
                retry_until: r.get(4)?,
                interval: r.get(5)?,
                status: r.get(6)?,
            })
        },
    )
    .unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn scripted_faults_are_recorded_and_healthy_feeds_go_on() {
    let srv = FeedServer::start();
    srv.set("/good.xml", GOOD, "application/rss+xml", None);
    srv.set_raw(
        "/limited.xml",
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\n",
        "slow down",
        0,
    );
    let date = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc2822()
        .replace("+0000", "GMT");
    srv.set_raw(
        "/busy.xml",
        &format!("HTTP/1.1 503 Service Unavailable\r\nRetry-After: {date}\r\n"),
        "busy",
        0,
    );
    srv.set_status("/broken.xml", 500);
    srv.set_status("/gone.xml", 410);
    srv.set(
        "/page.html",
        "<!DOCTYPE html><html><body>Not a feed</body></html>",
        "text/html",
        None,
    );
    srv.set(
        "/big.xml",
        format!("{}{}", GOOD, " ".repeat(200_000)),
        "application/rss+xml",
        None,
    );
    // 50 MB of zeros compressed to ~50 kB: must be cut off at the cap.
    let bomb = gzip(&vec![b' '; 50 << 20]);
    srv.set_raw(
        "/bomb.xml",
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\n",
        bomb,
        0,
    );
    srv.set_raw(
        "/stall.xml",
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n",
        GOOD,
        10_000,
    );
    let latin = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>L</title><item><title>R\xe9union \x96 \x93Sahel\x94</title><guid>l1</guid></item></channel></rss>".to_vec();
    srv.set_raw(
        "/latin.xml",
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=windows-1252\r\n",
        latin,
        0,
    );
    // Ignores conditional requests: always 200 with the same ETag.
    srv.set_raw(
        "/noetag304.xml",
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: \"same\"\r\n",
        GOOD.replace("g1", "n1"),
        0,
    );

    let dir = tempfile::tempdir().unwrap();
    let names = [
        ("/good.xml", "Good"),
        ("/limited.xml", "Limited"),
        ("/busy.xml", "Busy"),
        ("/broken.xml", "Broken"),
        ("/gone.xml", "Gone"),
        ("/page.html", "Page"),
        ("/big.xml", "Big"),
        ("/bomb.xml", "Bomb"),
        ("/stall.xml", "Stall"),
        ("/latin.xml", "Latin"),
        ("/noetag304.xml", "SameEtag"),
    ];
    let feeds: Vec<(String, &str)> = names.iter().map(|(p, n)| (srv.url(p), *n)).collect();
    let cfg = config(dir.path(), &feeds, "max_body = \"100KiB\"");
    let once = || {
        run(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "once"],
            None,
        )
    };

    let started = chrono::Utc::now().timestamp();
    let out = once();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let db = Connection::open(dir.path().join("nw.db")).unwrap();

    let good = row(&db, "Good");
    assert_eq!(
        (good.state.as_str(), good.streak, good.status),
        ("active", 0, Some(200))
    );
    let iv = good.interval.expect("an interval");
    assert!(
        (120..=21_600).contains(&iv),
        "adaptive interval within bounds: {iv}"
    );

    let limited = row(&db, "Limited");
    assert_eq!(
        (limited.kind.as_deref(), limited.status),
        (Some("rate-limited"), Some(429))
    );
    let until = limited.retry_until.expect("a Retry-After window");
    assert!(
        (until - started - 3600).abs() <= 10,
        "Retry-After in seconds honoured: {until}"
    );
    assert_eq!(limited.next, until);

    let busy = row(&db, "Busy");
    let until = busy
        .retry_until
        .expect("a Retry-After window from an HTTP date");
    assert!((until - started - 7200).abs() <= 10, "{until}");

    let broken = row(&db, "Broken");
    assert_eq!(
        (broken.kind.as_deref(), broken.streak, broken.state.as_str()),
        (Some("http-5xx"), 1, "active")
    );
    let backoff = broken.next - started;
    assert!(
        (100..=150).contains(&backoff),
        "first failure waits about min_interval (2m ± jitter): {backoff}"
    );

    assert_eq!(row(&db, "Gone").state, "gone");
    assert_eq!(row(&db, "Page").kind.as_deref(), Some("not-a-feed"));
    assert_eq!(row(&db, "Big").kind.as_deref(), Some("too-large"));
    assert_eq!(
        row(&db, "Bomb").kind.as_deref(),
        Some("too-large"),
        "a gzip bomb is cut at the cap"
    );
    assert_eq!(row(&db, "Stall").kind.as_deref(), Some("timeout"));
    let title: String = db
        .query_row("SELECT a.title FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = 'Latin'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        title, "Réunion – “Sahel”",
        "windows-1252 named only in the HTTP header"
    );

    // Second cycle: feeds inside a Retry-After window and gone feeds are not
    // asked again; the server that ignores validators costs no parse.
    let before: Vec<usize> = names.iter().map(|(p, _)| srv.hits(p)).collect();
    let out = once();
    assert_eq!(out.status.code(), Some(0));
    let after: Vec<usize> = names.iter().map(|(p, _)| srv.hits(p)).collect();
    for (i, (p, _)) in names.iter().enumerate() {
        let asked = after[i] - before[i];
        let expect = usize::from(!matches!(*p, "/limited.xml" | "/busy.xml" | "/gone.xml"));
        assert_eq!(asked, expect, "{p} asked {asked} times in the second cycle");
    }
    assert_eq!(row(&db, "Good").streak, 0);
    assert_eq!(row(&db, "SameEtag").status, Some(200));
    // Its item (the same link as Good's) was seen once: as its own article
    // or, when Good was stored first, as a sighting of Good's.
    let n: i64 = db
        .query_row(
            "SELECT (SELECT count(*) FROM sightings s JOIN feeds f ON f.id = s.feed_id WHERE f.name = 'SameEtag')
                  + (SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = 'SameEtag')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);

    // A URL that never served a feed is not stopped early: five answers in
    // the first three days are not enough...
    for _ in 0..3 {
        let _ = once();
    }
    assert_eq!(row(&db, "Page").streak, 5);
    assert_eq!(row(&db, "Page").state, "active");
    // ...but they are once its first poll is more than three days old.
    db.execute(
        "UPDATE feeds SET created_at = created_at - 4 * 86400 WHERE name = 'Page'",
        [],
    )
    .unwrap();
    let _ = once();
    let page = row(&db, "Page");
    assert_eq!(page.state, "disabled");
    let reason: String = db
        .query_row(
            "SELECT state_reason FROM feeds WHERE name = 'Page'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reason.contains("never served a feed"), "{reason}");
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "feeds"],
        None,
    );
    let so = stdout(&out);
    assert!(
        so.contains("disabled") && so.contains("gone") && so.contains("rate-limited"),
        "{so}"
    );
}

#[test]
fn permanent_moves_are_followed_after_confirmation_temporary_ones_never() {
    let srv = FeedServer::start();
    srv.set("/new.xml", GOOD, "application/rss+xml", None);
    srv.set_raw(
        "/old.xml",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /mid.xml\r\n",
        "",
        0,
    );
    srv.set_raw(
        "/mid.xml",
        "HTTP/1.1 308 Permanent Redirect\r\nLocation: /new.xml\r\n",
        "",
        0,
    );
    srv.set(
        "/tmp-target.xml",
        GOOD.replace("g1", "t1")
            .replace("good.example/1", "good.example/t"),
        "application/rss+xml",
        None,
    );
    srv.set_raw(
        "/tmp.xml",
        "HTTP/1.1 302 Found\r\nLocation: /tmp-target.xml\r\n",
        "",
        0,
    );
    srv.set_raw(
        "/loop-a.xml",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /loop-b.xml\r\n",
        "",
        0,
    );
    srv.set_raw(
        "/loop-b.xml",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /loop-a.xml\r\n",
        "",
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let feeds = vec![
        (srv.url("/old.xml"), "Old"),
        (srv.url("/tmp.xml"), "Temp"),
        (srv.url("/loop-a.xml"), "Loop"),
    ];
    let cfg = config(dir.path(), &feeds, "");
    let once = || {
        let out = run(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "once"],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    let fetch_url = |db: &Connection, name: &str| -> Option<String> {
        db.query_row("SELECT fetch_url FROM feeds WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
    };
    once();
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    assert_eq!(
        fetch_url(&db, "Old"),
        None,
        "one sighting of a move is not enough"
    );
    once();
    once();
    assert_eq!(
        fetch_url(&db, "Old"),
        Some(srv.url("/new.xml")),
        "moved after three consecutive permanent redirects"
    );
    let history: String = db
        .query_row(
            "SELECT url_history FROM feeds WHERE name = 'Old'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(history, srv.url("/old.xml"));
    let old_hits = srv.hits("/old.xml");
    once();
    assert_eq!(
        srv.hits("/old.xml"),
        old_hits,
        "the old address is no longer asked"
    );
    // The identity stays the configured URL: no second article.
    let n: i64 = db
        .query_row(
            "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = 'Old'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(fetch_url(&db, "Temp"), None, "302 never moves a feed");
    assert!(srv.hits("/tmp.xml") >= 4);
    let (kind, err): (String, String) = db
        .query_row(
            "SELECT error_kind, last_error FROM feeds WHERE name = 'Loop'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "protocol");
    assert!(err.contains("redirect loop"), "{err}");
}
