//! A core that cannot die quietly: a SIGTERM at any early moment of `run`
//! ends it with exit 0; a supervised task or thread that dies ends it with
//! a non-zero exit and a line naming what died; a poll task that panics is
//! that feed's failed poll and the daemon goes on.
//!
//! The fault points are compiled only into builds with debug assertions
//! (`NEWSWATCH_FAULT`, see `src/fault.rs`); under `cargo test --release`
//! the tests that need them say SKIPPED.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn feed_xml(n: usize) -> String {
    let when = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc2822();
    let items: String = (0..n)
        .map(|i| {
            format!(
                "<item><title>Global Coalition against Daesh ministers meet in Rome {i}</title>\
                 <link>https://news.example/{i}</link><guid>g-{i}</guid><pubDate>{when}</pubDate>\
                 <description>Ministers of the coalition against ISIS met in Rome.</description></item>"
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
}

/// A config with `feeds` polled every second and the shipped rules.
fn config(dir: &Path, feeds: &[String]) -> PathBuf {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n\
         [[sink]]\nname = \"c\"\nkind = \"log\"\n",
        shipped_rules()
    );
    for f in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{f}\"\n"));
    }
    let p = dir.join("newswatch.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn faults_compiled() -> bool {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: fault injection is compiled only into debug builds");
    }
    cfg!(debug_assertions)
}

/// SIGTERM at 0, 1, 5, 20 and 100 ms after `run` has started (entered
/// `main`): while it installs its handlers, loads the config, opens and
/// migrates the database, and polls. Every time: exit 0, and a database
/// that a read command opens.
#[test]
fn sigterm_at_any_early_moment_exits_zero() {
    let srv = FeedServer::start();
    srv.set("/f.xml", feed_xml(30), "application/rss+xml", None);
    for ms in [0u64, 1, 5, 20, 100] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &[srv.url("/f.xml")]);
        let mut d = Daemon::start(dir.path(), &cfg);
        std::thread::sleep(Duration::from_millis(ms));
        d.signal("TERM");
        let code = d.wait_exit(15);
        assert_eq!(code, Some(0), "TERM {ms} ms after start\n{}", d.log());
        if dir.path().join("nw.db").exists() {
            let o = run(
                dir.path(),
                &["--config", cfg.to_str().unwrap(), "feeds", "--json"],
                None,
            );
            assert!(o.status.success(), "after TERM at {ms} ms: {}", stderr(&o));
        }
    }
}

/// A panic inside a store command kills the store thread: the daemon
/// exits non-zero within 5 s of it, and its last line says what died.
#[test]
fn a_panic_in_a_store_command_ends_the_daemon() {
    if !faults_compiled() {
        return;
    }
    let srv = FeedServer::start();
    srv.set("/f.xml", feed_xml(3), "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/f.xml")]);
    let mut d = Daemon::start_with(
        dir.path(),
        &cfg,
        &[("NEWSWATCH_FAULT", "store=record_poll")],
    );
    assert!(
        wait_for(30, || d.log().contains("injected fault")),
        "the fault point was reached\n{}",
        d.log()
    );
    let panicked = Instant::now();
    let code = d.wait_exit(10);
    let took = panicked.elapsed();
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit {code:?}\n{}",
        d.log()
    );
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after the panic"
    );
    let log = d.log();
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.contains("the store thread died") && last.contains("injected fault"),
        "last line names what died: {last}\n{log}"
    );
}

/// The scheduler's death is the daemon's: exit non-zero, named.
#[test]
fn a_panic_in_the_scheduler_ends_the_daemon() {
    if !faults_compiled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[]);
    let mut d = Daemon::start_with(dir.path(), &cfg, &[("NEWSWATCH_FAULT", "scheduler")]);
    let code = d.wait_exit(15);
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit {code:?}\n{}",
        d.log()
    );
    assert!(d.log().contains("the scheduler died"), "{}", d.log());
}

/// A poll task that panics is that feed's failed poll (kind `internal`,
/// the panic's message as its error); the other feed is polled, and the
/// daemon goes on and stops cleanly.
#[test]
fn a_panic_in_a_poll_is_that_feeds_failure() {
    if !faults_compiled() {
        return;
    }
    let srv = FeedServer::start();
    srv.set("/good.xml", feed_xml(2), "application/rss+xml", None);
    srv.set("/bad.xml", feed_xml(2), "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[srv.url("/good.xml"), srv.url("/bad.xml")]);
    let mut d = Daemon::start_with(dir.path(), &cfg, &[("NEWSWATCH_FAULT", "poll=/bad.xml")]);
    let feeds = || {
        let o = run(
            dir.path(),
            &["--config", cfg.to_str().unwrap(), "feeds", "--json"],
            None,
        );
        stdout(&o)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect::<Vec<_>>()
    };
    let settled = wait_for(30, || {
        let rows = feeds();
        let bad = rows.iter().find(|r| r["url"] == srv.url("/bad.xml"));
        let good = rows.iter().find(|r| r["url"] == srv.url("/good.xml"));
        bad.is_some_and(|b| b["error_kind"] == "internal") && good.is_some_and(|g| g["items"] == 2)
    });
    assert!(settled, "{:?}\n{}", feeds(), d.log());
    let rows = feeds();
    let bad = rows
        .iter()
        .find(|r| r["url"] == srv.url("/bad.xml"))
        .unwrap();
    assert!(
        bad["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("injected fault")),
        "{bad}"
    );
    assert_eq!(srv.hits("/bad.xml"), 0, "the panic came before the fetch");
    assert!(d.alive(), "the daemon goes on\n{}", d.log());
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
}

/// Documents that nest 100,000 levels deep (XML elements, JSON arrays,
/// escaped HTML inside a description) are read or refused as that file's
/// error, never a stack overflow: `scan` ends normally and names the file.
#[test]
fn deeply_nested_documents_end_in_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[]);
    let head = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title><item><title>deep</title>";
    let docs = [
        (
            "elements.xml",
            format!(
                "{head}{}{}</item></channel></rss>",
                "<x>".repeat(100_000),
                "</x>".repeat(100_000)
            ),
        ),
        (
            "html.xml",
            format!(
                "{head}<description>{}</description></item></channel></rss>",
                "&lt;b&gt;".repeat(100_000)
            ),
        ),
        (
            "arrays.json",
            format!(
                "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"x\",\"items\":[{{\"id\":\"1\",\"title\":\"deep\",\"x\":{}{}}}]}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
    ];
    for (name, body) in docs {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let out = run(
            dir.path(),
            &[
                "--config",
                cfg.to_str().unwrap(),
                "scan",
                path.to_str().unwrap(),
            ],
            None,
        );
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{name}: ended by {:?}\n{}",
            out.status,
            stderr(&out)
        );
        assert!(stdout(&out).contains(name), "{name}: {}", stdout(&out));
    }
}
