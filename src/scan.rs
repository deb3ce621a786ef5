//! The scan engine: feed documents on disk read, parsed and matched on one
//! worker per core, handed to the caller in the order given (a reorder
//! buffer; workers stay at most [`AHEAD`] files ahead, so memory is
//! bounded however slow one file is). A panic on one file becomes that
//! file's error and leaves no hole in the order. No network, no storage:
//! `cli::scan` prints and stores what this hands it.

use crate::config::Config;
use crate::daemon::pipeline;
use crate::parse::parse_feed;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How many files the workers may run ahead of the caller.
const AHEAD: usize = 32;

/// One scanned file: its display name and its matched items, or why it
/// could not be read.
pub(crate) struct Scanned {
    /// The file as given (`-` for standard input).
    pub(crate) source: String,
    /// Its items, matched (never routed: a scan alerts nobody).
    pub(crate) items: Result<Vec<crate::model::MatchedArticle>, String>,
    /// Why it was read only in part, if it was.
    pub(crate) partial: Option<String>,
}

/// Reads, parses and matches one file (a worker's share of a scan).
fn scan_one(cfg: &Config, f: &Path) -> Scanned {
    let source = f.display().to_string();
    let bytes = if source == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(f)
    };
    let mut partial = None;
    let items = match bytes {
        Ok(b) => parse_feed(&b, None).map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
    .map(|parsed| {
        partial = parsed.partial;
        pipeline::match_articles(cfg, parsed.articles, &[], |_| true)
    });
    Scanned {
        source,
        items,
        partial,
    }
}

/// Scans `files` on every core and calls `each(i, scanned)` for file `i`
/// in order, on this thread. The first error `each` returns stops the
/// workers and is returned.
pub(crate) fn scan_in_order(
    cfg: &Config,
    files: &[PathBuf],
    mut each: impl FnMut(usize, Scanned) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let consumed = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Scanned)>(AHEAD);
        for _ in 0..workers {
            let (tx, next, consumed, stopped) = (tx.clone(), &next, &consumed, &stopped);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len() {
                        break;
                    }
                    while i >= consumed.load(Ordering::Acquire) + AHEAD
                        && !stopped.load(Ordering::Relaxed)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    // A panic on one file must not leave a hole in the order
                    // (the caller would wait for it forever).
                    let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        scan_one(cfg, &files[i])
                    }))
                    .unwrap_or_else(|_| Scanned {
                        source: files[i].display().to_string(),
                        items: Err("internal error while scanning this file".to_string()),
                        partial: None,
                    });
                    if tx.send((i, scanned)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: std::collections::BTreeMap<usize, Scanned> = Default::default();
        let mut want = 0usize;
        let result = (|| -> anyhow::Result<()> {
            for (i, scanned) in &rx {
                ready.insert(i, scanned);
                while let Some(sc) = ready.remove(&want) {
                    want += 1;
                    consumed.store(want, Ordering::Release);
                    each(want - 1, sc)?;
                }
            }
            Ok(())
        })();
        // On an error (a closed stdout, a store failure) the workers stop.
        stopped.store(true, Ordering::Relaxed);
        drop(rx);
        result
    })
}
