#!/usr/bin/env bash
# Ingest benchmark (issue #8): feed documents on disk -> parsed, matched,
# stored. All contenders in one run on the same corpus, each under
# /usr/bin/time -v (wall time, peak RSS):
#   - feed-rs parse only (benches/parse.rs: files in memory, one thread);
#   - `newswatch scan` (parse + match, no storage; output to /dev/null);
#   - `newswatch scan --store` into a fresh database, with the shipped config;
#   - bench/peer_pipeline.py, the Python pipeline a user would write instead
#     (feedparser + pyahocorasick + SQLite);
#   - with --shared-peer, also ../shared/bench/peer_feedparser.py --mode aho;
#   - `newswatch once` over the same files served from loopback HTTP
#     (bench/serve_feeds.py on 127.0.0.1, a free port; one [[feed]] per file,
#     per_host 32, host_spacing 0s, no sinks, a fresh database); --no-once
#     skips it.
# Then a markdown table, the ratios, a check that newswatch flags at least
# 80% of the items the peer flags (the misses listed with what was planted
# in them, from truth.tsv), and a check that `once` stored the same
# articles, sightings and (item, watch) matches as `scan --store`.
#
# Corpus: bench/gen_corpus.py (en/fr/es/de/ar, ~2% planted items, decoys);
# --shared-corpus uses ../shared/bench/gen_corpus.py instead, when present.
# Needs cargo, python3 with feedparser and pyahocorasick (installed with pip
# if missing), /usr/bin/time. Work dir: target/ingest/. --no-build uses the
# binaries already in target/release (newswatch and the newest parse bench)
# instead of running cargo.
#
# Usage: bash bench/ingest.sh [--feeds N] [--items N] [--seed N] [--shared-corpus] [--shared-peer]
#                             [--no-once] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared=$(cd .. && pwd)/shared/bench
feeds=1000 items=50 seed= shared_corpus=0 shared_peer=0 run_once=1 build=1
while [ $# -gt 0 ]; do
  case $1 in
    --feeds) feeds=$2; shift ;;
    --items) items=$2; shift ;;
    --seed) seed=$2; shift ;;
    --shared-corpus) shared_corpus=1 ;;
    --shared-peer) shared_peer=1 ;;
    --no-once) run_once=0 ;;
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "ingest.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$shared_corpus" = 1 ] && [ ! -f "$shared/gen_corpus.py" ]; then
  echo "ingest.sh: --shared-corpus needs $shared/gen_corpus.py, which is not there" >&2; exit 2
fi
if [ "$shared_peer" = 1 ] && [ ! -f "$shared/peer_feedparser.py" ]; then
  echo "ingest.sh: --shared-peer needs $shared/peer_feedparser.py, which is not there" >&2; exit 2
fi
[ -x /usr/bin/time ] || { echo "ingest.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
if ! python3 -c 'import feedparser, ahocorasick' 2>/dev/null; then
  echo "ingest.sh: installing feedparser and pyahocorasick with pip" >&2
  python3 -m pip install --quiet feedparser pyahocorasick || {
    echo "ingest.sh: the Python peer needs feedparser and pyahocorasick: python3 -m pip install feedparser pyahocorasick" >&2
    exit 2
  }
fi

work=$root/target/ingest
rm -rf "$work" && mkdir -p "$work"

bin=$root/target/release/newswatch
if [ "$build" = 1 ]; then
  echo "== building (release binary and the parse bench)" >&2
  cargo build --release --quiet
  parse_bin=$(cargo bench --bench parse --no-run --quiet --message-format=json |
    python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "parse" and m.get("executable"):
        print(m["executable"])')
else
  [ -x "$bin" ] || { echo "ingest.sh: --no-build: no $bin" >&2; exit 1; }
  parse_bin=$(ls -t "$root"/target/release/deps/parse-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)
  echo "== not building: using $bin and $parse_bin" >&2
fi
[ -x "$parse_bin" ] || { echo "ingest.sh: could not find the parse bench binary" >&2; exit 1; }

echo "== generating $feeds feeds x $items items" >&2
corpus=$work/corpus
if [ "$shared_corpus" = 1 ]; then
  python3 "$shared/gen_corpus.py" --feeds "$feeds" --items "$items" --seed "${seed:-42}" --out "$corpus" > "$work/gen.out"
  corpus_name="shared gen_corpus.py, seed ${seed:-42}"
else
  python3 bench/gen_corpus.py --feeds "$feeds" --items "$items" --seed "${seed:-7}" --out "$corpus" > "$work/gen.out"
  corpus_name="bench/gen_corpus.py, seed ${seed:-7}"
fi
files=("$corpus"/feeds/*.xml)
bytes=$(cat "${files[@]}" | wc -c)

# The shipped config with absolute rule and include paths and a fresh database.
python3 - "$root" "$work" <<'PY'
import re, sys
root, work = sys.argv[1], sys.argv[2]
text = open(f"{root}/config/newswatch.toml", encoding="utf-8").read()
text, n1 = re.subn(r'(?m)^rules\s*=.*$', f'rules = ["{root}/config/rules/*.toml"]', text, count=1)
text, n2 = re.subn(r'(?m)^include\s*=.*$', f'include = ["{root}/config/feeds.d/*.toml"]', text, count=1)
head, sep, tail = text.partition("\n[storage]\n")
tail, n3 = re.subn(r'(?m)^path\s*=.*$', f'path = "{work}/newswatch.db"', tail, count=1)
assert sep and n1 == 1 and n3 == 1, "config/newswatch.toml changed shape: rules / [storage] path not found"
open(f"{work}/newswatch.toml", "w", encoding="utf-8").write(head + sep + tail)
PY
cfg=$work/newswatch.toml
"$bin" --config "$cfg" check > "$work/check.out"
grep -q "^database: $work/newswatch.db\$" "$work/check.out" || {
  echo "ingest.sh: the temp config does not point at $work/newswatch.db:" >&2; cat "$work/check.out" >&2; exit 1
}
grep '^rules:' "$work/check.out" >&2

: > "$work/runs.tsv"
measure() { # name, stdout file, command...
  local name=$1 out=$2 rc=0; shift 2
  echo "== $name" >&2
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$out" 2> "$work/$name.err" || rc=$?
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{print $NF}')
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$rss" "$rc" >> "$work/runs.tsv"
  [ "$rc" = 0 ] || echo "   ($name exited with status $rc; stderr in $work/$name.err)" >&2
}

measure parse_only "$work/parse_only.out" "$parse_bin" "$corpus/feeds"
measure scan /dev/null "$bin" --config "$cfg" scan "${files[@]}"
measure scan_store /dev/null "$bin" --config "$cfg" scan --store "${files[@]}"
if [ "$run_once" = 1 ]; then
  # The corpus from loopback HTTP: every file one [[feed]], the same rules,
  # no sinks (matches are what is compared; nothing is delivered). Items
  # older than poll.backfill are stored and matched with their alerts
  # suppressed, so the generator's dates change nothing here.
  rm -f "$work/serve.port"
  python3 bench/serve_feeds.py "$corpus/feeds" --port-file "$work/serve.port" 2> "$work/serve.err" &
  serve_pid=$!
  trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 300); do
    [ -s "$work/serve.port" ] && break
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$work/serve.port" ] || { echo "ingest.sh: bench/serve_feeds.py did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
  port=$(cat "$work/serve.port")
  python3 - "$root" "$work" "$corpus/feeds" "$port" <<'PY'
import os, sys
root, work, feeds_dir, port = sys.argv[1:]
out = [f'rules = ["{root}/config/rules/*.toml"]', "",
       "[storage]", f'path = "{work}/once.db"', "",
       "[http]", 'user_agent = "newswatch-bench/ingest.sh (loopback)"',
       "concurrency = 32", "per_host = 32", 'host_spacing = "0s"', ""]
for name in sorted(os.listdir(feeds_dir)):
    if name.endswith(".xml"):
        out += ["[[feed]]", f'url = "http://127.0.0.1:{port}/{name}"', f'name = "{name}"', ""]
open(f"{work}/once.toml", "w", encoding="utf-8").write("\n".join(out))
PY
  ocfg=$work/once.toml
  "$bin" --config "$ocfg" check > "$work/once_check.out"
  { grep -q "^database: $work/once.db\$" "$work/once_check.out" && grep -q '^sinks: *0$' "$work/once_check.out" &&
    grep -q "^feeds: *${#files[@]} (${#files[@]} enabled)" "$work/once_check.out"; } || {
    echo "ingest.sh: the loopback config is not what was meant:" >&2; cat "$work/once_check.out" >&2; exit 1
  }
  # The same rules as the scan config: identical rules and watch lines.
  diff <(grep -E '^ *(rules|watch)' "$work/check.out") <(grep -E '^ *(rules|watch)' "$work/once_check.out") >&2 || {
    echo "ingest.sh: the loopback config's rules differ from the scan config's" >&2; exit 1
  }
  measure once /dev/null "$bin" --config "$ocfg" once
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  trap - EXIT
  sed 's/^/   /' "$work/serve.err" >&2
fi
measure peer "$work/peer.out" python3 bench/peer_pipeline.py "$corpus/feeds" --db "$work/peer.sqlite" \
  --flagged "$work/peer.flagged" --dump-keywords "$work/peer.keywords"
if [ "$shared_peer" = 1 ]; then
  measure shared_peer "$work/shared_peer.out" python3 "$shared/peer_feedparser.py" "$corpus/feeds" --mode aho \
    --db "$work/shared_peer.sqlite"
fi

python3 - "$work" "$bytes" "$feeds" "$items" "$corpus_name" <<'PY'
import collections, csv, os, re, sqlite3, sys
work, nbytes, feeds, items, corpus_name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

def secs(wall):
    s = 0.0
    for p in wall.split(":"):
        s = s * 60 + float(p)
    return s

def result(name):
    try:
        line = [l for l in open(f"{work}/{name}.out", encoding="utf-8") if l.startswith("RESULT")][-1]
    except (OSError, IndexError):
        return {}
    return dict(kv.split("=", 1) for kv in line.split()[1:])

runs = {}
for name, wall, rss, rc in csv.reader(open(f"{work}/runs.tsv"), delimiter="\t"):
    runs[name] = {"wall": secs(wall), "rss": int(rss) / 1024, "rc": int(rc)}

db = sqlite3.connect(f"file:{work}/newswatch.db?mode=ro", uri=True)
# Every item stored is an article (its own feed's sighting) or a sighting
# of a story stored from another feed.
ITEMS = "SELECT (SELECT COUNT(*) FROM articles) + (SELECT COUNT(*) FROM sightings)"
stored_items = db.execute(ITEMS).fetchone()[0]
stored_articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
stored_feeds = db.execute("SELECT COUNT(*) FROM feeds").fetchone()[0]
nw = {}
for key, watch in db.execute(
        "SELECT a.item_key, m.watch FROM articles a JOIN matches m ON m.article_id = a.id "
        "UNION SELECT s.item_key, m.watch FROM sightings s JOIN matches m ON m.article_id = s.article_id"):
    k = re.sub(r"^(guid|link):", "", key)
    nw[k] = ",".join(sorted(set(filter(None, nw.get(k, "").split(","))) | {watch}))

po, peer, sp = result("parse_only"), result("peer"), result("shared_peer")
parsed_items = int(po.get("items", 0))
mb = nbytes / 1e6
rows = []
if po:
    rows.append(("feed-rs parse only ¹", runs["parse_only"], parsed_items, float(po["seconds"])))
rows.append(("newswatch scan (no store)", runs["scan"], stored_items, runs["scan"]["wall"]))
rows.append(("newswatch scan --store", runs["scan_store"], stored_items, runs["scan_store"]["wall"]))
rows.append(("peer_pipeline.py (Python)", runs["peer"], int(peer.get("items", 0)), runs["peer"]["wall"]))
if "shared_peer" in runs:
    rows.append(("shared peer_feedparser.py --mode aho", runs["shared_peer"], int(sp.get("items", 0)),
                 runs["shared_peer"]["wall"]))
once_db = None
if "once" in runs and os.path.exists(f"{work}/once.db"):
    once_db = sqlite3.connect(f"file:{work}/once.db?mode=ro", uri=True)
    once_items = once_db.execute(ITEMS).fetchone()[0]
    rows.append(("newswatch once (loopback HTTP) ²", runs["once"], once_items, runs["once"]["wall"]))

print(f"\nCorpus: {feeds} feeds x {items} items ({corpus_name}), {mb:.1f} MB, "
      f"{parsed_items} items parsed by feed-rs\n")
print("| what | wall s | items/s | MB/s | peak RSS MB |")
print("|---|---:|---:|---:|---:|")
rate = {}
for name, r, n, t in rows:
    rate[name] = n / t if t else 0.0
    flag = "" if r["rc"] == 0 else f" (exit {r['rc']})"
    print(f"| {name}{flag} | {r['wall']:.2f} | {n / t:,.0f} | {mb / t:.1f} | {r['rss']:.0f} |")
print("\n¹ items/s and MB/s over the in-process parse time (files already in memory); wall and RSS include reading them.")
if once_db:
    print("² fetched from bench/serve_feeds.py on 127.0.0.1 (files in its memory, HTTP/1.1); its CPU shares the "
          "machine, its RSS is not counted.")

peer_rate = rate["peer_pipeline.py (Python)"]
store_rate = rate["newswatch scan --store"]
scan_rate = rate["newswatch scan (no store)"]
print(f"\nscan --store items/s / peer items/s = {store_rate / peer_rate:.1f}x")
if po:
    pr = rate["feed-rs parse only ¹"]
    print(f"scan items/s / parse-only items/s = {scan_rate / pr:.2f} (scan takes {pr / scan_rate:.1f}x the parse-only time)")
    print(f"scan --store items/s / parse-only items/s = {store_rate / pr:.2f}")
if once_db:
    once_rate = rate["newswatch once (loopback HTTP) ²"]
    print(f"once items/s / scan --store items/s = {once_rate / store_rate:.2f}; "
          f"once items/s / peer items/s = {once_rate / peer_rate:.1f}x")
if sp:
    ratio = peer_rate / rate["shared peer_feedparser.py --mode aho"]
    verdict = "within" if abs(ratio - 1) <= 0.2 else "NOT within"
    print(f"peer_pipeline.py / shared peer_feedparser.py --mode aho items/s = {ratio:.2f} ({verdict} 20%)")

# Sanity: what newswatch stored against what feed-rs parsed.
problems = []
if stored_items != parsed_items:
    problems.append(f"newswatch stored {stored_items} items, feed-rs parsed {parsed_items} items")
if stored_articles != stored_items:
    problems.append(f"{stored_items - stored_articles} items stored as sightings of a story from another feed")
if stored_feeds != int(feeds):
    problems.append(f"{stored_feeds} feeds rows for {feeds} files")
if peer and int(peer["items"]) != parsed_items:
    problems.append(f"the peer saw {peer['items']} items, feed-rs {parsed_items}")
for name in ("scan", "scan_store"):
    if runs[name]["rc"]:
        problems.append(f"{name} exited with status {runs[name]['rc']}")
for p in problems:
    print(f"WARNING: {p}")

# Coverage: newswatch against the items the peer flags.
truth = collections.defaultdict(list)
with open(f"{work}/corpus/truth.tsv", encoding="utf-8") as fh:
    for r in csv.DictReader(fh, delimiter="\t"):
        term = r.get("term") or r.get("surface") or r.get("keyword")
        truth[r["guid"]].append((r.get("kind", "planted"), term))
flagged = [l.rstrip("\n") for l in open(f"{work}/peer.flagged", encoding="utf-8") if l.strip()]
pf = set(flagged)
both = pf & nw.keys()
cov = len(both) / len(pf) if pf else 1.0
print(f"\nflagged: peer {len(pf)}, newswatch {len(nw)}, both {len(both)}")
print(f"coverage: newswatch flags {len(both)}/{len(pf)} = {cov:.1%} of the peer's items "
      f"({'PASS' if cov >= 0.8 else 'FAIL'}: >= 80%)")
decoy_only = {g for g, rs in truth.items() if rs and all(k == "decoy" for k, _ in rs)}
if pf & decoy_only:
    pf2 = pf - decoy_only
    cov2 = len(pf2 & nw.keys()) / len(pf2) if pf2 else 1.0
    print(f"  leaving out the {len(pf & decoy_only)} peer-flagged items whose plants are all decoys "
          f"(a lone Isis, a ministerial meeting): {len(pf2 & nw.keys())}/{len(pf2)} = {cov2:.1%} "
          f"({'PASS' if cov2 >= 0.8 else 'FAIL'})")

def planted(g):
    return "; ".join(f"{t} ({k})" for k, t in truth.get(g, [])) or "(nothing planted)"

misses = sorted(pf - nw.keys())
with open(f"{work}/misses.tsv", "w", encoding="utf-8") as fh:
    fh.write("item\tplanted\n")
    for g in misses:
        fh.write(f"{g}\t{planted(g)}\n")
if misses:
    by_term = collections.Counter(planted(g) for g in misses)
    print(f"peer-flagged items newswatch does not flag: {len(misses)} (all in {work}/misses.tsv), by planted terms:")
    for t, n in by_term.most_common(25):
        print(f"  {n:4d}  {t}")
extra = sorted(nw.keys() - pf)
if extra:
    by_term = collections.Counter(planted(g) for g in extra)
    print(f"flagged by newswatch only: {len(extra)}, by planted terms:")
    for t, n in by_term.most_common(12):
        print(f"  {n:4d}  {t}")

# Against what was planted.
kinds = collections.defaultdict(set)
for g, rs in truth.items():
    kinds["signal" if any(k in ("signal", "planted") for k, _ in rs) else "decoy"].add(g)
for kind, gs in sorted(kinds.items(), key=lambda kv: kv[0] != "signal"):
    print(f"planted {kind} items: {len(gs)}; flagged by newswatch {len(gs & nw.keys())}, by the peer {len(gs & pf)}")
    if kind == "signal" and gs - nw.keys():
        by_term = collections.Counter(planted(g) for g in gs - nw.keys())
        print("  signal items newswatch does not flag, by planted terms: "
              + ", ".join(f"{t} x{n}" for t, n in by_term.most_common(10)))
unplanted = nw.keys() - truth.keys()
if unplanted:
    print(f"newswatch flagged {len(unplanted)} item(s) with nothing planted, e.g. {sorted(unplanted)[:3]}")

# `once` from loopback HTTP against `scan --store` from the files: the same
# feeds (by file name), articles, sightings and matches.
if "once" in runs:
    print("\nonce (loopback HTTP) vs scan --store:")
    if not once_db:
        print(f"  FAIL: no {work}/once.db (once exited with status {runs['once']['rc']}; stderr in {work}/once.err)")
    else:
        def snapshot(conn):
            feed = {i: re.sub(r"^.*/", "", u) for i, u in conn.execute("SELECT id, url FROM feeds")}
            arts = {}
            for fid, key, fp, title in conn.execute(
                    "SELECT feed_id, item_key, fingerprint, title FROM articles"):
                arts[(feed[fid], key)] = (fp, title)
            sights = {(feed[fid], key): (feed[afid], akey) for fid, key, afid, akey in conn.execute(
                "SELECT s.feed_id, s.item_key, a.feed_id, a.item_key FROM sightings s "
                "JOIN articles a ON a.id = s.article_id")}
            ms = {}
            for fid, key, watch, sev, score, terms in conn.execute(
                    "SELECT a.feed_id, a.item_key, m.watch, m.severity, m.score, m.terms "
                    "FROM matches m JOIN articles a ON a.id = m.article_id"):
                ms[(feed[fid], key, watch)] = (sev, round(score, 6), terms)
            return set(feed.values()), arts, sights, ms
        sf, sa, ss, sm = snapshot(db)
        of, oa, os_, om = snapshot(once_db)
        cycle = {}
        for line in open(f"{work}/once.err", encoding="utf-8", errors="replace"):
            if "cycle done" in line:
                cycle = dict(re.findall(r"(\w+)=(\d+)", line))
        checks = [("feeds", len(sf), len(of)), ("articles", len(sa), len(oa)),
                  ("sightings", len(ss), len(os_)), ("matches", len(sm), len(om)),
                  ("matched articles", len({k[:2] for k in sm}), len({k[:2] for k in om}))]
        print("  " + ", ".join(f"{n}: scan --store {a}, once {b}" for n, a, b in checks))
        if cycle:
            print(f"  once's own report: feeds={cycle.get('feeds')} failed={cycle.get('failed')} "
                  f"new_articles={cycle.get('new_articles')} matched={cycle.get('matched')} "
                  f"alerts_queued={cycle.get('alerts_queued')}")
        diffs = []

        def show(what, keys, fmt):
            if keys:
                diffs.append(what)
                print(f"  {what}: {len(keys)}")
                for k in sorted(keys)[:10]:
                    print("    " + fmt(k))

        show("feeds only in scan --store", sf - of, str)
        show("feeds only in once", of - sf, str)
        show("articles only in scan --store", sa.keys() - oa.keys(), lambda k: f"{k[0]} {k[1]}")
        show("articles only in once", oa.keys() - sa.keys(), lambda k: f"{k[0]} {k[1]}")
        show("articles with other text (fingerprint)",
             {k for k in sa.keys() & oa.keys() if sa[k][0] != oa[k][0]},
             lambda k: f"{k[0]} {k[1]}: {sa[k][1]!r} / {oa[k][1]!r}")
        show("sightings only in scan --store", ss.keys() - os_.keys(), lambda k: f"{k[0]} {k[1]}")
        show("sightings only in once", os_.keys() - ss.keys(), lambda k: f"{k[0]} {k[1]}")
        show("sightings filed under another article", {k for k in ss.keys() & os_.keys() if ss[k] != os_[k]},
             lambda k: f"{k[0]} {k[1]}: scan --store -> {ss[k]}, once -> {os_[k]}")
        key = lambda k: re.sub(r"^(guid|link):", "", k[1])
        show("(item, watch) matches only in scan --store", sm.keys() - om.keys(),
             lambda k: f"{k[0]} {k[1]} [{k[2]}] {sm[k][:2]}; planted: {planted(key(k))}")
        show("(item, watch) matches only in once", om.keys() - sm.keys(),
             lambda k: f"{k[0]} {k[1]} [{k[2]}] {om[k][:2]}; planted: {planted(key(k))}")
        show("matches with another severity, score or terms", {k for k in sm.keys() & om.keys() if sm[k] != om[k]},
             lambda k: f"{k[0]} {k[1]} [{k[2]}]: {sm[k]} / {om[k]}")
        if runs["once"]["rc"]:
            diffs.append(f"once exited with status {runs['once']['rc']}")
        if cycle.get("failed", "0") != "0":
            diffs.append(f"{cycle['failed']} feed(s) failed to poll (see {work}/once.err)")
        print(f"  {'PASS' if not diffs else 'FAIL'}: once from loopback HTTP stores the same feeds, articles, "
              f"sightings and (item, watch) matches as scan --store"
              + ("" if not diffs else f" (differs: {'; '.join(diffs)})"))
PY
