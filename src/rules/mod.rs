//! Rules: compiling rule packs into a [`RuleSet`] and evaluating articles
//! against it.
//!
//! All terms of all watches go into one Aho-Corasick automaton over the
//! normalized text (see [`crate::text::normalize`]), so an article is
//! scanned once per field whatever the number of watches. Word boundaries
//! are checked on each hit; Arabic terms may be preceded by proclitics.
//! Each watch's query is then evaluated over the hits.
//!
//! Pure and deterministic: no I/O, no clock, no state between calls.

pub mod query;

use crate::model::{Article, Field, Severity, TermHit, WatchMatch};
use crate::text::{Normalized, is_arabic, normalize};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use query::Ast;
use std::collections::{BTreeMap, HashMap};

/// A place in a rule pack file (file index as known to `config`, byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePos {
    /// Which file (an index into the caller's list).
    pub file: usize,
    /// Byte offset in that file.
    pub offset: usize,
}

/// A named term list as read from a pack.
#[derive(Debug, Clone)]
pub struct TermListDef {
    /// The name, referenced as `@name`.
    pub name: String,
    /// Where the list is defined.
    pub pos: SourcePos,
    /// The entries, each with where its text starts.
    pub entries: Vec<(String, SourcePos)>,
}

/// A watch as read from a pack.
#[derive(Debug, Clone)]
pub struct WatchDef {
    /// Unique name.
    pub name: String,
    /// Where the name is written.
    pub name_pos: SourcePos,
    /// Severity of its alerts.
    pub severity: Severity,
    /// One line for humans.
    pub description: Option<String>,
    /// The query text.
    pub query: String,
    /// Where the query text starts.
    pub query_pos: SourcePos,
}

/// A rule error: where, how long, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where it starts.
    pub pos: SourcePos,
    /// How many bytes it covers.
    pub len: usize,
    /// What is wrong.
    pub message: String,
}

type TermId = usize;

#[derive(Debug, Clone)]
struct Term {
    /// As written in the rule.
    display: String,
    /// Index of its normalized pattern in the automaton.
    pattern: usize,
    /// Trailing `*`: the last word may continue.
    prefix: bool,
    /// First character is Arabic: proclitics allowed before it.
    arabic: bool,
}

#[derive(Debug, Clone)]
enum Expr {
    Terms(Vec<TermId>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Near(Vec<TermId>, Vec<TermId>, u32),
    Field(u8, Box<Expr>),
}

/// A compiled watch.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// Description, if any.
    pub description: Option<String>,
    /// The query as written.
    pub query: String,
    expr: Expr,
}

/// The compiled rules: every term in one automaton, every watch's query.
#[derive(Debug, Clone)]
pub struct RuleSet {
    terms: Vec<Term>,
    watches: Vec<Watch>,
    automaton: Option<AhoCorasick>,
    /// For each pattern, the terms that use it.
    pattern_terms: Vec<Vec<TermId>>,
    lists: usize,
}

const ALL_FIELDS: u8 = 0b111;

fn field_bit(f: Field) -> u8 {
    1 << f.index()
}

/// One occurrence of a pattern in a field.
#[derive(Debug, Clone, Copy)]
struct Hit {
    field: u8,
    word: u32,
    last_word: u32,
}

impl RuleSet {
    /// A rule set with no watches.
    pub fn empty() -> RuleSet {
        RuleSet {
            terms: Vec::new(),
            watches: Vec::new(),
            automaton: None,
            pattern_terms: Vec::new(),
            lists: 0,
        }
    }

    /// The watches, in pack order.
    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// The watch names.
    pub fn watch_names(&self) -> impl Iterator<Item = &str> {
        self.watches.iter().map(|w| w.name.as_str())
    }

    /// How many distinct terms and lists were compiled.
    pub fn counts(&self) -> (usize, usize) {
        (self.terms.len(), self.lists)
    }

    /// Evaluates an article: every watch that fires, best score first.
    pub fn evaluate_article(&self, a: &Article) -> Vec<WatchMatch> {
        self.evaluate(&a.title, &a.summary, &a.content)
    }

    /// Evaluates plain-text fields.
    pub fn evaluate(&self, title: &str, summary: &str, content: &str) -> Vec<WatchMatch> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        if self.watches.is_empty() {
            return Vec::new();
        }
        let originals = [title, summary, content];
        let normed: [Normalized; 3] = [normalize(title), normalize(summary), normalize(content)];
        let mut term_hits: Vec<Vec<Hit>> = vec![Vec::new(); self.terms.len()];
        let mut any = false;
        for (fi, n) in normed.iter().enumerate() {
            if n.text.is_empty() {
                continue;
            }
            let bytes = n.text.as_bytes();
            for m in ac.find_overlapping_iter(&n.text) {
                let (s, e) = (m.start(), m.end());
                let word = n.word_at(s);
                let w = n.words[word];
                let at_start = w.start as usize == s;
                let whole = e == bytes.len() || bytes[e] == b' ';
                let last_word = n.word_at(e.saturating_sub(1)) as u32;
                for &t in &self.pattern_terms[m.pattern().as_usize()] {
                    let term = &self.terms[t];
                    let clitic_ok = term.arabic && is_proclitic(&n.text[w.start as usize..s]);
                    if !(at_start || clitic_ok) {
                        continue;
                    }
                    if !whole && !term.prefix {
                        continue;
                    }
                    term_hits[t].push(Hit {
                        field: 1 << fi,
                        word: word as u32,
                        last_word,
                    });
                    any = true;
                }
            }
        }
        if !any {
            return Vec::new();
        }
        let mut out = Vec::new();
        for w in &self.watches {
            let mut used: BTreeMap<(TermId, u8), u32> = BTreeMap::new();
            if !eval(&w.expr, ALL_FIELDS, &term_hits, &mut Some(&mut used)) {
                continue;
            }
            let mut terms = Vec::new();
            let mut score = 0.0;
            let mut marks: Vec<(u8, u32, u32)> = Vec::new();
            for (&(t, fbit), &count) in &used {
                let field = Field::ALL[fbit.trailing_zeros() as usize];
                let weight = match field {
                    Field::Title => 3.0,
                    Field::Summary => 1.5,
                    Field::Content => 1.0,
                };
                score += weight * f64::from(count.min(5));
                terms.push(TermHit {
                    term: self.terms[t].display.clone(),
                    field,
                    count,
                });
                for h in term_hits[t].iter().filter(|h| h.field == fbit) {
                    marks.push((fbit, h.word, h.last_word));
                }
            }
            terms.sort_by(|a, b| {
                a.field
                    .cmp(&b.field)
                    .then(b.count.cmp(&a.count))
                    .then(a.term.cmp(&b.term))
            });
            let snippet = snippet(&originals, &normed, &marks);
            out.push(WatchMatch {
                watch: w.name.clone(),
                severity: w.severity,
                score: (score * 10.0).round() / 10.0,
                terms,
                snippet,
            });
        }
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.score.total_cmp(&a.score))
        });
        out
    }
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

type Used<'a> = Option<&'a mut BTreeMap<(TermId, u8), u32>>;

fn count_into(ids: &[TermId], mask: u8, hits: &[Vec<Hit>], used: &mut Used<'_>) {
    if let Some(u) = used.as_deref_mut() {
        for &t in ids {
            for h in hits[t].iter().filter(|h| h.field & mask != 0) {
                *u.entry((t, h.field)).or_insert(0) += 1;
            }
        }
    }
}

/// Evaluates `e` restricted to the fields in `mask`; when `used` is given,
/// records the terms that made the true branches true.
fn eval(e: &Expr, mask: u8, hits: &[Vec<Hit>], used: &mut Used<'_>) -> bool {
    match e {
        Expr::Terms(ids) => {
            let ok = ids
                .iter()
                .any(|&t| hits[t].iter().any(|h| h.field & mask != 0));
            if ok {
                count_into(ids, mask, hits, used);
            }
            ok
        }
        Expr::And(items) => {
            if !items.iter().all(|i| eval(i, mask, hits, &mut None)) {
                return false;
            }
            for i in items {
                eval(i, mask, hits, used);
            }
            true
        }
        Expr::Or(items) => {
            let mut ok = false;
            for i in items {
                if eval(i, mask, hits, used) {
                    ok = true;
                }
            }
            ok
        }
        Expr::Not(inner) => !eval(inner, mask, hits, &mut None),
        Expr::Near(a, b, n) => {
            let mut ok = false;
            for &ta in a {
                for ha in hits[ta].iter().filter(|h| h.field & mask != 0) {
                    for &tb in b {
                        for hb in hits[tb].iter().filter(|h| h.field == ha.field) {
                            if ha.word == hb.word && ta != tb && ha.last_word == hb.last_word {
                                continue;
                            }
                            let gap = if ha.word <= hb.word {
                                hb.word.saturating_sub(ha.last_word)
                            } else {
                                ha.word.saturating_sub(hb.last_word)
                            };
                            if gap <= *n {
                                ok = true;
                                if let Some(u) = used.as_deref_mut() {
                                    *u.entry((ta, ha.field)).or_insert(0) += 1;
                                    *u.entry((tb, hb.field)).or_insert(0) += 1;
                                } else {
                                    return true;
                                }
                            }
                        }
                    }
                }
            }
            ok
        }
        Expr::Field(m, inner) => eval(inner, mask & m, hits, used),
    }
}

/// Builds a short excerpt around the first marked hit, in the original text,
/// with every marked word range wrapped in «».
fn snippet(orig: &[&str; 3], normed: &[Normalized; 3], marks: &[(u8, u32, u32)]) -> String {
    // Prefer the summary, then content, then title.
    let field = [1usize, 2, 0]
        .into_iter()
        .find(|&f| marks.iter().any(|m| m.0 == 1 << f))
        .unwrap_or(0);
    let text = orig[field];
    let n = &normed[field];
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

/// Builder state while compiling.
struct Compiler {
    patterns: Vec<String>,
    pattern_index: HashMap<String, usize>,
    terms: Vec<Term>,
    term_index: HashMap<(String, bool), TermId>,
    errors: Vec<RuleError>,
}

impl Compiler {
    /// Compiles one term as written; `None` (with an error recorded) when it
    /// has no letters or digits or misuses `*`.
    fn term(&mut self, written: &str, pos: SourcePos, len: usize) -> Option<TermId> {
        let raw = written.trim();
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        let (body, prefix) = match unquoted.strip_suffix('*') {
            Some(b) => (b, true),
            None => (unquoted, false),
        };
        if body.contains('*') {
            self.errors.push(RuleError {
                pos,
                len,
                message: format!("bad term {raw:?}: `*` is allowed only at the end of a term"),
            });
            return None;
        }
        let norm = normalize(body).text;
        if norm.is_empty() {
            self.errors.push(RuleError {
                pos,
                len,
                message: format!("bad term {raw:?}: it has no letters or digits"),
            });
            return None;
        }
        if prefix && norm.chars().count() < 3 {
            self.errors.push(RuleError {
                pos,
                len,
                message: format!("bad term {raw:?}: a prefix needs at least 3 letters before `*`"),
            });
            return None;
        }
        if let Some(&id) = self.term_index.get(&(norm.clone(), prefix)) {
            return Some(id);
        }
        let pattern = match self.pattern_index.get(&norm) {
            Some(&p) => p,
            None => {
                self.patterns.push(norm.clone());
                self.pattern_index
                    .insert(norm.clone(), self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        let arabic = norm.chars().next().is_some_and(is_arabic);
        self.terms.push(Term {
            display: raw.to_string(),
            pattern,
            prefix,
            arabic,
        });
        let id = self.terms.len() - 1;
        self.term_index.insert((norm, prefix), id);
        Some(id)
    }
}

/// Compiles term lists and watches; returns every error found.
pub fn compile(lists: Vec<TermListDef>, watches: Vec<WatchDef>) -> Result<RuleSet, Vec<RuleError>> {
    let mut c = Compiler {
        patterns: Vec::new(),
        pattern_index: HashMap::new(),
        terms: Vec::new(),
        term_index: HashMap::new(),
        errors: Vec::new(),
    };
    let mut list_terms: HashMap<String, Vec<TermId>> = HashMap::new();
    let n_lists = lists.len();
    for l in &lists {
        if list_terms.contains_key(&l.name) {
            c.errors.push(RuleError {
                pos: l.pos,
                len: l.name.len(),
                message: format!("term list {:?} is defined twice", l.name),
            });
            continue;
        }
        if l.entries.is_empty() {
            c.errors.push(RuleError {
                pos: l.pos,
                len: l.name.len(),
                message: format!("term list {:?} is empty", l.name),
            });
        }
        let mut ids = Vec::new();
        for (e, pos) in &l.entries {
            if let Some(id) = c.term(e, *pos, e.len().max(1)) {
                ids.push(id);
            }
        }
        list_terms.insert(l.name.clone(), ids);
    }
    let mut compiled = Vec::new();
    let mut names: HashMap<String, ()> = HashMap::new();
    for w in watches {
        if w.name.trim().is_empty() {
            c.errors.push(RuleError {
                pos: w.name_pos,
                len: 2,
                message: "watch `name` is empty".into(),
            });
        } else if names.insert(w.name.clone(), ()).is_some() {
            c.errors.push(RuleError {
                pos: w.name_pos,
                len: w.name.len() + 2,
                message: format!("watch {:?} is defined twice", w.name),
            });
        }
        let ast = match query::parse(&w.query) {
            Ok(a) => a,
            Err(e) => {
                c.errors.push(RuleError {
                    pos: SourcePos {
                        file: w.query_pos.file,
                        offset: w.query_pos.offset + e.offset,
                    },
                    len: e.len.max(1),
                    message: format!("in watch {:?}: {}", w.name, e.message),
                });
                continue;
            }
        };
        if let Some(expr) = lower(&ast, &w, &mut c, &list_terms) {
            if is_purely_negative(&expr) {
                c.errors.push(RuleError {
                    pos: w.query_pos,
                    len: w.query.len().max(1),
                    message: format!("in watch {:?}: the query has no positive term (it would fire on almost everything)", w.name),
                });
                continue;
            }
            compiled.push(Watch {
                name: w.name,
                severity: w.severity,
                description: w.description,
                query: w.query,
                expr,
            });
        }
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let mut pattern_terms = vec![Vec::new(); c.patterns.len()];
    for (id, t) in c.terms.iter().enumerate() {
        pattern_terms[t.pattern].push(id);
    }
    let automaton = if c.patterns.is_empty() {
        None
    } else {
        match AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&c.patterns)
        {
            Ok(a) => Some(a),
            Err(e) => {
                return Err(vec![RuleError {
                    pos: SourcePos { file: 0, offset: 0 },
                    len: 1,
                    message: format!("the rule set is too large to compile: {e}"),
                }]);
            }
        }
    };
    Ok(RuleSet {
        terms: c.terms,
        watches: compiled,
        automaton,
        pattern_terms,
        lists: n_lists,
    })
}

fn is_purely_negative(e: &Expr) -> bool {
    match e {
        Expr::Terms(_) | Expr::Near(..) => false,
        Expr::Not(_) => true,
        Expr::And(items) => items.iter().all(is_purely_negative),
        Expr::Or(items) => items.iter().any(is_purely_negative),
        Expr::Field(_, inner) => is_purely_negative(inner),
    }
}

fn lower(
    a: &Ast,
    w: &WatchDef,
    c: &mut Compiler,
    lists: &HashMap<String, Vec<TermId>>,
) -> Option<Expr> {
    let at = |off: usize| SourcePos {
        file: w.query_pos.file,
        offset: w.query_pos.offset + off,
    };
    match a {
        Ast::Term(s, off) => c.term(s, at(*off), s.len()).map(|id| Expr::Terms(vec![id])),
        Ast::List(name, off) => match lists.get(name) {
            Some(ids) => Some(Expr::Terms(ids.clone())),
            None => {
                let mut known: Vec<&str> = lists.keys().map(String::as_str).collect();
                known.sort_unstable();
                let hint = closest(name, &known)
                    .map(|k| format!("; did you mean @{k}?"))
                    .unwrap_or_default();
                c.errors.push(RuleError {
                    pos: at(*off),
                    len: name.len() + 1,
                    message: format!("in watch {:?}: unknown list @{name}{hint}", w.name),
                });
                None
            }
        },
        Ast::And(items) => {
            let v: Vec<Option<Expr>> = items.iter().map(|i| lower(i, w, c, lists)).collect();
            v.into_iter().collect::<Option<Vec<_>>>().map(Expr::And)
        }
        Ast::Or(items) => {
            let v: Vec<Option<Expr>> = items.iter().map(|i| lower(i, w, c, lists)).collect();
            v.into_iter().collect::<Option<Vec<_>>>().map(Expr::Or)
        }
        Ast::Not(inner) => lower(inner, w, c, lists).map(|e| Expr::Not(Box::new(e))),
        Ast::Field(f, inner) => {
            lower(inner, w, c, lists).map(|e| Expr::Field(field_bit(*f), Box::new(e)))
        }
        Ast::Near(l, r, n, off) => {
            let le = lower(l, w, c, lists)?;
            let re = lower(r, w, c, lists)?;
            match (flatten_terms(&le), flatten_terms(&re)) {
                (Some(a), Some(b)) => Some(Expr::Near(a, b, *n)),
                _ => {
                    c.errors.push(RuleError {
                        pos: at(*off),
                        len: 4,
                        message: format!(
                            "in watch {:?}: each side of NEAR must be a term, a @list or a group of them joined by OR",
                            w.name
                        ),
                    });
                    None
                }
            }
        }
    }
}

fn flatten_terms(e: &Expr) -> Option<Vec<TermId>> {
    match e {
        Expr::Terms(ids) => Some(ids.clone()),
        Expr::Or(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(flatten_terms(i)?);
            }
            Some(out)
        }
        _ => None,
    }
}

fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lists: &[(&str, &[&str])], watches: &[(&str, &str)]) -> Result<RuleSet, Vec<RuleError>> {
        let p = SourcePos { file: 0, offset: 0 };
        compile(
            lists
                .iter()
                .map(|(n, es)| TermListDef {
                    name: n.to_string(),
                    pos: p,
                    entries: es.iter().map(|e| (e.to_string(), p)).collect(),
                })
                .collect(),
            watches
                .iter()
                .map(|(n, q)| WatchDef {
                    name: n.to_string(),
                    name_pos: p,
                    severity: Severity::High,
                    description: None,
                    query: q.to_string(),
                    query_pos: p,
                })
                .collect(),
        )
    }

    fn fires(rs: &RuleSet, title: &str, body: &str) -> Vec<String> {
        rs.evaluate(title, body, "")
            .into_iter()
            .map(|m| m.watch)
            .collect()
    }

    #[test]
    fn word_boundaries() {
        let rs = set(&[], &[("g", "isis OR daesh")]).unwrap();
        assert!(fires(&rs, "A crisis in Paris", "").is_empty());
        assert!(fires(&rs, "Crises", "isisfan").is_empty());
        assert_eq!(fires(&rs, "ISIS cell dismantled", ""), ["g"]);
        assert_eq!(fires(&rs, "", "fighters of (Daesh)."), ["g"]);
    }

    #[test]
    fn phrases_prefixes_lists_and_not() {
        let rs = set(
            &[
                ("groups", &["\"islamic state\"", "état islamique", "داعش"]),
                ("ct", &["counterterror*", "\"counter terror*\""]),
            ],
            &[("w", "(@groups OR @ct) NOT goddess")],
        )
        .unwrap();
        assert_eq!(fires(&rs, "Réunion contre l'Etat Islamique", ""), ["w"]);
        assert_eq!(fires(&rs, "Counter-terrorism forum", ""), ["w"]);
        assert_eq!(fires(&rs, "COUNTERTERRORISM talks", ""), ["w"]);
        assert!(fires(&rs, "Islamic statecraft", "").is_empty());
        assert!(fires(&rs, "Islamic State and the goddess", "").is_empty());
    }

    #[test]
    fn arabic_proclitics_and_variants() {
        let rs = set(&[], &[("w", "داعش OR إرهاب*")]).unwrap();
        assert_eq!(fires(&rs, "وداعش", ""), ["w"]);
        assert_eq!(fires(&rs, "", "الحرب على الإرهاب"), ["w"]);
        assert_eq!(fires(&rs, "", "مكافحة بالإرهابيين"), ["w"]);
        assert_eq!(fires(&rs, "", "لِلْإِرْهَابِ"), ["w"]);
        // A word that merely ends in the term does not match.
        assert!(fires(&rs, "مداعش", "").is_empty());
    }

    #[test]
    fn near_and_fields() {
        let rs = set(
            &[("m", &["meeting", "ministerial"])],
            &[
                ("w", "coalition NEAR/3 @m"),
                ("t", "title:(isis) AND meeting"),
            ],
        )
        .unwrap();
        assert_eq!(fires(&rs, "Coalition holds a ministerial", ""), ["w"]);
        assert!(
            fires(
                &rs,
                "Coalition of the willing says a lot of things before the meeting",
                ""
            )
            .is_empty()
        );
        assert!(fires(&rs, "Coalition news", "meeting").is_empty());
        assert_eq!(fires(&rs, "ISIS", "meeting"), ["t"]);
        assert!(fires(&rs, "meeting", "ISIS").is_empty());
    }

    #[test]
    fn match_reports_terms_and_snippet() {
        let rs = set(&[], &[("w", "coalition AND isis")]).unwrap();
        let m = rs.evaluate(
            "Coalition meets",
            "Ministers of the coalition against ISIS met in Rome.",
            "",
        );
        assert_eq!(m.len(), 1);
        assert!(
            m[0].snippet.contains("«coalition» against «ISIS»"),
            "{}",
            m[0].snippet
        );
        assert!(
            m[0].terms
                .iter()
                .any(|t| t.term == "isis" && t.field == Field::Summary)
        );
        assert!(m[0].score > 0.0);
    }

    #[test]
    fn errors_are_all_reported() {
        let errs = set(
            &[("a", &["ok", "*bad"])],
            &[("w", "@missing OR x"), ("v", "(a")],
        )
        .unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.message.contains("unknown list @missing"))
        );
        let errs = set(&[], &[("w", "NOT isis")]).unwrap_err();
        assert!(errs[0].message.contains("no positive term"));
    }
}
