//! The query language: tokens, the parser, and the syntax tree.
//!
//! ```text
//! or    := and ( "OR" and )*
//! and   := unary ( ["AND"] unary )*          juxtaposition means AND
//! unary := "NOT" unary | near
//! near  := primary ( "NEAR/n" primary )*
//! primary := "(" or ")" | FIELD ":" "(" or ")" | term | "@" list
//! ```
//! Operator keywords are uppercase only; `and`, `or`, `not` are words.
//! Every error carries the byte range of the offending token inside the
//! query, which `config` turns into file:line:col.
//!
//! Nesting is limited to [`MAX_DEPTH`] levels: every parenthesis group,
//! field scope and `NOT` opens one, and the token that opens one level too
//! many is a syntax error. The parser recurses once per level, and so do
//! the passes over the tree after it (`lower`, `eval`, `explain`, …): an AST
//! is at most a few nodes deep per level (OR, AND, a NEAR chain's AND, NEAR,
//! a field scope), so the limit bounds every one of them. A `NEAR` chain
//! (`a NEAR/3 b NEAR/3 c …`) is flat (an AND of its links), not nested.

use crate::model::Field;

/// How deeply a query may nest: parenthesis groups, field scopes and `NOT`s
/// each open one level.
pub const MAX_DEPTH: usize = 64;

/// A parsed query, before list references are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// A term as written (word, `prefix*`, `"phrase"`, `=CASE`, `term^2`),
    /// with its offset.
    Term(String, usize),
    /// `@name` (with an optional `^weight`), with its offset.
    List(String, f64, usize),
    /// All must hold.
    And(Vec<Ast>),
    /// Any must hold.
    Or(Vec<Ast>),
    /// Must not hold.
    Not(Box<Ast>),
    /// Both sides within `n` words, with the operator's offset.
    Near(Box<Ast>, Box<Ast>, u32, usize),
    /// Restricted to one field.
    Field(Field, Box<Ast>),
}

/// A syntax error: what, and where in the query (byte range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset in the query.
    pub offset: usize,
    /// Length of the offending token (at least 1 for display).
    pub len: usize,
    /// What was expected.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near(u32),
    Field(Field),
    List(String, f64),
    Term(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
    len: usize,
}

fn lex(q: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match c {
            b'(' => {
                out.push(Token {
                    tok: Tok::LParen,
                    offset: i,
                    len: 1,
                });
                i += 1;
            }
            b')' => {
                out.push(Token {
                    tok: Tok::RParen,
                    offset: i,
                    len: 1,
                });
                i += 1;
            }
            b'"' | b'=' if c == b'"' || b.get(i + 1) == Some(&b'"') => {
                let start = i;
                let open = if c == b'=' { i + 1 } else { i };
                let end = q[open + 1..].find('"').ok_or(SyntaxError {
                    offset: open,
                    len: q.len() - open,
                    message: "unterminated phrase: a closing \" is missing".into(),
                })?;
                i = open + 1 + end + 1;
                // A weight may follow: "phrase"^2
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'(' | b')' | b'"')
                {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Term(q[start..i].to_string()),
                    offset: start,
                    len: i - start,
                });
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'(' | b')' | b'"')
                {
                    i += 1;
                }
                let word = &q[start..i];
                let len = i - start;
                let tok = match word {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    "NEAR" => {
                        return Err(SyntaxError {
                            offset: start,
                            len,
                            message: "NEAR needs a distance in words, e.g. NEAR/10".into(),
                        });
                    }
                    w if w.starts_with("NEAR/") => match w[5..].parse::<u32>() {
                        Ok(n) if n > 0 && n <= 1000 => Tok::Near(n),
                        _ => {
                            return Err(SyntaxError {
                                offset: start,
                                len,
                                message: format!(
                                    "bad NEAR distance in {w:?}: expected a whole number of words from 1 to 1000, e.g. NEAR/10"
                                ),
                            });
                        }
                    },
                    w if w.starts_with('@') => {
                        let (name, weight) = match w[1..].split_once('^') {
                            Some((n, wt)) => match wt.parse::<f64>() {
                                Ok(x) if x.is_finite() && x > 0.0 => (n, x),
                                _ => {
                                    return Err(SyntaxError {
                                        offset: start,
                                        len,
                                        message: format!(
                                            "bad weight in {w:?}: expected a positive number after ^, e.g. @list^2"
                                        ),
                                    });
                                }
                            },
                            None => (&w[1..], 1.0),
                        };
                        if name.is_empty() {
                            return Err(SyntaxError {
                                offset: start,
                                len,
                                message: "`@` must be followed by a list name".into(),
                            });
                        }
                        Tok::List(name.to_string(), weight)
                    }
                    w if w.ends_with(':') && w.len() > 1 => {
                        let f = match &w[..w.len() - 1] {
                            "title" => Field::Title,
                            "summary" => Field::Summary,
                            "content" => Field::Content,
                            other => {
                                return Err(SyntaxError {
                                    offset: start,
                                    len,
                                    message: format!(
                                        "unknown field {other:?}; expected title:, summary: or content:"
                                    ),
                                });
                            }
                        };
                        Tok::Field(f)
                    }
                    w => Tok::Term(w.to_string()),
                };
                out.push(Token {
                    tok,
                    offset: start,
                    len,
                });
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    end: usize,
    /// Levels open at the current token (see [`MAX_DEPTH`]).
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn err_here(&self, message: String) -> SyntaxError {
        match self.peek() {
            Some(t) => SyntaxError {
                offset: t.offset,
                len: t.len,
                message,
            },
            None => SyntaxError {
                offset: self.end,
                len: 1,
                message,
            },
        }
    }

    /// Opens one nesting level at token `t` (a `(`, a field scope or a
    /// `NOT`); refused past [`MAX_DEPTH`]. [`Parser::leave`] closes it.
    fn enter(&mut self, t: &Token) -> Result<(), SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(SyntaxError {
                offset: t.offset,
                len: t.len,
                message: format!(
                    "query nests deeper than {MAX_DEPTH} levels (parentheses, field scopes and NOT each open one)"
                ),
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or(&mut self) -> Result<Ast, SyntaxError> {
        let mut items = vec![self.and()?];
        while matches!(self.peek().map(|t| &t.tok), Some(Tok::Or)) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::Or(items)
        })
    }

    fn and(&mut self) -> Result<Ast, SyntaxError> {
        let mut items = vec![self.unary()?];
        loop {
            match self.peek().map(|t| &t.tok) {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.unary()?);
                }
                Some(Tok::Not | Tok::LParen | Tok::Field(_) | Tok::List(..) | Tok::Term(_)) => {
                    items.push(self.unary()?);
                }
                _ => break,
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::And(items)
        })
    }

    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        if let Some(t) = self.peek().filter(|t| t.tok == Tok::Not).cloned() {
            self.enter(&t)?;
            self.pos += 1;
            let inner = self.unary()?;
            self.leave();
            return Ok(Ast::Not(Box::new(inner)));
        }
        self.near()
    }

    fn near(&mut self) -> Result<Ast, SyntaxError> {
        let mut left = self.primary()?;
        while let Some(Token {
            tok: Tok::Near(n),
            offset,
            ..
        }) = self.peek().cloned()
        {
            self.pos += 1;
            let right = self.primary()?;
            left = match left {
                // a NEAR b NEAR c: a NEAR b, and b NEAR c.
                Ast::And(mut parts) => {
                    let prev = match parts.last() {
                        Some(Ast::Near(_, r, _, _)) => (**r).clone(),
                        _ => {
                            return Err(SyntaxError {
                                offset,
                                len: 4,
                                message: "NEAR cannot follow this expression".into(),
                            });
                        }
                    };
                    parts.push(Ast::Near(Box::new(prev), Box::new(right), n, offset));
                    Ast::And(parts)
                }
                l @ Ast::Near(..) => {
                    let prev = match &l {
                        Ast::Near(_, r, _, _) => (**r).clone(),
                        _ => unreachable!("matched Near above"),
                    };
                    Ast::And(vec![
                        l,
                        Ast::Near(Box::new(prev), Box::new(right), n, offset),
                    ])
                }
                l => Ast::Near(Box::new(l), Box::new(right), n, offset),
            };
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let Some(t) = self.peek().cloned() else {
            return Err(
                self.err_here("unexpected end of query: expected a term, a @list or \"(\"".into())
            );
        };
        match t.tok {
            Tok::LParen => {
                self.enter(&t)?;
                self.pos += 1;
                let inner = self.or()?;
                self.close(t.offset)?;
                self.leave();
                Ok(inner)
            }
            Tok::Field(f) => {
                self.pos += 1;
                match self.peek().map(|t| &t.tok) {
                    Some(Tok::LParen) => {
                        // The scope and its parenthesis are one level.
                        self.enter(&t)?;
                        let open = self.toks[self.pos].offset;
                        self.pos += 1;
                        let inner = self.or()?;
                        self.close(open)?;
                        self.leave();
                        Ok(Ast::Field(f, Box::new(inner)))
                    }
                    _ => Err(self.err_here(format!("expected \"(\" after {}:", f.as_str()))),
                }
            }
            Tok::Term(s) => {
                self.pos += 1;
                Ok(Ast::Term(s, t.offset))
            }
            Tok::List(s, w) => {
                self.pos += 1;
                Ok(Ast::List(s, w, t.offset))
            }
            Tok::RParen => {
                Err(self
                    .err_here("unbalanced parenthesis: this \")\" has no matching \"(\"".into()))
            }
            Tok::And | Tok::Or | Tok::Near(_) => {
                Err(self.err_here("expected a term, a @list or \"(\" before this operator".into()))
            }
            Tok::Not => Err(self.err_here("NOT cannot stand here".into())),
        }
    }

    fn close(&mut self, open: usize) -> Result<(), SyntaxError> {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::RParen) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(SyntaxError {
                offset: open,
                len: 1,
                message: "unbalanced parenthesis: this \"(\" is never closed".into(),
            }),
        }
    }
}

/// Parses a query.
pub fn parse(q: &str) -> Result<Ast, SyntaxError> {
    let toks = lex(q)?;
    if toks.is_empty() {
        return Err(SyntaxError {
            offset: 0,
            len: 1,
            message: "empty query".into(),
        });
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        end: q.len(),
        depth: 0,
    };
    let ast = p.or()?;
    if p.pos < toks.len() {
        let t = &toks[p.pos];
        let message = if t.tok == Tok::RParen {
            "unbalanced parenthesis: this \")\" has no matching \"(\"".to_string()
        } else {
            "unexpected token".to_string()
        };
        return Err(SyntaxError {
            offset: t.offset,
            len: t.len,
            message,
        });
    }
    Ok(ast)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_juxtaposition() {
        let a = parse("a b OR c NOT d").unwrap();
        assert_eq!(
            a,
            Ast::Or(vec![
                Ast::And(vec![Ast::Term("a".into(), 0), Ast::Term("b".into(), 2)]),
                Ast::And(vec![
                    Ast::Term("c".into(), 7),
                    Ast::Not(Box::new(Ast::Term("d".into(), 13)))
                ]),
            ])
        );
    }

    #[test]
    fn near_fields_and_lists() {
        let a = parse("title:(@groups NEAR/5 \"islamic state\")").unwrap();
        match a {
            Ast::Field(Field::Title, inner) => assert!(matches!(*inner, Ast::Near(_, _, 5, _))),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse("(a OR b").unwrap_err();
        assert_eq!((e.offset, e.message.contains("never closed")), (0, true));
        let e = parse("a OR b)").unwrap_err();
        assert_eq!(e.offset, 6);
        let e = parse("a NEAR b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse("a AND").unwrap_err();
        assert_eq!(e.offset, 5);
        let e = parse("bogus:(a)").unwrap_err();
        assert!(e.message.contains("unknown field"));
    }

    /// The depth of the tree (a leaf is 1), without recursing.
    fn tree_depth(a: &Ast) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(a, 1)];
        while let Some((n, d)) = stack.pop() {
            deepest = deepest.max(d);
            match n {
                Ast::Term(..) | Ast::List(..) => {}
                Ast::And(v) | Ast::Or(v) => stack.extend(v.iter().map(|c| (c, d + 1))),
                Ast::Not(c) | Ast::Field(_, c) => stack.push((c, d + 1)),
                Ast::Near(l, r, ..) => stack.extend([(&**l, d + 1), (&**r, d + 1)]),
            }
        }
        deepest
    }

    #[test]
    fn ten_thousand_parentheses_are_a_located_error() {
        let q = format!("{}isis{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse(&q).unwrap_err();
        // The first "(" past the limit.
        assert_eq!((e.offset, e.len), (MAX_DEPTH, 1), "{e:?}");
        assert!(
            e.message
                .contains(&format!("nests deeper than {MAX_DEPTH} levels")),
            "{e:?}"
        );
        // Unclosed, too.
        let e = parse(&"(".repeat(10_000)).unwrap_err();
        assert_eq!(e.offset, MAX_DEPTH, "{e:?}");
    }

    #[test]
    fn a_hundred_thousand_nots_are_a_located_error() {
        let q = format!("isis {}x", "NOT ".repeat(100_000));
        let e = parse(&q).unwrap_err();
        assert_eq!((e.offset, e.len), (5 + 4 * MAX_DEPTH, 3), "{e:?}");
        assert!(e.message.contains("nests deeper"), "{e:?}");
    }

    #[test]
    fn field_scopes_count_as_levels() {
        let q = format!("{}isis{}", "title:(".repeat(100), ")".repeat(100));
        let e = parse(&q).unwrap_err();
        assert_eq!((e.offset, e.len), (7 * MAX_DEPTH, 6), "{e:?}");
        // Mixed: parentheses, scopes and NOTs share one budget.
        let q = format!("a {}b{}", "NOT (title:(".repeat(30), "))".repeat(30));
        let e = parse(&q).unwrap_err();
        assert!(e.message.contains("nests deeper"), "{e:?}");
    }

    #[test]
    fn the_deepest_allowed_query_parses_and_stays_shallow() {
        let q = format!("{}isis{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&q).unwrap(), Ast::Term("isis".into(), MAX_DEPTH));
        let q = format!("a {}b", "NOT ".repeat(MAX_DEPTH));
        assert_eq!(tree_depth(&parse(&q).unwrap()), MAX_DEPTH + 2);
        // Every level holding as much structure as one level can: OR, AND,
        // a NEAR chain, a field scope.
        let level = "x OR y z NEAR/2 w NEAR/2 title:(";
        let half = MAX_DEPTH / 2;
        let q = format!("{}v{}", format!("{level}(").repeat(half), "))".repeat(half));
        let a = parse(&q).unwrap();
        assert!(tree_depth(&a) <= 5 * MAX_DEPTH, "{}", tree_depth(&a));
    }

    #[test]
    fn a_long_near_chain_is_flat() {
        let q = vec!["a"; 10_001].join(" NEAR/3 ");
        let a = parse(&q).unwrap();
        match &a {
            Ast::And(links) => assert_eq!(links.len(), 10_000),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(tree_depth(&a), 3);
    }
}
