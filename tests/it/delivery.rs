//! Delivery as a receiver sees it, with the sink settings a user gets by
//! default: how each kind of answer is treated, the sink's health, the
//! bounds on time and size, and signatures checked by an independent
//! Standard Webhooks library.

use crate::support::*;
use rusqlite::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A feed of `n` distinct coalition-meeting items published ten minutes ago.
fn feed(n: usize, summary: &str) -> String {
    let when = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc2822();
    let items: String = (0..n)
        .map(|i| {
            format!(
                "<item><title>Global Coalition to Defeat ISIS ministers meet in city {i}</title><link>https://order.example/{i}</link>\
                 <guid>order-{i}</guid><pubDate>{when}</pubDate><description>Ministers of the coalition against ISIS met. {summary}</description></item>"
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>Order</title>{items}</channel></rss>")
}

/// A config with the shipped rules and one webhook sink `desk` with the
/// default delivery settings plus `sink_extra` lines. Feeds are polled
/// every second (in `run`, a new feed's first poll otherwise comes at a
/// random point of its first minute).
fn config(dir: &Path, srv: &FeedServer, sink_extra: &str) -> PathBuf {
    let s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n[[sink]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"{}\"\n{sink_extra}\n[[feed]]\nurl = \"{}\"\n",
        shipped_rules(),
        srv.url("/hook"),
        srv.url("/feed.xml")
    );
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn once(dir: &Path, cfg: &Path, bound: &str) -> std::process::Output {
    run(
        dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "once",
            "--deliver-timeout",
            bound,
        ],
        None,
    )
}

/// `alerts --json`: the sink lines and the alert lines.
fn listed(dir: &Path, cfg: &Path) -> (Vec<Value>, Vec<Value>) {
    let out = run(
        dir,
        &["--config", cfg.to_str().unwrap(), "alerts", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (sinks, alerts) = rows.into_iter().partition(|r| r["type"] == "sink");
    (sinks, alerts)
}

fn ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn body(p: &SeenRequest) -> Value {
    serde_json::from_slice(&p.body).unwrap()
}

/// An alert the receiver rejects holds back no other: the next alerts of
/// the same sink go out at once, and the rejected one is due again after
/// the first step of the default schedule (1 s). Bodies carry the sink's
/// sequence numbers and `detected_at` in milliseconds.
#[test]
fn one_rejected_alert_does_not_hold_back_the_others() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(4, ""), "application/rss+xml", None);
    srv.hook_rejecting("/hook", "city 1\"", 400, "bad field");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let out = once(dir.path(), &cfg, "500ms");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(posts.len(), 4, "one attempt each: {}", stderr(&out));
    let statuses: Vec<u16> = posts.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [204, 400, 204, 204]);
    let seq: Vec<Value> = posts.iter().map(|p| body(p)["sequence"].clone()).collect();
    assert_eq!(seq, [1, 2, 3, 4].map(Value::from));
    for p in &posts {
        let detected = body(p)["detected_at"].as_str().unwrap().to_string();
        assert!(
            detected.len() == "2026-01-01T00:00:00.000Z".len(),
            "{detected}"
        );
    }
    let (sinks, alerts) = listed(dir.path(), &cfg);
    assert_eq!(sinks[0]["state"], "ok", "{sinks:?}");
    let pending: Vec<&Value> = alerts.iter().filter(|a| a["state"] == "pending").collect();
    assert_eq!(pending.len(), 1, "{alerts:?}");
    assert_eq!(pending[0]["attempts"], 1);
    assert_eq!(pending[0]["last_error"], "HTTP 400: bad field");
    let wait = ms(&pending[0]["next_attempt"]) - posts[1].at_ms;
    assert!(
        (850..=1600).contains(&wait),
        "first retry after ~1 s: {wait} ms"
    );
}

/// A rejected alert gets two more attempts on the default schedule (1 s,
/// then 5 s), then it is dead with the status and the receiver's answer;
/// the others are delivered once each.
#[test]
fn a_rejected_alert_is_dead_after_two_more_attempts() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
    let said = format!("schema violation: {}", "x".repeat(400));
    srv.hook_rejecting("/hook", "city 0\"", 422, &said);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let out = once(dir.path(), &cfg, "12s");
    assert_eq!(
        out.status.code(),
        Some(75),
        "a dead alert: {}",
        stderr(&out)
    );
    let posts = srv.posts("/hook");
    let rejected: Vec<&SeenRequest> = posts.iter().filter(|p| p.status == 422).collect();
    assert_eq!(rejected.len(), 3, "the first attempt and two more");
    assert_eq!(posts.iter().filter(|p| p.status == 204).count(), 2);
    let gaps: Vec<i64> = rejected
        .windows(2)
        .map(|w| w[1].at_ms - w[0].at_ms)
        .collect();
    assert!((850..=2500).contains(&gaps[0]), "{gaps:?}");
    assert!((4400..=7000).contains(&gaps[1]), "{gaps:?}");
    let (_, alerts) = listed(dir.path(), &cfg);
    let dead: Vec<&Value> = alerts.iter().filter(|a| a["state"] == "dead").collect();
    assert_eq!(dead.len(), 1, "{alerts:?}");
    let reason = dead[0]["last_error"].as_str().unwrap();
    assert!(
        reason.starts_with("HTTP 422: schema violation: xxx"),
        "{reason}"
    );
    // The status and the first 200 bytes of the answer, no more.
    assert!(reason.len() <= "HTTP 422: ".len() + 200, "{}", reason.len());
}

/// `401`, `403` and a redirect are the sink's failure, not the alerts':
/// the sink is `failing` with the status, probed every 10 s, and no alert
/// loses an attempt.
#[test]
fn credentials_and_redirects_fail_the_sink_not_the_alerts() {
    for (status, headers) in [
        (401, ""),
        (403, ""),
        (302, "Location: http://127.0.0.1:9/elsewhere\r\n"),
    ] {
        let srv = FeedServer::start();
        srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
        srv.hook_failing_with("/hook", 1000, status, headers);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &srv, "");
        let out = once(dir.path(), &cfg, "2s");
        assert_eq!(out.status.code(), Some(75), "{status}: {}", stderr(&out));
        assert_eq!(
            srv.posts("/hook").len(),
            1,
            "{status}: one try, then probes"
        );
        let (sinks, alerts) = listed(dir.path(), &cfg);
        assert_eq!(sinks[0]["state"], "failing", "{status}: {sinks:?}");
        assert!(
            sinks[0]["reason"]
                .as_str()
                .unwrap()
                .starts_with(&format!("HTTP {status}")),
            "{sinks:?}"
        );
        assert!(
            alerts
                .iter()
                .all(|a| a["attempts"] == 0 && a["state"] == "pending"),
            "{status}: {alerts:?}"
        );
        let text = run(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "alerts"],
            None,
        );
        assert!(
            stdout(&text).contains(&format!("failing: HTTP {status}")),
            "{}",
            stdout(&text)
        );
    }
}

/// `410 Gone` disables the sink with its alerts kept pending; nothing is
/// sent until `alerts enable`, after which the backlog goes out in order.
#[test]
fn a_410_disables_the_sink_until_it_is_enabled() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 1, 410, "");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let c = cfg.to_str().unwrap();
    let out = once(dir.path(), &cfg, "2s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("alerts enable desk"),
        "{}",
        stderr(&out)
    );
    let (sinks, alerts) = listed(dir.path(), &cfg);
    assert_eq!(sinks[0]["state"], "disabled", "{sinks:?}");
    assert_eq!(sinks[0]["pending"], 3);
    assert!(alerts.iter().all(|a| a["attempts"] == 0), "{alerts:?}");
    // Still disabled in the next run: nothing sent.
    let out = once(dir.path(), &cfg, "1s");
    assert_eq!(out.status.code(), Some(75));
    assert_eq!(srv.posts("/hook").len(), 1);
    let enabled = run(
        dir.path(),
        &["--config", c, "alerts", "enable", "desk"],
        None,
    );
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    assert!(
        stdout(&enabled).contains("3 pending"),
        "{}",
        stdout(&enabled)
    );
    let out = once(dir.path(), &cfg, "5s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got: Vec<Value> = srv
        .posts("/hook")
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| body(p)["sequence"].clone())
        .collect();
    assert_eq!(got, [1, 2, 3].map(Value::from));
    let unknown = run(
        dir.path(),
        &["--config", c, "alerts", "enable", "nope"],
        None,
    );
    assert!(!unknown.status.success());
    // Disabled again; a config that gives the sink a new address enables it.
    srv.set("/feed.xml", feed(4, ""), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 1, 410, "");
    let out = once(dir.path(), &cfg, "2s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert_eq!(listed(dir.path(), &cfg).0[0]["state"], "disabled");
    srv.hook("/new-hook", 0, 0);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&srv.url("/hook"), &srv.url("/new-hook"));
    std::fs::write(&cfg, text).unwrap();
    let out = once(dir.path(), &cfg, "5s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("enabled again"), "{}", stderr(&out));
    assert_eq!(srv.posts("/new-hook").len(), 1);
}

/// A receiver that hangs past the sink's `timeout` is abandoned then, and
/// the attempt is counted failed at its end: the next attempt is due one
/// schedule step (1 s) after the timeout, not after the request started.
#[test]
fn a_hanging_receiver_is_counted_failed_at_the_end_of_the_timeout() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(1, ""), "application/rss+xml", None);
    srv.hook("/hook", 0, 4000);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "timeout = \"1500ms\"");
    let out = once(dir.path(), &cfg, "2s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let post = &srv.posts("/hook")[0];
    let db = Connection::open(dir.path().join("nw.db")).unwrap();
    let (at_ms, outcome, detail): (i64, String, String) = db
        .query_row(
            "SELECT at_ms, outcome, detail FROM deliveries ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((outcome.as_str(), detail.as_str()), ("retry", "timed out"));
    let took = at_ms - post.at_ms;
    assert!(
        (1300..=4000).contains(&took),
        "recorded at the end: {took} ms"
    );
    let (_, alerts) = listed(dir.path(), &cfg);
    let wait = ms(&alerts[0]["next_attempt"]) - at_ms;
    assert!((850..=1150).contains(&wait), "{wait} ms after the end");
}

/// `once --deliver-timeout` bounds the whole delivery phase: receivers that
/// each take longer than the bound do not make `once` wait for each of them
/// in turn up to the sink's 15 s timeout.
#[test]
fn the_deliver_timeout_bounds_the_whole_phase() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
    srv.hook("/hook", 0, 6000);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let started = std::time::Instant::now();
    let out = once(dir.path(), &cfg, "2s");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        took < std::time::Duration::from_secs(10),
        "bounded by --deliver-timeout: {took:?}"
    );
}

/// A huge summary is cut at a word with an ellipsis so that the body stays
/// within the default 64 KiB.
#[test]
fn long_summaries_are_cut_to_the_body_bound() {
    let srv = FeedServer::start();
    let long = "lorem ipsum dolor sit amet ".repeat(12_000);
    srv.set("/feed.xml", feed(1, &long), "application/rss+xml", None);
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let out = once(dir.path(), &cfg, "5s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &srv.posts("/hook")[0];
    assert!(p.body.len() <= 64 << 10, "{} bytes", p.body.len());
    let summary = body(p)["article"]["summary"].as_str().unwrap().to_string();
    assert!(
        summary.len() > 16 << 10,
        "not cut to nothing: {}",
        summary.len()
    );
    assert!(summary.ends_with("…"), "{}", &summary[summary.len() - 20..]);
    let before = summary.trim_end_matches('…');
    assert!(
        ["lorem", "ipsum", "dolor", "sit", "amet"]
            .iter()
            .any(|w| before.ends_with(w)),
        "cut at a word: {}",
        &before[before.len() - 20..]
    );
}

/// Signatures verify with the `standardwebhooks` crate: with the new key
/// (`whsec_`) and the old one (a plain string) while both are configured;
/// a replayed old timestamp and a changed body are rejected.
#[test]
fn standard_webhooks_signatures_verify_with_an_independent_library() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let new_key = b64.encode(b"a new key of 24 random bytes");
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(1, ""), "application/rss+xml", None);
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &srv,
        &format!("secret = [\"whsec_{new_key}\", \"the old secret\"]"),
    );
    let out = once(dir.path(), &cfg, "5s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &srv.posts("/hook")[0];
    let mut headers = http::HeaderMap::new();
    for k in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(k, p.headers[k].parse().unwrap());
    }
    assert_eq!(p.headers["webhook-id"], p.headers["idempotency-key"]);
    assert_eq!(p.headers["webhook-signature"].split(' ').count(), 2);
    for key in [format!("whsec_{new_key}"), b64.encode(b"the old secret")] {
        let wh = standardwebhooks::Webhook::new(&key).unwrap();
        wh.verify(&p.body, &headers)
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let mut tampered = p.body.clone();
        tampered[10] ^= 1;
        assert!(wh.verify(&tampered, &headers).is_err());
    }
    // The same request replayed an hour later: its timestamp is too old.
    let old = (chrono::Utc::now().timestamp() - 3600).to_string();
    let mut replay = headers.clone();
    replay.insert("webhook-timestamp", old.parse().unwrap());
    let wh = standardwebhooks::Webhook::new(&format!("whsec_{new_key}")).unwrap();
    assert!(wh.verify(&p.body, &replay).is_err());
    let other = standardwebhooks::Webhook::new(&b64.encode(b"somebody else")).unwrap();
    assert!(other.verify(&p.body, &headers).is_err());
}

/// A digest window holds across restarts: it is derived from the recorded
/// deliveries, so a second `once` inside the window sends nothing.
#[test]
fn a_digest_window_survives_a_restart() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(2, ""), "application/rss+xml", None);
    srv.hook("/hook", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "digest = \"15m\"");
    let out = once(dir.path(), &cfg, "5s");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posts = srv.posts("/hook");
    assert_eq!(posts.len(), 1);
    assert_eq!(body(&posts[0])["count"], 2);
    srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
    let out = once(dir.path(), &cfg, "2s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert_eq!(
        srv.posts("/hook").len(),
        1,
        "inside the window: nothing sent"
    );
    let (sinks, _) = listed(dir.path(), &cfg);
    assert_eq!(sinks[0]["pending"], 1, "{sinks:?}");
}

/// A digest that fails settles each alert by its own attempts: the alert
/// at its last attempt dies, a newer one in the same digest is retried.
#[test]
fn a_failed_digest_counts_each_alerts_own_attempts() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(1, ""), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 1_000, 503, "");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &srv,
        "digest = \"15m\"\nretry = [\"1s\", \"1h\"]",
    );
    let out = once(dir.path(), &cfg, "1s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    // The first alert has had two of its three attempts and is due again.
    let db = rusqlite::Connection::open(dir.path().join("nw.db")).unwrap();
    let n = db
        .execute(
            "UPDATE outbox SET attempts = 2, next_attempt_ms = 0 WHERE state = 'pending'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);
    // A second alert joins it; both go out in one digest, which fails.
    srv.set("/feed.xml", feed(2, ""), "application/rss+xml", None);
    let out = once(dir.path(), &cfg, "1s");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let (_, alerts) = listed(dir.path(), &cfg);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let by_title = |t: &str| {
        alerts
            .iter()
            .find(|a| a["title"].as_str().is_some_and(|x| x.ends_with(t)))
            .unwrap_or_else(|| panic!("{t}: {alerts:?}"))
            .clone()
    };
    let (old, new) = (by_title("city 0"), by_title("city 1"));
    assert_eq!(old["state"], "dead", "{old}");
    assert_eq!(new["state"], "pending", "{new}");
    assert!(
        new["attempts"]
            .as_i64()
            .is_some_and(|n| (1..3).contains(&n)),
        "{new}"
    );
    assert!(srv.posts("/hook").iter().any(|p| body(p)["count"] == 2));
}

/// `retry` beside the exponential shorthand is refused with its location.
#[test]
fn retry_beside_its_shorthand_is_a_config_error() {
    let srv = FeedServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &srv,
        "retry = [\"1s\", \"1m\"]\nretry_base = \"10s\"",
    );
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check"],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("newswatch.toml:"), "{err}");
    assert!(err.contains("either `retry` or"), "{err}");
}

/// The `email` sink in a real SMTP conversation on loopback: one message
/// per alert with text and HTML alternatives, feed text escaped, a
/// `Message-ID` derived from the alert id; a message the server refuses
/// for good (554) is a rejection of that alert alone.
#[test]
fn email_alerts_go_out_over_smtp() {
    let srv = FeedServer::start();
    let smtp = SmtpServer::start();
    let when = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc2822();
    let items: String = [
        "Global Coalition to Defeat ISIS ministers meet in Rome &amp; Paris",
        "Global Coalition against Daesh ministers meet in Madrid",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| {
        format!(
            "<item><title>{t}</title><link>https://mail.example/{i}</link><guid>m-{i}</guid>\
             <pubDate>{when}</pubDate><description>Ministers of the coalition against ISIS met.</description></item>"
        )
    })
    .collect();
    srv.set(
        "/feed.xml",
        format!("<rss version=\"2.0\"><channel><title>Mail</title>{items}</channel></rss>"),
        "application/rss+xml",
        None,
    );
    smtp.refuse("Madrid");
    let dir = tempfile::tempdir().unwrap();
    let s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"mail\"\nkind = \"email\"\n\
         url = \"smtp://127.0.0.1:{}?tls=none\"\nfrom = \"newswatch <alerts@example.org>\"\nto = [\"desk@example.org\", \"duty@example.org\"]\n\
         [[feed]]\nurl = \"{}\"\n",
        shipped_rules(),
        smtp.port,
        srv.url("/feed.xml")
    );
    let cfg = dir.path().join("newswatch.toml");
    std::fs::write(&cfg, s).unwrap();
    let out = once(dir.path(), &cfg, "500ms");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{}", stderr(&out));
    let m = &mails[0];
    assert_eq!(m.from, "<alerts@example.org>");
    assert_eq!(m.to, ["<desk@example.org>", "<duty@example.org>"]);
    let (_, alerts) = listed(dir.path(), &cfg);
    let sent = alerts.iter().find(|a| a["state"] == "delivered").unwrap();
    let id = sent["id"].as_str().unwrap();
    assert!(
        m.data.contains(&format!("Message-ID: <{id}@example.org>")),
        "{}",
        m.data
    );
    assert!(m.data.contains("multipart/alternative"), "{}", m.data);
    assert!(m.data.contains("text/plain") && m.data.contains("text/html"));
    assert!(
        m.data.contains("Rome &amp; Paris"),
        "escaped in HTML: {}",
        m.data
    );
    assert!(m.data.contains("Rome & Paris"), "as is in text: {}", m.data);
    let refused = alerts.iter().find(|a| a["state"] == "pending").unwrap();
    assert_eq!(refused["attempts"], 1);
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .starts_with("SMTP 554"),
        "{refused}"
    );
}

/// In `run`, with the defaults: a receiver failing everything is down
/// after 5 attempts; it is left alone until one probe 10 s later; when the
/// probe succeeds the backlog follows at once, in detection order.
#[test]
fn in_run_a_down_sink_is_probed_and_its_backlog_follows_in_order() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(6, ""), "application/rss+xml", None);
    srv.hook_failing_with("/hook", 5, 503, "");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &srv, "");
    let mut d = Daemon::start(dir.path(), &cfg);
    let delivered = |srv: &FeedServer| {
        srv.posts("/hook")
            .iter()
            .filter(|p| p.status == 204)
            .count()
    };
    assert!(wait_for(40, || delivered(&srv) == 6), "{}", d.log());
    d.signal("TERM");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
    let posts = srv.posts("/hook");
    let statuses: Vec<u16> = posts.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [503, 503, 503, 503, 503, 204, 204, 204, 204, 204, 204]
    );
    // Nothing between the fifth failure and the probe, which came 10 s on.
    let gap = posts[5].at_ms - posts[4].at_ms;
    assert!((9_500..=15_000).contains(&gap), "{gap} ms: {}", d.log());
    let seq: Vec<Value> = posts[5..]
        .iter()
        .map(|p| body(p)["sequence"].clone())
        .collect();
    assert_eq!(seq, [1, 2, 3, 4, 5, 6].map(Value::from));
    assert!(d.log().contains("is back"), "{}", d.log());
}

/// In `run`, sinks never wait on each other: while one receiver hangs for
/// the whole of its sink's timeout, another sink's alerts arrive at once.
#[test]
fn in_run_a_hanging_sink_does_not_delay_another() {
    let srv = FeedServer::start();
    srv.set("/feed.xml", feed(3, ""), "application/rss+xml", None);
    srv.hook("/hook", 0, 30_000);
    srv.hook("/fast", 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &srv,
        &format!(
            "[[sink]]\nname = \"fast\"\nkind = \"webhook\"\nurl = \"{}\"",
            srv.url("/fast")
        ),
    );
    let mut d = Daemon::start(dir.path(), &cfg);
    assert!(
        wait_for(20, || srv.posts("/fast").len() == 3),
        "{}",
        d.log()
    );
    let slow = srv.posts("/hook");
    assert_eq!(slow.len(), 1, "the slow sink is still on its first attempt");
    let last_fast = srv.posts("/fast")[2].at_ms;
    assert!(
        last_fast - slow[0].at_ms < 5_000,
        "the fast sink did not wait for the slow one"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(30), Some(0), "{}", d.log());
}

/// Every answer a receiver may give, as the README's table says, with the
/// default settings: transient ones retried after the first step of the
/// schedule (1 s), rejections likewise but counted as rejections, the
/// sink's own failures spending no attempt.
#[test]
fn each_answer_is_classified_as_documented() {
    // (status, the alert's attempts after one try, the sink's state, the
    // error recorded)
    let cases: &[(u16, u64, &str, &str)] = &[
        (408, 1, "ok", "HTTP 408"),
        (425, 1, "ok", "HTTP 425"),
        (429, 1, "ok", "HTTP 429"),
        (500, 1, "ok", "HTTP 500"),
        (502, 1, "ok", "HTTP 502"),
        (503, 1, "ok", "HTTP 503"),
        (504, 1, "ok", "HTTP 504"),
        (405, 1, "ok", "HTTP 405"),
        (400, 1, "ok", "HTTP 400: busy"),
        (413, 1, "ok", "HTTP 413: busy"),
        (415, 1, "ok", "HTTP 415: busy"),
        (422, 1, "ok", "HTTP 422: busy"),
        (404, 0, "failing", "HTTP 404"),
        (301, 0, "failing", "HTTP 301 (redirects are not followed)"),
        (308, 0, "failing", "HTTP 308 (redirects are not followed)"),
        (410, 0, "disabled", "HTTP 410"),
    ];
    for &(status, attempts, state, error) in cases {
        let srv = FeedServer::start();
        srv.set("/feed.xml", feed(1, ""), "application/rss+xml", None);
        srv.hook_failing_with("/hook", 1000, status, "");
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &srv, "");
        let out = once(dir.path(), &cfg, "300ms");
        assert_eq!(out.status.code(), Some(75), "{status}: {}", stderr(&out));
        let posts = srv.posts("/hook");
        assert_eq!(posts.len(), 1, "{status}");
        let (sinks, alerts) = listed(dir.path(), &cfg);
        assert_eq!(sinks[0]["state"], state, "{status}: {sinks:?}");
        let a = &alerts[0];
        assert_eq!(a["state"], "pending", "{status}: {a}");
        assert_eq!(a["attempts"], attempts, "{status}: {a}");
        assert_eq!(a["last_error"], error, "{status}: {a}");
        if attempts == 1 {
            let wait = ms(&a["next_attempt"]) - posts[0].at_ms;
            assert!((850..=1600).contains(&wait), "{status}: {wait} ms");
        }
    }
}

/// A `Retry-After` that is neither seconds nor a date is ignored and said;
/// the schedule's first step applies.
#[test]
fn a_garbage_retry_after_is_ignored_and_logged() {
    for junk in ["soon", "-30"] {
        let srv = FeedServer::start();
        srv.set("/feed.xml", feed(1, ""), "application/rss+xml", None);
        srv.hook_failing_with("/hook", 1000, 503, &format!("Retry-After: {junk}\r\n"));
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &srv, "");
        let out = once(dir.path(), &cfg, "300ms");
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        assert!(stderr(&out).contains("ignored"), "{}", stderr(&out));
        let (_, alerts) = listed(dir.path(), &cfg);
        let wait = ms(&alerts[0]["next_attempt"]) - srv.posts("/hook")[0].at_ms;
        assert!((850..=1600).contains(&wait), "{junk}: {wait} ms");
    }
}
