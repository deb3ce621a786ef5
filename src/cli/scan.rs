//! `scan`: what it prints for each file, and how `--store` stores it (one
//! transaction per 5,000 articles; an error rolls the open batch back).
//! The parallel, ordered reading itself is `crate::scan`.

use super::load_config;
use crate::daemon::{self};
use crate::model::WatchMatch;
use crate::store::{self, Store};
use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) fn watches_json(ms: &[WatchMatch]) -> serde_json::Value {
    ms.iter()
        .map(|m| {
            json!({
                "name": m.watch,
                "severity": m.severity.as_str(),
                "score": m.score,
                "terms": m.terms.iter().map(|t| json!({"term": t.term, "field": t.field.as_str(), "count": t.count})).collect::<Vec<_>>(),
                "snippet": m.snippet,
            })
        })
        .collect()
}

/// Files parsed and matched on every core (`crate::scan`); results
/// printed and stored on this thread in the order given, so output and
/// database do not depend on which worker finished first.
pub(super) fn scan(path: &Path, as_json: bool, do_store: bool, files: &[PathBuf]) -> Result<u8> {
    let cfg = Arc::new(load_config(path)?);
    // The lock outlives the connection (dropped in reverse order).
    let _lock = if do_store {
        Some(store::lock(&cfg.storage.path)?)
    } else {
        None
    };
    let mut writer = if do_store {
        Some(Store::open(&cfg.storage.path)?)
    } else {
        None
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    let now = daemon::now();
    // Articles stored in the open transaction; committed past BATCH.
    const BATCH: usize = 5_000;
    let mut in_batch = 0usize;
    crate::scan::scan_in_order(&cfg, files, |i, sc| {
        let n = sc.items.as_ref().map_or(0, Vec::len);
        if let Some(st) = writer.as_mut()
            && in_batch == 0
        {
            st.begin_batch()?;
        }
        if !scan_emit(&mut out, writer.as_mut(), &files[i], sc, as_json, now)? {
            failed += 1;
        }
        in_batch += n.max(1);
        if let Some(st) = writer.as_mut()
            && in_batch >= BATCH
        {
            st.commit_batch()?;
            in_batch = 0;
        }
        Ok(())
    })?;
    if let Some(st) = writer.as_mut()
        && in_batch > 0
    {
        st.commit_batch()?;
    }
    out.flush()?;
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Prints one scanned file's items and stores them; `false` when the file
/// could not be read or parsed.
pub(super) fn scan_emit(
    out: &mut impl Write,
    writer: Option<&mut Store>,
    f: &Path,
    sc: crate::scan::Scanned,
    as_json: bool,
    now: crate::model::Timestamp,
) -> Result<bool> {
    let crate::scan::Scanned {
        source,
        items,
        partial,
    } = sc;
    // Read only in part: an error line first, then what could be read.
    if let Some(why) = &partial {
        let e = format!("read in part: {why}");
        if as_json {
            writeln!(out, "{}", json!({"source": source, "error": e}))?;
        } else {
            writeln!(out, "{source}: error: {e}")?;
        }
    }
    let items = match items {
        Ok(items) => items,
        Err(e) => {
            if as_json {
                writeln!(out, "{}", json!({"source": source, "error": e}))?;
            } else {
                writeln!(out, "{source}: error: {e}")?;
            }
            return Ok(false);
        }
    };
    for m in &items {
        let a = &m.article;
        if as_json {
            let line = json!({
                "source": source,
                "id": a.key,
                "title": a.title,
                "link": a.url,
                "published": a.published.map(crate::alert::rfc3339),
                "lang": a.lang,
                "watches": watches_json(&m.matches),
            });
            writeln!(out, "{line}")?;
        } else {
            let fired: Vec<&str> = m.matches.iter().map(|w| w.watch.as_str()).collect();
            let tag = if fired.is_empty() {
                String::new()
            } else {
                format!("  [{}]", fired.join(", "))
            };
            writeln!(out, "{source}: {}{tag}", a.title)?;
        }
    }
    if let Some(st) = writer {
        let url = if source == "-" {
            "stdin:".to_string()
        } else {
            let canon = std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf());
            format!("file://{}", canon.display())
        };
        let row = st.ensure_feed(&url, &source, now)?;
        // Stored for the record and for search; a scan never alerts.
        let quiet: Vec<_> = items
            .into_iter()
            .map(|mut m| {
                m.routes.clear();
                m
            })
            .collect();
        st.ingest(row.id, &url, &quiet, now)?;
    }
    Ok(partial.is_none())
}
