//! The facts of a meeting, end to end with the built binary: the seed
//! story served as a feed item comes out with its forum, venue, date,
//! hosts and participants in the log block, the webhook body's `event`
//! and `matches --json`; reports of one meeting share an event id, and a
//! sink with `follow_ups = false` hears of the meeting once.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn item(guid: &str, title: &str, text: &str, when: &str) -> String {
    format!(
        "<item><title>{}</title><link>http://127.0.0.1:9/{guid}</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>{when}</pubDate><description>{}</description></item>",
        esc(title),
        esc(text)
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>http://127.0.0.1/</link><description>d</description>{}</channel></rss>",
        items.concat()
    )
}

fn config(dir: &Path, feeds: &[String], sinks: &str) -> PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[poll]\nbackfill = \"10000d\"\n[full_text]\nenabled = false\n{sinks}\n",
        shipped_rules()
    );
    for url in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{url}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

const MEETING: &str = "Meeting: Global Coalition to Defeat ISIS — Marrakesh, Morocco — 2022-05-11 — hosts Morocco, United States — 80+ countries";

/// The story the project exists for, as a feed item published before the
/// meeting: every output carries its facts exactly.
#[test]
fn the_seed_story_comes_out_with_its_facts() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let seed = std::fs::read_to_string(shared.join("seed/000_22f62e28c0ab0abe.txt")).unwrap();
    let (title, body) = seed.split_once('\n').unwrap();
    let srv = FeedServer::start();
    srv.set(
        "/feed.xml",
        rss(&[item(
            "seed",
            title.trim(),
            body.trim(),
            "Thu, 05 May 2022 09:00:00 GMT",
        )]),
        "application/rss+xml",
        None,
    );
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!(
        "[[sink]]\nname = \"console\"\nkind = \"log\"\n[[sink]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        srv.url("/hook")
    );
    let cfg = config(dir.path(), &[srv.url("/feed.xml")], &sinks);
    let cfg_s = cfg.to_str().unwrap();
    let out = run(dir.path(), &["--config", cfg_s, "once"], None);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{so}\nstderr:\n{se}");
    assert!(so.contains("coalition-meeting"), "{so}");
    assert!(so.lines().any(|l| l.trim() == MEETING), "{so}");

    let posts = srv.posts("/hook");
    assert_eq!(posts.len(), 1, "{se}");
    let body: Value = serde_json::from_slice(&posts[0].body).unwrap();
    let e = &body["event"];
    assert_eq!(e["forum"], "Global Coalition to Defeat ISIS", "{body}");
    assert_eq!(e["city"], "Marrakesh");
    assert_eq!(e["country"], "Morocco");
    assert_eq!(e["date"], "2022-05-11");
    assert_eq!(e["hosts"], serde_json::json!(["Morocco", "United States"]));
    assert_eq!(
        e["officials"],
        serde_json::json!(["Nasser Bourita", "Antony Blinken"])
    );
    assert_eq!(
        e["participants"],
        serde_json::json!({"n": 80, "lower_bound": true})
    );
    assert_eq!(e["stage"], "upcoming");
    assert_eq!(e["id"].as_str().map(str::len), Some(16), "{body}");

    let m = run(
        dir.path(),
        &["--config", cfg_s, "matches", "--since", "10000d", "--json"],
        None,
    );
    let lines: Vec<Value> = stdout(&m)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cm = lines
        .iter()
        .find(|l| l["watch"] == "coalition-meeting")
        .expect("a coalition-meeting match");
    assert_eq!(cm["event"]["id"], e["id"]);
    assert_eq!(cm["event"]["city"], "Marrakesh");
    let text = run(
        dir.path(),
        &["--config", cfg_s, "matches", "--since", "10000d"],
        None,
    );
    assert!(stdout(&text).contains(MEETING), "{}", stdout(&text));
}

/// Three reports of one meeting from two outlets over three days share
/// one event; `follow_ups = false` sends the first only, the default
/// sends each.
#[test]
fn reports_of_one_meeting_share_an_event() {
    let a = FeedServer::start();
    let b = FeedServer::start();
    a.set(
        "/feed.xml",
        rss(&[item(
            "a1",
            "Interior ministers to meet in Rabat on terrorism",
            "Interior ministers of the Arab League states will meet in Rabat on Tuesday, June 10 to discuss foreign terrorist fighters, the Council of Arab Interior Ministers said.",
            "Fri, 06 Jun 2025 08:00:00 GMT",
        )]),
        "application/rss+xml",
        None,
    );
    b.set(
        "/feed.xml",
        rss(&[
            item(
                "b1",
                "Arab interior ministers open counter-terrorism session in Rabat",
                "The Council of Arab Interior Ministers opened its session in Rabat on Tuesday, with ministers from 20 Arab states discussing terrorism and foreign fighters.",
                "Tue, 10 Jun 2025 12:00:00 GMT",
            ),
            item(
                "b2",
                "Arab interior ministers adopt counter-terrorism plan in Rabat",
                "Closing their meeting in Rabat, the ministers of the Council of Arab Interior Ministers adopted a joint plan against terrorism financing.",
                "Wed, 11 Jun 2025 15:00:00 GMT",
            ),
        ]),
        "application/rss+xml",
        None,
    );
    a.hook("/once", 0, 0);
    a.hook("/each", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!(
        "[[sink]]\nname = \"once\"\nkind = \"webhook\"\nurl = \"{}\"\nfollow_ups = false\nwatches = [\"coalition-meeting\"]\n[[sink]]\nname = \"each\"\nkind = \"webhook\"\nurl = \"{}\"\nwatches = [\"coalition-meeting\"]\n",
        a.url("/once"),
        a.url("/each")
    );
    let cfg = config(
        dir.path(),
        &[a.url("/feed.xml"), b.url("/feed.xml")],
        &sinks,
    );
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    let se = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{se}");
    let each = a.posts("/each");
    assert_eq!(each.len(), 3, "{se}");
    let ids: Vec<Value> = each
        .iter()
        .map(|p| serde_json::from_slice::<Value>(&p.body).unwrap()["event"]["id"].clone())
        .collect();
    assert!(ids.iter().all(|i| i.is_string() && *i == ids[0]), "{ids:?}");
    assert_eq!(a.posts("/once").len(), 1, "{se}");
}
