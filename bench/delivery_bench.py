#!/usr/bin/env python3
"""Detection-to-delivery latency of webhook alerts, for bench/delivery.sh.

Everything runs on 127.0.0.1: a feed server (this script's `feeds`
subcommand, in its own process) whose RSS feeds gain items over time, one
or two webhook receivers (threads of this process), and `newswatch run` as
a child process with a config written for each scenario (its own database,
the sink's DEFAULT retry settings: only `kind`, `name` and `url`).

Latency of an alert = the receiver's clock when the request that it
answered 2xx had been read, minus the body's `detected_at`. Each alert id
counts once (its first 2xx); a later 2xx of the same id is a duplicate.

Scenarios (one run, one table):
  healthy   receiver always 200
  flaky20   receiver answers 503 to 20% of requests (random, fixed seed)
  reject5   receiver answers 400 to the 5% of alerts chosen by a seeded hash
            of the alert id (so their retries are rejected again); the
            latency is that of the other 95%
  down2m    nothing listens on the receiver's port for DOWN seconds (120)
            from the start (connection refused), then 200: time from
            recovery to the last delivery, and whether the backlog arrived
            in order (body `sequence` per sink, else `detected_at`)
  twosinks  two webhook sinks, one always 503: the healthy one's latency

Percentiles are nearest-rank over every expected alert; an alert that was
never delivered counts as infinitely late (so a p99 is only a number when
at least 99% arrived).

Usage: python3 bench/delivery_bench.py --bin NEWSWATCH --rules 'DIR/*.toml'
         [--alerts 1000] [--spread 60] [--feeds 4] [--down 120] [--seed 7]
         [--work /tmp/delivery-bench] [--scenarios healthy,flaky20,...]
       python3 bench/delivery_bench.py feeds ...   (the feed server; internal)
"""
import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

SCENARIOS = ["healthy", "flaky20", "reject5", "down2m", "twosinks"]

# ---------------------------------------------------------------------------
# Items: every one fires the shipped rules, and no two are the same story
# (unique number, link and guid in each; wording varied).

ROLES = ["Foreign ministers", "Defence ministers", "Senior officials", "Political directors"]
VERBS = ["meet in", "convene in", "gather in", "hold talks in"]
CITIES = ["Rabat", "Rome", "Oslo", "Lima", "Accra", "Riyadh", "Brussels", "Paris", "Madrid", "Berlin",
          "Nairobi", "Doha", "Amman", "Kuwait City", "Abuja", "Tunis", "Dakar", "Copenhagen", "Warsaw",
          "Ottawa", "Canberra", "Tokyo", "Seoul", "Ankara", "Baghdad", "Erbil", "Cairo", "Algiers",
          "Niamey", "Nouakchott", "Lisbon", "Vienna", "Prague", "Helsinki", "Dublin", "Athens",
          "Valletta", "Manama", "Muscat", "Abu Dhabi"]
TOPICS = ["stabilisation funding", "foreign terrorist fighters", "detention camps in the northeast",
          "counter-messaging online", "terrorist financing", "repatriation of families",
          "the threat in West Africa", "border security cooperation", "civilian protection",
          "the Sahel strategy", "humanitarian demining", "prosecution of returnees",
          "support to local police", "reconstruction of Mosul", "information sharing",
          "the al-Hol camp", "aviation security", "the fight against propaganda",
          "capacity building in Iraq", "the Africa Focus Group"]
SUMMARIES = ["Delegations from {k} countries met for session {n} on {topic}.",
             "The {k} partners agreed on the next steps on {topic} at their meeting number {n}.",
             "Ministers from {k} member states reviewed progress on {topic}; communique {n} follows.",
             "Talks among {k} coalition members focused on {topic}, the {n}th such session this year."]


def item(n, seed):
    """Item n: (title, link, summary). Deterministic from (n, seed)."""
    r = random.Random(seed * 1_000_003 + n)
    city, topic = r.choice(CITIES), r.choice(TOPICS)
    title = (f"{r.choice(ROLES)} of the Global Coalition against ISIS {r.choice(VERBS)} "
             f"{city} to discuss {topic} #{n}")
    slug = re.sub(r"[^a-z0-9]+", "-", f"{city} {topic}".lower()).strip("-")
    link = f"https://coalition-news.example.org/2026/s{n}-{slug}"
    summary = r.choice(SUMMARIES).format(k=r.randint(12, 86), n=n, topic=topic)
    return title, link, summary


LINK_RE = re.compile(r"/s(\d+)-")
TITLE_RE = re.compile(r"#(\d+)\s*$")


def item_of(body):
    """The item number an alert body is about, or None."""
    art = body.get("article") or {}
    m = LINK_RE.search(art.get("url") or "") or TITLE_RE.search(art.get("title") or "")
    return int(m.group(1)) if m else None


def item_xml(n, seed, appear):
    title, link, summary = item(n, seed)
    return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<guid isPermaLink=\"true\">{escape(link)}</guid>"
            f"<pubDate>{formatdate(appear, usegmt=True)}</pubDate>"
            f"<description>{escape(summary)}</description></item>\n")


def feed_doc(k, items_xml):
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Delivery bench feed {k}</title><link>https://coalition-news.example.org/feed{k}/</link>"
            "<description>Generated for bench/delivery.sh</description><language>en</language>\n")
    return head + "".join(items_xml) + "</channel></rss>\n"


# ---------------------------------------------------------------------------
# The feed server (a process of its own, so that building documents never
# delays the receivers' clocks). Item i of N belongs to feed i % F and
# appears at t0 + i * spread / N; a document holds a feed's newest
# `window` items that have appeared, newest first.

def serve_feeds(a):
    n, nf = a.alerts, a.feeds
    appear = [a.t0 + i * a.spread / n for i in range(n)]
    per_feed = [[i for i in range(n) if i % nf == k] for k in range(nf)]
    xml = {}
    first_served = [None] * n
    stats = {"requests": 0, "per_feed": [0] * nf, "not_found": 0}
    lock = threading.Lock()

    def visible(k, now):
        ids = per_feed[k]
        lo, hi = 0, len(ids)  # count of ids with appear <= now
        while lo < hi:
            mid = (lo + hi) // 2
            if appear[ids[mid]] <= now:
                lo = mid + 1
            else:
                hi = mid
        return ids[max(0, lo - a.window):lo]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "delivery_feeds/1"

        def do_GET(self):
            now = time.time()
            m = re.fullmatch(r"/feed(\d+)\.xml", self.path.split("?", 1)[0])
            k = int(m.group(1)) if m else -1
            if not 0 <= k < nf:
                with lock:
                    stats["not_found"] += 1
                msg = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            shown = visible(k, now)
            parts = []
            with lock:
                stats["requests"] += 1
                stats["per_feed"][k] += 1
                for i in reversed(shown):
                    if i not in xml:
                        xml[i] = item_xml(i, a.seed, appear[i])
                    parts.append(xml[i])
                    if first_served[i] is None:
                        first_served[i] = now
            data = feed_doc(k, parts).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request, client_address):
            if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                return
            super().handle_error(request, client_address)

    try:
        srv = Server(("127.0.0.1", a.port), Handler)
    except OSError:
        srv = Server(("127.0.0.1", 0), Handler)  # the fixed port is taken
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()
    with lock:
        out = dict(stats, appear=appear, first_served=first_served)
    with open(a.stats, "w") as fh:
        json.dump(out, fh)


# ---------------------------------------------------------------------------
# Webhook receivers (threads of the main process).

def parse_ts(s):
    """RFC 3339 with or without fractional seconds -> Unix seconds (float)."""
    if not isinstance(s, str) or not s:
        return None
    t = s.strip().replace("z", "Z")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d)$", t)
    if not m:
        return None
    frac = m.group(2) or ""
    base = datetime.fromisoformat(m.group(1) + m.group(3)).timestamp()
    return base + (float(frac) if frac else 0.0)


class Receiver:
    """One webhook endpoint. mode: ok | flaky | reject | down (always 503).
    start() may be called late (until then nothing listens: connection
    refused)."""

    def __init__(self, name, mode, seed, flaky_rate=0.2, reject_rate=0.05):
        self.name, self.mode, self.seed = name, mode, seed
        self.flaky_rate, self.reject_rate = flaky_rate, reject_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = []  # (t, id, status, sequence, detected_at, item)
        self.first_ok = {}  # id -> index into requests
        self.dups = {}  # id -> count of 2xx after the first
        self.item_ids = {}  # item -> id
        self.digests = 0
        self.bad_bodies = 0
        self.srv = None
        self.started_at = None
        # Reserve a port now (the config names it before anything listens).
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook/{self.name}"

    def rejected(self, alert_id):
        h = hashlib.sha256(f"{self.seed}:{alert_id}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2**64 < self.reject_rate

    def _status(self, alert_id):
        if self.mode == "ok":
            return 200
        if self.mode == "down":
            return 503
        if self.mode == "flaky":
            return 503 if self.rng.random() < self.flaky_rate else 200
        if self.mode == "reject":
            return 400 if self.rejected(alert_id) else 200
        raise ValueError(self.mode)

    def _record(self, t, body, header_id):
        """Decides the answer to one request and records it (lock held)."""
        alerts = body.get("alerts") if body.get("digest") else [body]
        if body.get("digest"):
            self.digests += 1
        key = body.get("id") or header_id
        status = self._status(key)
        for b in alerts or []:
            aid = b.get("id") or header_id
            it = item_of(b)
            if it is not None and aid:
                self.item_ids.setdefault(it, aid)
            self.requests.append((t, aid, status, b.get("sequence"), b.get("detected_at"), it))
            if 200 <= status < 300:
                if aid in self.first_ok:
                    self.dups[aid] = self.dups.get(aid, 0) + 1
                else:
                    self.first_ok[aid] = len(self.requests) - 1
        return status

    def start(self):
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "delivery_receiver/1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                t = time.time()
                try:
                    body = json.loads(raw)
                    if not isinstance(body, dict):
                        raise ValueError("not an object")
                except ValueError:
                    body = None
                with rx.lock:
                    if body is None:
                        rx.bad_bodies += 1
                        status = 400
                    else:
                        status = rx._record(t, body, self.headers.get("Idempotency-Key"))
                msg = b"ok\n" if status < 300 else b"no\n"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

            def log_message(self, fmt, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    return
                super().handle_error(request, client_address)

        self.srv = Server(("127.0.0.1", self.port), Handler)
        self.started_at = time.time()
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def resolved(self, n):
        """Whether every item 0..n-1 was delivered (or, in reject mode, is a
        rejected alert that was seen)."""
        with self.lock:
            for i in range(n):
                aid = self.item_ids.get(i)
                if aid is None:
                    return False
                if aid not in self.first_ok and not (self.mode == "reject" and self.rejected(aid)):
                    return False
        return True


# ---------------------------------------------------------------------------
# Helpers.

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wait_for_binary(src, dst, limit=600):
    """Copies the binary to dst once it exists and runs (it may be rebuilt
    under us), so that every scenario of the run uses the same build."""
    t_end = time.time() + limit
    while True:
        try:
            if os.path.isfile(src) and os.access(src, os.X_OK):
                st = os.stat(src)
                if time.time() - st.st_mtime > 2:  # not being written right now
                    shutil.copy2(src, dst + ".tmp")
                    os.replace(dst + ".tmp", dst)
                    v = subprocess.run([dst, "--version"], capture_output=True, text=True, timeout=30)
                    if v.returncode == 0:
                        return v.stdout.strip(), st
        except (OSError, subprocess.SubprocessError):
            pass
        if time.time() > t_end:
            sys.exit(f"delivery bench: {src} is missing or does not run")
        log(f"waiting for {src} ...")
        time.sleep(3)


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string here


def write_config(path, rules, db, feed_urls, sinks):
    lines = [f"rules = [{toml_str(rules)}]", "", "[storage]", f"path = {toml_str(db)}", "",
             "[poll]",
             '# The smallest values the config accepts (`poll.min_interval` must be more than 0).',
             'interval = "1ms"', 'min_interval = "1ms"',
             '# Items are dated when they appear: the first poll alerts on them too.',
             'backfill = "1d"', ""]
    for k, u in enumerate(feed_urls):
        lines += ["[[feed]]", f"url = {toml_str(u)}", f'name = "bench feed {k}"', 'interval = "1ms"', ""]
    for name, url in sinks:
        lines += ["[[sink]]", f"name = {toml_str(name)}", 'kind = "webhook"', f"url = {toml_str(url)}", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def pct(values, p):
    """Nearest-rank percentile; None stands for an alert never delivered."""
    if not values:
        return None
    v = sorted(math.inf if x is None else x for x in values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def fmt(x):
    if x is None:
        return "—"
    if math.isinf(x):
        return "missing"
    return f"{x:.2f}"


def preflight(a, bin_path):
    """Every generated item must fire the shipped rules (newswatch scan)."""
    d = os.path.join(a.work, "preflight")
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "newswatch.toml")
    write_config(cfg, a.rules, os.path.join(d, "scan.db"), [], [])
    doc = os.path.join(d, "all-items.xml")
    with open(doc, "w", encoding="utf-8") as fh:
        fh.write(feed_doc(0, [item_xml(i, a.seed, time.time()) for i in range(a.alerts)]))
    r = subprocess.run([bin_path, "--config", cfg, "scan", "--json", doc], capture_output=True, text=True)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    fired = [x for x in rows if x.get("watches")]
    titles = {item(i, a.seed)[0] for i in range(a.alerts)}
    if r.returncode != 0 or len(rows) != a.alerts or len(fired) != a.alerts or len(titles) != a.alerts:
        sys.stderr.write(r.stderr[-2000:])
        sys.exit(f"delivery bench: preflight: {len(rows)} items parsed, {len(fired)} fired, "
                 f"{len(titles)} distinct titles, of {a.alerts} (exit {r.returncode}); see {doc}")
    log(f"preflight: newswatch scan: all {a.alerts} generated items fire the shipped rules")


# ---------------------------------------------------------------------------
# One scenario.

def run_scenario(a, name, bin_path, base_p99=None):
    work = os.path.join(a.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    n = a.alerts
    if name == "twosinks":
        rxs = [Receiver("healthy", "ok", a.seed), Receiver("down", "down", a.seed)]
    else:
        mode = {"healthy": "ok", "flaky20": "flaky", "reject5": "reject", "down2m": "ok"}[name]
        rxs = [Receiver("receiver", mode, a.seed)]
    measured = rxs[0]
    for rx in rxs:
        if name != "down2m":
            rx.start()

    # Feed server first (its port goes into the config); the items start
    # appearing about when the daemon starts.
    port_file = os.path.join(work, "feeds.port")
    stats_file = os.path.join(work, "feeds.stats.json")
    t0 = time.time() + 1.0
    feeds = subprocess.Popen([sys.executable, os.path.abspath(__file__), "feeds", "--alerts", str(n),
                              "--feeds", str(a.feeds), "--spread", str(a.spread), "--t0", repr(t0),
                              "--seed", str(a.seed), "--window", str(a.window), "--port", str(a.feed_port),
                              "--port-file", port_file, "--stats", stats_file])
    while not os.path.exists(port_file):
        if feeds.poll() is not None:
            sys.exit("delivery bench: the feed server did not start")
        time.sleep(0.05)
    fport = int(open(port_file).read())
    if fport != a.feed_port:
        log(f"note: port {a.feed_port} is taken; feeds on {fport} (alert ids, hence the rejected set, differ)")
    cfg = os.path.join(work, "newswatch.toml")
    db = os.path.join(work, "newswatch.db")
    write_config(cfg, a.rules, db, [f"http://127.0.0.1:{fport}/feed{k}.xml" for k in range(a.feeds)],
                 [(rx.name, rx.url) for rx in rxs])
    chk = subprocess.run([bin_path, "--config", cfg, "check"], capture_output=True, text=True)
    if chk.returncode != 0:
        feeds.terminate()
        sys.exit(f"delivery bench: config refused:\n{chk.stdout}{chk.stderr}")

    out = open(os.path.join(work, "daemon.stdout"), "w")
    err = open(os.path.join(work, "daemon.stderr"), "w")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1")
    env.pop("NEWSWATCH_FAULT", None)
    daemon = subprocess.Popen([bin_path, "--config", cfg, "run", "--log-format", "json"],
                              stdout=out, stderr=err, env=env)
    t_start = time.time()
    last_appear = t0 + a.spread * (n - 1) / n
    recovery_at = t0 + a.down if name == "down2m" else None
    tail = {"healthy": 60, "flaky20": 180, "reject5": 60, "twosinks": 60}.get(name)
    deadline = (recovery_at + 90) if name == "down2m" else last_appear + tail
    log(f"[{name}] {n} alerts over {a.spread:.0f} s from {a.feeds} feeds; "
        + (f"receiver down (connection refused) for {a.down:.0f} s; " if recovery_at else "")
        + f"timeout {deadline - t_start:.0f} s")
    backlog_at_recovery = None
    timed_out = early_exit = False
    while True:
        now = time.time()
        if recovery_at and measured.srv is None and now >= recovery_at:
            with measured.lock:
                backlog_at_recovery = n - len(measured.first_ok)
            measured.start()
            log(f"[{name}] receiver up at +{measured.started_at - t0:.1f} s")
        if daemon.poll() is not None:
            early_exit = True
            break
        if now >= last_appear and (not recovery_at or measured.srv) and measured.resolved(n):
            time.sleep(2.0)  # a late duplicate would still be counted
            break
        if now >= deadline:
            timed_out = True
            break
        time.sleep(0.1)
    t_end = time.time()

    # Stop the daemon with SIGTERM; then the feeds and receivers.
    rc, stop_s = daemon.returncode, 0.0
    if rc is None:
        ts = time.time()
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(timeout=40)
        except subprocess.TimeoutExpired:
            daemon.kill()
            rc = f"killed (no exit 40 s after SIGTERM, rc {daemon.wait()})"
        stop_s = time.time() - ts
    out.close()
    err.close()
    feeds.send_signal(signal.SIGTERM)
    feeds.wait(timeout=20)
    for rx in rxs:
        rx.stop()
    fstats = json.load(open(stats_file)) if os.path.exists(stats_file) else {}

    # The outbox as the daemon recorded it.
    outbox = {}
    al = subprocess.run([bin_path, "--config", cfg, "alerts", "--json", "--limit", str(10 * n + 100)],
                        capture_output=True, text=True)
    with open(os.path.join(work, "alerts.jsonl"), "w") as fh:
        fh.write(al.stdout)
    sink_rows = []
    for line in al.stdout.splitlines():
        try:
            x = json.loads(line)
        except ValueError:
            continue
        if x.get("type") == "sink":
            sink_rows.append(x)
        elif x.get("type") == "alert":
            m = LINK_RE.search(x.get("url") or "") or TITLE_RE.search(x.get("title") or "")
            if m:
                outbox[(x.get("sink"), int(m.group(1)))] = x
    logs = summarize_logs(os.path.join(work, "daemon.stderr"))

    res = {"name": name, "n": n, "rc": rc, "stop_s": stop_s, "timed_out": timed_out, "early_exit": early_exit,
           "duration": t_end - t_start, "logs": logs, "sink_rows": sink_rows, "fstats": fstats,
           "backlog_at_recovery": backlog_at_recovery, "receivers": {}}
    tsv = [("scenario", "sink", "item", "feed", "alert_id", "sequence", "detected_at", "appeared", "first_served",
            "first_request", "delivered", "latency_s", "requests", "statuses", "duplicates", "rejected",
            "outcome", "outbox_state", "outbox_attempts")]
    appear = fstats.get("appear") or [t0 + i * a.spread / n for i in range(n)]
    served = fstats.get("first_served") or [None] * n
    for rx in rxs:
        per_item = {}
        for idx, (t, aid, status, seq, det, it) in enumerate(rx.requests):
            if it is not None:
                per_item.setdefault(it, []).append(idx)
        lat, rows, rejected, missing = [], [], [], []
        det_ms = det_s = delivered = 0
        for i in range(n):
            reqs = [rx.requests[j] for j in per_item.get(i, [])]
            aid = rx.item_ids.get(i)
            ok = rx.requests[rx.first_ok[aid]] if aid in rx.first_ok else None
            is_rej = rx.mode == "reject" and aid is not None and rx.rejected(aid)
            det = (ok or (reqs[0] if reqs else None) or (None,) * 5)[4]
            dts = parse_ts(det)
            if det:
                if "." in det:
                    det_ms += 1
                else:
                    det_s += 1
            latency = ok[0] - dts if ok and dts is not None else None
            ob = outbox.get((rx.name, i), {})
            if is_rej:
                outcome = "rejected"
                rejected.append(i)
            elif ok:
                outcome = "delivered"
            else:
                outcome = "missing"
            if rx.mode != "down" and not is_rej:
                lat.append(latency)
                delivered += ok is not None
                if not ok:
                    missing.append((i, aid or ob.get("id"), len(reqs), ob.get("state"), ob.get("attempts"),
                                    ob.get("last_error")))
            rows.append((name, rx.name, i, i % a.feeds, aid or ob.get("id") or "", ok[3] if ok else "",
                         det or "", f"{appear[i]:.3f}", f"{served[i]:.3f}" if served[i] else "",
                         f"{reqs[0][0]:.3f}" if reqs else "", f"{ok[0]:.3f}" if ok else "",
                         f"{latency:.3f}" if latency is not None else "", len(reqs),
                         ",".join(str(r[2]) for r in reqs), rx.dups.get(aid, 0) if aid else 0,
                         int(is_rej), outcome, ob.get("state", ""), ob.get("attempts", "")))
        tsv += rows
        # Arrival order of the 2xx deliveries.
        oks = sorted((rx.requests[j] for j in rx.first_ok.values()), key=lambda r: r[0])
        order = order_check(oks)
        res["receivers"][rx.name] = {
            "mode": rx.mode, "expected": len(lat), "delivered": delivered,
            "dups": sum(rx.dups.values()), "lat": lat, "rejected": rejected, "missing": missing,
            "requests": len(rx.requests), "digests": rx.digests, "bad_bodies": rx.bad_bodies,
            "det_ms": det_ms, "det_s": det_s, "order": order, "oks": oks, "started_at": rx.started_at,
            "statuses": count_statuses(rx.requests),
            "rejected_delivered": [i for i in rejected if rx.item_ids.get(i) in rx.first_ok],
            "rejected_tries": [len(per_item.get(i, [])) for i in rejected],
            "unknown_items": sum(1 for r in rx.requests if r[5] is None),
        }
    with open(os.path.join(a.work, f"{name}.tsv"), "w") as fh:
        for r in tsv:
            fh.write("\t".join(str(x) for x in r) + "\n")
    return res


def count_statuses(reqs):
    c = {}
    for r in reqs:
        c[r[2]] = c.get(r[2], 0) + 1
    return dict(sorted(c.items()))


def order_check(oks):
    """Deliveries in arrival order: how many arrived after one detected
    later (by `sequence` when every body has one, else `detected_at`)."""
    if not oks:
        return {"by": None, "inversions": 0, "first_bad": None}
    use_seq = all(isinstance(r[3], int) for r in oks)
    key = (lambda r: r[3]) if use_seq else (lambda r: parse_ts(r[4]) or 0.0)
    inv, hi, first_bad = 0, None, None
    for r in oks:
        k = key(r)
        if hi is not None and k < hi:
            inv += 1
            if first_bad is None:
                first_bad = (r[1], k, hi)
        hi = k if hi is None else max(hi, k)
    return {"by": "sequence" if use_seq else "detected_at", "inversions": inv, "first_bad": first_bad}


def summarize_logs(path):
    """Counts of the daemon's log messages by level and text (json logs)."""
    counts, levels, samples = {}, {}, {}
    try:
        fh = open(path, errors="replace")
    except OSError:
        return {"counts": {}, "levels": {}, "samples": {}}
    with fh:
        for line in fh:
            try:
                x = json.loads(line)
            except ValueError:
                x = {"level": "RAW", "message": line.strip()[:200]}
            lvl = str(x.get("level", "?")).upper()
            msg = x.get("message") or (x.get("fields") or {}).get("message") or ""
            levels[lvl] = levels.get(lvl, 0) + 1
            if lvl in ("WARN", "ERROR", "RAW") or "down" in msg or "back" in msg:
                k = f"{lvl} {msg}"
                counts[k] = counts.get(k, 0) + 1
                samples.setdefault(k, line.strip()[:400])
    return {"counts": counts, "levels": levels, "samples": samples}


# ---------------------------------------------------------------------------
# The report.

def report(a, results, version):
    by = {r["name"]: r for r in results}
    print()
    print(f"Delivery latency, {version}, {a.alerts} alerts per scenario over {a.spread:.0f} s from "
          f"{a.feeds} loopback feeds, default retry settings (seed {a.seed})")
    print()
    print("| scenario | alerts | delivered | duplicates | p50 s | p95 s | p99 s | max s | target | result |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    labels = {"healthy": "1. healthy receiver (always 200)",
              "flaky20": "2. 20% of requests 503 (random, seeded)",
              "reject5": "3. 5% of alerts rejected 400: the other 95%",
              "down2m": f"4. receiver down {a.down:.0f} s, then back",
              "twosinks": "5. two sinks, one always 503: the healthy one"}
    verdicts = {}
    for name in SCENARIOS:
        r = by.get(name)
        if not r:
            continue
        rx = r["receivers"]["healthy" if name == "twosinks" else "receiver"]
        lat = rx["lat"]
        p50, p95, p99, mx = pct(lat, 50), pct(lat, 95), pct(lat, 99), pct(lat, 100)
        if name == "healthy":
            target, ok = "p99 <= 1 s", p99 is not None and p99 <= 1.0
        elif name == "flaky20":
            target = "p95 <= 7 s, p99 <= 40 s"
            ok = p95 is not None and p99 is not None and p95 <= 7.0 and p99 <= 40.0
        elif name == "reject5":
            b = by.get("healthy")
            bp = pct(b["receivers"]["receiver"]["lat"], 99) if b else None
            if bp is None or math.isinf(bp):
                target, ok = "p99 within 1 s of healthy (no healthy p99)", False
            else:
                target = f"p99 within 1 s of healthy ({bp:.2f})"
                ok = p99 is not None and abs(p99 - bp) <= 1.0
        elif name == "down2m":
            rec = recovery(r, rx)
            r["recovery"] = rec
            target = "all within 30 s of recovery, in order"
            ok = rec["last"] is not None and rec["last"] <= 30.0 and rec["in_order"] and not rx["missing"]
        else:
            target, ok = "p99 <= 1 s", p99 is not None and p99 <= 1.0
        verdicts[name] = ok
        print(f"| {labels[name]} | {rx['expected']} | {rx['delivered']} | {rx['dups']} | {fmt(p50)} | "
              f"{fmt(p95)} | {fmt(p99)} | {fmt(mx)} | {target} | {'PASS' if ok else 'FAIL'} |")
    print()
    if "down2m" in by:
        rec = by["down2m"]["recovery"]
        if rec["last"] is None:
            print(f"Recovery (scenario 4): receiver up at +{rec['up']:.1f} s; nothing delivered after it "
                  f"({rec['backlog']} alerts were pending).")
        else:
            print(f"Recovery (scenario 4): receiver up at +{rec['up']:.1f} s with {rec['backlog']} alerts pending; "
                  f"first delivery {rec['first']:.2f} s after recovery, last {rec['last']:.2f} s after "
                  f"({rec['after']} delivered after recovery, {rec['missing']} missing); "
                  f"order by {rec['by']}: " + ("in order" if rec["in_order"] else
                                              f"NOT in order ({rec['inversions']} deliveries arrived after a later-detected one; "
                                              f"first: {rec['first_bad']})")
                  + f" -> {'PASS' if verdicts['down2m'] else 'FAIL'}")
    print()
    print("Notes per scenario:")
    for r in results:
        notes(r)
    print()
    print(f"Raw per-alert data: {a.work}/<scenario>.tsv; daemon logs, config and outbox: {a.work}/<scenario>/")


def recovery(r, rx):
    up = rx["started_at"]
    after = [x for x in rx["oks"] if up is not None and x[0] >= up]
    o = order_check(after)
    return {"up": (up or 0) - (r["fstats"].get("appear") or [up or 0])[0], "backlog": r["backlog_at_recovery"],
            "first": after[0][0] - up if after else None, "last": after[-1][0] - up if after else None,
            "after": len(after), "missing": len(rx["missing"]), "by": o["by"], "in_order": o["inversions"] == 0,
            "inversions": o["inversions"], "first_bad": o["first_bad"]}


def notes(r):
    parts = []
    fs = r["fstats"]
    rc = r["rc"]
    parts.append(f"daemon exit {rc}" + (f" {r['stop_s']:.1f} s after SIGTERM" if r["stop_s"] else " BEFORE SIGTERM"
                                        if r["early_exit"] else ""))
    parts.append(f"wall {r['duration']:.0f} s" + (" (TIMED OUT)" if r["timed_out"] else ""))
    if fs:
        never = sum(1 for x in fs.get("first_served", []) if x is None)
        parts.append(f"feed polls {fs.get('requests')}" + (f", {never} items never served" if never else ""))
    for sname, rx in r["receivers"].items():
        s = (f"sink {sname} ({rx['mode']}): {rx['requests']} requests {rx['statuses']}, "
             f"detected_at with ms {rx['det_ms']}, without {rx['det_s']}")
        if rx["mode"] != "down":
            s += f", order by {rx['order']['by']}: {rx['order']['inversions']} out of order"
        if rx["rejected"]:
            tries = rx["rejected_tries"]
            s += (f"; {len(rx['rejected'])} alerts rejected (requests each: min {min(tries)}, max {max(tries)}), "
                  f"{len(rx['rejected_delivered'])} of them delivered")
        if rx["digests"] or rx["bad_bodies"] or rx["unknown_items"]:
            s += f"; digests {rx['digests']}, unreadable bodies {rx['bad_bodies']}, bodies without item {rx['unknown_items']}"
        parts.append(s)
        if rx["missing"] and rx["mode"] != "down":
            show = rx["missing"][:10]
            parts.append(f"MISSING {len(rx['missing'])} at {sname}: " + "; ".join(
                f"item {i} id {aid} ({nreq} requests; outbox {st}, {att} attempts, last error {err!r})"
                for i, aid, nreq, st, att, err in show) + (" ..." if len(rx["missing"]) > 10 else ""))
    for s in r["sink_rows"]:
        parts.append(f"outbox sink {s.get('sink')}: state {s.get('state')}, pending {s.get('pending')}, "
                     f"dead {s.get('dead')}")
    lg = r["logs"]
    if lg["levels"]:
        parts.append("log levels " + ", ".join(f"{k} {v}" for k, v in sorted(lg["levels"].items())))
    for k, v in sorted(lg["counts"].items(), key=lambda kv: -kv[1])[:6]:
        parts.append(f"{v}x {k[:150]}")
    print(f"- {r['name']}: " + "; ".join(parts))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "feeds":
        ap = argparse.ArgumentParser(prog="delivery_bench.py feeds")
        ap.add_argument("feeds_cmd")
        ap.add_argument("--alerts", type=int, required=True)
        ap.add_argument("--feeds", type=int, required=True)
        ap.add_argument("--spread", type=float, required=True)
        ap.add_argument("--t0", type=float, required=True)
        ap.add_argument("--seed", type=int, required=True)
        ap.add_argument("--window", type=int, required=True)
        ap.add_argument("--port", type=int, default=0)
        ap.add_argument("--port-file", required=True)
        ap.add_argument("--stats", required=True)
        serve_feeds(ap.parse_args())
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rules", required=True, help="the rule packs (absolute glob)")
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=60.0, help="seconds over which the items appear")
    ap.add_argument("--feeds", type=int, default=4)
    ap.add_argument("--window", type=int, default=100, help="newest items in a feed document")
    ap.add_argument("--down", type=float, default=120.0, help="scenario 4: seconds the receiver is down")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--feed-port", type=int, default=18473, help="fixed, so alert ids repeat run to run")
    ap.add_argument("--work", default="/tmp/delivery-bench")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    a = ap.parse_args()
    chosen = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    bad = [s for s in chosen if s not in SCENARIOS]
    if bad or a.alerts < 1:
        sys.exit(f"delivery bench: unknown scenario(s) {bad}; choose from {SCENARIOS}")
    os.makedirs(a.work, exist_ok=True)
    for s in SCENARIOS:
        if s in chosen and os.path.exists(os.path.join(a.work, f"{s}.tsv")):
            os.remove(os.path.join(a.work, f"{s}.tsv"))
    bin_copy = os.path.join(a.work, "newswatch")
    version, st = wait_for_binary(a.bin, bin_copy)
    log(f"binary: {a.bin} ({version}, built {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(st.st_mtime))}Z, "
        f"{st.st_size} bytes), copied to {bin_copy} for the whole run")
    preflight(a, bin_copy)
    results = []
    for name in SCENARIOS:
        if name in chosen:
            results.append(run_scenario(a, name, bin_copy))
    report(a, results, f"{version} ({a.bin})")


if __name__ == "__main__":
    main()
