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
    if text
        .lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v.get("facts").is_some())
    {
        return eval_facts(file, &text, as_json);
    }
    let mut items = Vec::new();
    for (n, v) in jsonl(file, &text)? {
        let s = |k: &str| text_field(&v, k);
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
                n
            );
        }
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("line {}", n),
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

/// The non-empty lines of a JSON Lines file, parsed, with their line
/// numbers (1-based); a bad line is an error naming it.
fn jsonl(file: &Path, text: &str) -> Result<Vec<(usize, serde_json::Value)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad JSON", file.display(), n + 1))?;
        out.push((n + 1, v));
    }
    Ok(out)
}

/// A text field of a labelled item as plain text ("" when absent).
fn text_field(v: &serde_json::Value, k: &str) -> String {
    v.get(k)
        .and_then(|x| x.as_str())
        .map(crate::text::html_to_text)
        .unwrap_or_default()
}

/// The fields of the meeting facts scored by `eval`.
const FACT_FIELDS: [&str; 9] = [
    "forum",
    "city",
    "country",
    "date",
    "hosts",
    "officials",
    "participants",
    "stage",
    "all",
];

/// `eval` on a facts set (`{id, published, title, summary, content,
/// facts}` per line): each field of the extracted facts against the
/// labelled ones, exact (a field absent from both is right; one extracted
/// but not labelled is wrong; a forum written as another of its names in
/// the forum table, "OSCE" for its full name, is the same forum, and a
/// place written as another of its gazetteer names, "Marrakech" for
/// "Marrakesh", the same place), then every item with a wrong field.
fn eval_facts(file: &Path, text: &str, as_json: bool) -> Result<u8> {
    let mut right = [0usize; FACT_FIELDS.len()];
    let mut items = 0usize;
    let mut wrong: Vec<serde_json::Value> = Vec::new();
    for (n, v) in jsonl(file, text)? {
        let s = |k: &str| text_field(&v, k);
        let published = v
            .get("published")
            .and_then(|p| p.as_str())
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .map(|d| d.timestamp())
            .with_context(|| format!("{}:{}: no RFC 3339 `published`", file.display(), n))?;
        let got = crate::facts::extract(&s("title"), &s("summary"), &s("content"), published);
        let got = serde_json::to_value(&got)?;
        let want = v.get("facts").cloned().unwrap_or_default();
        items += 1;
        let mut bad = Vec::new();
        for (k, field) in FACT_FIELDS.iter().take(FACT_FIELDS.len() - 1).enumerate() {
            let right_now = match (*field, want.get(*field), got.get(*field)) {
                (
                    "forum",
                    Some(serde_json::Value::String(w)),
                    Some(serde_json::Value::String(g)),
                ) => crate::facts::same_forum(w, g),
                _ => same_fact(want.get(*field), got.get(*field)),
            };
            if right_now {
                right[k] += 1;
            } else {
                bad.push(json!({"field": field, "want": want.get(*field), "got": got.get(*field)}));
            }
        }
        if bad.is_empty() {
            right[FACT_FIELDS.len() - 1] += 1;
        } else {
            wrong.push(json!({"id": v.get("id"), "title": s("title"), "wrong": bad}));
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let share = |k: usize| right[k] as f64 / items.max(1) as f64;
    if as_json {
        let fields: Vec<serde_json::Value> = FACT_FIELDS
            .iter()
            .enumerate()
            .map(|(k, f)| json!({"field": f, "right": right[k], "share": share(k)}))
            .collect();
        writeln!(
            out,
            "{}",
            json!({"items": items, "fields": fields, "wrong": wrong})
        )?;
    } else {
        writeln!(out, "{items} items with meeting facts")?;
        writeln!(out, "{:<14} {:>7} {:>9}", "field", "right", "exact")?;
        for (k, f) in FACT_FIELDS.iter().enumerate() {
            writeln!(out, "{f:<14} {:>7} {:>9.3}", right[k], share(k))?;
        }
        if !wrong.is_empty() {
            writeln!(out, "\nwrong fields:")?;
        }
        for w in &wrong {
            writeln!(out, "{} {}", w["id"], w["title"])?;
            for b in w["wrong"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "   {}: want {} got {}",
                    b["field"], b["want"], b["got"]
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

/// Whether an extracted field equals the labelled one: names in the
/// matcher's normalization (no case, no accents), lists as sets, absent on
/// both sides counts as equal.
fn same_fact(want: Option<&serde_json::Value>, got: Option<&serde_json::Value>) -> bool {
    let norm = |v: &serde_json::Value| -> serde_json::Value {
        match v {
            serde_json::Value::String(s) => {
                serde_json::Value::String(crate::text::normalize_text(s))
            }
            serde_json::Value::Array(a) => {
                let mut xs: Vec<String> = a
                    .iter()
                    .filter_map(|x| x.as_str().map(crate::text::normalize_text))
                    .collect();
                xs.sort();
                xs.dedup();
                json!(xs)
            }
            other => other.clone(),
        }
    };
    let empty = |v: Option<&serde_json::Value>| {
        v.is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
    };
    match (empty(want), empty(got)) {
        (true, true) => true,
        (false, false) => want.map(norm) == got.map(norm),
        _ => false,
    }
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
            if ms.iter().any(|m| m.watch == crate::facts::MEETING_WATCH) {
                let published = v
                    .get("published")
                    .and_then(|p| p.as_str())
                    .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
                    .map_or_else(crate::daemon::now, |d| d.timestamp());
                let facts = crate::facts::extract(
                    &field("title"),
                    &field("summary"),
                    &field("content"),
                    published,
                );
                line["event"] = serde_json::to_value(facts)?;
            }
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
        if m.watch == crate::facts::MEETING_WATCH {
            let facts = crate::facts::extract(&title, "", &content, crate::daemon::now());
            if let Some(line) = facts.line() {
                writeln!(out, "  {line}")?;
            }
        }
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
