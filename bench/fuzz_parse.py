#!/usr/bin/env python3
"""Mutation fuzzing of the feed parser through the built binary.

Takes the real-world documents of ../shared/corpus/feeds (or DIR), mutates
them (byte flips, deletions, duplications, truncation, spliced halves of
two documents, inserted markup, entities and invalid UTF-8), writes a batch
of mutants to a temporary folder and runs `newswatch scan --json` over the
batch, again and again for DURATION seconds. Fails on any exit other than
0 or 1, any panic message, or a peak RSS above the bound; prints the
mutant that did it (kept in the work folder).

Usage: python3 bench/fuzz_parse.py NEWSWATCH [--minutes 60] [--seed 1]
       [--corpus DIR] [--batch 400] [--max-rss-mb 512]
"""
import argparse, os, random, resource, shutil, subprocess, sys, tempfile, time

SNIPPETS = [b"<item>", b"</item>", b"<entry>", b"&nbsp;", b"&", b"&#", b"&#x1F600",
            b"<![CDATA[", b"]]>", b"<!--", b"\xff\xfe", b"\xc3", b"\x00", b"<" * 64,
            b"<a><b><c>" * 50, b'"items":[', b"{", b"}", b"]", b"xmlns=\"x\"", b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>"]

def mutate(rng, doc, other):
    d = bytearray(doc)
    for _ in range(rng.randint(1, 8)):
        if not d:
            d += rng.choice(SNIPPETS)
            continue
        op = rng.randrange(7)
        p = rng.randrange(len(d))
        if op == 0:
            d[p] = rng.randrange(256)
        elif op == 1:
            del d[p:p + rng.randint(1, 64)]
        elif op == 2:
            q = rng.randrange(len(d)); d[p:p] = d[q:q + rng.randint(1, 256)]
        elif op == 3:
            d = d[:p]
        elif op == 4:
            d[p:p] = rng.choice(SNIPPETS)
        elif op == 5 and other:
            q = rng.randrange(len(other)); d = d[:p] + other[q:]
        else:
            d[p:p] = rng.choice(SNIPPETS) * rng.randint(1, 200)
    return bytes(d)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "../../shared/corpus/feeds"))
    ap.add_argument("--batch", type=int, default=400)
    ap.add_argument("--max-rss-mb", type=int, default=512)
    a = ap.parse_args()
    docs = []
    for root, _, files in os.walk(a.corpus):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                b = fh.read()
            if len(b) <= 2_000_000:
                docs.append(b)
    if not docs:
        sys.exit(f"no documents under {a.corpus}")
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="nw-fuzz-")
    cfg = os.path.join(work, "fuzz.toml")
    rules = os.path.abspath(os.path.join(os.path.dirname(__file__), "../config/rules"))
    open(cfg, "w").write(f'rules = ["{rules}/*.toml"]\n[storage]\npath = "{work}/unused.db"\n')
    end = time.time() + a.minutes * 60
    total = rounds = 0
    peak = 0
    while time.time() < end:
        batch = os.path.join(work, "batch"); shutil.rmtree(batch, ignore_errors=True); os.makedirs(batch)
        paths = []
        for i in range(a.batch):
            m = mutate(rng, rng.choice(docs), rng.choice(docs))
            p = os.path.join(batch, f"m{i:04}"); open(p, "wb").write(m); paths.append(p)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        r = subprocess.run([a.bin, "--config", cfg, "scan", "--json", *paths], capture_output=True)
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        rounds += 1; total += len(paths)
        bad = r.returncode not in (0, 1) or b"panicked" in r.stderr
        if bad or peak > a.max_rss_mb * 1024:
            keep = os.path.join(work, f"failing-round-{rounds}")
            shutil.copytree(batch, keep)
            print(f"FAIL after {total} mutants: exit {r.returncode}, peak RSS {peak // 1024} MB; batch kept in {keep}")
            print(r.stderr.decode(errors="replace")[-2000:])
            sys.exit(1)
    print(f"fuzz: {total} mutants in {rounds} runs of `scan` over {a.minutes:g} min (seed {a.seed}), "
          f"no panic, no crash, peak RSS {peak // 1024} MB (bound {a.max_rss_mb} MB)")
    shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
