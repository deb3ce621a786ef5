//! Property tests: the compiled matcher agrees with a slow, obviously
//! correct reference on random texts and random queries.
//!
//! The reference works on the list of normalized words and follows the
//! language's definitions literally: a term matches where its words equal
//! consecutive text words (the last one as a prefix for `term*`), or where a
//! 2–3-word phrase of words of four letters or more is written as one word; boolean operators are boolean;
//! `NEAR/n` holds when two hits in one field are at most `n` words apart.

use super::{SourcePos, TermListDef, WatchDef, compile};
use crate::model::Severity;
use crate::text::normalize;
use proptest::prelude::*;

const VOCAB: &[&str] = &[
    "isis",
    "ISIS",
    "crisis",
    "Daesh",
    "daech",
    "réunion",
    "reunion",
    "coalition",
    "Coalition",
    "meeting",
    "meetings",
    "état",
    "islamique",
    "l'État",
    "counter-terrorism",
    "counterterrorism",
    "counter",
    "terrorism",
    "terror",
    "the",
    "in",
    "and",
    "al-Qaeda",
    "qaeda",
    "summit",
    "x",
    "y",
    "—",
    ",",
    ".",
    "داعش",
    "وداعش",
    "بداعش",
    "مداعش",
    "الإرهاب",
    "بالإرهاب",
    "والإرهابيين",
    "إرهاب",
    "قمة",
    "للقمة",
    "فالقمة",
    "مقمة",
    // Scripts glued in one word.
    "abوداعش",
    "xقمة",
    "داعشx",
    "isisداعش",
    // Long words carry the walk past its memory of recent bytes.
    "supercalifragilisticexpialidocious-and-then-some-more-letters-to-make-a-long-word-of-well-over-one-hundred-bytes-in-all",
    "الإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهابالإرهاب",
];

const TERMS: &[&str] = &[
    "isis",
    "daesh",
    "daech",
    "reunion",
    "coalition",
    "meeting",
    "meeting*",
    "summit",
    "\"etat islamique\"",
    "counter*",
    "\"counter terror*\"",
    "\"al qaeda\"",
    "terrorism",
    "x",
    "داعش",
    "ارهاب*",
    "قمة",
    "\"قمة داعش\"",
];

#[derive(Debug, Clone)]
enum Q {
    Term(usize),
    And(Box<Q>, Box<Q>),
    Or(Box<Q>, Box<Q>),
    Not(Box<Q>),
    Near(Vec<usize>, Vec<usize>, u32),
    Title(Box<Q>),
}

fn query() -> impl Strategy<Value = Q> {
    let leaf = prop_oneof![
        (0..TERMS.len()).prop_map(Q::Term),
        (
            prop::collection::vec(0..TERMS.len(), 1..3),
            prop::collection::vec(0..TERMS.len(), 1..3),
            0u32..4
        )
            .prop_map(|(a, b, n)| Q::Near(a, b, n.max(1))),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::Or(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Q::And(Box::new(a), Box::new(Q::Not(Box::new(b))))),
            inner.prop_map(|a| Q::Title(Box::new(a))),
        ]
    })
}

fn render(q: &Q) -> String {
    let group = |ids: &[usize]| {
        format!(
            "({})",
            ids.iter()
                .map(|&i| TERMS[i])
                .collect::<Vec<_>>()
                .join(" OR ")
        )
    };
    match q {
        Q::Term(i) => TERMS[*i].to_string(),
        Q::And(a, b) => format!("({} AND {})", render(a), render(b)),
        Q::Or(a, b) => format!("({} OR {})", render(a), render(b)),
        Q::Not(a) => format!("NOT {}", render(a)),
        Q::Near(a, b, n) => format!("{} NEAR/{n} {}", group(a), group(b)),
        Q::Title(a) => format!("title:({})", render(a)),
    }
}

/// The Arabic proclitics, spelled out: an optional و or ف, then an
/// optional ب ك ل ال بال كال لل.
fn proclitics() -> Vec<String> {
    let mut out = Vec::new();
    for a in ["", "و", "ف"] {
        for b in ["", "ب", "ك", "ل", "ال", "بال", "كال", "لل"] {
            out.push(format!("{a}{b}"));
        }
    }
    out
}

/// Where term `t` matches in `words`: (first word, last word).
fn ref_hits(t: &str, words: &[&str]) -> Vec<(usize, usize)> {
    let unq = t.trim_matches('"');
    let (body, prefix) = match unq.strip_suffix('*') {
        Some(b) => (b, true),
        None => (unq, false),
    };
    let tw: Vec<String> = normalize(body)
        .text
        .split(' ')
        .map(str::to_string)
        .collect();
    let k = tw.len();
    let arabic = tw[0].chars().next().is_some_and(crate::text::is_arabic);
    let leads = if arabic {
        proclitics()
    } else {
        vec![String::new()]
    };
    let word_ok = |text: &str, term: &str, last: bool| {
        if last && prefix {
            text.starts_with(term)
        } else {
            text == term
        }
    };
    // The first word may carry a proclitic when the term is Arabic.
    let first_ok = |text: &str, term: &str, last: bool| {
        leads.iter().any(|p| {
            text.strip_prefix(p.as_str())
                .is_some_and(|rest| word_ok(rest, term, last))
        })
    };
    let mut out = Vec::new();
    for i in 0..words.len() {
        if i + k <= words.len()
            && first_ok(words[i], &tw[0], k == 1)
            && (1..k).all(|j| word_ok(words[i + j], &tw[j], j == k - 1))
        {
            out.push((i, i + k - 1));
        } else if !arabic
            && (2..=3).contains(&k)
            && tw.iter().all(|w| w.chars().count() >= 4)
            && word_ok(words[i], &tw.concat(), true)
        {
            out.push((i, i));
        }
    }
    out
}

fn ref_eval(q: &Q, fields: &[Vec<&str>; 2], allowed: [bool; 2]) -> bool {
    match q {
        Q::Term(i) => (0..2).any(|f| allowed[f] && !ref_hits(TERMS[*i], &fields[f]).is_empty()),
        Q::And(a, b) => ref_eval(a, fields, allowed) && ref_eval(b, fields, allowed),
        Q::Or(a, b) => ref_eval(a, fields, allowed) || ref_eval(b, fields, allowed),
        Q::Not(a) => !ref_eval(a, fields, allowed),
        Q::Title(a) => ref_eval(a, fields, [allowed[0], false]),
        Q::Near(a, b, n) => (0..2).filter(|&f| allowed[f]).any(|f| {
            let hits = |ids: &[usize]| -> Vec<(usize, (usize, usize))> {
                ids.iter()
                    .flat_map(|&i| {
                        ref_hits(TERMS[i], &fields[f])
                            .into_iter()
                            .map(move |h| (i, h))
                    })
                    .collect()
            };
            let (ha, hb) = (hits(a), hits(b));
            ha.iter().any(|&(ta, (s1, e1))| {
                hb.iter().any(|&(tb, (s2, e2))| {
                    let same_span = s1 == s2 && e1 == e2 && TERMS[ta] != TERMS[tb];
                    let gap = if s1 <= s2 {
                        s2.saturating_sub(e1)
                    } else {
                        s1.saturating_sub(e2)
                    };
                    !same_span && gap as u32 <= *n
                })
            })
        }),
    }
}

fn has_positive(q: &Q) -> bool {
    match q {
        Q::Term(_) | Q::Near(..) => true,
        Q::Not(_) => false,
        Q::And(a, b) => has_positive(a) || has_positive(b),
        Q::Or(a, b) => has_positive(a) && has_positive(b),
        Q::Title(a) => has_positive(a),
    }
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..14).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn matcher_agrees_with_the_reference(q in query(), title in text(), summary in text()) {
        prop_assume!(has_positive(&q));
        let p = SourcePos { file: 0, offset: 0 };
        let watch = WatchDef {
            name: "w".into(), name_pos: p, severity: Severity::Low, description: None,
            query: render(&q), query_pos: p, min_score: 0.0, includes: vec![],
        };
        let rs = match compile(Vec::<TermListDef>::new(), vec![watch]) {
            Ok(rs) => rs,
            // Purely negative after all: the compiler refuses it, as it should.
            Err(e) => { prop_assert!(e[0].message.contains("no positive term"), "{e:?}"); return Ok(()); }
        };
        let nt = normalize(&title).text;
        let ns = normalize(&summary).text;
        let fields = [
            nt.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>(),
            ns.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>(),
        ];
        let expected = ref_eval(&q, &fields, [true, true]);
        let got = !rs.evaluate(&title, &summary, "").is_empty();
        prop_assert_eq!(got, expected, "query {} title {:?} summary {:?}", render(&q), title, summary);
    }
}
