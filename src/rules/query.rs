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

use crate::model::Field;

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
        if matches!(self.peek().map(|t| &t.tok), Some(Tok::Not)) {
            self.pos += 1;
            return Ok(Ast::Not(Box::new(self.unary()?)));
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
                self.pos += 1;
                let inner = self.or()?;
                self.close(t.offset)?;
                Ok(inner)
            }
            Tok::Field(f) => {
                self.pos += 1;
                match self.peek().map(|t| &t.tok) {
                    Some(Tok::LParen) => {
                        let open = self.toks[self.pos].offset;
                        self.pos += 1;
                        let inner = self.or()?;
                        self.close(open)?;
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
}
