//! The command line: `check` on good and broken configs, `test-rules`,
//! `scan`, exit codes.

use crate::support::*;

fn shipped_config() -> String {
    root().join("config/newswatch.toml").display().to_string()
}

#[test]
fn the_shipped_config_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--config", &shipped_config(), "check"], None);
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}{}", stderr(&out));
    assert!(so.contains("watch coalition-meeting [high]"), "{so}");
    assert!(so.contains("watch counterterrorism"), "{so}");
    let feeds: usize = so
        .lines()
        .find_map(|l| l.strip_prefix("feeds:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a feeds line");
    assert!(feeds >= 15, "{so}");
}

fn check_bad(toml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, toml).unwrap();
    let out = run(
        dir.path(),
        &["--config", p.to_str().unwrap(), "check"],
        None,
    );
    (out.status.code(), stderr(&out))
}

#[test]
fn an_unknown_key_is_refused_with_its_location() {
    let (code, err) = check_bad("[storage]\npath = \"x.db\"\ncolour = \"blue\"\n");
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("bad.toml:3:1"), "{err}");
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn a_wrong_type_is_refused_with_its_location() {
    let (code, err) = check_bad("[http]\nconcurrency = \"many\"\n");
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("bad.toml:2:15"), "{err}");
}

#[test]
fn a_bad_duration_is_refused_with_its_location() {
    let (code, err) = check_bad("[poll]\ninterval = \"10 parsecs\"\n");
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("bad.toml:2:12"), "{err}");
    assert!(err.contains("unknown unit"), "{err}");
}

#[test]
fn every_config_error_is_reported_at_once() {
    let toml = "bogus = 1\n[http]\ntimeout = \"fast\"\n[poll]\nbackfill = \"3\"\n[[feed]]\nurl = \"ftp://x\"\n[[feed]]\nurl = \"https://a.example/f\"\nname = \"A\"\ncolor = 1\n";
    let (code, err) = check_bad(toml);
    assert_eq!(code, Some(78), "{err}");
    for loc in [
        "bad.toml:1:1",
        "bad.toml:3:11",
        "bad.toml:5:12",
        "bad.toml:7:7",
        "bad.toml:11:1",
    ] {
        assert!(err.contains(loc), "missing {loc} in:\n{err}");
    }
    assert!(err.starts_with("5 configuration errors"), "{err}");
}

#[test]
fn a_broken_rule_is_refused_with_file_line_column_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/pack.toml"),
        "[terms]\ngroups = [\"isis\"]\n\n[[watch]]\nname = \"w\"\nquery = '(@groups OR @gropus'\n",
    )
    .unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "rules = [\"rules/*.toml\"]\n").unwrap();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check"],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("pack.toml:6:"), "{err}");
    assert!(err.contains('^'), "{err}");
}

#[test]
fn a_query_nested_ten_thousand_deep_is_a_located_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let query = format!("{}isis{}", "(".repeat(10_000), ")".repeat(10_000));
    // The query is on line 6; its text starts after `query = '` (column
    // 10), and the 65th "(" is the first one past the limit of 64.
    let pack = format!("[terms]\ng = [\"isis\"]\n\n[[watch]]\nname = \"w\"\nquery = '{query}'\n");
    std::fs::write(dir.path().join("rules/watches.toml"), pack).unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "rules = [\"rules/*.toml\"]\n").unwrap();
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check"],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let col = "query = '".len() + 1 + 64;
    assert!(err.contains(&format!("watches.toml:6:{col}")), "{err}");
    assert!(err.contains("nests deeper than 64 levels"), "{err}");
}

#[test]
fn a_missing_config_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["--config", "/nonexistent/newswatch.toml", "check"],
        None,
    );
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["frobnicate"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(dir.path(), &["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    for cmd in ["check", "once", "scan", "test-rules"] {
        assert!(stdout(&out).contains(cmd), "{cmd} in --help");
    }
}

#[test]
fn test_rules_explains_what_fired() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Réunion de la coalition internationale contre Daech à Marrakech\nLes ministres de la coalition se sont réunis pour coordonner la lutte contre l'État islamique.";
    let out = run(
        dir.path(),
        &["--config", &shipped_config(), "test-rules"],
        Some(text.as_bytes()),
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(so.contains("coalition-meeting [high]"), "{so}");
    assert!(so.contains("snippet:") && so.contains('«'), "{so}");

    let out = run(
        dir.path(),
        &["--config", &shipped_config(), "test-rules"],
        Some(b"A crisis in the markets\nStocks fell."),
    );
    assert!(stdout(&out).contains("no watch fired"), "{}", stdout(&out));

    let jsonl = concat!(
        "{\"id\":\"a\",\"title\":\"Daesh claims suicide bombing in Baghdad\",\"summary\":\"\",\"lang\":\"en\"}\n",
        "{\"id\":\"b\",\"title\":\"Isis and Osiris: myths of ancient Egypt\",\"summary\":\"The goddess Isis\",\"lang\":\"en\"}\n"
    );
    let out = run(
        dir.path(),
        &["--config", &shipped_config(), "test-rules", "--jsonl"],
        Some(jsonl.as_bytes()),
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert!(
        lines[0]["watches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "counterterrorism")
    );
    assert_eq!(lines[1]["watches"].as_array().unwrap().len(), 0);
}

#[test]
fn scan_prints_items_and_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xml");
    std::fs::write(
        &good,
        fixture("feeds/fr-coalition.xml").replace("{{RECENT}}", "Mon, 11 May 2026 09:30:00 GMT"),
    )
    .unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "this is not a feed").unwrap();
    let out = run(
        dir.path(),
        &[
            "--config",
            &shipped_config(),
            "scan",
            "--json",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "a file failed");
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let first = &lines[0];
    for k in ["source", "id", "title", "link", "published", "watches"] {
        assert!(first.get(k).is_some(), "{k} in {first}");
    }
    assert_eq!(first["published"], "2026-05-11T09:30:00Z");
    assert!(
        first["watches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "coalition-meeting")
    );
    assert!(lines[4]["error"].as_str().is_some());
    assert!(
        !dir.path().join("newswatch.db").exists(),
        "scan writes nothing without --store"
    );

    // From stdin.
    let out = run(
        dir.path(),
        &["--config", &shipped_config(), "scan", "-"],
        Some(std::fs::read(&good).unwrap().as_slice()),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).lines().count(), 4);
}

#[test]
fn demo_runs_offline_and_shows_signed_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo"], None);
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}{}", stderr(&out));
    assert!(so.contains("signature: valid"), "{so}");
    assert!(!so.contains("INVALID"), "{so}");
    let fired = so.split("what the webhook receiver got:").next().unwrap();
    for must in [
        "Coalition internationale contre Daech à Marrakech",
        "اجتماع وزاري للتحالف الدولي ضد داعش",
        "Terrormiliz IS",
        "Ceuta",
    ] {
        assert!(fired.contains(must), "{must} fires:\n{so}");
    }
    let body = so.rsplit_once("\n\n").map_or(so.as_str(), |(head, _)| head);
    for never in ["Osiris", "budget", "الشباب يفوز", "Haushalt", "festival"] {
        assert!(!body.contains(never), "{never} must not fire:\n{so}");
    }
    let received = so.lines().filter(|l| l.contains("POST /hook")).count();
    assert_eq!(
        received, 7,
        "one alert per story, the Rome story once though two feeds carry it:\n{so}"
    );
    assert!(so.contains("also seen in:"), "{so}");
}

#[test]
fn feeds_import_and_export_round_trip_opml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("newswatch.toml"), format!("rules = [\"{}\"]\ninclude = [\"feeds.d/*.toml\"]\n[[feed]]\nurl = \"https://already.example/rss\"\n", shipped_rules())).unwrap();
    let opml = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="Sahel &amp; West Africa" title="Sahel &amp; West Africa">
    <outline type="rss" text="RFI Afrique" title="RFI Afrique" xmlUrl="https://rfi.example/afrique/rss" htmlUrl="https://rfi.example"/>
    <outline type="rss" text="Dup" xmlUrl="https://already.example/rss"/>
  </outline>
  <outline type="rss" text="Wire" xmlUrl="https://wire.example/feed.xml"/>
</body></opml>"#;
    std::fs::write(dir.path().join("reader.opml"), opml).unwrap();
    let cfg = dir.path().join("newswatch.toml");
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "feeds",
            "import",
            "reader.opml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("2 new feed(s)"),
        "{}",
        stdout(&out)
    );
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the imported list is valid config: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("feeds:    3"), "{}", stdout(&out));
    let out = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "feeds", "export"],
        None,
    );
    let exported = stdout(&out);
    assert!(
        exported.contains("xmlUrl=\"https://rfi.example/afrique/rss\"")
            && exported.contains("category=\"sahel-west-africa\""),
        "{exported}"
    );
    // The export reads back as the same three feeds.
    std::fs::write(dir.path().join("back.opml"), &exported).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("c.toml"),
        format!(
            "rules = [\"{}\"]\ninclude = [\"feeds.d/*.toml\"]\n",
            shipped_rules()
        ),
    )
    .unwrap();
    let out = run(
        dir2.path(),
        &[
            "--config",
            dir2.path().join("c.toml").to_str().unwrap(),
            "feeds",
            "import",
            dir.path().join("back.opml").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        stdout(&out).starts_with("3 new feed(s)"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "feeds",
            "import",
            "newswatch.toml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not an OPML document"),
        "{}",
        stderr(&out)
    );
}
