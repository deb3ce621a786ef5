//! Matcher benchmark (`cargo bench --bench matcher`): the shipped rule
//! pack over news-like articles in five languages, normalization included,
//! on one core; beside it, in the same run, a plain ASCII-case-insensitive
//! Aho-Corasick scan of the same patterns over already-normalized text, and
//! the matcher with a pack ten times the size.
//!
//! Text: `--text FILE` (JSON Lines from `bench/gen_text.py`), else it is
//! generated into `target/bench-text.jsonl`. `--dump-patterns FILE` writes
//! the pack's normalized patterns for `bench/ref_matcher.py`.

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use newswatch::rules::RuleSet;
use newswatch::text::normalize;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Article {
    title: String,
    body: String,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_text() -> Vec<Article> {
    let path = match arg("--text") {
        Some(p) => PathBuf::from(p),
        None => {
            let p = root().join("target/bench-text.jsonl");
            if !p.exists() {
                let st = std::process::Command::new("python3")
                    .arg(root().join("bench/gen_text.py"))
                    .args(["--articles", "20000", "--seed", "7", "--out"])
                    .arg(&p)
                    .status()
                    .expect("python3 runs bench/gen_text.py");
                assert!(st.success(), "bench/gen_text.py failed");
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).expect("read the bench text");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Article {
            title: v["title"].as_str().unwrap_or("").to_string(),
            body: v["body"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

fn load_rules(config: &Path) -> RuleSet {
    newswatch::config::load(config)
        .expect("the config loads")
        .rules
}

/// A copy of the shipped pack with nine renamed, respelled copies of every
/// list and watch beside it: ten times the terms and watches.
fn ten_times_pack(dir: &Path) -> PathBuf {
    let rules = root().join("config/rules");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    let mut packs = Vec::new();
    for e in std::fs::read_dir(&rules).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        std::fs::write(dir.join("rules").join(e.file_name()), &text).unwrap();
        packs.push(text.parse::<toml::Table>().unwrap());
    }
    for k in 1..10 {
        let mut out = toml::Table::new();
        let mut terms = toml::Table::new();
        let mut watches = Vec::new();
        let names: Vec<String> = packs
            .iter()
            .filter_map(|p| p.get("terms").and_then(|t| t.as_table()))
            .flat_map(|t| t.keys().cloned())
            .collect();
        for p in &packs {
            if let Some(t) = p.get("terms").and_then(|t| t.as_table()) {
                for (name, list) in t {
                    let items: Vec<toml::Value> = list
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| {
                            let s = v.as_str().unwrap();
                            // Respell the last letters so every copy is a distinct term.
                            let star = s.ends_with('*');
                            let base = s.trim_end_matches('*').trim_end_matches('"');
                            let q = if s.ends_with('"') || s.ends_with("*\"") {
                                "\""
                            } else {
                                ""
                            };
                            toml::Value::String(format!(
                                "{base}v{k}{}{q}",
                                if star { "*" } else { "" }
                            ))
                        })
                        .collect();
                    terms.insert(format!("{name}_{k}"), toml::Value::Array(items));
                }
            }
            if let Some(ws) = p.get("watch").and_then(|w| w.as_array()) {
                for w in ws {
                    let mut w = w.as_table().unwrap().clone();
                    let mut q = w["query"].as_str().unwrap().to_string();
                    let mut sorted = names.clone();
                    sorted.sort_by_key(|n| std::cmp::Reverse(n.len()));
                    for n in &sorted {
                        q = q.replace(&format!("@{n}"), &format!("@\u{1}{n}_{k}"));
                    }
                    q = q.replace('\u{1}', "");
                    w.insert("query".into(), toml::Value::String(q));
                    let name = format!("{}_{k}", w["name"].as_str().unwrap());
                    w.insert("name".into(), toml::Value::String(name));
                    w.remove("includes");
                    watches.push(toml::Value::Table(w));
                }
            }
        }
        out.insert("terms".into(), toml::Value::Table(terms));
        out.insert("watch".into(), toml::Value::Array(watches));
        std::fs::write(
            dir.join(format!("rules/copy{k}.toml")),
            toml::to_string(&out).unwrap(),
        )
        .unwrap();
    }
    let cfg = dir.join("newswatch.toml");
    std::fs::write(&cfg, "rules = [\"rules/*.toml\"]\n").unwrap();
    cfg
}

fn time_matcher(rs: &RuleSet, arts: &[Article], rounds: usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut fired = 0;
    for _ in 0..rounds {
        fired = 0;
        let t = Instant::now();
        for a in arts {
            fired += usize::from(!rs.evaluate(&a.title, "", &a.body).is_empty());
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, fired)
}

fn main() {
    let arts = load_text();
    let bytes: usize = arts.iter().map(|a| a.title.len() + a.body.len()).sum();
    let mb = bytes as f64 / 1e6;
    let rs = load_rules(&root().join("config/newswatch.toml"));
    if let Some(p) = arg("--dump-patterns") {
        let lines: Vec<String> = rs
            .patterns()
            .into_iter()
            .map(|(p, prefix)| if prefix { format!("{p}*") } else { p })
            .collect();
        std::fs::write(p, lines.join("\n") + "\n").expect("write patterns");
    }
    let rounds = arg("--rounds").and_then(|r| r.parse().ok()).unwrap_or(3);

    // Normalization alone.
    let t = Instant::now();
    let mut normed = Vec::with_capacity(arts.len());
    for a in &arts {
        normed.push(normalize(&a.title).text);
        normed.push(normalize(&a.body).text);
    }
    let t_norm = t.elapsed().as_secs_f64();

    // Plain ASCII-case-insensitive Aho-Corasick over already-normalized text.
    let pats: Vec<String> = rs.patterns().into_iter().map(|(p, _)| p).collect();
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&pats)
        .unwrap();
    // The matcher's own automaton kind (a DFA) over the same normalized text.
    let dfa = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(&pats)
        .unwrap();
    let nbytes: usize = normed.iter().map(String::len).sum();
    let nmb = nbytes as f64 / 1e6;
    if arg("--top-patterns").is_some() {
        let mut counts = vec![0usize; pats.len()];
        for s in &normed {
            for m in ac.find_overlapping_iter(s) {
                counts[m.pattern().as_usize()] += 1;
            }
        }
        let mut idx: Vec<usize> = (0..pats.len()).collect();
        idx.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
        for &i in idx.iter().take(15) {
            println!("  {:>8}  {}", counts[i], pats[i]);
        }
    }
    let dir = std::env::temp_dir().join(format!("newswatch-bench-{}", std::process::id()));
    let big = load_rules(&ten_times_pack(&dir));
    let _ = std::fs::remove_dir_all(&dir);

    // Round-robin, best of each: the machine's noise hits every contender alike.
    let (mut b_ac, mut b_dfa, mut b_match, mut b_big) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    let (mut ac_hits, mut fired, mut fired_big) = (0usize, 0usize, 0usize);
    for _ in 0..rounds {
        let t = Instant::now();
        ac_hits = normed
            .iter()
            .map(|s| ac.find_overlapping_iter(s).count())
            .sum();
        b_ac = b_ac.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let n: usize = normed
            .iter()
            .map(|s| dfa.find_overlapping_iter(s).count())
            .sum();
        std::hint::black_box(n);
        b_dfa = b_dfa.min(t.elapsed().as_secs_f64());
        let (t1, f1) = time_matcher(&rs, &arts, 1);
        b_match = b_match.min(t1);
        fired = f1;
        let (t2, f2) = time_matcher(&big, &arts, 1);
        b_big = b_big.min(t2);
        fired_big = f2;
    }

    println!(
        "text: {} articles, {:.1} MB ({:.1} MB normalized); shipped pack: {} watches, {} patterns; 10x pack: {} watches, {} patterns",
        arts.len(),
        mb,
        nmb,
        rs.watches().len(),
        rs.pattern_count(),
        big.watches().len(),
        big.pattern_count()
    );
    println!("{:<52} {:>8.1} MB/s", "normalization alone", mb / t_norm);
    println!(
        "{:<52} {:>8.1} MB/s  ({ac_hits} raw hits)",
        "plain AC, ASCII-case-insensitive, on normalized text",
        nmb / b_ac
    );
    println!(
        "{:<52} {:>8.1} MB/s",
        "the matcher's DFA alone, on normalized text",
        nmb / b_dfa
    );
    println!(
        "{:<52} {:>8.1} MB/s  ({fired} articles fired)",
        "matcher with normalization, shipped pack",
        mb / b_match
    );
    println!(
        "{:<52} {:>8.1} MB/s  ({fired_big} articles fired)",
        "matcher with normalization, 10x pack",
        mb / b_big
    );
    println!(
        "RESULT matcher_mb_s={:.1} ac_baseline_mb_s={:.1} matcher_over_ac={:.2} pack10x_mb_s={:.1} pack10x_over_shipped={:.2}",
        mb / b_match,
        nmb / b_ac,
        (mb / b_match) / (nmb / b_ac),
        mb / b_big,
        b_match / b_big
    );
}
