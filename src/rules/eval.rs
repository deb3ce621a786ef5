//! Evaluating articles against a compiled [`RuleSet`]: one pass per field
//! that normalizes the text and walks the automaton in the same loop
//! (`Walker`, fed by [`crate::text::feed`]), proclitic and case checks on
//! each hit, then each watch's query over the hits, its score, the terms
//! that made it fire, and a snippet. `explain` shows the query tree with
//! which parts held.

use super::{Automaton, Expr, FLAG_ARABIC, FLAG_PREFIX, RuleSet, TermId};
use crate::model::{Article, Field, TermHit, WatchMatch};
use crate::text::{Feed, Normalized, feed, normalize, normalize_keep_case, normalize_text};
use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton as AcAutomaton, StateID};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const ALL_FIELDS: u8 = 0b111;

/// One occurrence of a term in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    field: u8,
    word: u32,
    last_word: u32,
}

/// The hits of the terms found in one article, sorted by term, then
/// field, then position (first and last word), each occurrence once.
#[derive(Default)]
struct Hits {
    all: Vec<(TermId, Hit)>,
    /// The terms with at least one hit, sorted.
    present: Vec<TermId>,
}

impl Hits {
    fn of(&self, t: TermId) -> impl Iterator<Item = &Hit> {
        let lo = self.all.partition_point(|(x, _)| *x < t);
        self.all[lo..]
            .iter()
            .take_while(move |(x, _)| *x == t)
            .map(|(_, h)| h)
    }

    /// How often term `t` occurs in the field `field` (one bit), capped at
    /// [`MAX_COUNT`].
    fn count(&self, t: TermId, field: u8) -> u32 {
        self.of(t)
            .filter(|h| h.field == field)
            .take(MAX_COUNT as usize)
            .count() as u32
    }

    /// The terms of `ids` (sorted) that have hits, in order: the shorter
    /// of the two lists is walked and looked up in the other, so a small
    /// clause costs little in an article with many distinct terms.
    fn present_in<'a>(&'a self, ids: &'a [TermId]) -> impl Iterator<Item = TermId> + 'a {
        let (walk, look) = if ids.len() <= self.present.len() {
            (ids, self.present.as_slice())
        } else {
            (self.present.as_slice(), ids)
        };
        walk.iter()
            .copied()
            .filter(move |t| look.binary_search(t).is_ok())
    }
}

/// The hits of every term in one article.
struct Scan<'a> {
    originals: [&'a str; 3],
    /// Each field's word map, built only when needed (case checks, snippets).
    normed: [OnceCell<Normalized>; 3],
    hits: Hits,
}

impl Scan<'_> {
    fn normed(&self, field: usize) -> &Normalized {
        self.normed[field].get_or_init(|| normalize(self.originals[field]))
    }
}

/// How many recent word starts a [`Walker`] remembers: enough for any
/// pattern of fewer words (longer ones are checked on the normalized text).
const RING: usize = 64;

/// What precedes a pattern inside its word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// Nothing: the pattern starts the word.
    None,
    /// An Arabic proclitic (و ف ب ك ل ال and their combinations).
    Proclitic,
    /// Something else.
    Other,
    /// Too far back to remember: look at the normalized text.
    Unknown,
}

/// How many recent bytes a [`Walker`] remembers (for proclitic checks).
const RECENT: usize = 256;

/// A pattern found in one field, in normalized-text coordinates.
struct RawHit {
    pattern: u32,
    /// Where the pattern starts.
    start: u32,
    /// What precedes the pattern in its word.
    lead: Lead,
    word: u32,
    last_word: u32,
}

/// Steps the automaton over the normalized text as [`feed`] produces it.
/// Positions count the text as `" " + normalized + " "`; `spaces` counts
/// the spaces seen, so the word being read is `spaces - 1`. Nothing here
/// is reached by address, so the scalars can live in registers.
struct Walker<'r, 'o, A> {
    a: &'r A,
    sid: StateID,
    pos: u32,
    spaces: u32,
    /// Where the word after space `n` starts, at `n % RING`.
    starts: &'o mut [u32; RING],
    /// The last bytes walked: hay offset `p` at `p % RECENT`.
    recent: &'o mut [u8; RECENT],
    out: &'o mut Found<'r>,
}

/// Where a [`Walker`] puts its hits.
struct Found<'r> {
    rules: &'r RuleSet,
    raw: &'r mut Vec<RawHit>,
}

impl Found<'_> {
    #[cold]
    #[inline(never)]
    fn matched<A: AcAutomaton>(
        &mut self,
        a: &A,
        sid: StateID,
        pos: u32,
        spaces: u32,
        starts: &[u32; RING],
        recent: &[u8; RECENT],
    ) {
        if !a.is_match(sid) {
            return;
        }
        for k in 0..a.match_len(sid) {
            let pat = a.match_pattern(sid, k).as_usize();
            // A pattern closed by the separator ends one byte earlier than
            // the automaton's match; the text is one byte behind the walk.
            let tail = u32::from(self.rules.pattern_flags[pat] & FLAG_PREFIX == 0);
            let gaps = self.rules.pattern_gaps[pat];
            let end = pos - tail;
            let Some(start) = end.checked_sub(self.rules.patterns[pat].len() as u32 + 1) else {
                continue;
            };
            let last_word = spaces.saturating_sub(1 + tail);
            let word = last_word.saturating_sub(gaps);
            let lead = if self.rules.pattern_flags[pat] & FLAG_ARABIC == 0 {
                // Anchored by its leading space.
                Lead::None
            } else if (gaps as usize) < RING - 2 {
                // Text offsets are hay offsets less one.
                let word_start = starts[(word as usize + 1) % RING].saturating_sub(1);
                let before = start.saturating_sub(word_start) as usize;
                if before == 0 {
                    Lead::None
                } else if before > 8 {
                    // No proclitic is longer than four letters.
                    Lead::Other
                } else if (pos - word_start) as usize >= RECENT {
                    Lead::Unknown
                } else {
                    let mut b = [0u8; 8];
                    for (k, slot) in b[..before].iter_mut().enumerate() {
                        *slot = recent[(word_start as usize + 1 + k) % RECENT];
                    }
                    match std::str::from_utf8(&b[..before]) {
                        Ok(p) if is_proclitic(p) => Lead::Proclitic,
                        _ => Lead::Other,
                    }
                }
            } else {
                Lead::Unknown
            };
            self.raw.push(RawHit {
                pattern: pat as u32,
                start,
                lead,
                word,
                last_word,
            });
        }
    }
}

impl<A: AcAutomaton> Walker<'_, '_, A> {
    #[inline(always)]
    fn step<const SPACE: bool>(&mut self, b: u8) {
        self.sid = self.a.next_state(Anchored::No, self.sid, b);
        self.recent[self.pos as usize % RECENT] = b;
        self.pos += 1;
        if SPACE {
            self.spaces += 1;
            self.starts[self.spaces as usize % RING] = self.pos;
        }
        if self.a.is_special(self.sid) {
            self.out.matched(
                self.a,
                self.sid,
                self.pos,
                self.spaces,
                self.starts,
                self.recent,
            );
        }
    }
}

impl<A: AcAutomaton> Feed for Walker<'_, '_, A> {
    #[inline(always)]
    fn word_byte(&mut self, b: u8) {
        self.step::<false>(b);
    }

    #[inline(always)]
    fn space(&mut self) {
        self.step::<true>(b' ');
    }
}

/// What `explain` says about one watch.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The watch.
    pub watch: String,
    /// Whether it fired (query held and score reached `min_score`).
    pub fired: bool,
    /// The score the matched terms add up to.
    pub score: f64,
    /// The watch's `min_score`.
    pub min_score: f64,
    /// The query tree, one node a line, `✓` where it held, `✗` where not.
    pub tree: String,
}

/// The (term, field) pairs that made the query true → the largest list
/// weight the term was used under there. How often each occurs is read
/// from the hits ([`Hits::count`]), never from how many clauses used it.
type Used = BTreeMap<(TermId, u8), f64>;

/// Occurrences of a term in a field beyond this add nothing to the score
/// and are reported as this many.
const MAX_COUNT: u32 = 5;

/// Records that term `t` in field `field` helped under list weight `weight`.
fn mark(u: &mut Used, t: TermId, field: u8, weight: f64) {
    let e = u.entry((t, field)).or_insert(weight);
    *e = e.max(weight);
}

fn field_weight(bit: u8) -> f64 {
    match bit {
        1 => 3.0,
        2 => 1.5,
        _ => 1.0,
    }
}

impl RuleSet {
    /// Evaluates an article: every watch that fires, highest severity and
    /// score first.
    pub fn evaluate_article(&self, a: &Article) -> Vec<WatchMatch> {
        self.evaluate(&a.title, &a.summary, &a.content)
    }

    /// Evaluates plain-text fields.
    pub fn evaluate(&self, title: &str, summary: &str, content: &str) -> Vec<WatchMatch> {
        let Some(scan) = self.scan([title, summary, content]) else {
            return Vec::new();
        };
        let mut out: Vec<WatchMatch> = self
            .watches
            .iter()
            .filter_map(|w| self.judge(w, &scan))
            .collect();
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.score.total_cmp(&a.score))
        });
        out
    }

    /// Whether any term of any watch occurs in the fields (a query need
    /// not hold): the article is worth a closer look.
    pub fn touches(&self, title: &str, summary: &str, content: &str) -> bool {
        self.scan([title, summary, content])
            .is_some_and(|s| !s.hits.present.is_empty())
    }

    /// Shows, for every watch, the query tree with which parts held.
    pub fn explain(&self, title: &str, summary: &str, content: &str) -> Vec<Explained> {
        let scan = self
            .scan([title, summary, content])
            .unwrap_or_else(|| Scan {
                originals: [title, summary, content],
                normed: Default::default(),
                hits: Hits::default(),
            });
        self.watches
            .iter()
            .map(|w| {
                let mut used = Used::new();
                let held = eval(&w.expr, ALL_FIELDS, &scan.hits, &mut Some(&mut used), 1.0);
                let score = self.score(&used, &scan.hits);
                let mut tree = String::new();
                self.explain_expr(&w.expr, ALL_FIELDS, &scan, 0, &mut tree);
                Explained {
                    watch: w.name.clone(),
                    fired: held && score >= w.min_score,
                    score,
                    min_score: w.min_score,
                    tree,
                }
            })
            .collect()
    }

    fn scan<'a>(&self, originals: [&'a str; 3]) -> Option<Scan<'a>> {
        let automaton = self.automaton.as_ref()?;
        if self.watches.is_empty() {
            return None;
        }
        let normed: [OnceCell<Normalized>; 3] = Default::default();
        let mut all: Vec<(TermId, Hit)> = Vec::new();
        let mut raw: Vec<RawHit> = Vec::new();
        for (fi, original) in originals.iter().enumerate() {
            if original.is_empty() {
                continue;
            }
            raw.clear();
            match automaton {
                Automaton::Dfa(a) => self.walk(a, original, &mut raw),
                Automaton::Nfa(a) => self.walk(a, original, &mut raw),
                Automaton::Sparse(a) => self.walk(a, original, &mut raw),
            }
            // The normalized text, made only when a hit needs to look at it
            // (an Arabic pattern in a word too far back for the walk to
            // remember what preceded it).
            let text: OnceCell<String> = OnceCell::new();
            for h in &raw {
                let pat = h.pattern as usize;
                let (s, word, last_word) = (h.start as usize, h.word, h.last_word);
                for &t in &self.pattern_terms[pat] {
                    let term = &self.terms[t];
                    if h.lead != Lead::None && !(term.arabic && h.lead == Lead::Proclitic) {
                        if !term.arabic || h.lead != Lead::Unknown {
                            continue;
                        }
                        let text = text.get_or_init(|| normalize_text(original));
                        let Some(before) = text.get(..s) else {
                            continue;
                        };
                        let word_start = before.rfind(' ').map_or(0, |i| i + 1);
                        if word_start != s && !is_proclitic(&before[word_start..]) {
                            continue;
                        }
                    }
                    if let Some(case) = &term.case {
                        if term
                            .case_probe
                            .as_ref()
                            .is_some_and(|p| !original.contains(p.as_str()))
                        {
                            continue;
                        }
                        let n = normed[fi].get_or_init(|| normalize(original));
                        let (Some(a), Some(b)) =
                            (n.words.get(word as usize), n.words.get(last_word as usize))
                        else {
                            continue;
                        };
                        let orig = &original[a.orig_start as usize..b.orig_end as usize];
                        let same = |seen: &str| {
                            if term.prefix {
                                seen.starts_with(case.as_str())
                            } else {
                                seen == case
                            }
                        };
                        let ok = if orig.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            // Plain ASCII word: it is its own case-kept normal form.
                            same(orig)
                        } else {
                            same(&normalize_keep_case(orig).text.replace(' ', ""))
                        };
                        if !ok {
                            continue;
                        }
                    }
                    all.push((
                        t,
                        Hit {
                            field: 1 << fi,
                            word,
                            last_word,
                        },
                    ));
                }
            }
        }
        if all.is_empty() {
            return None;
        }
        // By term, field and position; one pattern spelling and another
        // of the same term can find the same words, which is one occurrence.
        all.sort_unstable_by_key(|&(t, h)| (t, h.field, h.word, h.last_word));
        all.dedup();
        let mut present: Vec<TermId> = all.iter().map(|(t, _)| *t).collect();
        present.dedup();
        Some(Scan {
            originals,
            normed,
            hits: Hits { all, present },
        })
    }

    /// Normalizes `original` and runs the automaton over it in one pass,
    /// collecting every pattern hit on word boundaries.
    fn walk<A: AcAutomaton>(&self, a: &A, original: &str, raw: &mut Vec<RawHit>) {
        let Ok(sid) = a.start_state(Anchored::No) else {
            return;
        };
        let mut found = Found { rules: self, raw };
        let mut starts = [0; RING];
        let mut recent = [0; RECENT];
        let mut w = Walker {
            a,
            sid,
            pos: 0,
            spaces: 0,
            starts: &mut starts,
            recent: &mut recent,
            out: &mut found,
        };
        feed(original, &mut w);
    }

    /// For every (term, field) that made the query true: field weight ×
    /// occurrences in that field (at most [`MAX_COUNT`]) × term weight ×
    /// list weight.
    fn score(&self, used: &Used, hits: &Hits) -> f64 {
        let mut score = 0.0;
        for (&(t, fbit), &w) in used {
            let count = hits.count(t, fbit);
            score += field_weight(fbit) * f64::from(count) * self.terms[t].weight * w;
        }
        (score * 10.0).round() / 10.0
    }

    fn judge(&self, w: &super::Watch, scan: &Scan<'_>) -> Option<WatchMatch> {
        // None of the terms the query needs is here: it cannot hold.
        if let Some(req) = &w.required
            && scan.hits.present_in(req).next().is_none()
        {
            return None;
        }
        // Decide without bookkeeping; most of the rest stop here.
        if !eval(&w.expr, ALL_FIELDS, &scan.hits, &mut None, 1.0) {
            return None;
        }
        let mut used = Used::new();
        eval(&w.expr, ALL_FIELDS, &scan.hits, &mut Some(&mut used), 1.0);
        let score = self.score(&used, &scan.hits);
        if score < w.min_score {
            return None;
        }
        let mut terms = Vec::new();
        let mut marks: Vec<(u8, u32, u32)> = Vec::new();
        for &(t, fbit) in used.keys() {
            let field = Field::ALL[fbit.trailing_zeros() as usize];
            terms.push(TermHit {
                term: self.terms[t].display.clone(),
                field,
                count: scan.hits.count(t, fbit),
            });
            for h in scan.hits.of(t).filter(|h| h.field == fbit) {
                marks.push((fbit, h.word, h.last_word));
            }
        }
        terms.sort_by(|a, b| {
            a.field
                .cmp(&b.field)
                .then(b.count.cmp(&a.count))
                .then(a.term.cmp(&b.term))
        });
        Some(WatchMatch {
            watch: w.name.clone(),
            severity: w.severity,
            score,
            terms,
            snippet: snippet(scan, &marks),
        })
    }

    fn hits_summary(&self, ids: &[TermId], mask: u8, scan: &Scan<'_>) -> String {
        let mut parts: BTreeMap<(String, u8), u32> = BTreeMap::new();
        for &t in ids {
            for h in scan.hits.of(t).filter(|h| h.field & mask != 0) {
                *parts
                    .entry((self.terms[t].display.clone(), h.field))
                    .or_insert(0) += 1;
            }
        }
        parts
            .into_iter()
            .map(|((term, f), n)| {
                format!("{term} ({}×{n})", Field::ALL[f.trailing_zeros() as usize])
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn explain_expr(&self, e: &Expr, mask: u8, scan: &Scan<'_>, depth: usize, out: &mut String) {
        let held = eval(e, mask, &scan.hits, &mut None, 1.0);
        let mark = if held { "✓" } else { "✗" };
        let pad = "  ".repeat(depth);
        match e {
            Expr::Terms { ids, label, .. } => {
                let found = self.hits_summary(ids, mask, scan);
                let _ = writeln!(
                    out,
                    "{pad}{mark} {label}{}",
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(": {found}")
                    }
                );
            }
            Expr::Near { a, b, label, .. } => {
                let found = self.hits_summary(&[a.as_slice(), b.as_slice()].concat(), mask, scan);
                let _ = writeln!(
                    out,
                    "{pad}{mark} {label}{}",
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(" [hits: {found}]")
                    }
                );
            }
            Expr::And(items) | Expr::Or(items) => {
                let _ = writeln!(
                    out,
                    "{pad}{mark} {}",
                    if matches!(e, Expr::And(_)) {
                        "AND"
                    } else {
                        "OR"
                    }
                );
                for i in items {
                    self.explain_expr(i, mask, scan, depth + 1, out);
                }
            }
            Expr::Not(inner) => {
                let _ = writeln!(out, "{pad}{mark} NOT");
                self.explain_expr(inner, mask, scan, depth + 1, out);
            }
            Expr::Field(m, inner) => {
                let _ = writeln!(
                    out,
                    "{pad}{mark} {}:",
                    Field::ALL[m.trailing_zeros() as usize]
                );
                self.explain_expr(inner, mask & m, scan, depth + 1, out);
            }
        }
    }
}

fn count_into(ids: &[TermId], mask: u8, hits: &Hits, used: &mut Option<&mut Used>, weight: f64) {
    if let Some(u) = used.as_deref_mut() {
        for t in hits.present_in(ids) {
            let mut seen = 0u8;
            // Hits are sorted by field: one mark per field is enough.
            for h in hits.of(t).filter(|h| h.field & mask != 0) {
                if seen & h.field == 0 {
                    seen |= h.field;
                    mark(u, t, h.field, weight);
                }
            }
        }
    }
}

/// Evaluates `e` restricted to the fields in `mask`; when `used` is given,
/// records the terms that made the true branches true.
fn eval(e: &Expr, mask: u8, hits: &Hits, used: &mut Option<&mut Used>, weight: f64) -> bool {
    match e {
        Expr::Terms { ids, weight: w, .. } => {
            let ok = hits
                .present_in(ids)
                .any(|t| hits.of(t).any(|h| h.field & mask != 0));
            if ok {
                count_into(ids, mask, hits, used, weight * w);
            }
            ok
        }
        Expr::And(items) => {
            if !items.iter().all(|i| eval(i, mask, hits, &mut None, weight)) {
                return false;
            }
            // Only a caller that records goes over the items again: doing
            // so without recording would double the work at every level
            // of nesting.
            if used.is_none() {
                return true;
            }
            for i in items {
                eval(i, mask, hits, used, weight);
            }
            true
        }
        Expr::Or(items) => {
            let mut ok = false;
            for i in items {
                if eval(i, mask, hits, used, weight) {
                    ok = true;
                    if used.is_none() {
                        return true;
                    }
                }
            }
            ok
        }
        Expr::Not(inner) => !eval(inner, mask, hits, &mut None, weight),
        Expr::Near { a, b, n, .. } => near(a, b, *n, mask, hits, used, weight),
        Expr::Field(m, inner) => eval(inner, mask & m, hits, used, weight),
    }
}

/// One hit of a NEAR side, for the sweep: its span, its term, its side
/// (0: left, 1: right).
#[derive(Clone, Copy)]
struct Side {
    word: u32,
    last: u32,
    term: TermId,
    side: u8,
}

/// The two best hits seen so far on one side, by a key (larger is better),
/// of different spans: the best hit whose span differs from a given one is
/// then one of the two.
#[derive(Default, Clone, Copy)]
struct Best2 {
    top: [Option<(i64, (u32, u32))>; 2],
}

impl Best2 {
    fn insert(&mut self, key: i64, span: (u32, u32)) {
        match self.top[0] {
            None => self.top[0] = Some((key, span)),
            // The same span has the same key.
            Some((_, s0)) if s0 == span => {}
            Some((k0, _)) if key > k0 => {
                self.top[1] = self.top[0];
                self.top[0] = Some((key, span));
            }
            Some(_) => {
                if self.top[1].is_none_or(|(k1, _)| key > k1) {
                    self.top[1] = Some((key, span));
                }
            }
        }
    }

    /// The best key among the hits whose span is not `span`.
    fn other_than(&self, span: (u32, u32)) -> Option<i64> {
        self.top
            .iter()
            .flatten()
            .find(|(_, s)| *s != span)
            .map(|(k, _)| *k)
    }
}

/// For each hit of `evs` (sorted by span), whether a hit of the other side
/// with a different span lies within `n` words of it. With `all` false it
/// stops at the first such hit (and only that one is marked).
///
/// Two hits are near when the one starting later starts at most `n` words
/// after the other's last word. Going forward, a hit is compared with the
/// earlier hit of the other side whose last word reaches furthest; going
/// backward, with the later one that starts first. Each pass is one sweep.
fn sweep(evs: &[Side], n: u32, all: bool, near: &mut Vec<bool>) -> bool {
    near.clear();
    near.resize(evs.len(), false);
    let mut found = false;
    let mut best = [Best2::default(); 2];
    for (i, e) in evs.iter().enumerate() {
        let span = (e.word, e.last);
        if let Some(last) = best[usize::from(1 - e.side)].other_than(span) {
            // `last` is a last word: a u32 stored as is.
            if i64::from(e.word) - last <= i64::from(n) {
                near[i] = true;
                found = true;
                if !all {
                    return true;
                }
            }
        }
        best[usize::from(e.side)].insert(i64::from(e.last), span);
    }
    if !all {
        return found;
    }
    let mut best = [Best2::default(); 2];
    for (i, e) in evs.iter().enumerate().rev() {
        let span = (e.word, e.last);
        // Keyed by the negated first word: the earliest start is the best.
        if let Some(neg_word) = best[usize::from(1 - e.side)].other_than(span)
            && -neg_word - i64::from(e.last) <= i64::from(n)
        {
            near[i] = true;
            found = true;
        }
        best[usize::from(e.side)].insert(-i64::from(e.word), span);
    }
    found
}

/// `a NEAR/n b` over the fields in `mask`: some hit of `a` and some hit of
/// `b` in one field at most `n` words apart (two different terms found on
/// the very same words do not count; a term on both sides is near itself).
/// Sorting the hits and sweeping them makes it O(h log h) in the number of
/// hits; when recording, every term with a hit near the other side is
/// marked.
fn near(
    a: &[TermId],
    b: &[TermId],
    n: u32,
    mask: u8,
    hits: &Hits,
    used: &mut Option<&mut Used>,
    weight: f64,
) -> bool {
    let mut ok = false;
    for t in hits.present_in(a).filter(|t| b.binary_search(t).is_ok()) {
        for h in hits.of(t).filter(|h| h.field & mask != 0) {
            ok = true;
            match used.as_deref_mut() {
                None => return true,
                Some(u) => mark(u, t, h.field, weight),
            }
        }
    }
    let mut evs: Vec<Side> = Vec::new();
    let mut flags = Vec::new();
    for bit in [1u8, 2, 4] {
        if mask & bit == 0 {
            continue;
        }
        evs.clear();
        for (side, ids) in [(0u8, a), (1u8, b)] {
            let before = evs.len();
            for t in hits.present_in(ids) {
                evs.extend(hits.of(t).filter(|h| h.field == bit).map(|h| Side {
                    word: h.word,
                    last: h.last_word,
                    term: t,
                    side,
                }));
            }
            if evs.len() == before {
                // One side has nothing in this field.
                evs.clear();
                break;
            }
        }
        if evs.is_empty() {
            continue;
        }
        evs.sort_unstable_by_key(|e| (e.word, e.last, e.side, e.term));
        match used.as_deref_mut() {
            None => {
                if sweep(&evs, n, false, &mut flags) {
                    return true;
                }
            }
            Some(u) => {
                if sweep(&evs, n, true, &mut flags) {
                    ok = true;
                    for (e, _) in evs.iter().zip(&flags).filter(|(_, f)| **f) {
                        mark(u, e.term, bit, weight);
                    }
                }
            }
        }
    }
    ok
}

/// Proclitic sequences allowed before an Arabic term (normalized letters):
/// an optional conjunction (و ف), then an optional preposition (ب ك ل) and/or
/// the article (ال), or لل (li + al).
fn is_proclitic(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    let rest = p
        .strip_prefix('و')
        .or_else(|| p.strip_prefix('ف'))
        .unwrap_or(p);
    matches!(rest, "" | "ب" | "ك" | "ل" | "ال" | "بال" | "كال" | "لل")
}

/// Builds a short excerpt around the first marked hit, in the original text,
/// with every marked word range wrapped in «».
fn snippet(scan: &Scan<'_>, marks: &[(u8, u32, u32)]) -> String {
    // Prefer the summary, then content, then title.
    let field = [1usize, 2, 0]
        .into_iter()
        .find(|&f| marks.iter().any(|m| m.0 == 1 << f))
        .unwrap_or(0);
    let text = scan.originals[field];
    let n = scan.normed(field);
    let mut ranges: Vec<(usize, usize)> = marks
        .iter()
        .filter(|m| m.0 == 1 << field)
        .filter_map(|&(_, w, lw)| {
            let a = n.words.get(w as usize)?;
            let b = n.words.get(lw as usize)?;
            Some((a.orig_start as usize, b.orig_end as usize))
        })
        .collect();
    ranges.sort_unstable();
    ranges.dedup();
    let Some(&(first, _)) = ranges.first() else {
        return truncate_chars(text, 200);
    };
    let mut start = floor_char(text, first.saturating_sub(90));
    if start > 0 {
        // Start at a word boundary.
        if let Some(sp) = text[start..first].find(' ') {
            start += sp + 1;
        }
    }
    let mut end = floor_char(text, (start + 260).min(text.len()));
    if end < text.len()
        && let Some(sp) = text[first.max(start)..end].rfind(' ')
    {
        end = first.max(start) + sp;
    }
    let mut out = String::new();
    if start > 0 {
        out.push_str("… ");
    }
    let mut at = start;
    for &(s, e) in &ranges {
        if s < at || e > end {
            continue;
        }
        out.push_str(&text[at..s]);
        out.push('«');
        out.push_str(&text[s..e]);
        out.push('»');
        at = e;
    }
    out.push_str(&text[at..end]);
    if end < text.len() {
        out.push_str(" …");
    }
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{} …", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(terms: &[(TermId, Vec<u32>)]) -> Hits {
        let mut all: Vec<(TermId, Hit)> = terms
            .iter()
            .flat_map(|(t, words)| {
                words.iter().map(move |&w| {
                    (
                        *t,
                        Hit {
                            field: 2,
                            word: w,
                            last_word: w,
                        },
                    )
                })
            })
            .collect();
        all.sort_unstable_by_key(|&(t, h)| (t, h.field, h.word, h.last_word));
        let mut present: Vec<TermId> = all.iter().map(|(t, _)| *t).collect();
        present.dedup();
        Hits { all, present }
    }

    /// 200,000 hits a side, never near: a comparison of every pair would
    /// take hours; the sweep looks at each hit a few times.
    #[test]
    fn near_over_many_hits_is_a_sweep() {
        let k = 200_000u32;
        let h = hits(&[
            (0, (0..k).map(|i| 10 * i).collect()),
            (1, (0..k).map(|i| 10 * i + 5).collect()),
        ]);
        let e = Expr::Near {
            a: vec![0],
            b: vec![1],
            n: 4,
            label: String::new(),
        };
        assert!(!eval(&e, ALL_FIELDS, &h, &mut None, 1.0));
        let mut used = Used::new();
        assert!(!eval(&e, ALL_FIELDS, &h, &mut Some(&mut used), 1.0));
        assert!(used.is_empty());
        // Five words apart is near enough for NEAR/5, for every hit.
        let e = Expr::Near {
            a: vec![0],
            b: vec![1],
            n: 5,
            label: String::new(),
        };
        assert!(eval(&e, ALL_FIELDS, &h, &mut None, 1.0));
        assert!(eval(&e, ALL_FIELDS, &h, &mut Some(&mut used), 1.0));
        assert_eq!(used.keys().copied().collect::<Vec<_>>(), [(0, 2), (1, 2)]);
        assert_eq!((h.count(0, 2), h.count(1, 2)), (5, 5));
    }

    #[test]
    fn near_marks_exactly_the_terms_with_a_near_hit() {
        // Term 0 near term 1 (either order); term 2 (left side) is far from
        // everything; term 3 on the same word as term 0 does not count.
        let h = hits(&[
            (0, vec![100]),
            (1, vec![97]),
            (2, vec![500]),
            (3, vec![100]),
        ]);
        let e = Expr::Near {
            a: vec![0, 2],
            b: vec![1, 3],
            n: 3,
            label: String::new(),
        };
        let mut used = Used::new();
        assert!(eval(&e, ALL_FIELDS, &h, &mut Some(&mut used), 1.0));
        assert_eq!(used.keys().copied().collect::<Vec<_>>(), [(0, 2), (1, 2)]);
        // Only the same words: not near.
        let h = hits(&[(0, vec![100]), (3, vec![100])]);
        assert!(!eval(&e, ALL_FIELDS, &h, &mut None, 1.0));
        // A term on both sides is near itself.
        let e = Expr::Near {
            a: vec![0],
            b: vec![0],
            n: 1,
            label: String::new(),
        };
        assert!(eval(&e, ALL_FIELDS, &h, &mut None, 1.0));
    }
}
