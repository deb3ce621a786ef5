#!/usr/bin/env python3
"""The Python pipeline a user would write instead of newswatch, as the
yardstick of the ingest benchmark (bench/ingest.sh).

For every feed document (*.xml) in a folder, in name order:
  feedparser -> HTML tags stripped (regex) and entities decoded
  (html.unescape) -> lowercase, NFD, combining marks dropped, whitespace
  collapsed -> whole-word keyword search with pyahocorasick (leftmost-longest,
  a word-boundary check on both ends; a keyword written with a trailing *
  in the rule pack may run on to the end of the word) -> every item, and
  every (item, keyword, hits) row, into SQLite (WAL, synchronous=NORMAL),
  one transaction per feed.

Keywords: by default derived from newswatch's shipped rule pack
(config/rules/terms.toml): the string entries of the lists that flag an
article on their own (--lists), with our syntax taken off (a leading `=`
and its quotes, a `^weight`, a trailing `*`), plus the bare term "isis" that
the watches use outside lists. A phrase is also added with hyphens between
its words ("al qaeda" -> "al-qaeda"), the spelling a user would add since
this pipeline keeps punctuation. --keywords FILE (one per line) replaces all
of that.

Last line on stdout:
  RESULT peer=python items=.. matched_items=.. matches=.. bytes=.. seconds=.. items_per_s=.. mb_per_s=..

Usage:
  python3 bench/peer_pipeline.py CORPUS[/feeds] [--db FILE] [--flagged FILE]
"""
import argparse
import html
import os
import re
import sqlite3
import sys
import time
import tomllib
import unicodedata

try:
    import ahocorasick
    import feedparser
except ImportError as e:  # pragma: no cover
    sys.exit("peer_pipeline.py needs feedparser and pyahocorasick: "
             "python3 -m pip install feedparser pyahocorasick (%s)" % e)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LISTS = ("ct_core,groups,groups_de_is,attack_methods,islamist_militancy,detention_camps,"
                 "extremism_policy,ct_forums,ct_meeting_series")
EXTRA_TERMS = ["isis"]

TAG = re.compile(r"<[^>]*>")
# Every combining mark of the BMP, for str.translate.
MARKS = {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}


def strip_html(s):
    return html.unescape(TAG.sub(" ", s)) if s else ""


def normalize(s):
    s = unicodedata.normalize("NFD", s.lower()).translate(MARKS)
    return " ".join(s.split())


def rule_pack_keywords(path, lists):
    """(keyword, is_prefix) pairs from the rule pack's term lists."""
    with open(path, "rb") as fh:
        terms = tomllib.load(fh)["terms"]
    raw = []
    for name in lists:
        if name not in terms:
            sys.exit("peer_pipeline.py: no list %r in %s" % (name, path))
        raw += [t for t in terms[name] if isinstance(t, str)]
    raw += EXTRA_TERMS
    out = []
    for t in raw:
        t = t.strip()
        if t.startswith("="):
            t = t[1:].strip().strip('"')
        t = re.sub(r"\^[0-9.]+$", "", t).strip()
        prefix = t.endswith("*")
        t = t.rstrip("*").strip()
        if not t:
            continue
        out.append((t, prefix))
        if " " in t and not any("\u0600" <= c <= "\u06ff" for c in t):
            out.append((t.replace(" ", "-"), prefix))
    return out


def file_keywords(path):
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            t = line.strip()
            if t and not t.startswith("#"):
                out.append((t.rstrip("*"), t.endswith("*")))
    return out


def build_automaton(keywords):
    """Normalizes and deduplicates; returns (automaton, [normalized keyword])."""
    auto = ahocorasick.Automaton()
    index = {}
    for text, prefix in keywords:
        k = normalize(text)
        if not k:
            continue
        if k in index:
            kid, was_prefix = index[k]
            if prefix and not was_prefix:
                index[k] = (kid, True)
            continue
        index[k] = (len(index), prefix)
    for k, (kid, prefix) in index.items():
        auto.add_word(k, (kid, len(k), prefix))
    auto.make_automaton()
    names = [None] * len(index)
    for k, (kid, _) in index.items():
        names[kid] = k
    return auto, names


def is_word(c):
    return c.isalnum() or c == "_"


def find(auto, text):
    """{keyword id: hits}: leftmost-longest, whole words (prefix keywords: whole at the start)."""
    hits = {}
    last = len(text) - 1
    for end, (kid, length, prefix) in auto.iter_long(text):
        start = end - length + 1
        if start and is_word(text[start - 1]):
            continue
        if not prefix and end < last and is_word(text[end + 1]):
            continue
        hits[kid] = hits.get(kid, 0) + 1
    return hits


SCHEMA = """
CREATE TABLE feed (id INTEGER PRIMARY KEY, file TEXT NOT NULL UNIQUE, title TEXT, format TEXT);
CREATE TABLE keyword (id INTEGER PRIMARY KEY, term TEXT NOT NULL);
CREATE TABLE item (
  id INTEGER PRIMARY KEY, feed INTEGER NOT NULL REFERENCES feed(id), item_id TEXT NOT NULL UNIQUE,
  link TEXT, title TEXT, published TEXT, summary TEXT, content TEXT);
CREATE TABLE hit (
  item INTEGER NOT NULL REFERENCES item(id), keyword INTEGER NOT NULL REFERENCES keyword(id),
  hits INTEGER NOT NULL, PRIMARY KEY (item, keyword)) WITHOUT ROWID;
"""


def open_db(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def feed_files(folder):
    sub = os.path.join(folder, "feeds")
    if os.path.isdir(sub):
        folder = sub
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".xml"))


def published(e):
    t = e.get("published_parsed") or e.get("updated_parsed")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t) if t else (e.get("published") or e.get("updated"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="a folder of *.xml feeds, or a corpus folder with feeds/")
    ap.add_argument("--db", default="peer_pipeline.sqlite", help="SQLite file (recreated)")
    ap.add_argument("--rules", default=os.path.join(ROOT, "config/rules/terms.toml"))
    ap.add_argument("--lists", default=DEFAULT_LISTS, help="comma-separated term lists of --rules")
    ap.add_argument("--keywords", help="a keyword file (one a line, trailing * = prefix) instead of --rules")
    ap.add_argument("--flagged", help="write the id (guid, else link) of every flagged item here")
    ap.add_argument("--dump-keywords", help="write the normalized keywords here")
    a = ap.parse_args()

    t0 = time.perf_counter()
    if a.keywords:
        keywords = file_keywords(a.keywords)
    else:
        keywords = rule_pack_keywords(a.rules, [x for x in a.lists.split(",") if x])
    auto, names = build_automaton(keywords)
    if a.dump_keywords:
        with open(a.dump_keywords, "w", encoding="utf-8") as fh:
            fh.writelines(k + "\n" for k in names)
    db = open_db(a.db)
    db.execute("BEGIN")
    db.executemany("INSERT INTO keyword (id, term) VALUES (?, ?)", enumerate(names))
    db.execute("COMMIT")

    flagged = []
    n_items = n_matched = n_matches = n_bytes = 0
    for path in feed_files(a.folder):
        with open(path, "rb") as fh:
            doc = fh.read()
        n_bytes += len(doc)
        parsed = feedparser.parse(doc)
        rows = []
        for e in parsed.entries:
            title = strip_html(e.get("title", ""))
            summary = strip_html(e.get("summary", ""))
            content = " ".join(strip_html(c.get("value", "")) for c in e.get("content", []))
            hits = find(auto, normalize(" \n".join((title, summary, content))))
            item_id = e.get("id") or e.get("link")
            rows.append((item_id, e.get("link"), title, published(e), summary, content, hits))
        db.execute("BEGIN")
        feed_id = db.execute("INSERT INTO feed (file, title, format) VALUES (?, ?, ?)",
                             (os.path.basename(path), parsed.feed.get("title"), parsed.get("version"))).lastrowid
        for item_id, link, title, date, summary, content, hits in rows:
            cur = db.execute("INSERT OR IGNORE INTO item (feed, item_id, link, title, published, summary, content)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)", (feed_id, item_id, link, title, date, summary, content))
            n_items += 1
            if hits and cur.rowcount:
                db.executemany("INSERT INTO hit (item, keyword, hits) VALUES (?, ?, ?)",
                               [(cur.lastrowid, k, n) for k, n in hits.items()])
                n_matched += 1
                n_matches += len(hits)
                flagged.append(item_id)
        db.execute("COMMIT")
    db.close()
    secs = time.perf_counter() - t0

    if a.flagged:
        with open(a.flagged, "w", encoding="utf-8") as fh:
            fh.writelines("%s\n" % i for i in flagged)
    print("keywords: %d normalized (from %s)" % (len(names), a.keywords or a.rules), file=sys.stderr)
    print("RESULT peer=python items=%d matched_items=%d matches=%d bytes=%d seconds=%.2f items_per_s=%.1f mb_per_s=%.2f"
          % (n_items, n_matched, n_matches, n_bytes, secs, n_items / secs, n_bytes / 1e6 / secs))


if __name__ == "__main__":
    main()
