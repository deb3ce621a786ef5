//! Rule packs: turning each pack's `[terms]` and `[[watch]]` into the
//! definitions [`rules::compile`] takes (with positions pointing into the
//! pack files, so that query errors get a caret), and compiling them.

use super::diag::Diagnostics;
use super::{include, validate};
use crate::model::Severity;
use crate::rules::{self, RuleSet, SourcePos, TermListDef, WatchDef};
use std::ops::Range;
use std::path::PathBuf;

/// The term lists and watches of every pack, in file order, not yet compiled.
#[derive(Default)]
pub(crate) struct RuleDefs {
    lists: Vec<TermListDef>,
    watches: Vec<WatchDef>,
}

/// Reads every rule pack file into definitions.
pub(crate) fn read(dg: &mut Diagnostics, rule_files: &[PathBuf]) -> RuleDefs {
    let mut defs = RuleDefs::default();
    for rf in rule_files {
        let Some((fi, pack)) = include::read_rule_pack(dg, rf) else {
            continue;
        };
        for (name, entries) in pack.terms {
            let span = entries.span();
            defs.lists.push(TermListDef {
                name,
                pos: SourcePos {
                    file: fi,
                    offset: span.start,
                },
                entries: entries
                    .into_inner()
                    .into_iter()
                    .map(|e| {
                        let off = string_content_offset(dg.text(fi), e.span());
                        (
                            e.into_inner(),
                            SourcePos {
                                file: fi,
                                offset: off,
                            },
                        )
                    })
                    .collect(),
            });
        }
        for w in pack.watch {
            let severity = validate::severity(dg, fi, &w.severity, Severity::Medium);
            let qoff = string_content_offset(dg.text(fi), w.query.span());
            defs.watches.push(WatchDef {
                name: w.name.get_ref().clone(),
                name_pos: SourcePos {
                    file: fi,
                    offset: w.name.span().start,
                },
                severity,
                description: w.description.clone(),
                query: w.query.into_inner(),
                query_pos: SourcePos {
                    file: fi,
                    offset: qoff,
                },
                min_score: w.min_score.unwrap_or(0.0),
                includes: w
                    .includes
                    .iter()
                    .map(|i| {
                        (
                            i.get_ref().clone(),
                            SourcePos {
                                file: fi,
                                offset: i.span().start,
                            },
                        )
                    })
                    .collect(),
            });
        }
    }
    defs
}

/// Compiles the definitions; each compile error is recorded at its place
/// in its pack (and the rule set is then empty).
pub(crate) fn compile(dg: &mut Diagnostics, defs: RuleDefs) -> RuleSet {
    match rules::compile(defs.lists, defs.watches) {
        Ok(rs) => rs,
        Err(errs) => {
            for e in errs {
                dg.issue(e.pos.file, e.pos.offset..e.pos.offset + e.len, e.message);
            }
            RuleSet::empty()
        }
    }
}

/// The byte offset where a string value's content starts, given the span of
/// the whole string token (quotes included).
fn string_content_offset(text: &str, span: Range<usize>) -> usize {
    let tok = text.get(span.clone()).unwrap_or("");
    let q = if tok.starts_with("'''") || tok.starts_with("\"\"\"") {
        3
    } else if tok.starts_with('\'') || tok.starts_with('"') {
        1
    } else {
        0
    };
    span.start + q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_content_starts_after_the_quotes() {
        let text = "a = \"x\"\nb = '''y'''\nc = [1]";
        assert_eq!(string_content_offset(text, 4..7), 5);
        assert_eq!(string_content_offset(text, 12..19), 15);
        assert_eq!(string_content_offset(text, 24..27), 24);
    }
}
