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
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub path: String,
    pub headers: HashMap<String, String>,
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
            },
        );
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
    seen.lock().unwrap().push(SeenRequest {
        path: path.clone(),
        headers: headers.clone(),
    });
    let route = routes.lock().unwrap().get(&path).cloned();
    let resp = match route {
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
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
pub fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newswatch"));
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
