//! Parse-only benchmark (`cargo bench --bench parse -- DIR`): how fast
//! feed-rs alone turns feed documents into entries, the floor under
//! `newswatch scan`. Reads every `*.xml` of DIR (or of DIR/feeds) into
//! memory first, then parses each once with `feed_rs::parser::parse` on one
//! thread and prints items, bytes, seconds, items/s and MB/s.
//!
//! DIR: the first argument that is not an option, else `$NEWSWATCH_PARSE_DIR`.
//! `--rounds N` parses the set N times and reports the fastest round.
//! Last line: `RESULT parse=feed-rs files=.. items=.. failed=.. bytes=.. seconds=.. items_per_s=.. mb_per_s=..`

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    let mut rounds = 1usize;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--rounds" => {
                rounds = args
                    .get(i + 1)
                    .and_then(|r| r.parse().ok())
                    .expect("--rounds N");
                i += 1;
            }
            // `cargo bench` passes --bench; ignore it and other options.
            a if a.starts_with("--") => {}
            a => dir = Some(PathBuf::from(a)),
        }
        i += 1;
    }
    let Some(mut dir) = dir.or_else(|| std::env::var_os("NEWSWATCH_PARSE_DIR").map(PathBuf::from))
    else {
        eprintln!("usage: parse DIR (or NEWSWATCH_PARSE_DIR=DIR) [--rounds N]");
        std::process::exit(2);
    };
    if dir.join("feeds").is_dir() {
        dir = dir.join("feeds");
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    let docs: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display())))
        .collect();
    let bytes: usize = docs.iter().map(Vec::len).sum();

    let mut best = f64::INFINITY;
    let (mut items, mut failed) = (0usize, 0usize);
    for _ in 0..rounds.max(1) {
        items = 0;
        failed = 0;
        let t = Instant::now();
        for d in &docs {
            match feed_rs::parser::parse(d.as_slice()) {
                Ok(f) => items += f.entries.len(),
                Err(_) => failed += 1,
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "RESULT parse=feed-rs files={} items={items} failed={failed} bytes={bytes} seconds={best:.3} items_per_s={:.1} mb_per_s={:.2}",
        docs.len(),
        items as f64 / best,
        bytes as f64 / 1e6 / best
    );
}
