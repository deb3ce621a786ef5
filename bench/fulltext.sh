#!/usr/bin/env bash
# Second-stage full text: cost and gain of fetching article pages.
# Runs `newswatch once` twice on the same generated corpus (summary-only RSS
# feeds whose items link to realistic news pages, all on 127.0.0.1), with
# [full_text] enabled and disabled, and prints one table: wall time, pages
# fetched, pages/s, body extraction (STORYMARK), boilerplate leaked,
# coalition-meeting recall / false positives, "flagged" likewise; plus a
# test-rules oracle (feed text / ideal body / whole page). See the docstring
# of bench/fulltext.py. Python 3 standard library only; never builds.
# Usage: bash bench/fulltext.sh [NEWSWATCH_BIN] [more fulltext.py options, e.g. --json]
#   default binary: target/release/newswatch if it exists, else target/debug/newswatch
# Env: FULLTEXT_FEEDS (20), FULLTEXT_ITEMS (25), FULLTEXT_SEED (7),
#      FULLTEXT_WORK (/tmp/fulltext-bench), FULLTEXT_TIMEOUT (300 s per run).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NEWSWATCH_BIN:-}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then bin=$1; shift; fi
if [ -z "$bin" ]; then
  if [ -e target/release/newswatch ]; then bin=target/release/newswatch; else bin=target/debug/newswatch; fi
fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
exec python3 bench/fulltext.py --bin "$bin" --rules "$(pwd)/config/rules/*.toml" \
  --feeds "${FULLTEXT_FEEDS:-20}" --items "${FULLTEXT_ITEMS:-25}" --seed "${FULLTEXT_SEED:-7}" \
  --work "${FULLTEXT_WORK:-/tmp/fulltext-bench}" --timeout "${FULLTEXT_TIMEOUT:-300}" "$@"
