//! The read commands: `matches`, `alerts` (and `alerts retry`, `alerts
//! test`) and `feeds`.

use super::{AlertsAction, load_config, runtime};
use crate::daemon::{self, dispatch, service};
use crate::store::{self, Store};
use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub(super) fn matches(
    path: &Path,
    since: Duration,
    watch: Option<&str>,
    limit: usize,
    as_json: bool,
) -> Result<u8> {
    let cfg = load_config(path)?;
    let st = Store::open_read_only(&cfg.storage.path)?;
    let rows = st.recent_matches(daemon::now() - since.as_secs() as i64, watch, limit)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for r in rows {
        // The meeting goes with the coalition-meeting match.
        let event = r
            .article
            .event
            .as_ref()
            .filter(|_| r.watch.watch == crate::facts::MEETING_WATCH);
        if as_json {
            let mut line = json!({
                "matched_at": crate::alert::rfc3339(r.matched_at),
                "watch": r.watch.watch,
                "severity": r.watch.severity.as_str(),
                "score": r.watch.score,
                "title": r.article.title,
                "url": r.article.url,
                "feed": r.article.feed_name,
                "sightings": r.sightings,
                "also_seen_in": r.also_seen_in.iter().map(|(f, _, u)| json!({"feed": f, "url": u})).collect::<Vec<_>>(),
                "snippet": r.watch.snippet,
            });
            if let Some((id, facts)) = event {
                let mut e = serde_json::to_value(facts)?;
                e["id"] = json!(id);
                line["event"] = e;
            }
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}  {:<18} [{}] {}  ({}{})",
                crate::alert::rfc3339(r.matched_at),
                r.watch.watch,
                r.watch.severity,
                r.article.title,
                r.article.feed_name,
                if r.sightings > 0 {
                    format!(", +{} sightings", r.sightings)
                } else {
                    String::new()
                }
            )?;
            if let Some(line) = event.and_then(|(_, f)| f.line()) {
                writeln!(out, "    {line}")?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

pub(super) fn alerts(
    path: &Path,
    state: Option<&str>,
    limit: usize,
    as_json: bool,
    action: Option<AlertsAction>,
) -> Result<u8> {
    let cfg = load_config(path)?;
    match action {
        Some(AlertsAction::Retry { id, dead }) => {
            if id.is_none() && !dead {
                anyhow::bail!("say which alert to retry (an id from `newswatch alerts`) or --dead");
            }
            // With no daemon running, as the database's owner (lock held,
            // migrations run). Beside a running daemon, one short UPDATE
            // transaction without the lock and without migrating (SQLite
            // serializes the two writers; a schema older than ours is
            // refused, naming the daemon's PID); its dispatcher picks the
            // alert up at its next round.
            let (_lock, mut st) = match store::lock(&cfg.storage.path) {
                Ok(lock) => (Some(lock), Store::open(&cfg.storage.path)?),
                Err(store::StoreError::Locked { .. }) => {
                    (None, Store::open_beside_owner(&cfg.storage.path)?)
                }
                Err(e) => return Err(e.into()),
            };
            let n = st.requeue(id.as_deref(), dispatch::now_ms())?;
            println!("{n} alert(s) requeued");
            return Ok(if n == 0 && id.is_some() { 1 } else { 0 });
        }
        Some(AlertsAction::Enable { sink }) => {
            if !cfg.sinks.iter().any(|s| s.name == sink) {
                anyhow::bail!("no sink named {sink:?} in {}", path.display());
            }
            let (_lock, mut st) = match store::lock(&cfg.storage.path) {
                Ok(lock) => (Some(lock), Store::open(&cfg.storage.path)?),
                Err(store::StoreError::Locked { .. }) => {
                    (None, Store::open_beside_owner(&cfg.storage.path)?)
                }
                Err(e) => return Err(e.into()),
            };
            let n = st.enable_sink(&sink, dispatch::now_ms())?;
            println!("sink {sink} enabled; {n} pending alert(s) due now");
            return Ok(0);
        }
        Some(AlertsAction::Test { sink }) => {
            let Some(s) = cfg.sinks.iter().find(|s| s.name == sink) else {
                anyhow::bail!("no sink named {sink:?} in {}", path.display());
            };
            let client = service::delivery_client(&cfg).map_err(anyhow::Error::msg)?;
            let outcome = runtime()?.block_on(dispatch::send_test(s, &client));
            return match outcome {
                crate::alert::Delivery::Delivered => {
                    println!("test message delivered to {sink} ({})", s.kind.as_str());
                    Ok(0)
                }
                crate::alert::Delivery::Failed { error, .. } => {
                    eprintln!("newswatch: test message to {sink} failed: {error}");
                    Ok(1)
                }
            };
        }
        None => {}
    }
    let state = match state.map(|s| (s, store::OutboxState::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => {
            eprintln!(
                "newswatch: unknown state {s:?}; expected pending, delivered, dead or suppressed"
            );
            return Ok(2);
        }
    };
    let st = Store::open_read_only(&cfg.storage.path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let t = crate::alert::rfc3339;
    if state.is_none() {
        let names: Vec<String> = cfg.sinks.iter().map(|s| s.name.clone()).collect();
        sink_lines(&mut out, &st.sink_queues(&names)?, as_json)?;
    }
    for a in st.list_alerts(state, limit)? {
        if as_json {
            let line = json!({
                "type": "alert", "id": a.id, "sink": a.sink, "state": a.state.as_str(), "attempts": a.attempts,
                "detected_at": t(a.created_at), "delivered_at": a.delivered_at.map(t),
                "next_attempt": (a.state == store::OutboxState::Pending).then(|| crate::alert::rfc3339_ms(a.next_attempt_ms)),
                "last_error": a.last_error, "title": a.title, "url": a.url, "feed": a.feed,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}  {:<10} {:<10} {:>2} tries  {}  ({})",
                a.id,
                a.state.as_str(),
                a.sink,
                a.attempts,
                a.title,
                a.feed
            )?;
            if let Some(e) = &a.last_error {
                writeln!(out, "    last error: {e}")?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

/// Each sink's health and queue, before the alerts.
fn sink_lines(out: &mut impl Write, queues: &[store::SinkQueue], as_json: bool) -> Result<()> {
    let now = dispatch::now_ms();
    let ms = crate::alert::rfc3339_ms;
    for q in queues {
        let h = &q.health;
        let age = q
            .oldest_pending
            .map(|c| (now / 1000).saturating_sub(c).max(0));
        if as_json {
            let line = json!({
                "type": "sink", "sink": q.sink, "state": h.condition.as_str(),
                "since": (h.condition != store::SinkCondition::Ok).then(|| ms(h.since_ms)),
                "reason": h.reason, "failed_in_a_row": h.streak,
                "last_success": h.last_success_ms.map(ms), "last_failure": h.last_failure_ms.map(ms),
                "pending": q.pending, "dead": q.dead, "oldest_pending_age_s": age,
                "next_attempt": q.next_due_ms.map(ms),
            });
            writeln!(out, "{line}")?;
            continue;
        }
        let state = match h.condition {
            store::SinkCondition::Ok => "ok".to_string(),
            store::SinkCondition::Down => format!("down since {}", ms(h.since_ms)),
            c => format!(
                "{}: {}",
                c.as_str(),
                h.reason.as_deref().unwrap_or("(no reason recorded)")
            ),
        };
        let waiting = match age {
            Some(a) => format!("{} pending (oldest {})", q.pending, human_age(a)),
            None => "0 pending".to_string(),
        };
        writeln!(
            out,
            "sink {:<12} {state}; {waiting}; {} dead",
            q.sink, q.dead
        )?;
        if h.condition == store::SinkCondition::Down
            && let Some(r) = &h.reason
        {
            writeln!(out, "    reason: {r}")?;
        }
    }
    if !as_json && !queues.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// `95s`, `12m`, `3h`, `2d`.
fn human_age(s: i64) -> String {
    match s {
        ..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub(super) fn feeds(path: &Path, as_json: bool) -> Result<u8> {
    let cfg = load_config(path)?;
    let st = Store::open_read_only(&cfg.storage.path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let t = crate::alert::rfc3339;
    for f in st.feeds()? {
        let state = if f.state != store::FeedState::Active {
            f.state.as_str()
        } else if f.error_streak >= crate::schedule::LONG_STREAK {
            "failing"
        } else if f.error_streak > 0 {
            "erroring"
        } else if f.last_polled_at.is_none() {
            "new"
        } else if f.error_kind == Some(crate::model::ErrorKind::Partial) {
            "partial"
        } else {
            "ok"
        };
        if as_json {
            let line = json!({
                "url": f.url, "name": f.name, "state": state, "state_reason": f.state_reason,
                "last_polled": f.last_polled_at.map(t), "last_success": f.last_success_at.map(t),
                "next_poll": f.next_poll_at.map(t), "interval_s": f.interval_s,
                "retry_until": f.retry_until.map(t), "last_status": f.last_status,
                "error_streak": f.error_streak, "error_kind": f.error_kind.map(|k| k.as_str()), "last_error": f.last_error,
                "items": f.items_seen,
            });
            writeln!(out, "{line}")?;
        } else {
            let interval = f
                .interval_s
                .map(|s| format!("every {}m", (s + 59) / 60))
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{:<9} {:<30} {:>4} items  {:<10} next {}  {}",
                state,
                f.name,
                f.items_seen,
                interval,
                f.next_poll_at.map(t).unwrap_or_else(|| "-".into()),
                f.url
            )?;
            if let Some(r) = &f.state_reason {
                writeln!(out, "          reason: {r}")?;
            }
            if f.error_kind == Some(crate::model::ErrorKind::Partial)
                && let Some(e) = &f.last_error
            {
                writeln!(out, "          read in part: {e}")?;
            } else if let Some(e) = &f.last_error {
                writeln!(
                    out,
                    "          last error ({}, {} in a row): {e}",
                    f.error_kind.map_or("error", |k| k.as_str()),
                    f.error_streak
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}
