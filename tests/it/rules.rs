//! The shipped rule pack measured on labelled articles, through the built
//! binary's `eval`: the development set (tuned on four fifths, the fifth
//! whose FNV-1a id hash is 0 mod 5 held back), a first blind set (written
//! apart, later tuned on too), a second blind set written after all
//! tuning and never tuned on, and an independent set written from the
//! label definitions alone by someone who had seen neither the pack nor
//! the other sets, split in halves before anyone looked: the pack's
//! event frame was tuned on one half, the other is never tuned on.

use crate::support::*;
use std::path::Path;

fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Runs `eval --json` on `file`: its one JSON object.
fn eval_json(dir: &Path, file: &Path) -> serde_json::Value {
    let cfg = root().join("config/newswatch.toml");
    let out = run(
        dir,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "eval",
            "--json",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).expect("one JSON object")
}

/// Runs `eval --json` on `file`; (watch → (precision, recall)) and the raw JSON.
fn eval(dir: &Path, file: &Path) -> (Vec<(String, f64, f64)>, serde_json::Value) {
    let v = eval_json(dir, file);
    let figs = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["watch"].as_str().unwrap().to_string(),
                f["precision"].as_f64().unwrap(),
                f["recall"].as_f64().unwrap(),
            )
        })
        .collect();
    (figs, v)
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn report(name: &str, figs: &[(String, f64, f64)], v: &serde_json::Value) {
    eprintln!("{name} ({} items):", v["items"]);
    for (w, p, r) in figs {
        eprintln!(
            "  {w:<20} precision {p:.3}  recall {r:.3}  F1 {:.3}",
            f1(*p, *r)
        );
    }
    let exact: Vec<String> = v["exact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {:.1}%",
                e["lang"].as_str().unwrap(),
                100.0 * e["share"].as_f64().unwrap()
            )
        })
        .collect();
    eprintln!("  exactly right, by language: {}", exact.join(", "));
    for m in v["misses"].as_array().unwrap() {
        eprintln!(
            "    {} {} {}: {}",
            m["kind"], m["watch"], m["id"], m["title"]
        );
    }
}

#[test]
fn shipped_pack_precision_and_recall_on_labelled_sets() {
    let dev = std::fs::read_to_string(root().join("tests/data/relevance-dev.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut tune, mut held) = (String::new(), String::new());
    for line in dev.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if fnv1a(v["id"].as_str().unwrap()).is_multiple_of(5) {
            held.push_str(line);
            held.push('\n');
        } else {
            tune.push_str(line);
            tune.push('\n');
        }
    }
    std::fs::write(dir.path().join("tune.jsonl"), &tune).unwrap();
    std::fs::write(dir.path().join("held.jsonl"), &held).unwrap();

    let (ft, vt) = eval(dir.path(), &dir.path().join("tune.jsonl"));
    let (fh, vh) = eval(dir.path(), &dir.path().join("held.jsonl"));
    let (fb, vb) = eval(dir.path(), &root().join("tests/data/relevance-blind.jsonl"));
    let (f2, v2) = eval(
        dir.path(),
        &root().join("tests/data/relevance-blind2.jsonl"),
    );
    report("dev set, tuned four fifths", &ft, &vt);
    report("dev set, held-back fifth", &fh, &vh);
    report("first blind set (tuned on in a second round)", &fb, &vb);
    report("second blind set (never tuned on)", &f2, &v2);

    assert!(vt["items"].as_u64().unwrap() + vh["items"].as_u64().unwrap() >= 300);
    for watch in ["coalition-meeting", "counterterrorism"] {
        for (name, figs) in [
            ("tuned part", &ft),
            ("held-back fifth", &fh),
            ("first blind set", &fb),
        ] {
            let (_, p, r) = figs
                .iter()
                .find(|f| f.0 == watch)
                .expect("the watch is scored");
            assert!(
                *p >= 0.95 && *r >= 0.95,
                "{watch} on the {name}: precision {p:.3}, recall {r:.3}"
            );
        }
        // The blind set guards against regressions; it is reported, not tuned on.
        let (_, p, r) = fb.iter().find(|f| f.0 == watch).unwrap();
        assert!(
            *p >= 0.90 && *r >= 0.75,
            "{watch} on the blind set: precision {p:.3}, recall {r:.3}"
        );
    }
}

fn get_f1(figs: &[(String, f64, f64)], w: &str) -> f64 {
    let (_, p, r) = figs.iter().find(|f| f.0 == w).expect("scored");
    f1(*p, *r)
}

/// The independent set: figures for both halves; the untouched half is
/// held to the levels it reached when the frame was written (a guard
/// against regressions, not a target: the aim is higher).
#[test]
fn independent_set_halves() {
    let dir = tempfile::tempdir().unwrap();
    let (ft, vt) = eval(
        dir.path(),
        &root().join("tests/data/relevance-indep-tune.jsonl"),
    );
    let (fh, vh) = eval(
        dir.path(),
        &root().join("tests/data/relevance-indep-held.jsonl"),
    );
    report("independent set, tuned half", &ft, &vt);
    report("independent set, untouched half", &fh, &vh);
    let (f2, v2) = eval(
        dir.path(),
        &root().join("tests/data/relevance-indep2.jsonl"),
    );
    report("second independent set (tuned on)", &f2, &v2);
    assert!(get_f1(&f2, "coalition-meeting") >= 0.97, "{f2:?}");
    let (f3, v3) = eval(
        dir.path(),
        &root().join("tests/data/relevance-indep3.jsonl"),
    );
    report("third independent set (tuned on)", &f3, &v3);
    assert!(get_f1(&f3, "coalition-meeting") >= 0.95, "{f3:?}");
    assert!(vt["items"].as_u64().unwrap() >= 200 && vh["items"].as_u64().unwrap() >= 200);
    let get = get_f1;
    assert!(get(&ft, "coalition-meeting") >= 0.97, "{ft:?}");
    assert!(get(&fh, "coalition-meeting") >= 0.92, "{fh:?}");
    assert!(get(&fh, "flagged") >= 0.97, "{fh:?}");
    for e in vh["exact"].as_array().unwrap() {
        assert!(e["share"].as_f64().unwrap() >= 0.88, "{e}");
    }
}

/// `eval --json` on a facts set: field → share exactly right.
fn eval_facts(dir: &Path, file: &Path) -> Vec<(String, f64)> {
    eval_json(dir, file)["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["share"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The facts of meetings, per field, on the independent facts sets: the
/// half tuned on, a second set tuned on, and the untouched half (held to
/// the levels it reached when the extractor was written: a guard against
/// regressions; the aim is 0.9 for every field).
#[test]
fn facts_sets_per_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (name, file) in [
        ("facts set, tuned half", "tests/data/facts-indep-tune.jsonl"),
        (
            "second facts set (tuned on)",
            "tests/data/facts-indep2.jsonl",
        ),
        (
            "facts set, untouched half",
            "tests/data/facts-indep-held.jsonl",
        ),
    ] {
        let figs = eval_facts(dir.path(), &root().join(file));
        let line: Vec<String> = figs.iter().map(|(f, s)| format!("{f} {s:.3}")).collect();
        eprintln!("{name}: {}", line.join(", "));
        all.push((name, figs));
    }
    for (name, figs) in &all {
        for (field, share) in figs.iter().filter(|(f, _)| f != "all") {
            let floor = if name.contains("untouched") {
                0.8
            } else {
                0.88
            };
            assert!(*share >= floor, "{name}: {field} {share:.3} < {floor}");
        }
    }
}

#[test]
fn eval_reports_misses_with_what_fired() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.jsonl");
    std::fs::write(
        &f,
        concat!(
            "{\"id\":\"1\",\"title\":\"Isis, goddess of the Nile, in a new exhibition\",\"summary\":\"\",\"label\":\"counterterrorism\"}\n",
            "{\"id\":\"2\",\"title\":\"Islamic State claims suicide bombing in Baghdad\",\"summary\":\"\",\"label\":\"counterterrorism\"}\n",
        ),
    )
    .unwrap();
    let cfg = root().join("config/newswatch.toml");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "eval",
            f.to_str().unwrap(),
        ],
        None,
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}{}", stderr(&out));
    let line = so
        .lines()
        .find(|l| l.starts_with("counterterrorism"))
        .expect("a counterterrorism row");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cols[1..],
        ["1.000", "0.500", "0.667", "1", "0", "1"],
        "{so}"
    );
    assert!(
        so.contains("FN counterterrorism") && so.contains("goddess"),
        "{so}"
    );
}

#[test]
fn test_rules_explain_shows_the_query_tree() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = root().join("config/newswatch.toml");
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "test-rules", "--explain"],
        Some("Isis, goddess of motherhood\nA new exhibition on Egyptian myths.".as_bytes()),
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(so.contains("counterterrorism: did not fire"), "{so}");
    assert!(so.contains('✗') && so.contains('✓'), "{so}");
}

/// A bare "Isis" near "summit" or "ministerial" is not a coalition meeting
/// unless something else in the article is about terrorism; with a
/// coalition or a terrorism word it still is.
#[test]
fn a_lone_isis_near_summit_words_is_not_a_coalition_meeting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = root().join("config/newswatch.toml");
    let lines = [
        (
            "Ministerial summit on Isis Clarke and the river Isis",
            "The ministerial summit discussed the Isis exhibition and the harvest.",
            false,
        ),
        (
            "Summit of the Isis Society of Egyptology",
            "Scholars met for the annual summit on the cult of Isis in Aswan.",
            false,
        ),
        (
            "Ministers meet in Rome to step up the fight against Isis",
            "Foreign ministers of the anti-Isis coalition met in Rome on Tuesday.",
            true,
        ),
        (
            "Interior ministers' summit on Isis returnees",
            "The summit discussed foreign fighters returning from Syria.",
            true,
        ),
    ];
    let input: String = lines
        .iter()
        .enumerate()
        .map(|(i, (t, s, _))| {
            format!(
                "{}\n",
                serde_json::json!({"id": i.to_string(), "title": t, "summary": s})
            )
        })
        .collect();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "test-rules", "--jsonl"],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (line, (title, _, want)) in stdout(&out).lines().zip(&lines) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let fired = v["watches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "coalition-meeting");
        assert_eq!(fired, *want, "{title}: {line}");
    }
}
