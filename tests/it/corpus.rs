//! Robustness: every real-world document of `../shared/corpus/feeds` goes
//! through `scan` without a crash.

use crate::support::*;
use std::collections::HashSet;
use std::path::PathBuf;

fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_goes_through_scan_without_a_panic() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    walk(&shared.join("corpus/feeds"), &mut files);
    files.sort();
    assert!(files.len() > 2000, "corpus has {} files", files.len());
    let cfg = root().join("config/newswatch.toml");
    let dir = tempfile::tempdir().unwrap();
    let (mut ok, mut failed) = (0, 0);
    for chunk in files.chunks(400) {
        let mut args: Vec<String> = vec![
            "--config".into(),
            cfg.display().to_string(),
            "scan".into(),
            "--json".into(),
        ];
        args.extend(chunk.iter().map(|p| p.display().to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &argv, None);
        let err = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "scan crashed ({:?}):\n{err}",
            out.status
        );
        assert!(!err.contains("panicked"), "{err}");
        let mut seen = HashSet::new();
        for line in stdout(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            let src = v["source"].as_str().expect("source").to_string();
            if v.get("error").is_some() {
                failed += 1;
            } else if seen.insert(src.clone()) {
                ok += 1;
            }
            seen.insert(src);
        }
        for p in chunk {
            let s = p.display().to_string();
            // A file with no items prints nothing; it must not be an unexplained gap
            // in the output though, so count it as read.
            if !seen.contains(&s) {
                ok += 1;
            }
        }
    }
    eprintln!(
        "corpus: {} files, {ok} read, {failed} refused with an error",
        files.len()
    );
    assert_eq!(ok + failed, files.len());
}

#[test]
fn item_counts_agree_with_feedparser_on_its_well_formed_files() {
    let Some(shared) = shared_dir() else { return };
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .expect("column in MANIFEST.tsv")
    };
    let (c_path, c_n, c_bozo) = (
        col("path"),
        col("entries_feedparser"),
        col("feedparser_bozo"),
    );
    let mut expected: Vec<(String, usize)> = Vec::new();
    // Source folders in MANIFEST order, for the two halves below.
    let mut folders: Vec<String> = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        let d = f[c_path]
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .to_string();
        if !folders.contains(&d) {
            folders.push(d);
        }
        if f.get(c_bozo) == Some(&"no")
            && let Some(Ok(n)) = f.get(c_n).map(|s| s.parse::<usize>())
        {
            expected.push((f[c_path].to_string(), n));
        }
    }
    assert!(expected.len() > 2000, "{} comparable files", expected.len());
    let cfg = root().join("config/newswatch.toml");
    let mut got: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut errors: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for chunk in expected.chunks(400) {
        let mut args: Vec<String> = vec![
            "--config".into(),
            cfg.display().to_string(),
            "scan".into(),
            "--json".into(),
        ];
        args.extend(chunk.iter().map(|(p, _)| p.clone()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&corpus, &argv, None);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "scan crashed: {}",
            stderr(&out)
        );
        for line in stdout(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let src = v["source"].as_str().unwrap().to_string();
            match v.get("error") {
                Some(e) => {
                    errors.insert(src, e.as_str().unwrap_or("").to_string());
                }
                None => *got.entry(src).or_insert(0) += 1,
            }
        }
    }
    // Two halves by source folder (every other folder in MANIFEST order):
    // the parser's repairs were worked out on the first; the second is
    // kept as material nobody tuned on. Both are reported and held to 99%.
    let half = |p: &str| {
        let d = p.rsplit_once('/').map_or("", |(d, _)| d);
        folders.iter().position(|f| *f == d).unwrap_or(0) % 2
    };
    let mut disagree: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut total = [0usize; 2];
    for (p, n) in &expected {
        let h = half(p);
        total[h] += 1;
        let g = got.get(p).copied().unwrap_or(0);
        if g != *n {
            disagree[h].push(format!(
                "  {p}: feedparser {n}, newswatch {g}{}",
                errors.get(p).map(|e| format!(" ({e})")).unwrap_or_default()
            ));
        }
    }
    let mut ratios = [0.0; 2];
    for h in 0..2 {
        let agree = total[h] - disagree[h].len();
        ratios[h] = agree as f64 / total[h] as f64;
        eprintln!(
            "{} half: item counts agree with feedparser on {agree} of {} well-formed files ({:.1}%); disagreements:",
            ["worked-on", "untouched"][h],
            total[h],
            ratios[h] * 100.0
        );
        for d in &disagree[h] {
            eprintln!("{d}");
        }
    }
    for (h, r) in ratios.iter().enumerate() {
        assert!(*r >= 0.99, "half {h}: agreement {r:.3} is under 0.99");
    }
}
