#!/usr/bin/env python3
"""Deterministic feed corpus for the ingest benchmark (bench/ingest.sh).

News-like prose in English, French, Spanish, German and Arabic (the word
lists of gen_text.py), written as RSS 2.0 (with content:encoded for some
items) and Atom feeds, with HTML markup and entities in descriptions and
bodies the way CMSs emit them. About 2% of items (--plant-rate) carry one or
two planted terms:

  signal  terrorism / group / coalition-against-ISIS wording that should make
          the item flagged (case, accent, entity, hyphen and Arabic proclitic
          spellings);
  decoy   the same surface words in unrelated prose that a keyword list
          flags but a careful matcher should not: a lone "Isis" (a name, the
          river), "ministerial meeting" and its translations with no
          terrorism in sight. A minority: 8% of planted items (DECOY_SHARE),
          about the share of ../shared/bench/gen_corpus.py's planted items
          whose only plants are a bare ISIS/Isis or a ministerial meeting
          (7.5% at 1000 x 50, seed 42); enough for a few of each kind.

Writes
  OUT/feeds/feed_NNNNN.xml   one document per feed
  OUT/truth.tsv              guid, feed, field, lang, kind, term (one row per planted term)
  OUT/manifest.json          the parameters and totals

Same arguments => byte-identical output.

Usage: python3 bench/gen_corpus.py --feeds 1000 --items 50 --seed 7 --out DIR
"""
import argparse
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_text  # noqa: E402

LANGS = [("en", 0.40), ("fr", 0.15), ("es", 0.15), ("de", 0.15), ("ar", 0.15)]

# Planted terms per language: (kind, surface spellings).
SIGNAL = {
    "en": [["counter-terrorism", "Counter-Terrorism"], ["counterterrorism", "COUNTERTERRORISM"],
           ["Islamic State", "islamic state"], ["ISIL"], ["Daesh", "DAESH"], ["al-Qaeda", "al Qaeda"],
           ["suicide bombing", "suicide bomber"], ["jihadist", "jihadists"], ["terrorist attack"],
           ["foreign terrorist fighters"], ["Boko Haram"], ["Global Coalition to Defeat ISIS"],
           ["violent extremism"], ["car bomb"], ["terrorism"]],
    "fr": [["l'État islamique", "l’Etat islamique", "l'&Eacute;tat islamique"], ["lutte antiterroriste"],
           ["attentat terroriste"], ["djihadistes"], ["AQMI"], ["parquet national antiterroriste"],
           ["coalition internationale contre Daech"], ["terrorisme"]],
    "es": [["Estado Islámico", "estado islamico", "Estado Isl&aacute;mico"], ["lucha antiterrorista"],
           ["atentado terrorista"], ["yihadista"], ["Coalición Global contra Dáesh"], ["célula yihadista"],
           ["terrorismo"]],
    "de": [["Terrormiliz IS"], ["Islamischer Staat"], ["Terrorbekämpfung", "Terrorbekaempfung"],
           ["Anti-IS-Koalition"], ["Dschihadisten"], ["Terroranschlag"], ["Terrorismus"]],
    "ar": [["داعش"], ["وداعش"], ["بالإرهاب"], ["الإرهابِ"], ["مكافحة الإرهاب"],
           ["التحالف الدولي ضد داعش"], ["تنظيم القاعدة"]],
}
DECOY = {
    "en": [["Isis"], ["Isis Clarke"], ["the river Isis"], ["ministerial meeting", "Ministerial Meeting"]],
    "fr": [["Isis"], ["réunion ministérielle", "reunion ministerielle", "r&eacute;union minist&eacute;rielle"]],
    "es": [["Isis"], ["reunión ministerial"]],
    "de": [["Isis"], ["Ministertreffen"]],
    "ar": [["اجتماع وزاري"]],
}
DECOY_SHARE = 0.08  # of planted items; the rest are signal

BASE = datetime(2026, 3, 1, tzinfo=timezone.utc)
DOMAINS = {"en": "co.uk", "fr": "fr", "es": "es", "de": "de", "ar": "ae"}


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_escape_keep_entities(s):
    """Escape text for HTML, leaving the entities of entity-spelled terms alone."""
    if "&" in s and ";" in s:
        return s.replace("<", "&lt;").replace(">", "&gt;")
    return xml_escape(s)


def decode_entities(s):
    import html
    return html.unescape(s)


def pick_lang(rng):
    r = rng.random()
    for lang, w in LANGS:
        r -= w
        if r < 0:
            return lang
    return LANGS[-1][0]


def tokens(rng, lang, n_sentences, lo, hi):
    out = []
    for _ in range(n_sentences):
        out.extend(gen_text.sentence(rng, lang, rng.randint(lo, hi)).split(" "))
    return out


def to_html_tokens(rng, words, domain, lang):
    """Escapes words and wraps a few in inline markup; one token per word."""
    toks = []
    for w in words:
        t = xml_escape(w)
        r = rng.random()
        if r < 0.012:
            t = '<a href="https://%s/topic/%d?utm_source=rss&amp;utm_medium=feed">%s</a>' % (
                domain, rng.randint(1, 5000), t)
        elif r < 0.02:
            t = "<strong>%s</strong>" % t
        elif r < 0.026:
            t = "<em>%s</em>" % t
        elif r < 0.03:
            t = ("&laquo;&nbsp;%s&nbsp;&raquo;" if lang == "fr" else "&ldquo;%s&rdquo;") % t
        toks.append(t)
    return toks


def paragraphs_html(rng, lang, domain, n_words, plant_at=None):
    """HTML paragraphs of about n_words words; plant_at = (paragraph-relative
    token position chooser, html term) inserts a term as one token."""
    paras = []
    got = 0
    while got < n_words:
        words = tokens(rng, lang, rng.randint(2, 5), 8, 22)
        got += len(words)
        paras.append(to_html_tokens(rng, words, domain, lang))
    for term in plant_at or []:
        p = paras[rng.randrange(len(paras))]
        p.insert(rng.randint(0, len(p)), term)
    return paras


def render_paras(rng, paras, lang):
    parts = []
    for i, p in enumerate(paras):
        text = " ".join(p).replace(" - ", " &ndash; ")
        if i and rng.random() < 0.1:
            parts.append("<h3>%s</h3>" % " ".join(xml_escape(w) for w in gen_text.sentence(rng, lang, 5).split(" ")))
        if rng.random() < 0.05:
            parts.append("<blockquote><p>%s</p></blockquote>" % text)
        else:
            parts.append("<p>%s</p>" % text)
    return "\n".join(parts)


def cdata(s):
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def make_item(rng, lang, f, i, domain, planted_kind):
    title_words = gen_text.sentence(rng, lang, rng.randint(6, 12)).rstrip(".,;").split(" ")
    has_content = rng.random() < 0.25
    planted = []  # (field, kind, term as decoded text)
    plant_desc, plant_content = [], []
    if planted_kind:
        for _ in range(rng.choice([1, 1, 2])):
            pool = (DECOY if planted_kind == "decoy" else SIGNAL)[lang]
            surface = rng.choice(rng.choice(pool))
            r = rng.random()
            field = "title" if r < 0.2 else ("content" if has_content and r >= 0.55 else "summary")
            plain = decode_entities(surface)
            if field == "title":
                title_words.insert(rng.randint(0, len(title_words)), plain)
            elif field == "summary":
                plant_desc.append(html_escape_keep_entities(surface))
            else:
                plant_content.append(html_escape_keep_entities(surface))
            planted.append((field, planted_kind, plain))
    title = " ".join(title_words)
    desc = render_paras(rng, paragraphs_html(rng, lang, domain, rng.randint(35, 110), plant_desc), lang)
    if rng.random() < 0.35:
        desc = '<p><img src="https://%s/media/%d.jpg" alt="" width="800" height="450"/></p>\n%s' % (
            domain, rng.randint(1, 10 ** 6), desc)
    content = None
    if has_content:
        content = '<div class="article-body">\n%s\n</div>' % render_paras(
            rng, paragraphs_html(rng, lang, domain, rng.randint(200, 1500), plant_content), lang)
    when = BASE - timedelta(seconds=rng.randint(0, 45 * 86400))
    link = "https://www.news%d.example.%s/%04d/%02d/%d-%d.html" % (f, DOMAINS[lang], when.year, when.month, f, i)
    guid = link if rng.random() < 0.5 else "tag:news%d.example,2026:item-%d-%d" % (f, f, i)
    return {"title": title, "desc": desc, "content": content, "when": when, "link": link, "guid": guid,
            "planted": planted}


def rss(rng, f, lang, domain, items):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/">',
           "<channel>", "<title>Bench news %d (%s)</title>" % (f, lang),
           "<link>https://www.news%d.example.%s/</link>" % (f, DOMAINS[lang]),
           "<description>Synthetic feed %d</description>" % f, "<language>%s</language>" % lang,
           "<lastBuildDate>%s</lastBuildDate>" % BASE.strftime("%a, %d %b %Y %H:%M:%S +0000")]
    for it in items:
        permalink = "" if it["guid"] == it["link"] else ' isPermaLink="false"'
        desc = cdata(it["desc"]) if rng.random() < 0.5 else xml_escape(it["desc"])
        out.append("<item>\n<title>%s</title>\n<link>%s</link>\n<guid%s>%s</guid>\n<pubDate>%s</pubDate>\n"
                   "<dc:creator>Desk %d</dc:creator>\n<category>News</category>\n<description>%s</description>"
                   % (xml_escape(it["title"]), xml_escape(it["link"]), permalink, xml_escape(it["guid"]),
                      it["when"].strftime("%a, %d %b %Y %H:%M:%S +0000"), rng.randint(1, 20), desc))
        if it["content"] is not None:
            out.append("<content:encoded>%s</content:encoded>" % cdata(it["content"]))
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom(rng, f, lang, domain, items):
    site = "https://www.news%d.example.%s/" % (f, DOMAINS[lang])
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="%s">' % lang,
           "<title>Bench news %d (%s)</title>" % (f, lang), '<link href="%s"/>' % site,
           "<id>%satom</id>" % site, "<updated>%s</updated>" % BASE.strftime("%Y-%m-%dT%H:%M:%SZ")]
    for it in items:
        ts = it["when"].strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append('<entry>\n<title type="text">%s</title>\n<link rel="alternate" href="%s"/>\n<id>%s</id>\n'
                   "<published>%s</published>\n<updated>%s</updated>\n<author><name>Desk %d</name></author>\n"
                   '<summary type="html">%s</summary>'
                   % (xml_escape(it["title"]), xml_escape(it["link"]), xml_escape(it["guid"]), ts, ts,
                      rng.randint(1, 20), xml_escape(it["desc"])))
        if it["content"] is not None:
            out.append('<content type="html">%s</content>' % cdata(it["content"]))
        out.append("</entry>")
    out += ["</feed>", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--plant-rate", type=float, default=0.02)
    ap.add_argument("--atom-share", type=float, default=0.35)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    feeds_dir = os.path.join(a.out, "feeds")
    os.makedirs(feeds_dir, exist_ok=True)
    totals = {"items": 0, "bytes": 0, "planted_items": 0, "signal_items": 0, "decoy_items": 0, "atom_feeds": 0}
    langs = {}
    with open(os.path.join(a.out, "truth.tsv"), "w", encoding="utf-8", newline="\n") as truth:
        truth.write("guid\tfeed\tfield\tlang\tkind\tterm\n")
        for f in range(a.feeds):
            rng = random.Random("%d/%d" % (a.seed, f))
            lang = pick_lang(rng)
            langs[lang] = langs.get(lang, 0) + 1
            is_atom = rng.random() < a.atom_share
            domain = "www.news%d.example.%s" % (f, DOMAINS[lang])
            items = []
            for i in range(a.items):
                kind = None
                if rng.random() < a.plant_rate:
                    kind = "decoy" if rng.random() < DECOY_SHARE else "signal"
                items.append(make_item(rng, lang, f, i, domain, kind))
            doc = (atom if is_atom else rss)(rng, f, lang, domain, items)
            name = "feed_%05d.xml" % f
            data = doc.encode("utf-8")
            with open(os.path.join(feeds_dir, name), "wb") as fh:
                fh.write(data)
            totals["bytes"] += len(data)
            totals["items"] += len(items)
            totals["atom_feeds"] += is_atom
            for it in items:
                if it["planted"]:
                    totals["planted_items"] += 1
                    totals[it["planted"][0][1] + "_items"] += 1
                for field, kind, term in it["planted"]:
                    truth.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (it["guid"], name, field, lang, kind, term))
    manifest = dict(generator="bench/gen_corpus.py", feeds=a.feeds, items_per_feed=a.items, seed=a.seed,
                    plant_rate=a.plant_rate, languages=langs, **totals)
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    print(json.dumps(manifest, ensure_ascii=False))


if __name__ == "__main__":
    main()
