#!/usr/bin/env python3
"""Deterministic RSS 2.0 feeds for the polling benchmark, built from the
same news-like text as the matcher benchmark (gen_text.py).

Usage: python3 bench/gen_feeds.py --feeds 10000 --items 20 --seed 7 --out DIR
Writes DIR/feed_NNNNN.xml.
"""
import argparse
import os
import random
import sys
from email.utils import formatdate
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_text  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=10000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    langs = ["en", "fr", "es", "de", "ar"]
    now = 1_780_000_000
    for f in range(a.feeds):
        lang = langs[f % 5]
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                 f"<title>Bench feed {f}</title><link>https://bench.invalid/{f}/</link><language>{lang}</language>\n"]
        for i in range(a.items):
            title = gen_text.sentence(rng, lang, rng.randint(6, 12)).rstrip(".,;")
            body = " ".join(gen_text.sentence(rng, lang, rng.randint(8, 22)) for _ in range(rng.randint(2, 4)))
            if rng.random() < 0.02:
                body += " " + rng.choice(gen_text.PLANTED[lang])
            date = formatdate(now - (f * 37 + i * 3600) % 86400, usegmt=True)
            parts.append(f"<item><title>{escape(title)}</title><link>https://bench.invalid/{f}/{i}</link>"
                         f"<guid>bench-{f}-{i}</guid><pubDate>{date}</pubDate>"
                         f"<description>{escape(body)}</description></item>\n")
        parts.append("</channel></rss>\n")
        with open(os.path.join(a.out, f"feed_{f:05d}.xml"), "w", encoding="utf-8") as fh:
            fh.write("".join(parts))


if __name__ == "__main__":
    main()
