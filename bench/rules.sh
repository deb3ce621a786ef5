#!/usr/bin/env bash
# Matcher benchmark, all contenders in one run on the same text:
#   the newswatch matcher (normalization included, one core), a plain
#   ASCII-case-insensitive Aho-Corasick over pre-normalized text, the matcher
#   with a pack ten times the size, and the Python reference matcher.
# Usage: bash bench/rules.sh [ARTICLES]   (default 20000; needs python3 and cargo)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
out=target/bench
mkdir -p "$out"
python3 bench/gen_text.py --articles "$n" --seed 7 --out "$out/text.jsonl"
cargo bench --bench matcher -- --text "$out/text.jsonl" --dump-patterns "$out/patterns.txt" --rounds 5 | tee "$out/matcher.txt"
python3 bench/ref_matcher.py "$out/text.jsonl" "$out/patterns.txt" | tee "$out/ref.txt"
ours=$(grep -o 'matcher_mb_s=[0-9.]*' "$out/matcher.txt" | cut -d= -f2)
ref=$(grep -o 'ref_mb_s=[0-9.]*' "$out/ref.txt" | cut -d= -f2)
python3 -c "print('newswatch matcher / Python reference = %.1fx' % ($ours / $ref))"
