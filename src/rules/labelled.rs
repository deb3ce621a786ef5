//! Measuring a rule set on labelled articles (`newswatch eval`): precision,
//! recall and F1 per watch, and the misclassified items with what fired or
//! where the query fell short.
//!
//! A watch is right on an item labelled with its own name (`-` written as
//! `_`: `coalition_meeting` ↔ `coalition-meeting`); an item labelled for a
//! watch it `includes` is neutral for it; on every other item (`none`, other
//! watches) it must stay quiet. "Flagged" is any watch firing, which must
//! agree with label ≠ `none`.

use super::RuleSet;

/// One labelled article.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Its id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Content.
    pub content: String,
    /// Its labels (`none`, or watch names with `_` for `-`).
    pub labels: Vec<String>,
    /// Its language tag, when the set gives one.
    pub lang: Option<String>,
}

/// Counts and ratios for one watch (or for "flagged").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Watch name, or `flagged`.
    pub name: String,
    /// Fired on an item labelled for it.
    pub tp: usize,
    /// Fired where it should not.
    pub fp: usize,
    /// Stayed quiet on an item labelled for it.
    pub fn_: usize,
    /// tp / (tp + fp), 1 when it never fired.
    pub precision: f64,
    /// tp / (tp + fn), 1 when nothing was labelled for it.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

/// A misclassified item.
#[derive(Debug, Clone)]
pub struct Miss {
    /// `FN` (should have fired) or `FP` (should not have).
    pub kind: &'static str,
    /// The watch.
    pub watch: String,
    /// The item's id.
    pub id: String,
    /// The item's title.
    pub title: String,
    /// The watches that did fire on it.
    pub fired: Vec<String>,
    /// For FP: the terms that fired. For FN: the top-level parts of the query
    /// that did not hold (the nearest miss).
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Items scored.
    pub items: usize,
    /// Per watch, then `flagged`.
    pub figures: Vec<Figures>,
    /// Every misclassification.
    pub misses: Vec<Miss>,
    /// Per language (sorted; `-` for items without one): items on which
    /// every watch was right (fired where it must, quiet where it must,
    /// either where it is neutral), and items.
    pub exact: Vec<(String, usize, usize)>,
}

fn label_of(watch: &str) -> String {
    watch.replace('-', "_")
}

fn finish(mut f: Figures) -> Figures {
    f.precision = if f.tp + f.fp == 0 {
        1.0
    } else {
        f.tp as f64 / (f.tp + f.fp) as f64
    };
    f.recall = if f.tp + f.fn_ == 0 {
        1.0
    } else {
        f.tp as f64 / (f.tp + f.fn_) as f64
    };
    f.f1 = if f.precision + f.recall == 0.0 {
        0.0
    } else {
        2.0 * f.precision * f.recall / (f.precision + f.recall)
    };
    f
}

/// Scores `rules` on `items`.
pub fn score(rules: &RuleSet, items: &[Labelled]) -> Report {
    let mut figs: Vec<Figures> = rules
        .watches()
        .iter()
        .map(|w| Figures {
            name: w.name.clone(),
            ..Figures::default()
        })
        .collect();
    let mut flagged = Figures {
        name: "flagged".into(),
        ..Figures::default()
    };
    let mut misses = Vec::new();
    let mut exact: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for it in items {
        let ms = rules.evaluate(&it.title, &it.summary, &it.content);
        let fired: Vec<String> = ms.iter().map(|m| m.watch.clone()).collect();
        let mut right = true;
        for (w, f) in rules.watches().iter().zip(figs.iter_mut()) {
            let pos = it.labels.contains(&label_of(&w.name));
            let neutral = w.includes.iter().any(|i| it.labels.contains(&label_of(i)));
            let did = fired.contains(&w.name);
            right &= did == pos || (neutral && !pos);
            match (pos, did) {
                (true, true) => f.tp += 1,
                (true, false) => {
                    f.fn_ += 1;
                    let ex = rules.explain(&it.title, &it.summary, &it.content);
                    let detail = ex
                        .iter()
                        .find(|e| e.watch == w.name)
                        .map(|e| {
                            let failed: Vec<&str> = e
                                .tree
                                .lines()
                                .filter(|l| l.starts_with("  ✗") && !l.starts_with("   "))
                                .map(str::trim)
                                .collect();
                            if failed.is_empty() && e.score < e.min_score {
                                format!("score {} under min_score {}", e.score, e.min_score)
                            } else if failed.is_empty() {
                                e.tree.lines().next().unwrap_or("").trim().to_string()
                            } else {
                                failed.join(" | ")
                            }
                        })
                        .unwrap_or_default();
                    misses.push(Miss {
                        kind: "FN",
                        watch: w.name.clone(),
                        id: it.id.clone(),
                        title: it.title.clone(),
                        fired: fired.clone(),
                        detail,
                    });
                }
                (false, true) if !neutral => {
                    f.fp += 1;
                    let detail = ms
                        .iter()
                        .find(|m| m.watch == w.name)
                        .map(|m| {
                            m.terms
                                .iter()
                                .map(|t| format!("{} ({}×{})", t.term, t.field, t.count))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    misses.push(Miss {
                        kind: "FP",
                        watch: w.name.clone(),
                        id: it.id.clone(),
                        title: it.title.clone(),
                        fired: fired.clone(),
                        detail,
                    });
                }
                _ => {}
            }
        }
        let e = exact
            .entry(it.lang.clone().unwrap_or_else(|| "-".into()))
            .or_default();
        e.0 += usize::from(right);
        e.1 += 1;
        let labelled = it.labels.iter().any(|l| l != "none");
        match (labelled, !fired.is_empty()) {
            (true, true) => flagged.tp += 1,
            (true, false) => flagged.fn_ += 1,
            (false, true) => flagged.fp += 1,
            (false, false) => {}
        }
    }
    let mut figures: Vec<Figures> = figs.into_iter().map(finish).collect();
    figures.push(finish(flagged));
    Report {
        items: items.len(),
        figures,
        misses,
        exact: exact.into_iter().map(|(l, (r, n))| (l, r, n)).collect(),
    }
}
