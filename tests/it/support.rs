//! Test support: a loopback HTTP feed server that honours ETag and records
//! requests, temporary config directories, and running the binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// One route of the feed server.
#[derive(Clone)]
pub struct Route {
    pub body: Vec<u8>,
    pub content_type: String,
    pub etag: Option<String>,
    pub status: u16,
    /// Answer 500 to this many requests before answering normally.
    pub fail_first: usize,
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// While failing: the status and extra header lines to answer with
    /// (default 500 and none).
    pub fail_with: Option<(u16, String)>,
    /// A scripted answer: status line and headers (no Content-Length), the
    /// body, and how long to stall between the headers and the body.
    pub raw: Option<(String, Vec<u8>, u64)>,
    /// Requests whose body contains this text are answered with this
    /// status and body, every time.
    pub reject: Option<(String, u16, String)>,
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
    /// When the request had been read (Unix ms).
    pub at_ms: i64,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed routes.
pub struct FeedServer {
    pub addr: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr").to_string();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let seen: Arc<Mutex<Vec<SeenRequest>>> = Arc::default();
        let (r, s) = (Arc::clone(&routes), Arc::clone(&seen));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (r, s) = (Arc::clone(&r), Arc::clone(&s));
                std::thread::spawn(move || handle(conn, &r, &s));
            }
        });
        FeedServer { addr, routes, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        content_type: &str,
        etag: Option<&str>,
    ) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: body.into(),
                content_type: content_type.into(),
                etag: etag.map(str::to_string),
                status: 200,
                fail_first: 0,
                delay_ms: 0,
                raw: None,
                fail_with: None,
                reject: None,
            },
        );
    }

    pub fn set_status(&self, path: &str, status: u16) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: b"nope".to_vec(),
                content_type: "text/plain".into(),
                etag: None,
                status,
                fail_first: 0,
                delay_ms: 0,
                raw: None,
                fail_with: None,
                reject: None,
            },
        );
    }

    /// A webhook receiver at `path`: answers 204 after failing `fail_first`
    /// times and waiting `delay_ms` each time.
    pub fn hook(&self, path: &str, fail_first: usize, delay_ms: u64) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: Vec::new(),
                content_type: "text/plain".into(),
                etag: None,
                status: 204,
                fail_first,
                delay_ms,
                raw: None,
                fail_with: None,
                reject: None,
            },
        );
    }

    /// A scripted answer at `path`: `head` is the status line and headers
    /// (each ending in CRLF, no Content-Length); the connection stalls
    /// `stall_ms` after the headers.
    pub fn set_raw(&self, path: &str, head: &str, body: impl Into<Vec<u8>>, stall_ms: u64) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: Vec::new(),
                content_type: String::new(),
                etag: None,
                status: 200,
                fail_first: 0,
                delay_ms: 0,
                raw: Some((head.to_string(), body.into(), stall_ms)),
                fail_with: None,
                reject: None,
            },
        );
    }

    /// A webhook receiver that answers `status` with `headers` (CRLF-ended
    /// lines) `times` times, then 204.
    pub fn hook_failing_with(&self, path: &str, times: usize, status: u16, headers: &str) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: Vec::new(),
                content_type: "text/plain".into(),
                etag: None,
                status: 204,
                fail_first: times,
                delay_ms: 0,
                raw: None,
                fail_with: Some((status, headers.to_string())),
                reject: None,
            },
        );
    }

    /// A webhook receiver at `path` that answers `status` with `body` to
    /// every request whose body contains `needle`, and 204 to the others.
    pub fn hook_rejecting(&self, path: &str, needle: &str, status: u16, body: &str) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body: Vec::new(),
                content_type: "text/plain".into(),
                etag: None,
                status: 204,
                fail_first: 0,
                delay_ms: 0,
                raw: None,
                fail_with: None,
                reject: Some((needle.to_string(), status, body.to_string())),
            },
        );
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// The POSTs received at `path`, in order.
    pub fn posts(&self, path: &str) -> Vec<SeenRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .collect()
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap().clone()
    }
}

fn handle(
    mut conn: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    seen: &Mutex<Vec<SeenRequest>>,
) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let method = line.split_whitespace().next().unwrap_or("GET").to_string();
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                content_length = v.trim().parse().unwrap_or(0);
            }
            headers.insert(k, v.trim().to_string());
        }
    }
    let mut body = vec![0; content_length];
    let _ = reader.read_exact(&mut body);
    let route = {
        let mut routes = routes.lock().unwrap();
        let failing = routes.get(&path).is_some_and(|r| r.fail_first > 0);
        if failing && let Some(r) = routes.get_mut(&path) {
            r.fail_first -= 1;
        }
        routes.get(&path).cloned().map(|mut r| {
            if failing {
                match r.fail_with.take() {
                    Some((st, headers)) => {
                        r.raw = Some((
                            format!("HTTP/1.1 {st} Failing\r\n{headers}"),
                            b"busy".to_vec(),
                            0,
                        ));
                        r.status = st;
                    }
                    None => r.status = 500,
                }
            }
            if let Some((needle, st, said)) = r.reject.take()
                && String::from_utf8_lossy(&body).contains(&needle)
            {
                r.raw = Some((format!("HTTP/1.1 {st} Refused\r\n"), said.into_bytes(), 0));
                r.status = st;
            }
            r
        })
    };
    let status = route.as_ref().map_or(404, |r| r.status);
    seen.lock().unwrap().push(SeenRequest {
        method,
        path: path.clone(),
        headers: headers.clone(),
        body,
        status,
        at_ms: chrono::Utc::now().timestamp_millis(),
    });
    if let Some(r) = &route
        && r.delay_ms > 0
    {
        std::thread::sleep(std::time::Duration::from_millis(r.delay_ms));
    }
    if let Some(Some((head, body, stall))) = route.as_ref().map(|r| r.raw.clone()) {
        let h = format!(
            "{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(h.as_bytes());
        let _ = conn.flush();
        if stall > 0 {
            std::thread::sleep(std::time::Duration::from_millis(stall));
        }
        let _ = conn.write_all(&body);
        let _ = conn.flush();
        return;
    }
    let resp = match route {
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
        Some(r) if r.status == 204 => {
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec()
        }
        Some(r) if r.status != 200 => format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            r.status,
            r.body.len()
        )
        .into_bytes(),
        Some(r) => {
            if let (Some(tag), Some(inm)) = (&r.etag, headers.get("if-none-match"))
                && inm == tag
            {
                format!("HTTP/1.1 304 Not Modified\r\nETag: {tag}\r\nConnection: close\r\n\r\n")
                    .into_bytes()
            } else {
                let mut head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    r.content_type,
                    r.body.len()
                );
                if let Some(tag) = &r.etag {
                    head.push_str(&format!("ETag: {tag}\r\n"));
                }
                head.push_str("\r\n");
                let mut v = head.into_bytes();
                v.extend_from_slice(&r.body);
                v
            }
        }
    };
    let _ = conn.write_all(&resp);
    let _ = conn.flush();
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture file's text.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(name)).expect("fixture exists")
}

/// The shipped rule packs, as a `rules` value.
pub fn shipped_rules() -> String {
    format!("{}/config/rules/*.toml", root().display())
}

/// Runs the binary with `args`, optional stdin, in `dir`.
/// Tests reach only loopback: no proxy from the environment.
fn no_proxy(cmd: &mut Command) {
    for k in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env_remove(k).env_remove(k.to_ascii_lowercase());
    }
}

pub fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newswatch"));
    no_proxy(&mut cmd);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NEWSWATCH_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "info")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn newswatch");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        si.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait newswatch")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared` next to the project, or `None` (with a visible message) when
/// it is absent; under `CI=true` its absence fails the test.
pub fn shared_dir() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared is missing, and CI=true: the corpus tests cannot run");
    }
    eprintln!("SKIPPED: ../shared is not present next to the project; corpus tests skipped");
    None
}

/// Waits until `cond` holds, checking every 50 ms, for at most `secs`.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cond()
}

/// A `newswatch run` child process with its stderr in a file.
pub struct Daemon {
    pub child: std::process::Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path, config: &Path) -> Daemon {
        Self::start_with(dir, config, &[])
    }

    pub fn start_with(dir: &Path, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let log = dir.join(format!(
            "daemon-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let f = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_newswatch"));
        no_proxy(&mut cmd);
        cmd.args(["--config", config.to_str().unwrap(), "run"])
            .current_dir(dir)
            .env_remove("NEWSWATCH_CONFIG")
            .env_remove("STATE_DIRECTORY")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(f);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn newswatch run");
        let d = Daemon { child, log };
        d.wait_started();
        d
    }

    /// Waits until the process has entered `main` (its first act is to
    /// block SIGTERM, SIGINT and SIGHUP, which /proc shows), or has exited.
    /// Before that the kernel and the dynamic loader are still mapping the
    /// binary, and a signal meets its default action whatever the program
    /// does; from then on a signal is the program's to handle.
    pub fn wait_started(&self) {
        let status = format!("/proc/{}/status", self.child.id());
        let mask = |s: &str, key: &str| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                .unwrap_or(0)
        };
        let term = 1u64 << (15 - 1);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match std::fs::read_to_string(&status) {
                // Blocked (main has begun) or caught (its handler is in).
                Ok(s) if (mask(&s, "SigBlk:") | mask(&s, "SigCgt:")) & term != 0 => return,
                // Gone already (or no /proc): nothing to wait for.
                Err(_) => return,
                Ok(s) if s.contains("State:\tZ") => return,
                Ok(_) => {}
            }
            assert!(
                std::time::Instant::now() < end,
                "newswatch run did not reach main within 10 s"
            );
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{sig}");
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit, at most `secs`; its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A small SMTP server on 127.0.0.1 (no TLS, no auth) that keeps what it
/// is sent. A message whose data contains `refuse` (when set) is answered
/// `554` after its data.
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse: Arc<Mutex<Option<String>>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let refuse: Arc<Mutex<Option<String>>> = Arc::default();
        let (m, r) = (Arc::clone(&mails), Arc::clone(&refuse));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (m, r) = (Arc::clone(&m), Arc::clone(&r));
                std::thread::spawn(move || smtp_session(conn, &m, &r));
            }
        });
        SmtpServer {
            port,
            mails,
            refuse,
        }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn refuse(&self, needle: &str) {
        *self.refuse.lock().unwrap() = Some(needle.to_string());
    }
}

fn smtp_session(conn: TcpStream, mails: &Mutex<Vec<Mail>>, refuse: &Mutex<Option<String>>) {
    let mut w = conn.try_clone().expect("clone stream");
    let mut r = BufReader::new(conn);
    let mut say = |s: &str| {
        let _ = w.write_all(s.as_bytes());
        let _ = w.flush();
    };
    say("220 test.localhost ESMTP\r\n");
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let up = line.to_ascii_uppercase();
        if up.starts_with("EHLO") || up.starts_with("HELO") {
            say("250-test.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        } else if up.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            say("250 OK\r\n");
        } else if up.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            say("250 OK\r\n");
        } else if up.starts_with("DATA") {
            say("354 go ahead\r\n");
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            let refused = refuse
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|n| data.contains(n.as_str()));
            if refused {
                say("554 5.6.0 message content refused\r\n");
            } else {
                mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                say("250 OK queued\r\n");
            }
        } else if up.starts_with("RSET") || up.starts_with("NOOP") {
            say("250 OK\r\n");
        } else if up.starts_with("QUIT") {
            say("221 bye\r\n");
            return;
        } else {
            say("502 not implemented\r\n");
        }
    }
}
