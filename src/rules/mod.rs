//! Rules: compiling rule packs into a [`RuleSet`] and evaluating articles
//! against it.
//!
//! All terms of all watches go into one Aho-Corasick automaton over the
//! normalized text (see [`crate::text::normalize`]), so an article is
//! scanned once per field whatever the number of watches. Word boundaries
//! are checked on each hit; Arabic terms may be preceded by proclitics;
//! case-sensitive terms (`=IS`) are checked against the original text. Each
//! watch's query is then evaluated over the hits (`eval.rs`).
//!
//! Pure and deterministic: no I/O, no clock, no state between calls.

mod eval;
pub mod labelled;
#[cfg(test)]
mod proptests;
pub mod query;

pub use eval::Explained;

use crate::model::Severity;
use crate::text::{is_arabic, normalize, normalize_keep_case};
use aho_corasick::{MatchKind, StartKind, dfa, nfa};
use query::Ast;
use std::collections::HashMap;

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
    /// The watch fires only when its score reaches this.
    pub min_score: f64,
    /// Watches whose labelled items this one may also fire on without
    /// counting against it in `eval` (e.g. counterterrorism includes
    /// coalition-meeting).
    pub includes: Vec<(String, SourcePos)>,
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

/// A pattern used by a prefix term.
const FLAG_PREFIX: u8 = 1;
/// A pattern used by an Arabic term (proclitics may precede it).
const FLAG_ARABIC: u8 = 2;

#[derive(Debug, Clone)]
struct Term {
    /// As written in the rule.
    display: String,
    /// Trailing `*`: the last word may continue.
    prefix: bool,
    /// First character is Arabic: proclitics allowed before it.
    arabic: bool,
    /// For `=TERM`: the normalized form with case kept, words joined
    /// without spaces (compared against the original text on each hit).
    case: Option<String>,
    /// `term^w`: multiplies the term's contribution to the score.
    weight: f64,
    /// For `=TERM`: an ASCII word the original text must contain for the
    /// term to match at all (a cheap test before the exact check).
    case_probe: Option<String>,
}

#[derive(Debug, Clone)]
enum Expr {
    Terms {
        ids: Vec<TermId>,
        weight: f64,
        label: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Near {
        a: Vec<TermId>,
        b: Vec<TermId>,
        n: u32,
        label: String,
    },
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
    /// Lowest score at which it fires.
    pub min_score: f64,
    /// Watches whose items it may also fire on (see [`WatchDef::includes`]).
    pub includes: Vec<String>,
    expr: Expr,
    /// Sorted terms of which at least one must be present for the query to
    /// hold (`None`: no such set); lets most articles skip evaluation.
    required: Option<Vec<TermId>>,
}

/// The compiled rules: every term in one automaton, every watch's query.
#[derive(Debug, Clone)]
pub struct RuleSet {
    terms: Vec<Term>,
    watches: Vec<Watch>,
    automaton: Option<Automaton>,
    /// For each pattern, the terms that use it.
    pattern_terms: Vec<Vec<TermId>>,
    /// For each pattern, [`FLAG_PREFIX`] and [`FLAG_ARABIC`] when some term
    /// using it is a prefix / Arabic (lets a hit inside a word be rejected
    /// without looking further).
    pattern_flags: Vec<u8>,
    /// For each pattern, how many spaces it holds (its words less one).
    pattern_gaps: Vec<u32>,
    patterns: Vec<String>,
    lists: usize,
}

/// The automaton every pattern compiles into, walked a byte at a time as
/// normalization produces the text (see `eval`): a full DFA while its
/// table stays small, a contiguous NFA past that, a noncontiguous one when
/// even that cannot be built.
#[derive(Debug, Clone)]
enum Automaton {
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
    Sparse(nfa::noncontiguous::NFA),
}

impl RuleSet {
    /// A rule set with no watches.
    pub fn empty() -> RuleSet {
        RuleSet {
            terms: Vec::new(),
            watches: Vec::new(),
            automaton: None,
            pattern_terms: Vec::new(),
            pattern_flags: Vec::new(),
            pattern_gaps: Vec::new(),
            patterns: Vec::new(),
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

    /// How many patterns the automaton holds (terms plus their spelling variants).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// The automaton's patterns (normalized), each with whether some term
    /// uses it as a prefix. For benchmarks and reference matchers.
    pub fn patterns(&self) -> Vec<(String, bool)> {
        self.patterns
            .iter()
            .zip(&self.pattern_terms)
            .map(|(p, ts)| (p.clone(), ts.iter().any(|&t| self.terms[t].prefix)))
            .collect()
    }
}

/// The automaton's spelling of each pattern, anchored to word boundaries:
/// the text is walked as `" " + text + " "` (see [`crate::text::feed`]), so a pattern starting with the
/// separator can only match at a word start, and one ending with it only at
/// a word end. Inside a word the automaton then stays at its start state,
/// which is what makes the scan fast. Arabic patterns are not anchored at
/// the start (a proclitic may precede them inside the word) and prefix
/// patterns not at the end; those boundaries are checked per hit.
fn anchored(patterns: &[String], flags: &[u8]) -> Vec<String> {
    patterns
        .iter()
        .zip(flags)
        .map(|(p, &f)| {
            let lead = if f & FLAG_ARABIC == 0 { " " } else { "" };
            let tail = if f & FLAG_PREFIX == 0 { " " } else { "" };
            format!("{lead}{p}{tail}")
        })
        .collect()
}

/// Builder state while compiling.
struct Compiler {
    patterns: Vec<String>,
    pattern_index: HashMap<(String, bool), usize>,
    pattern_terms: Vec<Vec<TermId>>,
    terms: Vec<Term>,
    term_index: HashMap<(String, bool, Option<String>, u64), TermId>,
    errors: Vec<RuleError>,
}

/// Splits a trailing `^weight` off a term as written.
fn split_weight(raw: &str) -> Result<(&str, f64), String> {
    let Some(i) = raw.rfind('^') else {
        return Ok((raw, 1.0));
    };
    // A caret inside a phrase is text, not a weight.
    if raw[..i].starts_with(['"', '=']) && !raw[..i].ends_with('"') {
        return Ok((raw, 1.0));
    }
    match raw[i + 1..].parse::<f64>() {
        Ok(w) if w.is_finite() && w > 0.0 => Ok((&raw[..i], w)),
        _ => Err(format!(
            "bad weight in {raw:?}: expected a positive number after ^, e.g. {}^2",
            &raw[..i]
        )),
    }
}

/// German umlauts written out (ä → ae …), for terms written with umlauts.
fn umlauts_spelled(s: &str) -> Option<String> {
    let lower = s.to_lowercase();
    if !lower.contains(['ä', 'ö', 'ü']) {
        return None;
    }
    Some(
        lower
            .replace('ä', "ae")
            .replace('ö', "oe")
            .replace('ü', "ue"),
    )
}

impl Compiler {
    fn pattern(&mut self, norm: &str, prefix: bool, term: TermId) {
        // Keyed by prefix-ness too: every term of a pattern then agrees on
        // whether the word may continue past it, which the anchoring spells.
        let key = (norm.to_string(), prefix);
        let p = match self.pattern_index.get(&key) {
            Some(&p) => p,
            None => {
                self.patterns.push(norm.to_string());
                self.pattern_terms.push(Vec::new());
                self.pattern_index.insert(key, self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        if !self.pattern_terms[p].contains(&term) {
            self.pattern_terms[p].push(term);
        }
    }

    /// Compiles one term as written; `None` (with an error recorded) when it
    /// has no letters or digits or misuses `*`, `=` or `^`.
    fn term(&mut self, written: &str, pos: SourcePos, len: usize) -> Option<TermId> {
        let raw = written.trim();
        let err = |c: &mut Compiler, message: String| {
            c.errors.push(RuleError { pos, len, message });
            None
        };
        let (body, weight) = match split_weight(raw) {
            Ok(v) => v,
            Err(m) => return err(self, m),
        };
        let (case_sensitive, body) = match body.strip_prefix('=') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let unquoted = body
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(body);
        if unquoted.contains('"') {
            return err(self, format!("bad term {raw:?}: unbalanced quote"));
        }
        let (text, prefix) = match unquoted.strip_suffix('*') {
            Some(b) => (b, true),
            None => (unquoted, false),
        };
        if text.contains('*') {
            return err(
                self,
                format!("bad term {raw:?}: `*` is allowed only at the end of a term"),
            );
        }
        let norm = normalize(text).text;
        if norm.is_empty() {
            return err(
                self,
                format!("bad term {raw:?}: it has no letters or digits"),
            );
        }
        if prefix && norm.chars().count() < 3 {
            return err(
                self,
                format!("bad term {raw:?}: a prefix needs at least 3 letters before `*`"),
            );
        }
        let case = case_sensitive.then(|| normalize_keep_case(text).text.replace(' ', ""));
        let key = (norm.clone(), prefix, case.clone(), weight.to_bits());
        if let Some(&id) = self.term_index.get(&key) {
            return Some(id);
        }
        let arabic = norm.chars().next().is_some_and(is_arabic);
        let case_probe = case_sensitive
            .then(|| normalize_keep_case(text).text)
            .and_then(|t| {
                t.split(' ')
                    .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .max_by_key(|w| w.len())
                    .map(str::to_string)
            });
        self.terms.push(Term {
            case_probe,
            display: raw.to_string(),
            prefix,
            arabic,
            case,
            weight,
        });
        let id = self.terms.len() - 1;
        self.term_index.insert(key, id);
        // The spellings the term matches: as written, umlauts written out,
        // and a short phrase written as one word ("counter terrorism" →
        // "counterterrorism").
        let mut forms = vec![norm.clone()];
        if let Some(alt) = umlauts_spelled(text) {
            forms.push(normalize(&alt).text);
        }
        for f in forms.clone() {
            // Only words of four letters or more join: "counter terrorism" is
            // also written "counterterrorism", but "treffen der" must not
            // become "treffender" nor "met in" the name "Metin".
            let words: Vec<&str> = f.split(' ').collect();
            if !arabic
                && (2..=3).contains(&words.len())
                && words.iter().all(|w| w.chars().count() >= 4)
            {
                forms.push(f.replace(' ', ""));
            }
        }
        forms.sort();
        forms.dedup();
        for f in forms {
            self.pattern(&f, prefix, id);
        }
        Some(id)
    }
}

/// Compiles term lists and watches; returns every error found.
pub fn compile(lists: Vec<TermListDef>, watches: Vec<WatchDef>) -> Result<RuleSet, Vec<RuleError>> {
    let mut c = Compiler {
        patterns: Vec::new(),
        pattern_index: HashMap::new(),
        pattern_terms: Vec::new(),
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
    let names: Vec<String> = watches.iter().map(|w| w.name.clone()).collect();
    let mut compiled = Vec::new();
    let mut seen_names: HashMap<String, ()> = HashMap::new();
    for w in watches {
        if w.name.trim().is_empty() {
            c.errors.push(RuleError {
                pos: w.name_pos,
                len: 2,
                message: "watch `name` is empty".into(),
            });
        } else if seen_names.insert(w.name.clone(), ()).is_some() {
            c.errors.push(RuleError {
                pos: w.name_pos,
                len: w.name.len() + 2,
                message: format!("watch {:?} is defined twice", w.name),
            });
        }
        for (inc, pos) in &w.includes {
            if !names.contains(inc) {
                c.errors.push(RuleError {
                    pos: *pos,
                    len: inc.len() + 2,
                    message: format!(
                        "in watch {:?}: `includes` names unknown watch {inc:?}",
                        w.name
                    ),
                });
            }
        }
        if !(w.min_score.is_finite() && w.min_score >= 0.0) {
            c.errors.push(RuleError {
                pos: w.name_pos,
                len: w.name.len() + 2,
                message: format!("in watch {:?}: `min_score` must be a number >= 0", w.name),
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
            let required = required_terms(&expr).map(|mut v| {
                v.sort_unstable();
                v.dedup();
                v
            });
            compiled.push(Watch {
                required,
                name: w.name,
                severity: w.severity,
                description: w.description,
                query: w.query,
                min_score: w.min_score,
                includes: w.includes.into_iter().map(|(n, _)| n).collect(),
                expr,
            });
        }
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let pattern_flags: Vec<u8> = c
        .pattern_terms
        .iter()
        .map(|ts| {
            ts.iter().fold(0u8, |f, &t| {
                f | if c.terms[t].prefix { FLAG_PREFIX } else { 0 }
                    | if c.terms[t].arabic { FLAG_ARABIC } else { 0 }
            })
        })
        .collect();
    // Automaton pattern i spells pattern i.
    let spelled = anchored(&c.patterns, &pattern_flags);
    let automaton = if spelled.is_empty() {
        None
    } else {
        // A full DFA is the fastest scan; past a few thousand patterns its
        // memory grows too large and a contiguous NFA is used instead.
        let built = if spelled.len() <= 50_000 {
            dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&spelled)
                .map(Automaton::Dfa)
        } else {
            nfa::contiguous::Builder::new()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                .build(&spelled)
                .map(Automaton::Nfa)
                .or_else(|_| {
                    nfa::noncontiguous::Builder::new()
                        .match_kind(MatchKind::Standard)
                        .prefilter(false)
                        .build(&spelled)
                        .map(Automaton::Sparse)
                })
        };
        match built {
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
    let pattern_gaps = c
        .patterns
        .iter()
        .map(|p| p.bytes().filter(|&b| b == b' ').count() as u32)
        .collect();
    Ok(RuleSet {
        pattern_flags,
        pattern_gaps,
        terms: c.terms,
        watches: compiled,
        automaton,
        pattern_terms: c.pattern_terms,
        patterns: c.patterns,
        lists: n_lists,
    })
}

/// A set of terms at least one of which must have a hit for `e` to hold.
fn required_terms(e: &Expr) -> Option<Vec<TermId>> {
    match e {
        Expr::Terms { ids, .. } => Some(ids.clone()),
        Expr::Near { a, .. } => Some(a.clone()),
        Expr::Not(_) => None,
        Expr::Field(_, inner) => required_terms(inner),
        // Any one conjunct's set will do: take the smallest.
        Expr::And(items) => items.iter().filter_map(required_terms).min_by_key(Vec::len),
        Expr::Or(items) => {
            let mut all = Vec::new();
            for i in items {
                all.extend(required_terms(i)?);
            }
            Some(all)
        }
    }
}

fn is_purely_negative(e: &Expr) -> bool {
    match e {
        Expr::Terms { .. } | Expr::Near { .. } => false,
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
        Ast::Term(s, off) => c.term(s, at(*off), s.len()).map(|id| Expr::Terms {
            ids: vec![id],
            weight: 1.0,
            label: s.clone(),
        }),
        Ast::List(name, weight, off) => match lists.get(name) {
            Some(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let label = if *weight == 1.0 {
                    format!("@{name}")
                } else {
                    format!("@{name}^{weight}")
                };
                Some(Expr::Terms {
                    ids: ids.clone(),
                    weight: *weight,
                    label,
                })
            }
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
            lower(inner, w, c, lists).map(|e| Expr::Field(1 << f.index(), Box::new(e)))
        }
        Ast::Near(l, r, n, off) => {
            let le = lower(l, w, c, lists)?;
            let re = lower(r, w, c, lists)?;
            match (flatten_terms(&le), flatten_terms(&re)) {
                (Some((mut a, la)), Some((mut b, lb))) => {
                    a.sort_unstable();
                    a.dedup();
                    b.sort_unstable();
                    b.dedup();
                    Some(Expr::Near {
                        a,
                        b,
                        n: *n,
                        label: format!("{la} NEAR/{n} {lb}"),
                    })
                }
                _ => {
                    c.errors.push(RuleError {
                        pos: at(*off),
                        len: 4,
                        message: format!("in watch {:?}: each side of NEAR must be a term, a @list or a group of them joined by OR", w.name),
                    });
                    None
                }
            }
        }
    }
}

fn flatten_terms(e: &Expr) -> Option<(Vec<TermId>, String)> {
    match e {
        Expr::Terms { ids, label, .. } => Some((ids.clone(), label.clone())),
        Expr::Or(items) => {
            let mut out = Vec::new();
            let mut labels = Vec::new();
            for i in items {
                let (ids, l) = flatten_terms(i)?;
                out.extend(ids);
                labels.push(l);
            }
            Some((out, format!("({})", labels.join(" OR "))))
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
    use crate::model::Field;

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
                    min_score: if n.starts_with("scored") { 5.0 } else { 0.0 },
                    includes: vec![],
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
        // Far into a long text, and after a word longer than the walk's
        // memory of recent bytes.
        let long = format!("{} {} وداعش", "كلمة ".repeat(500), "ب".repeat(400));
        assert_eq!(fires(&rs, "", &long), ["w"]);
        let long = format!("{} {}داعش", "كلمة ".repeat(500), "ب".repeat(400));
        assert!(fires(&rs, "", &long).is_empty());
    }

    #[test]
    fn arabic_phrases_of_many_words() {
        // More words than the walk remembers word starts for: the boundary
        // is checked on the normalized text instead.
        let phrase = vec!["كلمة"; 70].join(" ");
        let rs = set(&[], &[("w", &format!("\"{phrase} داعش\""))]).unwrap();
        assert_eq!(fires(&rs, "", &format!("قبل و{phrase} داعش بعد")), ["w"]);
        assert_eq!(fires(&rs, "", &format!("قبل {phrase} داعش")), ["w"]);
        assert!(fires(&rs, "", &format!("قبل م{phrase} داعش")).is_empty());
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

    #[test]
    fn case_sensitive_terms() {
        let rs = set(
            &[("de", &["=IS", "\"Terrormiliz =IS\""]), ("fr", &["=EI"])],
            &[("w", "@de OR @fr")],
        )
        .unwrap();
        assert_eq!(fires(&rs, "Anschlag: IS bekennt sich", ""), ["w"]);
        assert!(fires(&rs, "This is what it is", "").is_empty());
        assert_eq!(fires(&rs, "", "un combattant d'EI arrêté"), ["w"]);
        assert!(fires(&rs, "", "Ei ei, einem Ei").is_empty());
    }

    #[test]
    fn umlauts_and_joined_spellings() {
        let rs = set(
            &[],
            &[(
                "w",
                "Terrorbekämpfung OR \"counter terrorism\" OR \"al qaeda\"",
            )],
        )
        .unwrap();
        for t in [
            "Terrorbekämpfung",
            "TERRORBEKAEMPFUNG",
            "Terrorbekampfung",
            "counterterrorism",
            "counter-terrorism",
            "Counter Terrorism",
            "Al-Qaeda",
        ] {
            assert_eq!(fires(&rs, t, ""), ["w"], "{t}");
        }
        assert!(fires(&rs, "counter the terrorism", "").is_empty());
        // Short words never join: "met in" is not the name Metin.
        let rs = set(&[], &[("w", "\"met in\"")]).unwrap();
        assert!(fires(&rs, "Metin Yilmaz", "").is_empty());
        assert_eq!(fires(&rs, "They met in Rome", ""), ["w"]);
    }

    #[test]
    fn weights_and_min_score() {
        let rs = set(
            &[("g", &["isis", "daesh^3"])],
            &[("scored", "@g"), ("plain", "@g^2")],
        )
        .unwrap();
        // "scored" needs a score of 5: one summary hit of isis scores 1.5.
        let m = rs.evaluate("", "isis", "");
        assert_eq!(
            m.iter().map(|m| m.watch.as_str()).collect::<Vec<_>>(),
            ["plain"]
        );
        assert_eq!(
            m[0].score, 3.0,
            "1.5 for the summary field, times 2 for the list weight"
        );
        // daesh^3 in the summary: 1.5 × 3 = 4.5, still under 5.
        assert_eq!(rs.evaluate("", "daesh", "").len(), 1);
        // In the title: 3 × 3 = 9.
        let m = rs.evaluate("daesh", "", "");
        let score = |w: &str| m.iter().find(|m| m.watch == w).map(|m| m.score);
        assert_eq!((score("scored"), score("plain")), (Some(9.0), Some(18.0)));
    }

    /// (term, field, count) of the watch `w` in a match list.
    fn counts(m: &[crate::model::WatchMatch], w: &str) -> Vec<(String, Field, u32)> {
        m.iter()
            .find(|m| m.watch == w)
            .map(|m| {
                m.terms
                    .iter()
                    .map(|t| (t.term.clone(), t.field, t.count))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn counts_are_occurrences_not_clauses() {
        let rs = set(
            &[("c", &["coalition"]), ("m", &["\"meet in\"", "summit"])],
            &[(
                "w",
                "(@c NEAR/5 @m) AND (@c OR isis) AND title:(@c) AND (\"meet in\" OR @m)",
            )],
        )
        .unwrap();
        // One "coalition", one "meet in", in the title; three clauses use
        // @c and three the phrase.
        let m = rs.evaluate("Ministers meet in Rome: coalition against ISIS", "", "");
        assert_eq!(
            counts(&m, "w"),
            [
                ("\"meet in\"".to_string(), Field::Title, 1),
                ("coalition".to_string(), Field::Title, 1),
                ("isis".to_string(), Field::Title, 1),
            ]
        );
        // Title weight 3 × one occurrence, for each of the three terms.
        assert_eq!(m[0].score, 9.0);
    }

    #[test]
    fn counts_are_capped_at_five_and_scored_by_hand() {
        let rs = set(
            &[("g", &["isis", "daesh^2"])],
            &[("w", "@g^1.5 OR coalition NEAR/2 isis")],
        )
        .unwrap();
        let body = "isis again and isis. ".repeat(3) + "isis";
        assert_eq!(body.matches("isis").count(), 7);
        let m = rs.evaluate("Daesh", &body, "the coalition against isis");
        assert_eq!(
            counts(&m, "w"),
            [
                ("daesh^2".to_string(), Field::Title, 1),
                ("isis".to_string(), Field::Summary, 5),
                ("coalition".to_string(), Field::Content, 1),
                ("isis".to_string(), Field::Content, 1),
            ]
        );
        // title: 3 × 1 × 2 (term) × 1.5 (list) = 9
        // summary: 1.5 × 5 (7, capped) × 1 × 1.5 = 11.25
        // content: isis 1 × 1 × 1 × 1.5 (its largest list weight) = 1.5,
        //          coalition (through NEAR, list weight 1) 1 × 1 × 1 × 1 = 1
        // total 22.75, rounded to one decimal: 22.8
        assert_eq!(m[0].score, 22.8);
    }

    #[test]
    fn explain_shows_what_held() {
        let rs = set(
            &[("m", &["meeting"])],
            &[("w", "coalition AND (@m OR summit) NOT goddess")],
        )
        .unwrap();
        let e = rs.explain("Coalition summit", "", "");
        assert!(e[0].fired);
        assert!(
            e[0].tree.contains("✓ coalition: coalition (title×1)"),
            "{}",
            e[0].tree
        );
        assert!(e[0].tree.contains("✗ @m"), "{}", e[0].tree);
        assert!(e[0].tree.contains("✓ NOT"), "{}", e[0].tree);
    }

    #[test]
    fn queries_nested_too_deeply_are_located_errors() {
        let deep = format!("{}isis{}", "(".repeat(10_000), ")".repeat(10_000));
        let nots = format!("isis {}x", "NOT ".repeat(100_000));
        let errs = set(&[], &[("p", &deep), ("n", &nots)]).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!((errs[0].pos.offset, errs[0].len), (query::MAX_DEPTH, 1));
        assert_eq!(
            (errs[1].pos.offset, errs[1].len),
            (5 + 4 * query::MAX_DEPTH, 3)
        );
        for e in &errs {
            assert!(e.message.contains("nests deeper than 64 levels"), "{e:?}");
        }
    }

    #[test]
    fn the_deepest_allowed_queries_compile_evaluate_and_explain() {
        let d = query::MAX_DEPTH;
        let parens = format!("{}isis{}", "(".repeat(d), ")".repeat(d));
        // An even number of NOTs: the query holds where isis does.
        let nots = format!("isis {}isis", "NOT ".repeat(d - d % 2));
        let level = "daesh OR isis coalition NEAR/3 isis AND title:(";
        let mixed = format!(
            "{}isis{}",
            format!("{level}(").repeat(d / 2),
            "))".repeat(d / 2)
        );
        let rs = set(&[], &[("p", &parens), ("n", &nots), ("m", &mixed)]);
        let rs = match rs {
            Ok(rs) => rs,
            // A NEAR side that is a field scope is refused after parsing.
            Err(e) => panic!("{e:?}"),
        };
        let mut fired = fires(&rs, "Coalition against ISIS", "");
        fired.sort();
        assert_eq!(fired, ["m", "n", "p"]);
        for e in rs.explain("Coalition against ISIS", "", "") {
            assert!(e.fired, "{}", e.tree);
        }
    }

    #[test]
    fn a_near_chain_of_ten_thousand_links_compiles_and_evaluates() {
        let words: Vec<String> = (0..10_001).map(|i| format!("w{i}")).collect();
        let q = words.join(" NEAR/3 ");
        let rs = set(&[], &[("c", &q)]).unwrap();
        assert_eq!(fires(&rs, "", &words.join(" ")), ["c"]);
        let mut gap = words.clone();
        gap.insert(5_000, "a b c d".into());
        assert!(fires(&rs, "", &gap.join(" ")).is_empty());
        assert!(!rs.explain("", &gap.join(" "), "")[0].fired);
    }

    #[test]
    fn bad_weights_and_quotes_are_errors() {
        let errs = set(&[("a", &["isis^x", "\"open"])], &[("w", "@a^0")]).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
    }
}
