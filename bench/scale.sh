#!/usr/bin/env bash
# Polling at scale, all in one run on this machine:
#   10,000 feeds of 20 items (bench/gen_feeds.py) served by nginx (ETag and
#   If-None-Match) in another process, spread over 1,000 loopback addresses
#   (127.0.1.1 … 127.0.4.250) so that per-host limits apply as in the wild;
#   `curl` fetching the same URLs in parallel (the network side's limit);
#   `newswatch once` twice (first cycle, then all 304); an idle `run`.
# Needs nginx (apt-get install nginx-light), curl and /usr/bin/time.
# Usage: bash bench/scale.sh [FEEDS] [ITEMS]
# NEWSWATCH_BIN=path uses that binary instead of building target/release
# (bench/compare.sh runs two builds side by side); SCALE_NO_IDLE=1 skips
# the idle measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:-10000}
items=${2:-20}
work=$(pwd)/target/scale
rm -rf "$work" && mkdir -p "$work/www/feeds" "$work/nginx" "$work/run"
python3 bench/gen_feeds.py --feeds "$feeds" --items "$items" --seed 7 --out "$work/www/feeds"
if [ -n "${NEWSWATCH_BIN:-}" ]; then
  bin=$NEWSWATCH_BIN
else
  cargo build --release --quiet
  bin=$(pwd)/target/release/newswatch
fi

port=18080
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/rss+xml;
    keepalive_requests 100000;
    server { listen $port; root $work/www; etag on; }
}
CONF
nginx -c "$work/nginx/nginx.conf"
trap 'nginx -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true' EXIT
sleep 0.5

# URL i is served from loopback host 127.0.(1 + i/250 % 4).(1 + i % 250).
url() { local i=$1; echo "http://127.0.$((1 + (i / 250) % 4)).$((1 + i % 250)):$port/feeds/$(printf 'feed_%05d.xml' "$i")"; }
: > "$work/urls.txt"
{
  echo "rules = [\"$(pwd)/config/rules/*.toml\"]"
  echo "[storage]"; echo "path = \"$work/run/scale.db\""
  echo "[http]"; echo "concurrency = 64"; echo "per_host = 2"; echo "timeout = \"30s\""
  echo "[poll]"; echo "interval = \"6h\""; echo "min_interval = \"1h\""; echo "max_interval = \"6h\""; echo "backfill = \"30d\""
} > "$work/run/newswatch.toml"
for ((i = 0; i < feeds; i++)); do
  u=$(url "$i"); echo "$u" >> "$work/urls.txt"
  printf '[[feed]]\nurl = "%s"\n' "$u" >> "$work/run/newswatch.toml"
done
bytes=$(du -sb "$work/www/feeds" | cut -f1)

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || true
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{print $NF}')
  python3 - "$name" "$wall" "$rss" "$feeds" "$items" <<PY
import sys
name, wall, rss, feeds, items = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
parts = [float(p) for p in wall.split(":")]
secs = parts[-1] + (parts[-2] * 60 if len(parts) > 1 else 0) + (parts[-3] * 3600 if len(parts) > 2 else 0)
print(f"{name:<28} wall {secs:7.2f} s  {feeds / secs:8.0f} req/s  {feeds * items / secs:9.0f} items/s  peak RSS {rss / 1024:6.1f} MB")
open(f"$work/{name}.secs", "w").write(str(secs))
PY
}

echo "corpus: $feeds feeds x $items items, $((bytes / 1000000)) MB, 1,000 loopback hosts"
measure curl_parallel curl --parallel --parallel-max 64 --silent --output /dev/null --config <(sed 's/^/url = /' "$work/urls.txt")
measure once_first "$bin" --config "$work/run/newswatch.toml" once
measure once_304 "$bin" --config "$work/run/newswatch.toml" once
grep -h 'cycle done' "$work/once_first.err" "$work/once_304.err" | sed 's/\x1b\[[0-9;]*m//g' | sed 's/^.*cycle done/  cycle done/'
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
c = float(open(f"{w}/curl_parallel.secs").read())
f = float(open(f"{w}/once_first.secs").read())
s = float(open(f"{w}/once_304.secs").read())
print(f"ratios: first cycle = {f / c:.1f}x the plain fetch; 304 cycle = {s / c:.1f}x the plain fetch")
PY

[ -n "${SCALE_NO_IDLE:-}" ] && exit 0

# An idle daemon between polls: CPU time used over 10 s once its first cycle is done.
"$bin" --config "$work/run/newswatch.toml" run > /dev/null 2> "$work/run.err" &
pid=$!
sleep 15
t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 10
t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
kill -TERM "$pid"; wait "$pid" || true
echo "idle run: $((t1 - t0)) clock ticks of CPU in 10 s (1 tick = 10 ms)"
