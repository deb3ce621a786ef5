//! `check`: the config validated and summarized.

use super::EX_CONFIG;
use crate::config::{self};
use anyhow::Result;
use std::io::Write;
use std::path::Path;

pub(super) fn check(path: &Path) -> Result<u8> {
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return Ok(EX_CONFIG);
        }
    };
    let mut out = std::io::stdout().lock();
    let enabled = cfg.feeds.iter().filter(|f| f.enabled).count();
    let (terms, lists) = cfg.rules.counts();
    writeln!(out, "config:   {} (ok)", cfg.path.display())?;
    writeln!(out, "database: {}", cfg.storage.path.display())?;
    writeln!(
        out,
        "feeds:    {} ({} enabled), from {} file(s)",
        cfg.feeds.len(),
        enabled,
        1 + cfg.include_files.len()
    )?;
    writeln!(
        out,
        "rules:    {} watch(es), {} term list(s), {} distinct term(s), from {} pack(s)",
        cfg.rules.watches().len(),
        lists,
        terms,
        cfg.rule_files.len()
    )?;
    for w in cfg.rules.watches() {
        writeln!(
            out,
            "  watch {} [{}]{}",
            w.name,
            w.severity,
            w.description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )?;
    }
    let ft = &cfg.full_text;
    if ft.enabled {
        writeln!(
            out,
            "full text: pages of new items under {} words that the rules touch; wait {}s, {} per minute, {} bytes at most, {}",
            ft.min_words,
            ft.timeout.as_secs_f64(),
            ft.per_minute,
            ft.max_body,
            if ft.allow_private {
                "private addresses allowed"
            } else {
                "public addresses only (links on a feed's own origin trusted)"
            }
        )?;
    } else {
        writeln!(out, "full text: off")?;
    }
    writeln!(out, "sinks:    {}", cfg.sinks.len())?;
    for s in &cfg.sinks {
        let watches = s
            .watches
            .as_ref()
            .map_or_else(|| "every watch".to_string(), |w| w.join(", "));
        let signed = match s.secrets.len() {
            0 => String::new(),
            1 => ", signed".to_string(),
            n => format!(", signed with {n} keys"),
        };
        writeln!(
            out,
            "  sink {} ({}{}): {}, severity >= {}",
            s.name,
            s.kind.as_str(),
            signed,
            watches,
            s.min_severity
        )?;
    }
    for w in &cfg.warnings {
        writeln!(out, "warning:  {w}")?;
    }
    Ok(0)
}
