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

#[test]
fn run_speaks_the_sd_notify_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("newswatch.toml");
    std::fs::write(&cfg, format!("rules = [\"{}\"]\n[storage]\npath = \"nw.db\"\n[[sink]]\nname = \"c\"\nkind = \"log\"\n", shipped_rules())).unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut d = Daemon::start_with(
        dir.path(),
        &cfg,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
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
