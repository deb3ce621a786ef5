#!/usr/bin/env bash
# Two builds of newswatch side by side, in one run on one machine: the
# CPU-bound ingest rows (`scan` and `scan --store` over the bench/ingest.sh
# corpus) and the polling rows of bench/scale.sh (`once` first cycle and
# all-304 cycle over nginx), each run RUNS times alternating old/new, then
# the medians and new/old ratios. With valgrind installed, also the
# instruction counts of `scan` and `scan --store` over a small corpus
# under callgrind (repeatable where wall times are not).
#
# Usage: bash bench/compare.sh OLD_BIN NEW_BIN [RUNS]   (RUNS default 5)
# OLD_RULES=DIR runs the old binary on the rule pack in DIR (its own
# commit's config/rules), so a change to the pack is measured too;
# by default both run on this tree's pack.
# Build the old commit into its own target dir first, e.g.
#   git worktree add --detach ../old COMMIT && (cd ../old && cargo build --release)
# Needs python3, /usr/bin/time, nginx and curl (for the scale rows).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
old=$1 new=$2 runs=${3:-5}
work=$root/target/compare
rm -rf "$work" && mkdir -p "$work"

python3 bench/gen_corpus.py --feeds 1000 --items 50 --seed 7 --out "$work/corpus" > /dev/null
python3 bench/gen_corpus.py --feeds 40 --items 50 --seed 8 --out "$work/small" > /dev/null
write_cfg() { # file rules_dir
  cat > "$1" <<CFG
rules = ["$2/*.toml"]
[storage]
path = "$work/db/newswatch.db"
[[sink]]
name = "console"
kind = "log"
CFG
}
write_cfg "$work/newswatch.toml" "$root/config/rules"
write_cfg "$work/newswatch-old.toml" "${OLD_RULES:-$root/config/rules}"
cfg_of() { [ "$1" = "$old" ] && echo "$work/newswatch-old.toml" || echo "$work/newswatch.toml"; }
files=("$work"/corpus/feeds/*.xml)
small=("$work"/small/feeds/*.xml)

secs() { # command... -> wall seconds on stdout
  /usr/bin/time -f '%e' -o "$work/t" "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
  cat "$work/t"
}
row() { # name bin
  local name=$1 bin=$2
  rm -rf "$work/db" && mkdir -p "$work/db"
  case $name in
    scan) secs "$bin" --config "$(cfg_of "$bin")" scan "${files[@]}" ;;
    scan_store) secs "$bin" --config "$(cfg_of "$bin")" scan --store "${files[@]}" ;;
  esac
}
: > "$work/results.tsv"
for ((r = 1; r <= runs; r++)); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    for name in scan scan_store; do
      printf '%s\t%s\t%s\n' "$name" "$which" "$(row "$name" "$bin")" >> "$work/results.tsv"
    done
    if command -v nginx > /dev/null && command -v curl > /dev/null; then
      NEWSWATCH_BIN=$bin SCALE_NO_IDLE=1 bash bench/scale.sh > "$work/scale.out" 2>&1
      for name in once_first once_304 curl_parallel; do
        printf '%s\t%s\t%s\n' "$name" "$which" "$(cat target/scale/$name.secs)" >> "$work/results.tsv"
      done
    fi
    echo "run $r $which done" >&2
  done
done

callgrind() { # bin args... -> total instructions
  local bin=$1; shift
  rm -rf "$work/db" && mkdir -p "$work/db"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" --config "$(cfg_of "$bin")" "$@" > /dev/null 2> "$work/cg.err"
  grep -m1 '^summary:' "$work/cg.out" | awk '{print $2}'
}
if command -v valgrind > /dev/null; then
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    printf 'cg_scan\t%s\t%s\n' "$which" "$(callgrind "$bin" scan "${small[@]}")" >> "$work/results.tsv"
    printf 'cg_scan_store\t%s\t%s\n' "$which" "$(callgrind "$bin" scan --store "${small[@]}")" >> "$work/results.tsv"
  done
fi

python3 - "$work/results.tsv" "$runs" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, which, v = line.split("\t")
    rows.setdefault(name, {}).setdefault(which, []).append(float(v))
print(f"| row | old (median of {sys.argv[2]}) | new | new/old | runs old | runs new |")
print("|---|---|---|---|---|---|")
for name, d in rows.items():
    o, n = statistics.median(d["old"]), statistics.median(d["new"])
    unit = "Ir" if name.startswith("cg_") else "s"
    fmt = (lambda x: f"{x:,.0f}") if unit == "Ir" else (lambda x: f"{x:.2f}")
    print(f"| {name} ({unit}) | {fmt(o)} | {fmt(n)} | {n / o:.3f} | {' '.join(fmt(x) for x in d['old'])} | {' '.join(fmt(x) for x in d['new'])} |")
PY
