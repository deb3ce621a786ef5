//! `feeds import`: OPML in, `[[feed]]` entries out.

use super::load_config;
use crate::config::{self};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub(super) fn feeds_import(path: &Path, file: &Path, out: Option<PathBuf>) -> Result<u8> {
    let cfg = load_config(path)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let found =
        crate::opml::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let mut seen: std::collections::HashSet<String> =
        cfg.feeds.iter().map(|f| f.url.clone()).collect();
    let mut fresh = Vec::new();
    let mut bad = 0;
    for f in found {
        match config::normalize_feed_url(&f.url) {
            Ok(u) if seen.insert(u.clone()) => fresh.push(crate::opml::OpmlFeed { url: u, ..f }),
            Ok(_) => {}
            Err(e) => {
                bad += 1;
                eprintln!("skipped: {e}");
            }
        }
    }
    let out = out.unwrap_or_else(|| {
        path.parent()
            .unwrap_or(Path::new("."))
            .join("feeds.d/imported.toml")
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut body = crate::opml::to_toml(&fresh);
    if out.exists() {
        // Append to an earlier import rather than replace it.
        let old = std::fs::read_to_string(&out)
            .with_context(|| format!("cannot read {}", out.display()))?;
        body = format!(
            "{old}\n{}",
            body.lines().skip(1).collect::<Vec<_>>().join("\n")
        );
    }
    std::fs::write(&out, body).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{} new feed(s) written to {}{}",
        fresh.len(),
        out.display(),
        if bad > 0 {
            format!(" ({bad} skipped)")
        } else {
            String::new()
        }
    );
    println!(
        "make sure the config includes it (include = [\"feeds.d/*.toml\"]), then `newswatch check` and reload"
    );
    Ok(0)
}

/// `feeds enable URL` (a stopped feed back in the schedule, due now) and
/// `feeds reset URL` (also its error streak and adaptive schedule cleared).
pub(super) fn feeds_enable(path: &Path, url: &str, reset: bool) -> Result<u8> {
    use crate::store::{self, Store};
    let cfg = load_config(path)?;
    let url = config::normalize_feed_url(url).map_err(anyhow::Error::msg)?;
    if !cfg.feeds.iter().any(|f| f.url == url) {
        anyhow::bail!("no feed with the URL {url} in {}", path.display());
    }
    let (_lock, mut st) = match store::lock(&cfg.storage.path) {
        Ok(lock) => (Some(lock), Store::open(&cfg.storage.path)?),
        Err(store::StoreError::Locked { .. }) => {
            (None, Store::open_beside_owner(&cfg.storage.path)?)
        }
        Err(e) => return Err(e.into()),
    };
    let now = crate::daemon::now();
    match st.restart_feed(&url, reset, now)? {
        None => {
            println!("{url} has not been polled yet; nothing to do");
            Ok(0)
        }
        Some(was) => {
            let what = if reset { "reset" } else { "enabled" };
            println!("{url} {what} (it was {was}); due now");
            Ok(0)
        }
    }
}

/// `feeds test URL`: fetch, parse and match one feed now; nothing stored.
pub(super) fn feeds_test(path: &Path, url: &str) -> Result<u8> {
    let cfg = load_config(path)?;
    let url = config::normalize_feed_url(url).map_err(anyhow::Error::msg)?;
    let fetcher = crate::fetch::Fetcher::new(&cfg.http, cfg.full_text.allow_private)
        .map_err(anyhow::Error::msg)?;
    let rt = super::runtime()?;
    let got = rt.block_on(fetcher.get(&url, &url, &crate::model::Validators::default()));
    let (bytes, final_url, content_type, status) = match got {
        Ok(crate::model::FetchOutcome::Body {
            bytes,
            final_url,
            content_type,
            status,
            ..
        }) => (bytes, final_url, content_type, status),
        Ok(crate::model::FetchOutcome::NotModified { status, .. }) => {
            println!("{url}: HTTP {status} without a body");
            return Ok(1);
        }
        Err(e) => {
            println!("{url}: cannot fetch: {e}");
            return Ok(1);
        }
    };
    println!(
        "{url}: HTTP {status}, {} bytes{}",
        bytes.len(),
        content_type
            .as_deref()
            .map(|c| format!(", {c}"))
            .unwrap_or_default()
    );
    let parsed =
        match crate::parse::parse_feed_http(&bytes, Some(&final_url), content_type.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                println!("cannot read it: {e}");
                return Ok(1);
            }
        };
    if let Some(t) = &parsed.title {
        println!("title: {t}");
    }
    match &parsed.partial {
        Some(why) => println!("read in part: {why}"),
        None => println!("read whole"),
    }
    let tags = cfg
        .feeds
        .iter()
        .find(|f| f.url == url)
        .map(|f| f.tags.clone())
        .unwrap_or_default();
    let n = parsed.articles.len();
    let items = crate::daemon::pipeline::match_articles(&cfg, parsed.articles, &tags, |_| false);
    let firing = items.iter().filter(|m| !m.matches.is_empty()).count();
    println!("{n} items, {firing} would fire:");
    for m in &items {
        let watches: Vec<String> = m
            .matches
            .iter()
            .map(|w| format!("{} [{}]", w.watch, w.severity))
            .collect();
        println!(
            "  {} {}{}",
            if watches.is_empty() { " " } else { "*" },
            m.article.title,
            if watches.is_empty() {
                String::new()
            } else {
                format!("  → {}", watches.join(", "))
            }
        );
    }
    Ok(0)
}
