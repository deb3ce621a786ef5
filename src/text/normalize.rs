//! The matching normalization: [`normalize`] (NFKD with marks dropped, case
//! folding, ß→ss, Arabic letter unification, tatweel and invisible
//! characters removed, every non-alphanumeric a word separator) with the
//! word map back to the original bytes ([`Normalized::words`]), and [`feed`],
//! which streams the same normalized form into a matcher without building it.

use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_properties::CodePointMapData;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};

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
    normalize_with::<true>(src, true)
}

/// The normalized text of [`normalize`] alone, without the word map (the
/// matcher's fast path; the map is built only for articles that need it).
pub fn normalize_text(src: &str) -> String {
    normalize_with::<false>(src, true).text
}

/// [`normalize`] without case folding, for case-sensitive terms (`=IS`).
pub fn normalize_keep_case(src: &str) -> Normalized {
    normalize_with::<true>(src, false)
}

fn normalize_with<const TRACK: bool>(src: &str, fold_case: bool) -> Normalized {
    let mut w = WordWriter::<TRACK> {
        buf: Vec::with_capacity(src.len() + 8),
        words: Vec::with_capacity(if TRACK { src.len() / 6 + 1 } else { 0 }),
        start: None,
        orig_end: 0,
    };
    let bytes = src.as_bytes();
    let ascii = if fold_case { &ASCII_FOLD } else { &ASCII_KEEP };
    let table = fold_table();
    let mut chars: Vec<char> = Vec::with_capacity(4);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !TRACK && b < 0x80 {
            // Without word spans: the whole ASCII run (words and separators)
            // folded without a branch per byte; see `fold_ascii_run`.
            let run = bytes[i..]
                .iter()
                .position(|&x| x >= 0x80)
                .unwrap_or(bytes.len() - i);
            let in_word = w.start.is_some();
            let in_word = fold_ascii_run(&mut w.buf, &bytes[i..i + run], ascii, in_word);
            w.start = in_word.then_some((0, 0));
            i += run;
            continue;
        }
        if b < 0x80 {
            // ASCII, the common case: a whole run of word bytes at once.
            if ascii[b as usize] == 0 {
                w.separate();
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] < 0x80 && ascii[bytes[j] as usize] != 0 {
                j += 1;
            }
            w.begin(i);
            w.buf.extend(bytes[i..j].iter().map(|&x| ascii[x as usize]));
            w.orig_end = j as u32;
            i = j;
            continue;
        }
        // Two-byte sequences (Latin accents, Greek, Cyrillic, Hebrew, Arabic):
        // decoded by hand and folded from the table, output bytes precomputed.
        if fold_case && let Some(f) = two_byte_fold(table, bytes, i) {
            match f.kind {
                FoldKind::Drop => {}
                FoldKind::Sep => w.separate(),
                FoldKind::Emit => {
                    w.begin(i);
                    w.buf.extend_from_slice(&f.bytes[..usize::from(f.len)]);
                    w.orig_end = (i + 2) as u32;
                }
                FoldKind::Slow => {
                    if let Some(c) = src[i..].chars().next() {
                        w.fold_slow(c, fold_case, i, &mut chars);
                    }
                }
            }
            i += 2;
            continue;
        }
        let Some(c) = src[i..].chars().next() else {
            break;
        };
        let end = i + c.len_utf8();
        w.fold_slow(c, fold_case, i, &mut chars);
        i = end;
    }
    w.separate();
    debug_assert!(std::str::from_utf8(&w.buf).is_ok());
    // SAFETY: `buf` only ever receives ASCII bytes from the fold tables,
    // the UTF-8 bytes the two-byte table holds (each encoded from a `char`),
    // and `char::encode_utf8` output: it is valid UTF-8 by construction,
    // and the debug assertion above checks it in every test.
    let text = unsafe { String::from_utf8_unchecked(w.buf) };
    Normalized {
        text,
        words: w.words,
    }
}

/// Receives the normalized form of a text a byte at a time: see [`feed`].
pub trait Feed {
    /// A byte of a word (ASCII, or part of a folded character's UTF-8).
    fn word_byte(&mut self, b: u8);
    /// The single space between two words, or one of the two around the text.
    fn space(&mut self);
}

/// Streams `" " + normalize_text(src) + " "` into `sink` without building
/// it: the same folding as [`normalize_text`] (the tests hold them equal),
/// a byte at a time, so a matcher can run in the same pass. Whitespace and
/// punctuation runs arrive as one [`Feed::space`].
pub fn feed<F: Feed>(src: &str, sink: &mut F) {
    let bytes = src.as_bytes();
    let table = fold_table();
    let mut chars: Vec<char> = Vec::new();
    let mut w = FeedWords {
        owed: false,
        in_word: false,
        sink,
    };
    w.sink.space();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            let f = ASCII_FOLD[usize::from(b)];
            if f == 0 {
                w.separate();
            } else {
                w.byte(f);
            }
            i += 1;
            continue;
        }
        if let Some(f) = two_byte_fold(table, bytes, i) {
            match f.kind {
                FoldKind::Drop => {}
                FoldKind::Sep => w.separate(),
                FoldKind::Emit => {
                    for &o in &f.bytes[..usize::from(f.len)] {
                        w.byte(o);
                    }
                }
                FoldKind::Slow => {}
            }
            if f.kind != FoldKind::Slow {
                i += 2;
                continue;
            }
        }
        let Some(c) = src[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        chars.clear();
        fold_char(c, true, &mut chars);
        for &d in &chars {
            if d == SEP {
                w.separate();
            } else {
                let mut tmp = [0u8; 4];
                for &o in d.encode_utf8(&mut tmp).as_bytes() {
                    w.byte(o);
                }
            }
        }
    }
    w.sink.space();
}

/// [`feed`]'s word state: separators are owed until the next word byte, so
/// a run of them (and any at the ends) comes out as one space.
struct FeedWords<'a, F> {
    owed: bool,
    in_word: bool,
    sink: &'a mut F,
}

impl<F: Feed> FeedWords<'_, F> {
    #[inline(always)]
    fn separate(&mut self) {
        self.owed |= self.in_word;
        self.in_word = false;
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        if self.owed {
            self.sink.space();
            self.owed = false;
        }
        self.in_word = true;
        self.sink.word_byte(b);
    }
}

/// Appends an ASCII run to `buf` in matching form (folded letters and
/// digits, one space between words), continuing a word when `in_word`;
/// returns whether the run ends inside a word. Every byte is written and
/// the write position advances unless the byte is a separator right after
/// another (or at the start of the text): no branch depends on the text.
fn fold_ascii_run(buf: &mut Vec<u8>, run: &[u8], ascii: &[u8; 128], in_word: bool) -> bool {
    // Between two words a separator is owed: write it now.
    let mut prev_sep = !in_word;
    if !in_word && !buf.is_empty() {
        buf.push(b' ');
    }
    let mut k = buf.len();
    buf.resize(k + run.len(), 0);
    for &b in run {
        let f = ascii[usize::from(b & 0x7F)];
        let sep = f == 0;
        buf[k] = if sep { b' ' } else { f };
        k += usize::from(!(sep & prev_sep));
        prev_sep = sep;
    }
    buf.truncate(k);
    // A trailing separator is left for whoever writes the next word.
    if buf.last() == Some(&b' ') {
        buf.pop();
        return false;
    }
    !prev_sep
}

/// Builds [`Normalized`] a character or an ASCII run at a time; with
/// `TRACK`, records each word's span.
struct WordWriter<const TRACK: bool> {
    buf: Vec<u8>,
    words: Vec<WordSpan>,
    /// The current word: (start in text, start in the original).
    start: Option<(u32, u32)>,
    orig_end: u32,
}

impl<const TRACK: bool> WordWriter<TRACK> {
    #[inline]
    fn begin(&mut self, orig: usize) {
        if self.start.is_none() {
            if !self.buf.is_empty() {
                self.buf.push(b' ');
            }
            self.start = Some((self.buf.len() as u32, orig as u32));
        }
    }

    #[inline]
    fn push(&mut self, c: char, orig: usize, orig_end: usize) {
        self.begin(orig);
        let mut tmp = [0u8; 4];
        self.buf
            .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        self.orig_end = orig_end as u32;
    }

    fn fold_slow(&mut self, c: char, fold_case: bool, at: usize, chars: &mut Vec<char>) {
        let end = at + c.len_utf8();
        chars.clear();
        fold_char(c, fold_case, chars);
        for &d in chars.iter() {
            if d == SEP {
                self.separate();
            } else {
                self.push(d, at, end);
            }
        }
    }

    #[inline]
    fn separate(&mut self) {
        if let Some((start, orig_start)) = self.start.take()
            && TRACK
        {
            self.words.push(WordSpan {
                start,
                end: self.buf.len() as u32,
                orig_start,
                orig_end: self.orig_end,
            });
        }
    }
}

/// ASCII letters and digits folded to lowercase; 0 for separators.
const ASCII_FOLD: [u8; 128] = ascii_table(true);
/// ASCII letters and digits as they are; 0 for separators.
const ASCII_KEEP: [u8; 128] = ascii_table(false);

const fn ascii_table(fold: bool) -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() || b.is_ascii_lowercase() {
            b
        } else if b.is_ascii_uppercase() {
            if fold { b.to_ascii_lowercase() } else { b }
        } else {
            0
        };
        i += 1;
    }
    t
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FoldKind {
    Drop,
    Sep,
    Emit,
    Slow,
}

/// A folded character: what to do, and the UTF-8 bytes to emit.
#[derive(Clone, Copy, Debug)]
struct Fold {
    kind: FoldKind,
    len: u8,
    bytes: [u8; 8],
}

/// The table's entry for the two-byte UTF-8 sequence at `bytes[i]`, if
/// that is what starts there (decoded by hand: the lead byte says so).
#[inline(always)]
fn two_byte_fold<'t>(table: &'t [Fold], bytes: &[u8], i: usize) -> Option<&'t Fold> {
    let (b, next) = (*bytes.get(i)?, *bytes.get(i + 1)?);
    if b & 0xE0 != 0xC0 {
        return None;
    }
    table.get((usize::from(b & 0x1F) << 6) | usize::from(next & 0x3F))
}

/// Case-folding results for U+0000–U+07FF (Latin, Greek, Cyrillic, Hebrew,
/// Arabic), computed once from [`fold_char`].
fn fold_table() -> &'static [Fold] {
    static TABLE: std::sync::OnceLock<Vec<Fold>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut buf = Vec::with_capacity(4);
        let slow = Fold {
            kind: FoldKind::Slow,
            len: 0,
            bytes: [0; 8],
        };
        (0u32..0x800)
            .map(|cp| {
                let Some(c) = char::from_u32(cp) else {
                    return slow;
                };
                buf.clear();
                fold_char(c, true, &mut buf);
                match buf.as_slice() {
                    [] => Fold {
                        kind: FoldKind::Drop,
                        ..slow
                    },
                    [SEP] => Fold {
                        kind: FoldKind::Sep,
                        ..slow
                    },
                    out if !out.contains(&SEP) => {
                        let s: String = out.iter().collect();
                        if s.len() > 8 {
                            return slow;
                        }
                        let mut bytes = [0u8; 8];
                        bytes[..s.len()].copy_from_slice(s.as_bytes());
                        Fold {
                            kind: FoldKind::Emit,
                            len: s.len() as u8,
                            bytes,
                        }
                    }
                    _ => slow,
                }
            })
            .collect()
    })
}

/// Marker in [`fold_char`] output for "this is a word separator".
const SEP: char = '\0';

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
    proptest::proptest! {
        #[test]
        fn normalize_text_agrees_with_normalize(
            s in "[ a-zA-Z0-9.,'\\-\t\u{a0}éÉßœ\u{2019}\u{201c}\u{200b}\u{0627}\u{0644}\u{0640}\u{064e}ﬁ]{0,60}"
        ) {
            proptest::prop_assert_eq!(normalize_text(&s), normalize(&s).text);
        }
    }

    struct Collect(Vec<u8>);
    impl Feed for Collect {
        fn word_byte(&mut self, b: u8) {
            self.0.push(b);
        }
        fn space(&mut self) {
            self.0.push(b' ');
        }
    }

    fn fed(s: &str) -> String {
        let mut c = Collect(Vec::new());
        feed(s, &mut c);
        String::from_utf8(c.0).unwrap_or_default()
    }

    proptest::proptest! {
        #[test]
        fn feed_streams_the_normalized_text(
            s in "[ a-zA-Z0-9.,'\\-\t\u{a0}éÉßœ\u{2019}\u{201c}\u{200b}\u{0627}\u{0644}\u{0640}\u{064e}ﬁ\u{fe8d}\u{1d400}]{0,60}"
        ) {
            proptest::prop_assert_eq!(fed(&s), format!(" {} ", normalize_text(&s)));
        }
    }

    #[test]
    fn feed_examples() {
        assert_eq!(fed("  L’État, islamique!  "), " l etat islamique ");
        assert_eq!(fed(""), "  ");
        assert_eq!(fed("وَالإرهاب"), " والارهاب ");
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
}
