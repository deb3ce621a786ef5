//! An article page (HTML) to its main text: the story without navigation,
//! sidebars, comments or footers, through `dom_smoothie` (a port of
//! Mozilla's Readability). Bounded on outside input: before any tree is
//! built, a scan of the tags estimates the page's nesting and counts its
//! start tags (html5ever's cost grows with the depth of open elements, so
//! a page of nested `<div>`s would pin a core); then the page is parsed
//! once (html5ever builds the tree without recursion), its element count
//! and nesting depth are measured by an explicit walk and refused past
//! [`MAX_ELEMENTS`] and [`MAX_DEPTH`] before any recursive pass runs; and
//! a panic inside the extractor is that page's error.

use dom_query::{Document, NodeRef};
use dom_smoothie::{Config, Readability, TextMode};

/// Pages with more elements than this are not extracted.
pub(crate) const MAX_ELEMENTS: usize = 60_000;

/// Pages whose elements nest deeper than this are not extracted.
pub(crate) const MAX_DEPTH: usize = 400;

/// Why a page gave no text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PageError {
    /// The answer is not HTML.
    #[error("not an HTML page ({0})")]
    NotHtml(String),
    /// Too big or too deep to extract safely.
    #[error("{0}")]
    TooComplex(String),
    /// The extractor found no article in it.
    #[error("no article text found: {0}")]
    NoText(String),
}

/// The main text of the HTML page `bytes` fetched from `url`, as plain
/// text with paragraphs on lines of their own.
pub(crate) fn main_text(
    bytes: &[u8],
    url: &str,
    content_type: Option<&str>,
) -> Result<String, PageError> {
    if let Some(ct) = content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(mime.is_empty()
            || mime == "text/html"
            || mime == "application/xhtml+xml"
            || mime == "text/plain"
            || mime.ends_with("/xml"))
        {
            return Err(PageError::NotHtml(mime));
        }
    }
    let html = decode(bytes, content_type);
    let (tags, nesting) = scan_tags(html.as_bytes());
    if tags > 2 * MAX_ELEMENTS {
        return Err(PageError::TooComplex(format!(
            "{tags} tags (at most {MAX_ELEMENTS} elements are extracted)"
        )));
    }
    if nesting > 2 * MAX_DEPTH {
        return Err(PageError::TooComplex(format!(
            "tags nested more than {} deep",
            2 * MAX_DEPTH
        )));
    }
    let outcome = super::contained(move || {
        let doc = Document::from(html.as_str());
        let (elements, depth) = measure(&doc.root());
        if elements > MAX_ELEMENTS {
            return Err(PageError::TooComplex(format!(
                "{elements} elements (at most {MAX_ELEMENTS} are extracted)"
            )));
        }
        if depth > MAX_DEPTH {
            return Err(PageError::TooComplex(format!(
                "elements nested more than {MAX_DEPTH} deep"
            )));
        }
        let cfg = Config {
            max_elements_to_parse: MAX_ELEMENTS,
            text_mode: TextMode::Formatted,
            ..Config::default()
        };
        let url = url::Url::parse(url).ok().map(|u| u.to_string());
        let mut r = Readability::with_document(doc, url.as_deref(), Some(cfg))
            .map_err(|e| PageError::NoText(e.to_string()))?;
        let article = r.parse().map_err(|e| PageError::NoText(e.to_string()))?;
        Ok(tidy(&article.text_content))
    });
    let text = outcome.map_err(|p| PageError::NoText(format!("the extractor failed: {p}")))??;
    if text.split_whitespace().next().is_none() {
        return Err(PageError::NoText("the article is empty".into()));
    }
    Ok(text)
}

/// Elements that never hold others, or that the parser closes by itself
/// when a sibling starts: they add no depth.
const FLAT: [&[u8]; 28] = [
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
    b"p",
    b"li",
    b"dt",
    b"dd",
    b"tr",
    b"td",
    b"th",
    b"option",
    b"optgroup",
    b"rb",
    b"rt",
    b"rp",
    b"colgroup",
    b"tbody",
];

/// Start tags, and an estimate of the deepest nesting, from the tags
/// alone: a start tag opens a level (unless it is flat or self-closed), an
/// end tag closes one. Linear, no tree.
fn scan_tags(b: &[u8]) -> (usize, usize) {
    let (mut tags, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        i += off + 1;
        match b.get(i) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                tags += 1;
                let end = b[i..]
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric())
                    .map_or(b.len(), |n| i + n);
                let name = b[i..end].to_ascii_lowercase();
                let close = memchr::memchr(b'>', &b[end..]).map_or(b.len(), |n| end + n);
                let self_closed = close > end && b.get(close - 1) == Some(&b'/');
                if !self_closed && !FLAT.contains(&name.as_slice()) {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                i = end;
            }
            _ => {}
        }
    }
    (tags, deepest)
}

/// Element count and deepest nesting under `root`, by an explicit walk
/// (no recursion, however deep the page).
fn measure(root: &NodeRef<'_>) -> (usize, usize) {
    let (mut elements, mut deepest) = (0usize, 0usize);
    let mut stack = vec![(*root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if node.is_element() {
            elements += 1;
        }
        deepest = deepest.max(depth);
        if depth > MAX_DEPTH || elements > MAX_ELEMENTS {
            break;
        }
        let mut child = node.first_child();
        while let Some(c) = child {
            child = c.next_sibling();
            stack.push((c, depth + 1));
        }
    }
    (elements, deepest)
}

/// Lines trimmed, runs of blank lines and of spaces collapsed.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&words.join(" "));
    }
    out
}

/// The page as text: a BOM, else the header's `charset`, else a `<meta>`
/// charset in the first 2 KiB, else UTF-8 (bad bytes replaced).
fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    let named = content_type
        .and_then(super::header_charset)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(2048)]));
    let enc = named.unwrap_or(encoding_rs::UTF_8);
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// `<meta charset="x">` or `<meta http-equiv=… content="…; charset=x">`.
fn meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let lower = head.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"charset=")? + b"charset=".len();
    let rest = &lower[at..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .unwrap_or(rest.len());
    encoding_rs::Encoding::for_label(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The Global Coalition to Defeat ISIS held its ministerial meeting in Rome on Tuesday, co-chaired by Italy and the United States.";

    fn page(body: &str) -> String {
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>Ministers meet</title></head><body>
<header><nav><a href="/">Home</a> <a href="/isis">ISIS</a> <a href="/summit">Summit news</a> <a href="/daesh">Daesh latest</a></nav></header>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">Coalition talks collapse</a></li><li><a href="/b">Summit diary</a></li></ul></aside>
<div class="content"><h1>Ministers meet</h1>{body}</div>
<section id="comments" class="comments"><p>Great article!</p><p>First!</p></section>
<footer><a href="/terms">Terms</a> <a href="/privacy">Privacy</a> Copyright 2026</footer>
</body></html>"#
        )
    }

    #[test]
    fn the_story_is_kept_and_the_boilerplate_dropped() {
        let body = format!(
            "<p>{STORY} Delegations from more than eighty countries attended the session, which reviewed stabilisation funding.</p>\
             <p>Ministers discussed detention camps in north-east Syria, the repatriation of foreign fighters and their families, and the financing of regional affiliates.</p>\
             <p>A joint statement will be published after the meeting, officials said, and the next session is expected next year in a city still to be chosen.</p>"
        );
        let text = main_text(
            page(&body).as_bytes(),
            "http://127.0.0.1/a",
            Some("text/html"),
        )
        .unwrap();
        assert!(text.contains("co-chaired by Italy"), "{text}");
        assert!(text.contains("repatriation of foreign fighters"), "{text}");
        assert!(!text.contains("Daesh latest"), "{text}");
        assert!(!text.contains("Most read"), "{text}");
        assert!(!text.contains("Privacy"), "{text}");
        // Paragraphs stay apart: no word runs into the next one.
        assert!(
            !text.contains("year in a city still to be chosen.A"),
            "{text}"
        );
    }

    #[test]
    fn not_html_and_too_deep_are_refused() {
        assert_eq!(
            main_text(b"%PDF-1.4", "http://127.0.0.1/a", Some("application/pdf")),
            Err(PageError::NotHtml("application/pdf".into()))
        );
        let deep = format!("{}<p>{STORY}</p>", "<div>".repeat(5_000));
        let got = main_text(deep.as_bytes(), "http://127.0.0.1/a", None);
        assert!(matches!(got, Err(PageError::TooComplex(_))), "{got:?}");
        // Deep enough for the tree walk, not for the tag scan's margin.
        let deep = format!("{}<p>{STORY}</p>", "<div>".repeat(MAX_DEPTH + 50));
        let got = main_text(deep.as_bytes(), "http://127.0.0.1/a", None);
        assert!(matches!(got, Err(PageError::TooComplex(_))), "{got:?}");
        // Nested tags are refused without building a tree (a tree would
        // cost html5ever minutes).
        let bomb = "<div>".repeat(100_000);
        let got = main_text(bomb.as_bytes(), "http://127.0.0.1/a", None);
        assert!(
            matches!(&got, Err(PageError::TooComplex(m)) if m.starts_with("tags nested")),
            "{got:?}"
        );
        let wide = "<p>x</p>".repeat(MAX_ELEMENTS + 10);
        let got = main_text(wide.as_bytes(), "http://127.0.0.1/a", None);
        assert!(matches!(got, Err(PageError::TooComplex(_))), "{got:?}");
    }

    #[test]
    fn the_charset_comes_from_the_header_or_the_page() {
        let body =
            format!("<p>{STORY} Réunion à Genève, délégués.</p><p>{STORY}</p><p>{STORY}</p>");
        let html = page(&body).replace("utf-8", "iso-8859-1");
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&html);
        let text = main_text(&latin, "http://127.0.0.1/a", Some("text/html")).unwrap();
        assert!(text.contains("Réunion à Genève"), "{text}");
        let text = main_text(
            &latin,
            "http://127.0.0.1/a",
            Some("text/html; charset=windows-1252"),
        )
        .unwrap();
        assert!(text.contains("Réunion à Genève"), "{text}");
    }

    #[test]
    fn tags_are_scanned_for_nesting() {
        assert_eq!(
            scan_tags(b"<div><p>a<p>b<br><img/></div><div></div>"),
            (6, 1)
        );
        assert_eq!(scan_tags(b"<a><b><c></c></b></a>"), (3, 3));
        assert_eq!(scan_tags(b"x < y and <3 </"), (0, 0));
    }

    #[test]
    fn junk_gives_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"\xff\xfe\x00",
            b"<",
            b"<html><body></body></html>",
            b"<<<>>>&&&;",
        ] {
            let _ = main_text(junk, "not a url", None);
        }
    }
}
