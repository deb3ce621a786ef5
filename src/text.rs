//! Text handling shared by `parse` and `rules`: HTML to plain text, the
//! matching normalization, and digests.
//!
//! Normalization is the one definition of "the same word" in newswatch: rule
//! terms and article text both go through [`normalize`], so a term matches
//! exactly when its normalized form appears on word boundaries in the
//! normalized text. It is pure and allocation-light: ASCII takes a fast path,
//! everything else goes through Unicode NFKD with marks dropped (which is
//! NFKC plus diacritics removal for matching purposes), case folding and
//! Arabic letter unification.

use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_properties::CodePointMapData;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of the concatenated parts.
pub fn hex_digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let out = h.finalize();
    let mut s = String::with_capacity(64);
    for b in out.iter() {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s
}

/// Block-level tags whose boundaries separate words.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "img",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Turns HTML (or plain text that may carry entities) into plain text:
/// tags removed (block tags become spaces), `script`/`style` dropped,
/// comments dropped, CDATA kept, entities decoded, white space collapsed.
///
/// A `<` not followed by a letter, `/`, `!` or `?` is kept as text, so plain
/// text such as "a < b" survives.
pub fn html_to_text(input: &str) -> String {
    if !input.contains('<') && !input.contains('&') {
        return collapse_ws(input);
    }
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?') {
            i += 1;
            continue;
        }
        out.push_str(&input[text_start..i]);
        let rest = &input[i..];
        if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").map_or(input.len(), |e| i + 4 + e + 3);
            i = end;
        } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let (inner, end) = match body.find("]]>") {
                Some(e) => (&body[..e], i + 9 + e + 3),
                None => (body, input.len()),
            };
            out.push_str(inner);
            i = end;
        } else {
            let close = rest.find('>').map_or(input.len(), |e| i + e + 1);
            let tag = &input[i + 1..close.saturating_sub(1).max(i + 1)];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            i = close;
            if (name == "script" || name == "style") && !tag.starts_with('/') {
                let lower_rest = input[i..].to_ascii_lowercase();
                let end_tag = format!("</{name}");
                i = match lower_rest.find(&end_tag) {
                    Some(e) => {
                        let after = i + e;
                        input[after..]
                            .find('>')
                            .map_or(input.len(), |g| after + g + 1)
                    }
                    None => input.len(),
                };
            }
            if BLOCK_TAGS.contains(&name.as_str()) {
                out.push(' ');
            }
        }
        text_start = i.min(input.len());
    }
    if text_start < input.len() {
        out.push_str(&input[text_start..]);
    }
    let decoded = htmlize::unescape(&out);
    collapse_ws(&decoded)
}

/// Collapses every run of white space (including NBSP) to one ASCII space
/// and trims both ends.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
            pending = !out.is_empty();
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
    }
    out
}

/// One word of a normalized text, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordSpan {
    /// Byte offset of the word in [`Normalized::text`].
    pub start: u32,
    /// Byte offset just past the word in [`Normalized::text`].
    pub end: u32,
    /// Byte offset of the word's first character in the original text.
    pub orig_start: u32,
    /// Byte offset just past the word's last character in the original text.
    pub orig_end: u32,
}

/// Text in matching form: words separated by single spaces.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalized words joined by one ASCII space.
    pub text: String,
    /// Each word's span, in order.
    pub words: Vec<WordSpan>,
}

impl Normalized {
    /// The index of the word that contains normalized byte offset `pos`.
    pub fn word_at(&self, pos: usize) -> usize {
        let pos = pos as u32;
        match self.words.binary_search_by(|w| {
            if w.end <= pos {
                std::cmp::Ordering::Less
            } else if w.start > pos {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        }) {
            Ok(i) => i,
            Err(i) => i.min(self.words.len().saturating_sub(1)),
        }
    }
}

/// Normalizes text for matching; see the module documentation.
pub fn normalize(src: &str) -> Normalized {
    normalize_with(src, true)
}

/// [`normalize`] without case folding, for case-sensitive terms (`=IS`).
pub fn normalize_keep_case(src: &str) -> Normalized {
    normalize_with(src, false)
}

fn normalize_with(src: &str, fold_case: bool) -> Normalized {
    let mut n = Normalized {
        text: String::with_capacity(src.len() + 8),
        words: Vec::with_capacity(src.len() / 6 + 1),
    };
    let mut in_word = false;
    let mut buf: Vec<char> = Vec::with_capacity(4);
    for (i, c) in src.char_indices() {
        let end = (i + c.len_utf8()) as u32;
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                let c = if fold_case { c.to_ascii_lowercase() } else { c };
                push_word_char(&mut n, &mut in_word, c, i as u32, end);
            } else {
                in_word = false;
            }
            continue;
        }
        buf.clear();
        fold_char(c, fold_case, &mut buf);
        for &d in &buf {
            if d == SEP {
                in_word = false;
            } else {
                push_word_char(&mut n, &mut in_word, d, i as u32, end);
            }
        }
    }
    n
}

/// Marker in [`fold_char`] output for "this is a word separator".
const SEP: char = '\0';

fn push_word_char(n: &mut Normalized, in_word: &mut bool, c: char, orig: u32, orig_end: u32) {
    if *in_word {
        n.text.push(c);
        if let Some(w) = n.words.last_mut() {
            w.end = n.text.len() as u32;
            w.orig_end = orig_end;
        }
    } else {
        if !n.text.is_empty() {
            n.text.push(' ');
        }
        let start = n.text.len() as u32;
        n.text.push(c);
        n.words.push(WordSpan {
            start,
            end: n.text.len() as u32,
            orig_start: orig,
            orig_end,
        });
        *in_word = true;
    }
}

/// Folds one non-ASCII character into zero or more output characters
/// (word characters, or [`SEP`]).
fn fold_char(c: char, fold_case: bool, out: &mut Vec<char>) {
    match c {
        // Invisible joiners, soft hyphen and Arabic tatweel: no effect on words.
        '\u{00ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
        | '\u{0640}' => {
            return;
        }
        'ß' | 'ẞ' => {
            out.extend(['s', 's']);
            return;
        }
        _ => {}
    }
    let gc = CodePointMapData::<GeneralCategory>::new();
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    for d in nfkd.normalize_iter(std::iter::once(c)) {
        if is_mark(gc.get(d)) {
            continue;
        }
        let lowered: Vec<char> = if fold_case {
            d.to_lowercase().collect()
        } else {
            vec![d]
        };
        for l in lowered {
            if is_mark(gc.get(l)) {
                continue;
            }
            let m = match l {
                'ٱ' | 'أ' | 'إ' | 'آ' => 'ا',
                'ى' | 'ی' | 'ئ' => 'ي',
                'ة' => 'ه',
                'ؤ' => 'و',
                'ک' => 'ك',
                '\u{0660}'..='\u{0669}' => char::from(b'0' + (l as u32 - 0x0660) as u8),
                '\u{06f0}'..='\u{06f9}' => char::from(b'0' + (l as u32 - 0x06f0) as u8),
                'ß' => {
                    out.extend(['s', 's']);
                    continue;
                }
                other => other,
            };
            if m.is_alphanumeric() {
                out.push(m);
            } else {
                out.push(SEP);
            }
        }
    }
}

fn is_mark(gc: GeneralCategory) -> bool {
    GeneralCategoryGroup::Mark.contains(gc) && gc != GeneralCategory::SpacingMark
}

/// True for characters of the Arabic script blocks.
pub fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06ff}' | '\u{0750}'..='\u{077f}' | '\u{08a0}'..='\u{08ff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn latin_diacritics_and_case() {
        assert_eq!(
            norm("Réunion de l'État Islámico"),
            "reunion de l etat islamico"
        );
        assert_eq!(norm("Terrorbekämpfung STRAßE"), "terrorbekampfung strasse");
        assert_eq!(
            norm("counter-terrorism\u{00a0}forum"),
            "counter terrorism forum"
        );
        assert_eq!(norm("l’organisation"), "l organisation");
    }

    #[test]
    fn arabic_variants() {
        // hamza forms, diacritics, tatweel, alef maqsura, ta marbuta
        assert_eq!(norm("الإرهاب"), norm("الارهاب"));
        assert_eq!(norm("إِرْهَابِيَّة"), "ارهابيه");
        assert_eq!(norm("داعـــش"), "داعش");
        assert_eq!(norm("مستشفى"), "مستشفي");
        assert_eq!(norm("٢٠٢٦"), "2026");
    }

    #[test]
    fn word_spans_point_back_to_the_original() {
        let src = "  Crisis: «ISIS» fighters ";
        let n = normalize(src);
        assert_eq!(n.text, "crisis isis fighters");
        let w = n.words[1];
        assert_eq!(&src[w.orig_start as usize..w.orig_end as usize], "ISIS");
        assert_eq!(n.word_at(8), 1);
    }

    #[test]
    fn html_to_text_strips_and_decodes() {
        assert_eq!(
            html_to_text(
                "<p>Coalition&nbsp;<b>meets</b></p><p>in Rome&#8230;</p><script>x()</script>"
            ),
            "Coalition meets in Rome…"
        );
        assert_eq!(html_to_text("a < b &amp; c"), "a < b & c");
        assert_eq!(html_to_text("x<!-- hidden -->y<br/>z"), "xy z");
        assert_eq!(html_to_text("AT&T"), "AT&T");
    }
}
