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
