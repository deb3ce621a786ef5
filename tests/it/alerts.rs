//! Alerts out and the daemon running: the signed webhook, retries, `run`
//! with signals, and a crash in the middle of a delivery.

use crate::support::*;
use hmac::{KeyInit, Mac};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

fn recent(name: &str) -> String {
    let now = chrono::Utc::now() - chrono::Duration::minutes(30);
    fixture(name)
        .replace("{{RECENT}}", &now.to_rfc2822())
        .replace("{{RECENT_ISO}}", &now.to_rfc3339())
}

fn config(dir: &Path, feeds: &[String], hook: &str, extra_sink: &str) -> PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[http]\ntimeout = \"5s\"\n[poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n\
         [[sink]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret = \"s3cret\"\nretry_base = \"100ms\"\nretry_max = \"300ms\"\ntimeout = \"2s\"\n{extra_sink}\n",
        shipped_rules()
    );
    for f in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{f}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn hmac_hex(secret: &str, ts: &str, body: &[u8]) -> String {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(ts.as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn once_sends_signed_webhooks_once() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        Some("\"e1\""),
    );
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(
        posts.len(),
        2,
        "two stories fire: {:?}",
        posts
            .iter()
            .map(|p| String::from_utf8_lossy(&p.body).to_string())
            .collect::<Vec<_>>()
    );
    for p in &posts {
        let body: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(body["version"], 1);
        assert_eq!(
            p.headers.get("idempotency-key").map(String::as_str),
            body["id"].as_str()
        );
        assert_eq!(
            p.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let ts = p
            .headers
            .get("x-newswatch-timestamp")
            .expect("timestamp header");
        let now = chrono::Utc::now().timestamp();
        assert!((ts.parse::<i64>().unwrap() - now).abs() < 120);
        let sig = p
            .headers
            .get("x-newswatch-signature")
            .expect("signature header");
        assert_eq!(
            sig,
            &format!("sha256={}", hmac_hex("s3cret", ts, &p.body)),
            "signature verifies"
        );
        for k in [
            "detected_at",
            "severity",
            "watches",
            "article",
            "snippet",
            "also_seen_in",
        ] {
            assert!(body.get(k).is_some(), "{k} in {body}");
        }
        assert!(
            body["article"]["feed"]["url"]
                .as_str()
                .unwrap()
                .ends_with("/fr.xml")
        );
    }
    let meeting = posts
        .iter()
        .map(|p| serde_json::from_slice::<serde_json::Value>(&p.body).unwrap())
        .find(|b| {
            b["watches"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["name"] == "coalition-meeting")
        })
        .expect("the coalition meeting alert");
    assert_eq!(meeting["severity"], "high");
    assert_eq!(
        meeting["article"]["url"],
        "https://quotidien.example/2026/coalition-daech-paris"
    );
    assert_eq!(meeting["article"]["lang"], "fr");
    assert!(meeting["snippet"].as_str().unwrap().contains('«'));

    // A second cycle: 304, nothing new, nothing sent.
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(srv.posts("/hook").len(), 2);
}

#[test]
fn a_failing_receiver_gets_the_alert_after_retries_under_one_key() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    srv.hook("/hook", 3, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "once",
            "--deliver-timeout",
            "20s",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    let ok: Vec<&SeenRequest> = posts.iter().filter(|p| p.status == 204).collect();
    assert_eq!(ok.len(), 2, "each alert arrives once");
    let mut keys: Vec<&str> = posts
        .iter()
        .map(|p| p.headers["idempotency-key"].as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 2, "retries reuse the alert's key");
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let attempts: i64 = db
        .query_row(
            "SELECT sum(attempts) FROM outbox WHERE state = 'delivered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 5, "3 failures then 2 successes");
}

#[test]
fn what_a_sink_still_refuses_stays_pending_for_the_next_run() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    srv.hook("/hook", 1000, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "once",
            "--deliver-timeout",
            "1s",
        ],
        None,
    );
    // EX_TEMPFAIL: alerts remain for the next run.
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let first_key = srv.posts("/hook")[0].headers["idempotency-key"].clone();
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let pending: i64 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 2);
    drop(db);
    srv.hook("/hook", 0, 0);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let delivered: Vec<String> = srv
        .posts("/hook")
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| p.headers["idempotency-key"].clone())
        .collect();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.contains(&first_key));
}

#[test]
fn run_polls_alerts_reloads_and_stops_cleanly() {
    let srv = FeedServer::start();
    let base = recent("feeds/fr-coalition.xml");
    srv.set("/fr.xml", base.clone(), "application/rss+xml", None);
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let mut d = Daemon::start(dir.path(), &cfg);
    assert!(
        wait_for(20, || srv.posts("/hook").len() == 2),
        "first alerts: {}",
        d.log()
    );

    // An item added while it runs is alerted.
    let when = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc2822();
    let added = base.replace(
        "</channel>",
        &format!(
            "<item><title>Attentat-suicide revendiqué par l'État islamique à Niamey</title><link>https://quotidien.example/2026/niamey</link>\
             <guid>qi-new-niamey</guid><pubDate>{when}</pubDate><description>Le groupe jihadiste a revendiqué l'attaque.</description></item></channel>"
        ),
    );
    srv.set("/fr.xml", added, "application/rss+xml", None);
    assert!(
        wait_for(20, || srv.posts("/hook").len() == 3),
        "new item alerted: {}",
        d.log()
    );
    let last: serde_json::Value = serde_json::from_slice(&srv.posts("/hook")[2].body).unwrap();
    assert!(
        last["article"]["title"]
            .as_str()
            .unwrap()
            .contains("Niamey")
    );

    // SIGHUP with a broken config keeps the daemon on the old one.
    std::fs::write(&cfg, "this is = = not toml").unwrap();
    d.signal("HUP");
    assert!(
        wait_for(10, || d.log().contains("reload failed")),
        "{}",
        d.log()
    );
    assert!(d.alive(), "still running after a bad reload");

    // SIGTERM stops it cleanly.
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
    assert_eq!(srv.posts("/hook").len(), 3, "nothing sent twice");
}

#[test]
fn after_sigkill_mid_delivery_the_alert_arrives_with_its_first_key() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    // The receiver takes its time: the process is killed while it waits.
    srv.hook("/hook", 0, 30_000);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    // The sink's delivery settings as shipped (no shortened retries).
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "retry_base = \"100ms\"\nretry_max = \"300ms\"\ntimeout = \"2s\"\n",
        "",
    );
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(dir.path(), &cfg);
    assert!(
        wait_for(20, || !srv.posts("/hook").is_empty()),
        "a delivery started: {}",
        d.log()
    );
    let first_key = srv.posts("/hook")[0].headers["idempotency-key"].clone();
    d.signal("KILL");
    let _ = d.wait_exit(10);
    drop(d);

    srv.hook("/hook", 0, 0);
    let before = srv.posts("/hook").len();
    let mut d = Daemon::start(dir.path(), &cfg);
    assert!(
        wait_for(20, || srv.posts("/hook")[before..]
            .iter()
            .filter(|p| p.status == 204)
            .count()
            >= 2),
        "pending alerts delivered after restart: {}",
        d.log()
    );
    let after: Vec<String> = srv.posts("/hook")[before..]
        .iter()
        .map(|p| p.headers["idempotency-key"].clone())
        .collect();
    assert!(
        after.contains(&first_key),
        "the interrupted alert keeps its key"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0));
}

#[test]
fn chat_and_push_sinks_send_native_escaped_formats() {
    let srv = FeedServer::start();
    let when = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc2822();
    let feed = format!(
        "<rss version=\"2.0\"><channel><title>Wire</title><item><title>Global Coalition to Defeat ISIS ministers meet in Rome: 5 &lt; 6 &amp; *bold* @everyone &lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;</title>\
         <link>https://wire.example/rome</link><guid>w1</guid><pubDate>{when}</pubDate>\
         <description>Ministers of the coalition against ISIS met in Rome.</description></item></channel></rss>"
    );
    srv.set("/wire.xml", feed, "application/rss+xml", None);
    for p in [
        "/slack",
        "/discord",
        "/teams",
        "/tg/botT0KEN/sendMessage",
        "/ntfy",
    ] {
        srv.hook(p, 0, 0);
    }
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!(
        "[[sink]]\nname = \"s\"\nkind = \"slack\"\nurl = \"{}\"\n[[sink]]\nname = \"d\"\nkind = \"discord\"\nurl = \"{}\"\n\
         [[sink]]\nname = \"t\"\nkind = \"teams\"\nurl = \"{}\"\n[[sink]]\nname = \"g\"\nkind = \"telegram\"\nurl = \"{}\"\ntoken = \"T0KEN\"\nchat_id = \"-100123\"\n\
         [[sink]]\nname = \"n\"\nkind = \"ntfy\"\nurl = \"{}/desk-alerts\"\n",
        srv.url("/slack"),
        srv.url("/discord"),
        srv.url("/teams"),
        srv.url("/tg"),
        srv.url("/ntfy")
    );
    let cfg = config(
        dir.path(),
        &[srv.url("/wire.xml")],
        &srv.url("/hook"),
        &sinks,
    );
    srv.hook("/hook", 0, 0);
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let one = |p: &str| -> serde_json::Value {
        let posts = srv.posts(p);
        assert_eq!(posts.len(), 1, "{p} got {} requests", posts.len());
        serde_json::from_slice(&posts[0].body).unwrap()
    };
    let slack = one("/slack");
    let text = slack["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        text.contains("5 &lt; 6 &amp; *bold*") && text.contains("<https://wire.example/rome|"),
        "{text}"
    );
    assert!(text.contains("coalition-meeting (high)"), "{text}");
    assert!(
        !text.contains("<!") && !text.contains("<script"),
        "no mention, command or markup from feed text: {text}"
    );
    let discord = one("/discord");
    let embed = &discord["embeds"][0];
    assert_eq!(embed["url"], "https://wire.example/rome");
    assert!(
        embed["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("coalition\\-meeting"),
        "{embed}"
    );
    assert_eq!(
        discord["allowed_mentions"]["parse"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let teams = one("/teams");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &teams["attachments"][0]["content"];
    assert!(
        card["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\\*bold\\*"),
        "{card}"
    );
    assert_eq!(card["actions"][0]["url"], "https://wire.example/rome");
    let tg = one("/tg/botT0KEN/sendMessage");
    assert_eq!(
        (tg["chat_id"].as_str(), tg["parse_mode"].as_str()),
        (Some("-100123"), Some("HTML"))
    );
    assert!(
        tg["text"]
            .as_str()
            .unwrap()
            .contains("5 &lt; 6 &amp; *bold*"),
        "{tg}"
    );
    let ntfy = one("/ntfy");
    assert_eq!(
        (ntfy["topic"].as_str(), ntfy["priority"].as_i64()),
        (Some("desk-alerts"), Some(4))
    );
    assert_eq!(ntfy["click"], "https://wire.example/rome");
    assert!(
        ntfy["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "coalition-meeting")
    );
}

#[test]
fn dead_alerts_are_listed_retried_and_sinks_can_be_tested() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    srv.hook("/hook", 1000, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("timeout = \"2s\"\n", "timeout = \"2s\"\nmax_attempts = 2\n");
    std::fs::write(&cfg, text).unwrap();
    let c = cfg.to_str().unwrap();
    let out = run(
        dir.path(),
        &["--config", c, "once", "--deliver-timeout", "3s"],
        None,
    );
    // EX_TEMPFAIL: alerts went dead.
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &["--config", c, "alerts", "--state", "dead", "--json"],
        None,
    );
    let dead: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 2, "{}", stdout(&out));
    assert!(
        dead.iter()
            .all(|a| a["attempts"] == 2 && a["last_error"] == "HTTP 500"),
        "{dead:?}"
    );
    let keys: Vec<String> = dead
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();

    srv.hook("/hook", 0, 0);
    let out = run(
        dir.path(),
        &["--config", c, "alerts", "retry", "--dead"],
        None,
    );
    assert_eq!(stdout(&out).trim(), "2 alert(s) requeued");
    let out = run(dir.path(), &["--config", c, "once"], None);
    assert_eq!(out.status.code(), Some(0));
    let delivered: Vec<String> = srv
        .posts("/hook")
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| p.headers["idempotency-key"].clone())
        .collect();
    assert_eq!(delivered.len(), 2);
    assert!(
        keys.iter().all(|k| delivered.contains(k)),
        "requeued alerts keep their keys"
    );
    let out = run(
        dir.path(),
        &["--config", c, "alerts", "--state", "delivered"],
        None,
    );
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.contains("delivered"))
            .count(),
        2,
        "{}",
        stdout(&out)
    );

    let out = run(dir.path(), &["--config", c, "alerts", "test", "desk"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last: serde_json::Value =
        serde_json::from_slice(&srv.posts("/hook").last().unwrap().body).unwrap();
    assert!(
        last["article"]["title"]
            .as_str()
            .unwrap()
            .starts_with("TEST"),
        "{last}"
    );
    let out = run(dir.path(), &["--config", c, "alerts", "test", "nope"], None);
    assert_eq!(out.status.code(), Some(1));
}

/// The proof of delivery: 20 SIGKILLs at pseudo-random moments (while
/// fetching, storing and delivering), restarts, and in the end every story
/// alerted, each under one key only.
#[test]
fn twenty_crashes_lose_nothing_and_never_change_a_key() {
    let srv = FeedServer::start();
    let dir = tempfile::tempdir().unwrap();
    // A receiver slow enough that kills often land mid-delivery.
    srv.hook("/hook", 0, 40);
    let feed = |n: usize| {
        let when = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc2822();
        let items: String = (0..n)
            .map(|i| {
                format!(
                    "<item><title>Global Coalition to Defeat ISIS ministers meet in city {i}</title><link>https://crash.example/{i}</link>\
                     <guid>crash-{i}</guid><pubDate>{when}</pubDate><description>Ministers of the coalition against ISIS met.</description></item>"
                )
            })
            .collect();
        format!("<rss version=\"2.0\"><channel><title>Crash</title>{items}</channel></rss>")
    };
    srv.set("/crash.xml", feed(1), "application/rss+xml", None);
    let cfg = config(dir.path(), &[srv.url("/crash.xml")], &srv.url("/hook"), "");
    // The sink's delivery settings as shipped (no shortened retries).
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "retry_base = \"100ms\"\nretry_max = \"300ms\"\ntimeout = \"2s\"\n",
        "",
    );
    assert!(!text.contains("retry"), "{text}");
    std::fs::write(&cfg, text).unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut items = 1;
    for _ in 0..20 {
        // New stories keep arriving, some while the daemon is down.
        items += (next() % 3) as usize;
        srv.set("/crash.xml", feed(items), "application/rss+xml", None);
        let mut d = Daemon::start(dir.path(), &cfg);
        std::thread::sleep(std::time::Duration::from_millis(100 + next() % 900));
        d.signal("KILL");
        let _ = d.wait_exit(10);
    }
    // Final run until everything is delivered.
    let mut d = Daemon::start(dir.path(), &cfg);
    let all_in = wait_for(60, || {
        let got: std::collections::HashSet<String> = srv
            .posts("/hook")
            .iter()
            .filter(|p| p.status == 204)
            .filter_map(|p| serde_json::from_slice::<serde_json::Value>(&p.body).ok())
            .filter_map(|v| v["article"]["url"].as_str().map(str::to_string))
            .collect();
        got.len() == items
    });
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
    assert!(
        all_in,
        "every story is delivered after 20 crashes ({items} stories)\n{}",
        d.log()
    );
    let mut keys: std::collections::HashMap<String, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    for p in srv.posts("/hook") {
        let v: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
        let url = v["article"]["url"].as_str().unwrap().to_string();
        assert_eq!(p.headers["idempotency-key"], v["id"].as_str().unwrap());
        keys.entry(url)
            .or_default()
            .insert(p.headers["idempotency-key"].clone());
    }
    for (url, ks) in &keys {
        assert_eq!(ks.len(), 1, "{url} was sent under {} keys", ks.len());
    }
    let total = srv.posts("/hook").len();
    eprintln!("crash test: {items} stories, {total} deliveries (duplicates carry the first key)");
}

#[test]
fn past_the_rate_limit_alerts_are_grouped_into_one_digest() {
    let srv = FeedServer::start();
    srv.set(
        "/fr.xml",
        recent("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/fr.xml")], &srv.url("/hook"), "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "timeout = \"2s\"\n",
        "timeout = \"2s\"\nmax_per_minute = 1\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(posts.len(), 1, "two alerts, one message");
    let body: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(
        (body["digest"].as_bool(), body["count"].as_u64()),
        (Some(true), Some(2))
    );
    let ids: Vec<String> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        posts[0].headers["idempotency-key"],
        body["id"].as_str().unwrap()
    );
    assert!(
        !ids.contains(&posts[0].headers["idempotency-key"]),
        "the digest has its own key, derived from its members"
    );
    let ts = &posts[0].headers["x-newswatch-timestamp"];
    assert_eq!(
        posts[0].headers["x-newswatch-signature"],
        format!("sha256={}", hmac_hex("s3cret", ts, &posts[0].body))
    );
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let delivered: i64 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'delivered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(delivered, 2, "each article keeps its own alert, delivered");
}

fn numbered_feed(n: usize) -> String {
    let when = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc2822();
    let items: String = (0..n)
        .map(|i| {
            format!(
                "<item><title>Global Coalition to Defeat ISIS ministers meet in city {i}</title><link>https://order.example/{i}</link>\
                 <guid>order-{i}</guid><pubDate>{when}</pubDate><description>Ministers of the coalition against ISIS met.</description></item>"
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>Order</title>{items}</channel></rss>")
}

#[test]
fn a_receiver_down_for_long_gets_everything_in_order_when_back() {
    let srv = FeedServer::start();
    srv.set("/order.xml", numbered_feed(6), "application/rss+xml", None);
    srv.hook("/hook", 100_000, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/order.xml")], &srv.url("/hook"), "");
    // A long outage: enough attempts that nothing goes dead meanwhile.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "timeout = \"2s\"\n",
        "timeout = \"2s\"\nmax_attempts = 1000\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let c = cfg.to_str().unwrap();
    for _ in 0..3 {
        let out = run(
            dir.path(),
            &["--config", c, "once", "--deliver-timeout", "1s"],
            None,
        );
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    }
    assert!(srv.posts("/hook").iter().all(|p| p.status == 500));
    srv.hook("/hook", 0, 0);
    // The sink is down: the next run probes it (within 10 s of its last
    // failure), and the backlog follows the probe.
    let out = run(
        dir.path(),
        &["--config", c, "once", "--deliver-timeout", "20s"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got: Vec<String> = srv
        .posts("/hook")
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| {
            serde_json::from_slice::<serde_json::Value>(&p.body).unwrap()["article"]["url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let want: Vec<String> = (0..6)
        .map(|i| format!("https://order.example/{i}"))
        .collect();
    assert_eq!(
        got, want,
        "everything arrives, in the order it was detected"
    );
}

#[test]
fn a_receiver_answering_429_is_waited_for_as_told() {
    let srv = FeedServer::start();
    srv.set("/order.xml", numbered_feed(1), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 1, 429, "Retry-After: 2\r\n");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/order.xml")], &srv.url("/hook"), "");
    let started = std::time::Instant::now();
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "once",
            "--deliver-timeout",
            "10s",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(
        posts.iter().map(|p| p.status).collect::<Vec<_>>(),
        [429, 204]
    );
    // The sink's own backoff would retry after ~100 ms; Retry-After said 2 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        posts[0].headers["idempotency-key"],
        posts[1].headers["idempotency-key"]
    );
}

#[test]
fn a_delivered_signature_verifies_with_openssl_as_the_readme_shows() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    }
    let srv = FeedServer::start();
    srv.set("/order.xml", numbered_feed(1), "application/rss+xml", None);
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/order.xml")], &srv.url("/hook"), "");
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "once"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let p = &srv.posts("/hook")[0];
    let body = dir.path().join("body.json");
    std::fs::write(&body, &p.body).unwrap();
    let script = "expected=\"sha256=$( { printf '%s.' \"$TS\"; cat body.json; } | openssl dgst -sha256 -hmac \"$SECRET\" -r | cut -d' ' -f1 )\"; \
                  [ \"$expected\" = \"$SIGNATURE_HEADER\" ] && echo valid";
    let o = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir.path())
        .env("TS", &p.headers["x-newswatch-timestamp"])
        .env("SECRET", "s3cret")
        .env("SIGNATURE_HEADER", &p.headers["x-newswatch-signature"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "valid",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A receiver's `Retry-After` of ten years, or of 2^64-1 seconds, with the
/// sink's defaults: the alert stays pending, due again within the default
/// `retry_after_max` (1 h), never sooner than the answer's own backoff and
/// never dead after a burst of instant retries (the retry time used to
/// overflow).
#[test]
fn an_absurd_retry_after_is_clamped_with_the_defaults() {
    for wait in ["315360000", "18446744073709551615"] {
        let srv = FeedServer::start();
        srv.set(
            "/feed.xml",
            recent("feeds/fr-coalition.xml"),
            "application/rss+xml",
            None,
        );
        srv.hook_failing_with("/hook", 1000, 503, &format!("Retry-After: {wait}\r\n"));
        let dir = tempfile::tempdir().unwrap();
        let s = format!(
            "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"{}\"\n[[feed]]\nurl = \"{}\"\n",
            shipped_rules(),
            srv.url("/hook"),
            srv.url("/feed.xml")
        );
        let cfg = dir.path().join("newswatch.toml");
        std::fs::write(&cfg, s).unwrap();
        let started = chrono::Utc::now().timestamp();
        let out = run(
            dir.path(),
            &[
                "--config",
                cfg.to_str().unwrap(),
                "once",
                "--deliver-timeout",
                "3s",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("clamped"),
            "the clamp is logged: {}",
            stderr(&out)
        );
        let listed = run(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "alerts", "--json"],
            None,
        );
        let rows: Vec<serde_json::Value> = stdout(&listed)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            // (The archived item is stored without alerting.)
            .filter(|r| r["type"] == "alert" && r["state"] != "suppressed")
            .collect();
        assert!(!rows.is_empty(), "alerts were queued");
        // Each alert failed once, on its own schedule: none holds back
        // another, none was retried in a burst.
        for r in &rows {
            assert_eq!(r["state"], "pending", "{wait}: {r}");
            assert_eq!(r["attempts"], 1, "{wait}: one attempt, no burst: {r}");
            let next = chrono::DateTime::parse_from_rfc3339(r["next_attempt"].as_str().unwrap())
                .unwrap()
                .timestamp();
            assert!(
                next > started + 5 && next <= started + 3600 + 60,
                "{wait}: due again within retry_after_max: {r}"
            );
        }
    }
}

/// With the shipped defaults, a receiver that fails everything is down
/// after 5 attempts in a row: the rest of the backlog is not thrown at it
/// (each alert would otherwise spend an attempt), and it is tried again
/// only after 10 s.
#[test]
fn a_down_sink_is_not_hammered() {
    let srv = FeedServer::start();
    srv.set("/order.xml", numbered_feed(12), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 10_000, 503, "");
    let dir = tempfile::tempdir().unwrap();
    let s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"{}\"\n[[feed]]\nurl = \"{}\"\n",
        shipped_rules(),
        srv.url("/hook"),
        srv.url("/order.xml")
    );
    let cfg = dir.path().join("newswatch.toml");
    std::fs::write(&cfg, s).unwrap();
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "once",
            "--deliver-timeout",
            "3s",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(posts.len(), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("sink is down"), "{}", stderr(&out));
    let listed = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "alerts", "--json"],
        None,
    );
    let rows: Vec<serde_json::Value> = stdout(&listed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sink = rows.iter().find(|r| r["type"] == "sink").unwrap();
    assert_eq!(sink["state"], "down", "{sink}");
    assert_eq!(sink["pending"], 12, "{sink}");
    // The five that were tried wait for the first step of the default
    // schedule (1 s after their attempt); the rest spent no attempt.
    let alerts: Vec<&serde_json::Value> = rows.iter().filter(|r| r["type"] == "alert").collect();
    let tried: Vec<&&serde_json::Value> = alerts.iter().filter(|a| a["attempts"] == 1).collect();
    assert_eq!(tried.len(), 5, "{alerts:?}");
    assert_eq!(alerts.iter().filter(|a| a["attempts"] == 0).count(), 7);
    let first_try = posts[0].at_ms;
    for a in tried {
        let next = chrono::DateTime::parse_from_rfc3339(a["next_attempt"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        assert!(
            next >= first_try + 850 && next <= posts[4].at_ms + 1600,
            "{a}"
        );
    }
}
