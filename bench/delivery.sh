#!/usr/bin/env bash
# Detection-to-delivery latency of webhook alerts (p50/p95/p99/max over
# DELIVERY_ALERTS alerts per scenario, default 1,000), all on 127.0.0.1, with
# the sinks' DEFAULT retry settings, in one run printed as one table:
#   1. healthy receiver; 2. 20% of requests answered 503 (seeded random);
#   3. 5% of alerts rejected with 400 (seeded hash of the alert id; the
#      latency of the other 95%); 4. receiver down 2 minutes (connection
#      refused), then back: recovery to last delivery, and order;
#   5. two sinks, one always 503: the healthy one's latency.
# Alerts come from RSS feeds served by bench/delivery_bench.py whose items
# appear over DELIVERY_SPREAD seconds (60); `newswatch run` polls them at the
# smallest intervals the config accepts. Raw data: /tmp/delivery-bench/<scenario>.tsv.
# Python 3.11 standard library only. Does not build: it uses the binary given,
# else target/release/newswatch if it exists, else target/debug/newswatch
# (copied to the work folder first, so a rebuild during the run changes nothing).
# Usage: bash bench/delivery.sh [NEWSWATCH_BIN]
# Env: DELIVERY_ALERTS (1000), DELIVERY_SPREAD (60), DELIVERY_FEEDS (4),
#      DELIVERY_DOWN (120), DELIVERY_SEED (7), DELIVERY_SCENARIOS (all:
#      healthy,flaky20,reject5,down2m,twosinks), DELIVERY_WORK (/tmp/delivery-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${NEWSWATCH_BIN:-}}
if [ -z "$bin" ]; then
  if [ -e target/release/newswatch ]; then bin=target/release/newswatch; else bin=target/debug/newswatch; fi
fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
exec python3 bench/delivery_bench.py --bin "$bin" --rules "$(pwd)/config/rules/*.toml" \
  --alerts "${DELIVERY_ALERTS:-1000}" --spread "${DELIVERY_SPREAD:-60}" --feeds "${DELIVERY_FEEDS:-4}" \
  --down "${DELIVERY_DOWN:-120}" --seed "${DELIVERY_SEED:-7}" \
  --scenarios "${DELIVERY_SCENARIOS:-healthy,flaky20,reject5,down2m,twosinks}" \
  --work "${DELIVERY_WORK:-/tmp/delivery-bench}"
