//! `newswatch demo`: an offline tour. Serves built-in sample feeds (four
//! outlets, four languages, stories that must fire and near misses that
//! must not) and a webhook receiver on loopback, runs one cycle with the
//! shipped rule pack into a temporary database, and prints what fired and
//! what the receiver got, with each signature checked.

use crate::config;
use crate::daemon::{self, dispatch, service};
use crate::fetch::Fetcher;
use crate::store::{self, Store};
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FEEDS: &[(&str, &str, &str, &str)] = &[
    (
        "wire-en.xml",
        "Demo Wire (en)",
        "application/rss+xml",
        include_str!("demo/wire-en.xml"),
    ),
    (
        "afrique-fr.xml",
        "Demo Afrique (fr)",
        "application/atom+xml",
        include_str!("demo/afrique-fr.xml"),
    ),
    (
        "arabic.xml",
        "Demo Arabic (ar)",
        "application/rss+xml",
        include_str!("demo/arabic.xml"),
    ),
    (
        "europa.json",
        "Demo Europa (es, de)",
        "application/feed+json",
        include_str!("demo/europa.json"),
    ),
];

const PACKS: &[(&str, &str)] = &[
    ("terms.toml", include_str!("../config/rules/terms.toml")),
    ("watches.toml", include_str!("../config/rules/watches.toml")),
];

const SECRET: &str = "demo-secret-not-for-production";

/// What the loopback receiver got: (headers, body).
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, Bytes)>>>;

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    got: Received,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::POST && path == "/hook" {
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = req.into_body().collect().await?.to_bytes();
        if let Ok(mut g) = got.lock() {
            g.push((headers, body));
        }
        return Ok(Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default());
    }
    let recent = chrono::Utc::now() - chrono::Duration::hours(2);
    for (name, _, ctype, body) in FEEDS {
        if path == format!("/feeds/{name}") {
            let text = body
                .replace("{{RECENT}}", &recent.to_rfc2822())
                .replace("{{RECENT_ISO}}", &recent.to_rfc3339());
            return Ok(Response::builder()
                .header("Content-Type", *ctype)
                .body(Full::new(Bytes::from(text)))
                .unwrap_or_default());
        }
    }
    Ok(Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default())
}

/// Runs the demo, printing to `out`.
pub(crate) async fn run(out: &mut (dyn Write + Send)) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on loopback")?;
    let addr = listener.local_addr()?;
    let got: Received = Arc::default();
    let got2 = Arc::clone(&got);
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let got = Arc::clone(&got2);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(req, Arc::clone(&got)));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });

    let dir = TempDir(std::env::temp_dir().join(format!("newswatch-demo-{}", std::process::id())));
    std::fs::create_dir_all(dir.0.join("rules")).context("cannot create the demo folder")?;
    for (name, text) in PACKS {
        std::fs::write(dir.0.join("rules").join(name), text)?;
    }
    let mut toml = format!(
        "rules = [\"rules/*.toml\"]\n[storage]\npath = \"{}\"\n[http]\ntimeout = \"5s\"\n\
         [[sink]]\nname = \"receiver\"\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret = \"{SECRET}\"\n",
        dir.0.join("demo.db").display()
    );
    for (name, title, _, _) in FEEDS {
        toml.push_str(&format!(
            "[[feed]]\nurl = \"http://{addr}/feeds/{name}\"\nname = \"{title}\"\n"
        ));
    }
    let cfg_path = dir.0.join("newswatch.toml");
    std::fs::write(&cfg_path, toml)?;
    let cfg = Arc::new(config::load(&cfg_path)?);

    writeln!(
        out,
        "newswatch demo: {} sample feeds and a webhook receiver on http://{addr}",
        FEEDS.len()
    )?;
    writeln!(
        out,
        "rules: the shipped pack ({} watches); database: a temporary file\n",
        cfg.rules.watches().len()
    )?;

    let handle = store::Handle::spawn(Store::open(&cfg.storage.path)?);
    let fetcher =
        Fetcher::new(&cfg.http, cfg.full_text.allow_private).map_err(anyhow::Error::msg)?;
    let client = service::delivery_client(&cfg).map_err(anyhow::Error::msg)?;
    let ctx = daemon::PollCtx::new(Arc::clone(&cfg), fetcher, handle.clone());
    let rep = daemon::poll_all(&ctx, false).await?;
    let sink: dispatch::LogOut = Arc::new(Mutex::new(std::io::sink()));
    let round =
        dispatch::until_idle(&cfg, &client, &handle, &sink, Duration::from_secs(10)).await?;

    writeln!(
        out,
        "one cycle: {} feeds, {} new articles, {} matched, {} alerts queued, {} delivered\n",
        rep.feeds, rep.new_articles, rep.matched, rep.alerts_queued, round.delivered
    )?;
    writeln!(out, "what fired:")?;
    let rows = handle.recent_matches(0, None, 100).await?;
    for r in rows.iter().rev() {
        let mut terms: Vec<&str> = Vec::new();
        for t in &r.watch.terms {
            if !terms.contains(&t.term.as_str()) {
                terms.push(&t.term);
            }
        }
        writeln!(
            out,
            "  [{}] {:<18} {}  ({})",
            r.watch.severity, r.watch.watch, r.article.title, r.article.feed_name
        )?;
        writeln!(out, "      terms: {}", terms.join(", "))?;
        if r.watch.watch == crate::facts::MEETING_WATCH
            && let Some(line) = r.article.event.as_ref().and_then(|(_, f)| f.line())
        {
            writeln!(out, "      {line}")?;
        }
    }
    writeln!(out, "\nwhat the webhook receiver got:")?;
    let received = got.lock().map(|g| g.clone()).unwrap_or_default();
    for (headers, body) in &received {
        let h = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let ok = crate::alert::verify_signature(
            SECRET.as_bytes(),
            h("x-newswatch-timestamp"),
            body,
            h("x-newswatch-signature"),
        );
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let watches: Vec<&str> = v["watches"]
            .as_array()
            .map(|a| a.iter().filter_map(|w| w["name"].as_str()).collect())
            .unwrap_or_default();
        let also: Vec<&str> = v["also_seen_in"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["feed"].as_str()).collect())
            .unwrap_or_default();
        writeln!(
            out,
            "  POST /hook  Idempotency-Key: {}  signature: {}",
            h("idempotency-key"),
            if ok { "valid" } else { "INVALID" }
        )?;
        writeln!(
            out,
            "      [{}] {}: {}",
            v["severity"].as_str().unwrap_or("?"),
            watches.join(", "),
            v["article"]["title"].as_str().unwrap_or("?")
        )?;
        if !also.is_empty() {
            writeln!(out, "      also seen in: {}", also.join(", "))?;
        }
        if let Some(id) = v["event"]["id"].as_str() {
            writeln!(
                out,
                "      event {id}: {}",
                v["event"]["forum"].as_str().unwrap_or("(forum not named)")
            )?;
        }
    }
    let quiet = rep.new_articles.saturating_sub(rep.matched);
    writeln!(
        out,
        "\n{} alerts received, {} articles stored without alerting (near misses such as the goddess Isis, coalition budget talks, Al Shabab the football club).",
        received.len(),
        quiet
    )?;
    server.abort();
    Ok(())
}
