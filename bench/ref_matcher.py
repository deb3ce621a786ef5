#!/usr/bin/env python3
"""Reference matcher: what a Python user would write to match the same terms.

Same normalization as newswatch (NFKD with combining marks dropped, case
folded, ß → ss, Arabic letter variants unified and tatweel removed, every
character that is not a letter or digit a word separator), then one
compiled regex alternation of the rule pack's patterns (longest first),
whole words only (a pattern ending in * may continue the word).

Usage: python3 bench/ref_matcher.py TEXT.jsonl PATTERNS.txt
Last line: RESULT ref_mb_s=... articles_with_hits=... seconds=...
"""
import json
import re
import sys
import time
import unicodedata

ARABIC = str.maketrans({"ٱ": "ا", "أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ی": "ي", "ئ": "ي",
                        "ة": "ه", "ؤ": "و", "ک": "ك", "\u0640": None, "\u00ad": None, "\u200b": None,
                        "\u200c": None, "\u200d": None, "\ufeff": None})
NON_WORD = re.compile(r"[\W_]+")


def normalize(s):
    s = unicodedata.normalize("NFKD", s.translate(ARABIC))
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.lower().replace("ß", "ss").translate(ARABIC)
    return NON_WORD.sub(" ", s).strip()


def main():
    text_path, pat_path = sys.argv[1], sys.argv[2]
    pats = [p for p in open(pat_path, encoding="utf-8").read().split("\n") if p]
    alts = []
    for p in sorted(pats, key=len, reverse=True):
        if p.endswith("*"):
            alts.append(re.escape(p[:-1]) + r"\w*")
        else:
            alts.append(re.escape(p))
    rx = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)")
    arts = [json.loads(l) for l in open(text_path, encoding="utf-8")]
    nbytes = sum(len(a["title"].encode()) + len(a["body"].encode()) for a in arts)
    t0 = time.perf_counter()
    with_hits = 0
    for a in arts:
        found = False
        for field in (a["title"], a["body"]):
            if rx.search(normalize(field)):
                found = True
        with_hits += found
    secs = time.perf_counter() - t0
    print("RESULT ref_mb_s=%.2f articles_with_hits=%d seconds=%.2f" % (nbytes / 1e6 / secs, with_hits, secs))


if __name__ == "__main__":
    main()
