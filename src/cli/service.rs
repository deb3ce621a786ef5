//! `run` and `once`: the daemon and one cycle, wired to config, store and
//! the daemon module.

use super::{load_config, runtime};
use crate::daemon::{self, dispatch, service};
use crate::fetch::Fetcher;
use crate::store::{self};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn run_daemon(path: &Path, shutdown_grace: Duration) -> Result<u8> {
    let rt = runtime()?;
    rt.block_on(async {
        // Handlers first: a SIGTERM held since `main` began, or one that
        // arrives while the config loads, stops the daemon cleanly.
        let signals =
            daemon::control::Signals::install().context("cannot install the signal handlers")?;
        let (tx, controls) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(signals.forward(tx));
        let cfg = load_config(path)?;
        let _lock = store::lock(&cfg.storage.path)?;
        let handle = store::Handle::open(&cfg.storage.path)?;
        let opts = service::Options {
            config_path: path.to_path_buf(),
            shutdown_grace,
        };
        let token = tokio_util::sync::CancellationToken::new();
        service::run(opts, cfg, handle, controls, token).await?;
        Ok(0)
    })
}

pub(super) fn once(path: &Path, deliver_timeout: Duration, progress: bool) -> Result<u8> {
    let cfg = Arc::new(load_config(path)?);
    let _lock = store::lock(&cfg.storage.path)?;
    let handle = store::Handle::open(&cfg.storage.path)?;
    let fetcher =
        Fetcher::new(&cfg.http, cfg.full_text.allow_private).map_err(anyhow::Error::msg)?;
    let client = service::delivery_client(&cfg).map_err(anyhow::Error::msg)?;
    let rt = runtime()?;
    let mut dead = 0;
    let rep = rt.block_on(async {
        let ctx = daemon::PollCtx::new(Arc::clone(&cfg), fetcher, handle.clone());
        let mut rep = daemon::poll_all(&ctx, progress).await?;
        let out: dispatch::LogOut = Arc::new(std::sync::Mutex::new(std::io::stdout()));
        let round = dispatch::until_idle(&cfg, &client, &handle, &out, deliver_timeout).await?;
        rep.delivered = round.delivered;
        dead = round.dead;
        let cutoff = daemon::now() - cfg.storage.retention.as_secs() as i64;
        let pruned = handle.prune(cutoff).await?;
        if pruned > 0 {
            tracing::info!(
                pruned,
                "retention: old unmatched articles emptied (keys kept)"
            );
        }
        rep.pending = handle.pending_count().await?;
        // Leave the database file whole and the log empty for whoever
        // opens it next (the work is done and committed either way).
        if let Err(e) = handle.checkpoint().await {
            tracing::warn!(error = %e, "could not fold the database log back into the file");
        }
        Ok::<_, store::StoreError>(rep)
    })?;
    tracing::info!(
        feeds = rep.feeds,
        failed = rep.failed,
        not_modified = rep.not_modified,
        skipped = rep.skipped,
        new_articles = rep.new_articles,
        matched = rep.matched,
        alerts_queued = rep.alerts_queued,
        delivered = rep.delivered,
        pending = rep.pending,
        dead,
        "cycle done"
    );
    // EX_TEMPFAIL: alerts wait for a later run, or some were given up.
    if rep.pending > 0 || dead > 0 {
        tracing::warn!(
            pending = rep.pending,
            dead,
            "alerts remain undelivered (see `newswatch alerts`); exiting 75"
        );
        return Ok(75);
    }
    Ok(0)
}
