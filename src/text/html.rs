//! HTML to plain text: tags stripped (block-level tags and `<br>` separate
//! words, `<script>`/`<style>` dropped), entities decoded, and whitespace
//! collapsed ([`collapse_ws`]). What `parse` makes of a feed's HTML fields.

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
        match memchr::memchr(b'<', &bytes[i..]) {
            Some(k) => i += k,
            None => break,
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
    if memchr::memchr(b'&', out.as_bytes()).is_none() {
        return collapse_ws(&out);
    }
    let decoded = htmlize::unescape(&out);
    collapse_ws(&decoded)
}

/// Collapses every run of white space (including NBSP) to one ASCII space
/// and trims both ends.
pub fn collapse_ws(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    let mut i = 0;
    while i < bytes.len() {
        // A run of characters that are not white space, copied at once; one
        // plain space between two words needs no change and stays in it, so
        // a sentence is copied at once.
        let start = i;
        while i < bytes.len() {
            if space_len(bytes, i) == 0 {
                i += utf8_len(bytes[i]);
            } else if bytes[i] == b' '
                && i > start
                && i + 1 < bytes.len()
                && space_len(bytes, i + 1) == 0
            {
                i += 1;
            } else {
                break;
            }
        }
        if i > start {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push_str(&s[start..i]);
        }
        // A run of white space.
        while i < bytes.len() {
            let n = space_len(bytes, i);
            if n == 0 {
                break;
            }
            i += n;
            pending = !out.is_empty();
        }
    }
    out
}

/// The length of the white space character at `i` (see [`collapse_ws`]), or 0.
fn space_len(bytes: &[u8], i: usize) -> usize {
    match bytes[i] {
        b @ 0..0x80 => usize::from(ASCII_WS[usize::from(b)]),
        _ => wide_space_at(bytes, i),
    }
}

/// ASCII white space as `char::is_whitespace` sees it.
const ASCII_WS: [bool; 128] = {
    let mut t = [false; 128];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[0x0b] = true;
    t[0x0c] = true;
    t[b'\r' as usize] = true;
    t
};

/// The length of the non-ASCII white space character (as
/// `char::is_whitespace` sees it, plus the zero-width space and the BOM)
/// starting at `i`, or 0. Only five lead bytes can start one, so most
/// characters (accented Latin, Arabic) are rejected on their first byte.
fn wide_space_at(bytes: &[u8], i: usize) -> usize {
    let next = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
    match bytes[i] {
        0xC2 => usize::from(matches!(next(1), 0x85 | 0xA0)) * 2,
        0xE1 | 0xE2 | 0xE3 | 0xEF => {
            let cp = (u32::from(bytes[i] & 0x0F) << 12)
                | (u32::from(next(1) & 0x3F) << 6)
                | u32::from(next(2) & 0x3F);
            let ws = char::from_u32(cp)
                .is_some_and(|c| c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}');
            usize::from(ws) * 3
        }
        _ => 0,
    }
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0..0x80 => 1,
        0x80..0xE0 => 2,
        0xE0..0xF0 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition `collapse_ws` must agree with.
    fn collapse_reference(s: &str) -> String {
        s.split(|c: char| c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest::proptest! {
        #[test]
        fn collapse_ws_agrees_with_its_definition(
            s in "[ a\t\nb\u{a0}\u{2003}\u{200b}\u{feff}\u{85}é\u{0634}\r\u{b}\u{c}x]{0,40}"
        ) {
            proptest::prop_assert_eq!(collapse_ws(&s), collapse_reference(&s));
        }
    }
    #[test]
    fn collapse_ws_examples() {
        assert_eq!(collapse_ws("  a \u{a0}\u{a0} b\n\tc  "), "a b c");
        assert_eq!(collapse_ws("\u{200b}"), "");
        assert_eq!(collapse_ws("été\u{2009}à   Rabat"), "été à Rabat");
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
