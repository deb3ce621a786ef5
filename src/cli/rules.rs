//! `eval` and `test-rules`: the rules against labelled items, and why
//! each fired or not.

use super::load_config;
use crate::config::Config;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{BufRead, Read, Write};
use std::path::Path;

pub(super) fn eval(path: &Path, file: &Path, as_json: bool) -> Result<u8> {
    use crate::rules::labelled::{self, Labelled};
    let cfg = load_config(path)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad JSON", file.display(), n + 1))?;
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(crate::text::html_to_text)
                .unwrap_or_default()
        };
        let mut labels: Vec<String> = v
            .get("labels")
            .and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(l) = v.get("label").and_then(|l| l.as_str()) {
            labels.push(l.to_string());
        }
        if labels.is_empty() {
            anyhow::bail!(
                "{}:{}: no `label` (use \"none\" for an article no watch should flag)",
                file.display(),
                n + 1
            );
        }
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("line {}", n + 1),
        };
        items.push(Labelled {
            id,
            title: s("title"),
            summary: s("summary"),
            content: s("content"),
            labels,
            lang: v.get("lang").and_then(|l| l.as_str()).map(str::to_string),
        });
    }
    let rep = labelled::score(&cfg.rules, &items);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if as_json {
        let figures: Vec<serde_json::Value> = rep
            .figures
            .iter()
            .map(|f| json!({"watch": f.name, "tp": f.tp, "fp": f.fp, "fn": f.fn_, "precision": f.precision, "recall": f.recall, "f1": f.f1}))
            .collect();
        let misses: Vec<serde_json::Value> = rep
            .misses
            .iter()
            .map(|m| json!({"kind": m.kind, "watch": m.watch, "id": m.id, "title": m.title, "fired": m.fired, "detail": m.detail}))
            .collect();
        let exact: Vec<serde_json::Value> = rep
            .exact
            .iter()
            .map(|(l, r, n)| json!({"lang": l, "right": r, "items": n, "share": *r as f64 / (*n).max(1) as f64}))
            .collect();
        writeln!(
            out,
            "{}",
            json!({"items": rep.items, "figures": figures, "exact": exact, "misses": misses})
        )?;
    } else {
        writeln!(out, "{} labelled items", rep.items)?;
        writeln!(
            out,
            "{:<20} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}",
            "watch", "precision", "recall", "F1", "tp", "fp", "fn"
        )?;
        for f in &rep.figures {
            writeln!(
                out,
                "{:<20} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}",
                f.name, f.precision, f.recall, f.f1, f.tp, f.fp, f.fn_
            )?;
        }
        let shares: Vec<String> = rep
            .exact
            .iter()
            .map(|(l, r, n)| {
                format!(
                    "{l} {r}/{n} ({:.1}%)",
                    100.0 * *r as f64 / (*n).max(1) as f64
                )
            })
            .collect();
        writeln!(out, "exactly right, by language: {}", shares.join(", "))?;
        if !rep.misses.is_empty() {
            writeln!(out, "\nmisclassified:")?;
        }
        for m in &rep.misses {
            let fired = if m.fired.is_empty() {
                "nothing".to_string()
            } else {
                m.fired.join(", ")
            };
            writeln!(out, "{} {:<18} {:<10} {}", m.kind, m.watch, m.id, m.title)?;
            let what = if m.kind == "FP" { "terms" } else { "missing" };
            writeln!(out, "   fired: {fired}; {what}: {}", m.detail)?;
        }
    }
    out.flush()?;
    Ok(0)
}

pub(super) fn explain_json(
    cfg: &Config,
    title: &str,
    summary: &str,
    content: &str,
) -> serde_json::Value {
    cfg.rules
        .explain(title, summary, content)
        .into_iter()
        .map(|e| json!({"watch": e.watch, "fired": e.fired, "score": e.score, "min_score": e.min_score, "tree": e.tree}))
        .collect()
}

pub(super) fn test_rules(path: &Path, jsonl: bool, explain: bool) -> Result<u8> {
    let cfg = load_config(path)?;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if jsonl {
        let mut bad = 0;
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("cannot read standard input")?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(e) => {
                    bad += 1;
                    writeln!(
                        out,
                        "{}",
                        json!({"line": n + 1, "error": format!("bad JSON: {e}")})
                    )?;
                    continue;
                }
            };
            let field = |k: &str| {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .map(crate::text::html_to_text)
                    .unwrap_or_default()
            };
            let ms = cfg
                .rules
                .evaluate(&field("title"), &field("summary"), &field("content"));
            let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
            let mut line = json!({"id": id, "watches": super::scan::watches_json(&ms)});
            if explain {
                line["explain"] =
                    explain_json(&cfg, &field("title"), &field("summary"), &field("content"));
            }
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        return Ok(if bad > 0 { 1 } else { 0 });
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("cannot read standard input")?;
    let (title, content) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let (title, content) = (
        crate::text::html_to_text(title),
        crate::text::html_to_text(content),
    );
    let ms = cfg.rules.evaluate(&title, "", &content);
    if ms.is_empty() {
        writeln!(
            out,
            "no watch fired ({} watches checked)",
            cfg.rules.watches().len()
        )?;
    }
    for m in &ms {
        writeln!(out, "{} [{}] score {}", m.watch, m.severity, m.score)?;
        for t in &m.terms {
            writeln!(out, "  {:<10} {} ×{}", t.field.as_str(), t.term, t.count)?;
        }
        writeln!(out, "  snippet: {}", m.snippet)?;
    }
    let fired: Vec<&str> = ms.iter().map(|m| m.watch.as_str()).collect();
    for w in cfg
        .rules
        .watches()
        .iter()
        .filter(|w| !fired.contains(&w.name.as_str()))
    {
        writeln!(out, "{} did not fire", w.name)?;
    }
    if explain {
        for e in cfg.rules.explain(&title, "", &content) {
            let verdict = if e.fired { "fired" } else { "did not fire" };
            writeln!(
                out,
                "\n{}: {verdict} (score {}, min_score {})",
                e.watch, e.score, e.min_score
            )?;
            write!(out, "{}", e.tree)?;
        }
    }
    out.flush()?;
    Ok(0)
}
