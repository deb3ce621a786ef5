//! The systemd contract of `newswatch run`, checked over a real notify
//! socket: READY, WATCHDOG pings, RELOADING with MONOTONIC_USEC then READY
//! on SIGHUP, STOPPING on SIGTERM, exit 0.

use crate::support::*;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

fn wait_msg(sock: &UnixDatagram, seen: &mut Vec<String>, want: &str, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = m.contains(want);
            seen.push(m);
            if hit {
                return true;
            }
        }
    }
    false
}

/// Binds a notify socket in `dir` and starts `run` on `cfg` with
/// NOTIFY_SOCKET pointing at it (plus `env`).
fn start_notified(
    dir: &std::path::Path,
    cfg: &std::path::Path,
    env: &[(&str, &str)],
) -> (UnixDatagram, Daemon) {
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut all = vec![("NOTIFY_SOCKET", sock_path.to_str().unwrap())];
    all.extend_from_slice(env);
    let d = Daemon::start_with(dir, cfg, &all);
    (sock, d)
}

#[test]
fn run_speaks_the_sd_notify_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    std::fs::write(&cfg, format!("rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"c\"\nkind = \"log\"\n", shipped_rules())).unwrap();
    let (sock, mut d) = start_notified(dir.path(), &cfg, &[("WATCHDOG_USEC", "1000000")]);
    let mut seen = Vec::new();
    assert!(
        wait_msg(&sock, &mut seen, "READY=1", 15),
        "READY: {seen:?}\n{}",
        d.log()
    );
    assert!(seen[0].contains("STATUS=watching"), "{seen:?}");
    assert!(
        wait_msg(&sock, &mut seen, "WATCHDOG=1", 5),
        "watchdog pings: {seen:?}"
    );
    d.signal("HUP");
    assert!(wait_msg(&sock, &mut seen, "RELOADING=1", 5), "{seen:?}");
    let reloading = seen.last().unwrap().clone();
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    assert!(
        wait_msg(&sock, &mut seen, "READY=1", 5),
        "READY after reload: {seen:?}"
    );
    d.signal("TERM");
    assert!(wait_msg(&sock, &mut seen, "STOPPING=1", 10), "{seen:?}");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
}

/// A config polling `feeds` every second with a log sink.
fn write_config(path: &std::path::Path, feeds: &[String]) {
    let mut s = format!(
        "rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[http]\ntimeout = \"2s\"\nhost_spacing = \"0s\"\n\
         [poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n[[sink]]\nname = \"c\"\nkind = \"log\"\n",
        shipped_rules()
    );
    for f in feeds {
        s.push_str(&format!("[[feed]]\nurl = \"{f}\"\n"));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn sighup_keeps_a_broken_config_out_and_takes_added_and_removed_feeds() {
    let srv = FeedServer::start();
    let feed = fixture("feeds/fr-coalition.xml");
    srv.set("/a.xml", feed.clone(), "application/rss+xml", None);
    srv.set("/b.xml", feed, "application/rss+xml", None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    write_config(&cfg, &[srv.url("/a.xml")]);
    let (sock, mut d) = start_notified(dir.path(), &cfg, &[]);
    let mut seen = Vec::new();
    assert!(wait_msg(&sock, &mut seen, "READY=1", 15), "{seen:?}");
    assert!(
        wait_for(15, || srv.hits("/a.xml") >= 1),
        "feed a polled: {}",
        d.log()
    );
    assert_eq!(srv.hits("/b.xml"), 0);

    // A broken config: refused with its location, in the log and in STATUS;
    // the running one (feed a) goes on.
    std::fs::write(&cfg, "[poll]\ninterval = \"soon\"\n").unwrap();
    d.signal("HUP");
    assert!(
        wait_msg(&sock, &mut seen, "STATUS=reload failed", 10),
        "{seen:?}"
    );
    let status = seen.last().unwrap().clone();
    assert!(
        status.contains("newswatch.toml:2:"),
        "STATUS names file:line:col: {status}"
    );
    assert!(
        wait_for(5, || d.log().contains("reload failed")),
        "{}",
        d.log()
    );
    assert!(d.alive(), "still running after a bad reload");
    let a_before = srv.hits("/a.xml");
    assert!(
        wait_for(15, || srv.hits("/a.xml") > a_before),
        "the old config keeps polling: {}",
        d.log()
    );

    // Feed b added, feed a removed: b is polled without a restart, a stops.
    write_config(&cfg, &[srv.url("/b.xml")]);
    d.signal("HUP");
    assert!(
        wait_msg(&sock, &mut seen, "(reloaded)", 10),
        "{seen:?}\n{}",
        d.log()
    );
    assert!(
        wait_for(15, || srv.hits("/b.xml") >= 2),
        "added feed polled: {}",
        d.log()
    );
    // An in-flight poll of a may still finish; after that, no more.
    std::thread::sleep(Duration::from_millis(500));
    let a_after = srv.hits("/a.xml");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(srv.hits("/a.xml"), a_after, "removed feed no longer polled");

    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
}

#[test]
fn under_the_journal_every_line_carries_a_syslog_priority() {
    use std::os::unix::fs::MetadataExt;
    let srv = FeedServer::start();
    srv.set_status("/gone.xml", 404);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    write_config(&cfg, &[srv.url("/gone.xml")]);
    // The child's stderr is this file; JOURNAL_STREAM names it as systemd would.
    let log = dir.path().join("journal.log");
    let f = std::fs::File::create(&log).unwrap();
    let meta = f.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .args(["--config", cfg.to_str().unwrap(), "run"])
        .current_dir(dir.path())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .env("JOURNAL_STREAM", &stream)
        .stdout(std::process::Stdio::null())
        .stderr(f)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let ok = wait_for(15, || read().contains("poll failed"));
    let _ = child.kill();
    let _ = child.wait();
    let text = read();
    assert!(ok, "{text}");
    for line in text.lines() {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(p)),
            "no priority prefix: {line:?}"
        );
        assert!(!line.contains('\u{1b}'), "no colour: {line:?}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("<6>") && l.contains("newswatch running")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("<4>") && l.contains("poll failed")),
        "{text}"
    );
    // No timestamp before the message.
    assert!(!text.lines().any(|l| l[3..].starts_with("20")), "{text}");

    // The same variable with stderr elsewhere (inherited by a child whose
    // stderr was redirected) does not switch the format.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .args(["--config", cfg.to_str().unwrap(), "once"])
        .current_dir(dir.path())
        .env("JOURNAL_STREAM", &stream)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("poll failed"), "{err}");
    assert!(!err.lines().any(|l| l.starts_with('<')), "{err}");
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let srv = FeedServer::start();
    srv.set(
        "/a.xml",
        fixture("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    srv.set_status("/gone.xml", 404);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    write_config(&cfg, &[srv.url("/a.xml"), srv.url("/gone.xml")]);
    // `once --log-format json` with a RUST_LOG filter; its stderr.
    let json_once = |filter: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
            .args([
                "--config",
                cfg.to_str().unwrap(),
                "--log-format",
                "json",
                "once",
            ])
            .current_dir(dir.path())
            .env("RUST_LOG", filter)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = json_once("info");
    let mut levels = Vec::new();
    for line in err.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        levels.push(v["level"].as_str().unwrap_or("").to_string());
        assert!(v["timestamp"].is_string(), "{line}");
    }
    assert!(levels.iter().any(|l| l == "WARN"), "{err}");
    assert!(levels.iter().any(|l| l == "INFO"), "{err}");
    // RUST_LOG filters: only warnings and errors.
    let err = json_once("warn");
    assert!(!err.is_empty());
    assert!(
        err.lines()
            .all(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\"")),
        "{err}"
    );
}

#[test]
fn man_page_and_completions_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let man = run(dir.path(), &["man"], None);
    assert!(man.status.success());
    let page = stdout(&man);
    assert!(page.contains(".TH newswatch 1"), "{page}");
    for sub in ["run", "once", "scan", "test\\-rules", "completions"] {
        assert!(page.contains(sub), "man page lists {sub}");
    }
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef newswatch"),
        ("fish", "complete -c newswatch"),
    ] {
        let o = run(dir.path(), &["completions", shell], None);
        assert!(o.status.success(), "{shell}");
        let text = stdout(&o);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(text.contains("test-rules"), "{shell} completes subcommands");
    }
    let bad = run(dir.path(), &["completions", "tcsh"], None);
    assert_eq!(bad.status.code(), Some(2));
}

/// `systemd-analyze verify` on the shipped unit (pointed at the built binary)
/// and its exposure in `systemd-analyze security --offline=yes` ≤ 1.5.
#[test]
fn the_unit_file_verifies_and_is_hardened() {
    let have = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("SKIPPED: systemd-analyze not installed; the unit file is not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/newswatch.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/newswatch"));
    let unit = unit.replace("/usr/bin/newswatch", env!("CARGO_BIN_EXE_newswatch"));
    let path = dir.path().join("newswatch.service");
    std::fs::write(&path, unit).unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", path.to_str().unwrap()])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "verify: {said}"
    );
    let sec = std::process::Command::new("systemd-analyze")
        .args([
            "security",
            "--offline=yes",
            "--no-pager",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&sec.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for newswatch.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    assert!(level <= 1.5, "exposure {level} > 1.5:\n{text}");
}

/// A rule pack whose query nests 10,000 parentheses deep, or holds 100,000
/// NOTs in a row, is a located config error: `check` exits 78 naming the
/// pack's line, and a SIGHUP that brings it in keeps the running config
/// (the daemon does not overflow its stack and goes on polling).
#[test]
fn deeply_nested_rules_are_located_errors_and_a_reload_survives_them() {
    let srv = FeedServer::start();
    srv.set(
        "/a.xml",
        fixture("feeds/fr-coalition.xml"),
        "application/rss+xml",
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    write_config(&cfg, &[srv.url("/a.xml")]);
    let (sock, mut d) = start_notified(dir.path(), &cfg, &[]);
    let mut seen = Vec::new();
    assert!(wait_msg(&sock, &mut seen, "READY=1", 15), "{seen:?}");
    for (name, query) in [
        (
            "parens",
            format!("{}coalition{}", "(".repeat(10_000), ")".repeat(10_000)),
        ),
        ("nots", format!("{}coalition", "NOT ".repeat(100_000))),
    ] {
        // The watch's query is on line 4 of the pack.
        let pack = dir.path().join("deep.toml");
        std::fs::write(
            &pack,
            format!("[[watch]]\nname = \"deep-{name}\"\nseverity = \"low\"\nquery = \"{query}\"\n"),
        )
        .unwrap();
        let mut text = std::fs::read_to_string(&cfg).unwrap();
        text = text.replacen(
            "rules = [",
            &format!("rules = [\"{}\", ", pack.display()),
            1,
        );
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, &text).unwrap();
        let out = run(
            dir.path(),
            &["--config", broken.to_str().unwrap(), "check"],
            None,
        );
        assert_eq!(out.status.code(), Some(78), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("deep.toml:4:"),
            "{name}: located: {}",
            stderr(&out)
        );
        // The same config brought in by SIGHUP.
        let good = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, &text).unwrap();
        seen.clear();
        d.signal("HUP");
        assert!(
            wait_msg(&sock, &mut seen, "STATUS=reload failed", 10),
            "{name}: {seen:?}\n{}",
            d.log()
        );
        assert!(
            seen.last().unwrap().contains("deep.toml:4:"),
            "{name}: {seen:?}"
        );
        assert!(d.alive(), "{name}: alive after the reload\n{}", d.log());
        std::fs::write(&cfg, good).unwrap();
    }
    let before = srv.hits("/a.xml");
    assert!(
        wait_for(15, || srv.hits("/a.xml") > before),
        "the old config keeps polling: {}",
        d.log()
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(15), Some(0), "{}", d.log());
}
