//! The second stage for summary-only feeds, end to end with the built
//! binary: article pages fetched for short new items the rules touch,
//! matched again before storing; the address guard on untrusted links and
//! cross-origin redirects; the bounded wait. Every test uses the shipped
//! `[full_text]` defaults unless it says otherwise.

use crate::support::*;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

fn item(title: &str, text: &str, link: &str, guid: &str) -> String {
    let when = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc2822();
    format!(
        "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>{when}</pubDate><description>{text}</description></item>"
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>http://127.0.0.1/</link><description>d</description>{}</channel></rss>",
        items.concat()
    )
}

/// A news page: navigation, a sidebar and a footer full of trigger words,
/// comments, and the story (`paragraphs`) in the middle.
fn page(headline: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{headline}</title></head><body>
<header><nav><a href="/">Home</a> <a href="/t/isis">ISIS</a> <a href="/t/daesh">Daesh</a> <a href="/t/summit">Summit</a> <a href="/t/terror">Terrorism</a></nav></header>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/x1">Coalition meeting on Daesh postponed</a></li><li><a href="/x2">Bomb attack foiled</a></li></ul></aside>
<main><article><h1>{headline}</h1>
{body}</article></main>
<section class="comments" id="comments"><h3>Comments</h3><p>Nice piece.</p></section>
<footer><a href="/about">About us</a> <a href="/privacy">Privacy</a></footer>
</body></html>"#
    )
}

const ROME: [&str; 3] = [
    "The Global Coalition to Defeat ISIS held its ministerial meeting in Rome on Tuesday, co-chaired by Italy and the United States, with delegations from more than eighty member countries.",
    "Ministers reviewed stabilisation funding for areas liberated from Daesh, the detention of fighters in north-east Syria and the repatriation of their families, officials said after the session.",
    "A joint statement is to follow, and the next ministerial is expected within a year in a city still to be chosen by the co-chairs.",
];

fn config(dir: &Path, feeds: &[String], full_text: &str) -> PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n{full_text}\n[[sink]]\nname = \"console\"\nkind = \"log\"\n",
        shipped_rules()
    );
    for url in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{url}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn content_of(db: &Connection, guid: &str) -> String {
    db.query_row(
        "SELECT content FROM articles WHERE item_key = 'guid:' || ?1",
        [guid],
        |r| r.get(0),
    )
    .unwrap()
}

fn watches_of(db: &Connection, guid: &str) -> Vec<String> {
    let mut st = db
        .prepare("SELECT m.watch FROM matches m JOIN articles a ON a.id = m.article_id WHERE a.item_key = 'guid:' || ?1 ORDER BY m.watch")
        .unwrap();
    st.query_map([guid], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn short_items_are_matched_on_their_page_and_untrusted_addresses_are_refused() {
    let srv = FeedServer::start();
    let other = FeedServer::start();
    let port = srv.addr.rsplit(':').next().unwrap().to_string();
    // Same server, but under a name: another origin, so untrusted; the
    // name resolves to loopback, which the guard refuses at connect time.
    let by_name = |path: &str| format!("http://localhost:{port}{path}");
    let long_text = "Ministers held a meeting on rural broadband. ".repeat(12);
    let items = [
        // Short and touched ("meeting"): its page says what it was.
        item(
            "Ministers meet in Rome",
            "Foreign ministers held a meeting in Rome on Tuesday.",
            &srv.url("/a/rome"),
            "rome",
        ),
        // Short, but no term of any watch: not fetched.
        item(
            "Sunny weekend ahead",
            "Warm temperatures across the region.",
            &srv.url("/a/weather"),
            "weather",
        ),
        // Touched, but long enough already: not fetched.
        item("Broadband plan", &long_text, &srv.url("/a/long"), "long"),
        // Another origin by name (loopback behind it): refused.
        item(
            "Ministers meet again",
            "Another meeting of ministers took place.",
            &by_name("/a/named"),
            "named",
        ),
        // Another origin by private address: refused before any request.
        item(
            "Ministers meet once more",
            "A further meeting of ministers was held.",
            &other.url("/a/other"),
            "other",
        ),
        // On the feed's origin, but redirected to another origin: that hop
        // is refused.
        item(
            "Ministers meet yet again",
            "Yet another meeting of ministers.",
            &srv.url("/a/hop"),
            "hop",
        ),
    ];
    srv.set("/feed.xml", rss(&items), "application/rss+xml", None);
    srv.set(
        "/a/rome",
        page("Ministers meet in Rome", &ROME),
        "text/html; charset=utf-8",
        None,
    );
    for p in ["/a/weather", "/a/long", "/a/named", "/a/target"] {
        srv.set(p, page("Elsewhere", &ROME), "text/html", None);
    }
    other.set("/a/other", page("Elsewhere", &ROME), "text/html", None);
    let hop = format!(
        "HTTP/1.1 302 Found\r\nLocation: {}\r\n",
        by_name("/a/target")
    );
    srv.set_raw("/a/hop", &hop, Vec::new(), 0);
    // A feed that redirects to another origin: refused too.
    let moved = format!(
        "HTTP/1.1 301 Moved Permanently\r\nLocation: {}\r\n",
        by_name("/feed.xml")
    );
    srv.set_raw("/moved.xml", &moved, Vec::new(), 0);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[srv.url("/feed.xml"), srv.url("/moved.xml")],
        "",
    );
    let cfg_s = cfg.to_str().unwrap();
    let out = run(dir.path(), &["--config", cfg_s, "once"], None);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{so}\nstderr:\n{se}");

    assert_eq!(srv.hits("/a/rome"), 1, "{se}");
    for p in ["/a/weather", "/a/long", "/a/named", "/a/target"] {
        assert_eq!(srv.hits(p), 0, "{p} must not be fetched:\n{se}");
    }
    assert_eq!(srv.hits("/a/hop"), 1, "the trusted first hop is asked");
    assert_eq!(other.hits("/a/other"), 0, "{se}");
    assert!(se.contains("article pages"), "{se}");
    // named, other and hop: refused by the guard.
    assert!(se.contains("refused=3"), "{se}");

    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let rome = content_of(&db, "rome");
    assert!(rome.contains("co-chaired by Italy"), "{rome}");
    assert!(!rome.contains("Most read"), "{rome}");
    assert!(!rome.contains("Privacy"), "{rome}");
    assert_eq!(
        watches_of(&db, "rome"),
        ["coalition-meeting", "counterterrorism"]
    );
    let alerts: Vec<&str> = so.lines().filter(|l| l.starts_with("ALERT")).collect();
    assert_eq!(alerts.len(), 1, "{so}");
    assert!(alerts[0].contains("Ministers meet in Rome"), "{so}");
    for guid in ["weather", "long", "named", "other", "hop"] {
        assert!(watches_of(&db, guid).is_empty(), "{guid}");
        assert!(!content_of(&db, guid).contains("co-chaired"), "{guid}");
    }

    // The feed that redirected to another origin failed, and says why.
    let feeds = run(dir.path(), &["--config", cfg_s, "feeds"], None);
    let fo = stdout(&feeds);
    assert!(fo.contains("no public address"), "{fo}");

    // A new item later: the stored ones are not fetched again.
    let mut more = items.to_vec();
    more.push(item(
        "Ministers meet in Oslo",
        "Ministers held a meeting in Oslo.",
        &srv.url("/a/oslo"),
        "oslo",
    ));
    srv.set("/feed.xml", rss(&more), "application/rss+xml", None);
    srv.set(
        "/a/oslo",
        page("Oslo", &["A short note."]),
        "text/html",
        None,
    );
    let out = run(dir.path(), &["--config", cfg_s, "once"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        srv.hits("/a/rome"),
        1,
        "a stored item's page is not fetched again"
    );
    assert_eq!(srv.hits("/a/oslo"), 1);
}

#[test]
fn allow_private_lifts_the_guard_and_a_feed_can_ask_for_every_item() {
    let srv = FeedServer::start();
    let other = FeedServer::start();
    let items = [
        item(
            "Ministers meet in Rome",
            "Foreign ministers held a meeting in Rome on Tuesday.",
            &other.url("/a/rome"),
            "rome",
        ),
        // No term at all: fetched only because the feed asks for every item.
        item(
            "Talks in Rome",
            "Delegations gathered on Tuesday.",
            &other.url("/a/talks"),
            "talks",
        ),
    ];
    srv.set("/feed.xml", rss(&items), "application/rss+xml", None);
    other.set("/a/rome", page("Rome", &ROME), "text/html", None);
    other.set("/a/talks", page("Talks", &ROME), "text/html", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[],
        &format!(
            "[full_text]\nallow_private = true\n[[feed]]\nurl = \"{}\"\nfull_text = true\n",
            srv.url("/feed.xml")
        ),
    );
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    let se = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    assert_eq!(other.hits("/a/rome"), 1, "{se}");
    assert_eq!(other.hits("/a/talks"), 1, "{se}");
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let both = ["coalition-meeting", "counterterrorism"];
    assert_eq!(watches_of(&db, "rome"), both, "{se}");
    // Nothing in its feed text fires; its page makes it fire.
    let talks = watches_of(&db, "talks");
    assert!(
        talks.iter().any(|w| w == "counterterrorism"),
        "{talks:?}\n{se}"
    );

    // `full_text = false` on the feed: nothing fetched.
    let srv2 = FeedServer::start();
    srv2.set("/feed.xml", rss(&items), "application/rss+xml", None);
    let dir2 = tempfile::tempdir().unwrap();
    let cfg2 = config(
        dir2.path(),
        &[],
        &format!(
            "[full_text]\nallow_private = true\n[[feed]]\nurl = \"{}\"\nfull_text = false\n",
            srv2.url("/feed.xml")
        ),
    );
    let out = run(
        dir2.path(),
        &["--config", cfg2.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(other.hits("/a/rome"), 1, "not fetched again");
}

/// A page that never finishes holds its item back at most
/// `full_text.timeout` (10 s by default); the item then goes on with its
/// feed text, and alerts on that.
#[test]
fn a_hanging_page_delays_its_item_at_most_the_timeout() {
    let srv = FeedServer::start();
    let items = [item(
        "Suicide bombing in Mogadishu kills 12; al-Shabaab claims the attack",
        "A suicide bomber struck a checkpoint.",
        &srv.url("/a/slow"),
        "slow",
    )];
    srv.set("/feed.xml", rss(&items), "application/rss+xml", None);
    srv.set_raw(
        "/a/slow",
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n",
        b"<html><body><p>The attack".to_vec(),
        120_000,
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/feed.xml")], "");
    let t0 = std::time::Instant::now();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    let took = t0.elapsed();
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{so}\nstderr:\n{se}");
    assert_eq!(srv.hits("/a/slow"), 1);
    assert!(
        so.lines()
            .any(|l| l.starts_with("ALERT") && l.contains("Mogadishu")),
        "{so}"
    );
    // Bounded by the 10 s timeout, not by the page (which stalls for
    // 120 s) nor by the 30 s request timeout.
    assert!(took < std::time::Duration::from_secs(25), "{took:?}");
    assert!(se.contains("late=1"), "{se}");
}
