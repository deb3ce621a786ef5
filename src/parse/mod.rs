//! Parsing: feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into
//! [`ParsedFeed`]s of plain-text [`Article`]s with our own stable keys.
//!
//! This is the only module that imports `feed_rs`. It does no I/O and does
//! not read the clock. Documents feed-rs cannot take as they are get a
//! second chance (UTF-16/32 transcoded to UTF-8, `<rss>` with a missing or
//! odd `version`, junk before the root element); a panic inside the parser
//! is caught and becomes a [`ParseError`], so no document can take the
//! process down.

pub(crate) mod link;
pub(crate) mod page;
mod salvage;

use crate::model::{Article, ParsedFeed};
use crate::text::{hex_digest, html_to_text, is_arabic};
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The body is empty (or only white space).
    #[error("empty document")]
    Empty,
    /// Not a feed at all (no feed root, no items).
    #[error("not a readable feed: {0}")]
    Invalid(String),
    /// A feed (it has a feed's root or items) of which nothing could be read.
    #[error("unreadable feed: {0}")]
    Unreadable(String),
    /// The parser panicked on this document (contained).
    #[error("the feed parser crashed on this document: {0}")]
    Panicked(String),
}

/// Parses a feed document. `base_url` (the feed's URL) resolves relative
/// links.
pub(crate) fn parse_feed(bytes: &[u8], base_url: Option<&str>) -> Result<ParsedFeed, ParseError> {
    parse_feed_http(bytes, base_url, None)
}

/// Parses a feed document fetched over HTTP: a `charset` in the
/// `Content-Type` header decides the encoding (it overrides the XML
/// declaration, as RFC 7303 says); without either, bytes that are not UTF-8
/// are read as windows-1252, as browsers and lenient readers do.
pub(crate) fn parse_feed_http(
    bytes: &[u8],
    base_url: Option<&str>,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    let transcoded = transcode_legacy(bytes, content_type);
    let doc = prepare(transcoded.as_deref().unwrap_or(bytes));
    if doc.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let mut result = run_parser(&doc, base_url);
    // Second chances, each tried only when the first reading failed or found
    // no entry although the document has some.
    let looks_full = find(&doc, b"item").is_some() || find(&doc, b"entry").is_some();
    let needs_retry = |r: &Result<feed_rs::model::Feed, ParseError>| match r {
        Err(_) => true,
        Ok(f) => f.entries.is_empty() && looks_full,
    };
    let repairs: [Repair; 7] = [
        fix_default_namespace,
        salvage::unprefix,
        salvage::cdf_to_rss,
        fix_rss_version,
        fix_atom03,
        fix_text_types,
        fix_rss11,
    ];
    for repair in repairs {
        if !needs_retry(&result) {
            break;
        }
        if let Some(fixed) = repair(&doc)
            && let Ok(f) = run_parser(&fixed, base_url)
            && (result.is_err() || !f.entries.is_empty())
        {
            result = Ok(f);
        }
    }
    // Fewer items read than the document holds: read them one by one, and
    // say so either way.
    let got = result.as_ref().map_or(0, |f| f.entries.len());
    let held = if doc.first() != Some(&b'{') && got >= salvage::held_at_most(&doc) {
        // Most documents: every possible item was read.
        salvage::Held::Items(got)
    } else {
        salvage::held(&doc)
    };
    let mut partial = None;
    if held.count() > got {
        let run = |d: &[u8]| run_parser(d, base_url);
        let salvaged = match held {
            salvage::Held::Json(_) => salvage::salvage_json(&doc, &run),
            _ => salvage::salvage_xml(&doc, held, &run),
        };
        match salvaged {
            Some((f, why)) if f.entries.len() > got => {
                result = Ok(f);
                partial = Some(why);
            }
            _ if result.is_ok() => {
                partial = Some(format!("{got} of {} items read", held.count()));
            }
            _ => {}
        }
    }
    let feed = match result {
        Ok(f) => f,
        Err(ParseError::Invalid(e)) if held.count() > 0 || looks_like_a_feed(&doc) => {
            return Err(ParseError::Unreadable(match held.count() {
                0 => e,
                n => format!("none of its {n} items could be read: {e}"),
            }));
        }
        Err(e) => return Err(e),
    };
    let mut parsed = convert(feed, base_url);
    parsed.ttl = parsed.ttl.or_else(|| syndication_hint(&doc));
    parsed.partial = partial;
    Ok(parsed)
}

/// Whether a document has a feed's root element (RSS, RDF, Atom, RSS 1.1)
/// or says it is a JSON Feed.
fn looks_like_a_feed(doc: &[u8]) -> bool {
    let head = &doc[..doc.len().min(4096)];
    [
        &b"<rss"[..],
        b"<rdf:RDF",
        b"<RDF",
        b"<feed",
        b"<Channel",
        b"jsonfeed.org/version",
    ]
    .iter()
    .any(|m| find(head, m).is_some())
}

/// An `<rss>` root with a default namespace (`xmlns="http://backend.userland.com/rss2"`
/// and the like): RSS elements have no namespace, so the declaration is
/// dropped (with it, every element would be foreign and no item read).
fn fix_default_namespace(doc: &[u8]) -> Option<Vec<u8>> {
    let p = find(doc, b"<rss")?;
    let end = p + doc[p..].iter().position(|&b| b == b'>')?;
    let tag = &doc[p..end];
    let a = find(tag, b" xmlns=").or_else(|| find(tag, b"\nxmlns="))?;
    let q = *tag.get(a + 8)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let close = a + 9 + tag[a + 9..].iter().position(|&b| b == q)?;
    let mut out = Vec::with_capacity(doc.len());
    out.extend_from_slice(&doc[..p + a]);
    out.extend_from_slice(&doc[p + close + 1..]);
    Some(out)
}

/// `sy:updatePeriod` and `sy:updateFrequency` from a document, as an
/// interval (hourly/daily/weekly/monthly/yearly divided by the frequency).
fn syndication_hint(doc: &[u8]) -> Option<std::time::Duration> {
    let head = &doc[..doc.len().min(64 * 1024)];
    // Most feeds have no hint: one SIMD search and out.
    memchr::memmem::find(head, b"<sy:updatePeriod")?;
    let inner = |tag: &str| -> Option<String> {
        let open = memchr::memmem::find(head, format!("<{tag}").as_bytes())?;
        let start = open + memchr::memchr(b'>', &head[open..])? + 1;
        let end = start + memchr::memchr(b'<', &head[start..])?;
        Some(
            String::from_utf8_lossy(&head[start..end])
                .trim()
                .to_string(),
        )
    };
    let period = match inner("sy:updatePeriod")?.as_str() {
        "hourly" => 3600,
        "daily" => 86_400,
        "weekly" => 7 * 86_400,
        "monthly" => 30 * 86_400,
        "yearly" => 365 * 86_400,
        _ => return None,
    };
    let freq: u64 = inner("sy:updateFrequency")
        .and_then(|f| f.parse().ok())
        .filter(|&f| f > 0)
        .unwrap_or(1);
    Some(std::time::Duration::from_secs(period / freq))
}

/// A lenient rewrite of a document feed-rs refused; `None` when it does not apply.
type Repair = fn(&[u8]) -> Option<Vec<u8>>;

/// Atom 0.3 (`http://purl.org/atom/ns#`) read as Atom 1.0: the elements
/// that matter (entry, title, link, id, summary, content) are the same, and
/// its MIME-typed text constructs become Atom 1.0 types.
fn fix_atom03(doc: &[u8]) -> Option<Vec<u8>> {
    let ns = replace_all(
        doc,
        b"http://purl.org/atom/ns#",
        b"http://www.w3.org/2005/Atom",
    )?;
    Some(fix_text_types(&ns).unwrap_or(ns))
}

/// Replaces every occurrence of `from`; `None` when there is none.
fn replace_all(doc: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    find(doc, from)?;
    let mut out = Vec::with_capacity(doc.len() + 16);
    let mut rest = doc;
    while let Some(p) = find(rest, from) {
        out.extend_from_slice(&rest[..p]);
        out.extend_from_slice(to);
        rest = &rest[p + from.len()..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Text constructs (`title`, `summary`, `content`, …) whose `type` is not
/// one of Atom's text, html and xhtml get the nearest of those
/// (`text/plain` → text, `text/html` → html, `application/xhtml+xml` →
/// xhtml, anything else → text), as a lenient reader would.
fn fix_text_types(doc: &[u8]) -> Option<Vec<u8>> {
    const TEXT_TAGS: &[&[u8]] = &[
        b"title",
        b"summary",
        b"content",
        b"subtitle",
        b"tagline",
        b"rights",
        b"copyright",
        b"info",
    ];
    let mut out = Vec::with_capacity(doc.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(off) = doc[i..].iter().position(|&b| b == b'<') {
        let start = i + off;
        out.extend_from_slice(&doc[i..start]);
        let end = doc[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(doc.len(), |e| start + e + 1);
        let tag = &doc[start..end];
        let name_end = tag
            .iter()
            .skip(1)
            .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            .map_or(tag.len(), |p| p + 1);
        let name = &tag[1..name_end];
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        if TEXT_TAGS.contains(&local)
            && let Some(t) = find(tag, b"type=")
            && let Some(&q) = tag.get(t + 5)
            && (q == b'"' || q == b'\'')
            && let Some(len) = tag[t + 6..].iter().position(|&b| b == q)
        {
            let value = &tag[t + 6..t + 6 + len];
            let mapped: &[u8] = match value {
                b"text" | b"html" | b"xhtml" => value,
                b"text/html" => b"html",
                b"application/xhtml+xml" => b"xhtml",
                _ => b"text",
            };
            if mapped != value {
                changed = true;
            }
            out.extend_from_slice(&tag[..t + 6]);
            out.extend_from_slice(mapped);
            out.extend_from_slice(&tag[t + 6 + len..]);
        } else {
            out.extend_from_slice(tag);
        }
        i = end;
    }
    out.extend_from_slice(&doc[i..]);
    changed.then_some(out)
}

/// RSS 1.1 (`<Channel xmlns="http://purl.org/net/rss1.1#">` with an
/// `<items>` collection) read as RSS 2.0: same channel and item elements.
fn fix_rss11(doc: &[u8]) -> Option<Vec<u8>> {
    find(doc, b"purl.org/net/rss1.1")?;
    let p = find(doc, b"<Channel")?;
    let mut out = Vec::with_capacity(doc.len() + 32);
    out.extend_from_slice(&doc[..p]);
    out.extend_from_slice(b"<rss version=\"2.0\"><channel");
    let body = &doc[p + b"<Channel".len()..];
    // Drop the root's namespace declarations' effect by keeping them on the
    // inner channel element, and unwrap the items collection.
    let body =
        replace_all(body, b"</Channel>", b"</channel></rss>").unwrap_or_else(|| body.to_vec());
    let mut rest: &[u8] = &body;
    while let Some(q) = find(rest, b"<items") {
        out.extend_from_slice(&rest[..q]);
        let close = rest[q..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(rest.len(), |e| q + e + 1);
        rest = &rest[close..];
    }
    out.extend_from_slice(rest);
    replace_all(&out, b"</items>", b"").or(Some(out))
}

thread_local! {
    static IN_PARSER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside the feed parser, whose panics are caught
/// and reported as that feed's [`ParseError`] (the panic hook stays quiet
/// about them).
pub(crate) fn in_parser() -> bool {
    IN_PARSER.with(std::cell::Cell::get)
}

/// Dates as feed-rs reads them, without its cost on well-formed ones.
///
/// feed-rs repairs every date with a list of regular-expression fixes
/// before parsing it (about a twentieth of a poll's time). A date that is
/// already valid RFC 3339 or RFC 2822 comes out of those fixes with the
/// same meaning, so it is parsed directly; any other date goes to
/// feed-rs's own lenient parser, reached through a one-item document (its
/// date functions are not public).
fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = text.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.to_utc());
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(t) {
        return Some(d.to_utc());
    }
    lenient_timestamp(t)
}

/// feed-rs's lenient reading of a date, from a one-item RSS document.
fn lenient_timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut doc = String::with_capacity(text.len() + 96);
    doc.push_str("<rss version=\"2.0\"><channel><item><pubDate>");
    for c in text.chars() {
        match c {
            '<' => doc.push_str("&lt;"),
            '&' => doc.push_str("&amp;"),
            c => doc.push(c),
        }
    }
    doc.push_str("</pubDate></item></channel></rss>");
    let feed = feed_rs::parser::parse(doc.as_bytes()).ok()?;
    feed.entries.into_iter().next()?.published
}

/// Runs `f` (a third-party parser over outside input) with its panic
/// caught and the panic hook quiet: a panic is returned as its message.
pub(crate) fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_PARSER.with(|f| f.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_PARSER.with(|f| f.set(false));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

fn run_parser(doc: &[u8], base_url: Option<&str>) -> Result<feed_rs::model::Feed, ParseError> {
    let result = contained(|| {
        feed_rs::parser::Builder::new()
            .base_uri(base_url)
            // An empty id marks "the document gave none"; we derive our own key.
            .id_generator(|_, _, _| String::new())
            .timestamp_parser(parse_timestamp)
            .build()
            .parse(doc)
    });
    match result {
        Ok(Ok(f)) => Ok(f),
        Ok(Err(e)) => Err(ParseError::Invalid(e.to_string())),
        Err(msg) => Err(ParseError::Panicked(msg)),
    }
}

/// The `charset` parameter of a `Content-Type` header value.
pub(crate) fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset")).then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// Re-encodes a document in a legacy single- or multi-byte charset as
/// UTF-8 (with its XML declaration rewritten), when the HTTP header names
/// the charset, or when the bytes are not UTF-8 and nothing names one.
/// `None` when the bytes can go to the parser as they are.
fn transcode_legacy(bytes: &[u8], content_type: Option<&str>) -> Option<Vec<u8>> {
    if decode_wide(bytes).is_some() {
        return None;
    }
    // A byte-order mark says what the bytes are, whatever the header says.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return None;
    }
    let mut from_header = content_type
        .and_then(header_charset)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    // A header that disagrees with the document's own declaration loses
    // when the bytes fit the declaration (servers mislabel; publishers
    // write the declaration with the document).
    if let (Some(h), Some(d)) = (from_header, declared_encoding(bytes))
        && h != d
        && (d != encoding_rs::UTF_8 || std::str::from_utf8(bytes).is_ok())
    {
        from_header = Some(d);
    }
    let enc = match from_header {
        Some(e) if e == encoding_rs::UTF_8 => return None,
        Some(e) => e,
        None => {
            let head = &bytes[..bytes.len().min(200)];
            if find(head, b"<?xml").is_some() && find(head, b"encoding").is_some() {
                // The declaration names it; the parser decodes it.
                return None;
            }
            if std::str::from_utf8(bytes).is_ok() {
                return None;
            }
            encoding_rs::WINDOWS_1252
        }
    };
    let (text, _, _) = enc.decode(bytes);
    let mut s = text.into_owned();
    rewrite_xml_encoding(&mut s);
    Some(s.into_bytes())
}

/// The encoding a leading XML declaration names, if it names a known one.
fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(200)];
    let decl_end = find(head, b"?>")?;
    let decl = head.get(find(head, b"<?xml")?..decl_end)?;
    let p = find(decl, b"encoding")?;
    let rest = &decl[p + 8..];
    let q = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[q];
    let end = rest[q + 1..].iter().position(|&b| b == quote)?;
    encoding_rs::Encoding::for_label(&rest[q + 1..q + 1 + end])
}

/// Transcodes UTF-16/UTF-32 to UTF-8 (with the XML declaration's encoding
/// rewritten to match), drops a UTF-8 BOM, and skips junk before the root
/// element (e.g. a PHP warning printed ahead of the XML).
fn prepare(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let utf8: Cow<'_, [u8]> = match decode_wide(bytes) {
        Some(mut s) => {
            rewrite_xml_encoding(&mut s);
            Cow::Owned(s.into_bytes())
        }
        None => Cow::Borrowed(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)),
    };
    let first = utf8
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(utf8.len());
    let start = if utf8.get(first).is_some_and(|&b| b == b'<' || b == b'{') {
        first
    } else {
        // Junk before the document: jump to the first plausible start.
        [&b"<?xml"[..], b"<rss", b"<feed", b"<rdf:RDF", b"<RDF"]
            .iter()
            .find_map(|m| find(&utf8[first..], m))
            .map_or(first, |p| first + p)
    };
    match utf8 {
        Cow::Borrowed(b) => Cow::Borrowed(&b[start..]),
        Cow::Owned(mut v) => {
            v.drain(..start);
            Cow::Owned(v)
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Decodes UTF-16 or UTF-32 (with or without BOM) to a String; `None` when
/// the bytes are not in one of those encodings.
fn decode_wide(b: &[u8]) -> Option<String> {
    let (enc, skip): (&str, usize) = match b {
        [0, 0, 0xFE, 0xFF, ..] => ("utf-32be", 4),
        [0xFF, 0xFE, 0, 0, ..] => ("utf-32le", 4),
        [0xFE, 0xFF, ..] => ("utf-16be", 2),
        [0xFF, 0xFE, ..] => ("utf-16le", 2),
        [0, 0, 0, b'<', ..] => ("utf-32be", 0),
        [b'<', 0, 0, 0, ..] => ("utf-32le", 0),
        [0, b'<', ..] | [0, b' ', ..] | [0, b'\n', ..] => ("utf-16be", 0),
        [b'<', 0, ..] | [b' ', 0, ..] | [b'\n', 0, ..] => ("utf-16le", 0),
        _ => return None,
    };
    let body = &b[skip..];
    match enc {
        "utf-32be" | "utf-32le" => {
            let mut s = String::with_capacity(body.len() / 4);
            for ch in body.chunks_exact(4) {
                let arr = [ch[0], ch[1], ch[2], ch[3]];
                let v = if enc == "utf-32be" {
                    u32::from_be_bytes(arr)
                } else {
                    u32::from_le_bytes(arr)
                };
                s.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            Some(s)
        }
        _ => {
            let units = body.chunks_exact(2).map(|c| {
                if enc == "utf-16be" {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            });
            Some(
                char::decode_utf16(units)
                    .map(|r| r.unwrap_or('\u{FFFD}'))
                    .collect(),
            )
        }
    }
}

/// Rewrites `encoding="…"` in a leading XML declaration to UTF-8.
fn rewrite_xml_encoding(s: &mut String) {
    let lead = s.trim_start_matches('\u{feff}');
    let offset = s.len() - lead.len();
    if !lead.starts_with("<?xml") {
        return;
    }
    let Some(end) = lead.find("?>") else { return };
    let decl = &lead[..end];
    if let Some(p) = decl.find("encoding") {
        let after = &decl[p + 8..];
        let Some(q) = after.find(['"', '\'']) else {
            return;
        };
        let quote = after.as_bytes()[q] as char;
        let Some(close) = after[q + 1..].find(quote) else {
            return;
        };
        let start = offset + p + 8 + q + 1;
        s.replace_range(start..start + close, "UTF-8");
    }
    if s.starts_with('\u{feff}') {
        s.drain(..3);
    }
}

/// For an `<rss>` root whose `version` feed-rs does not accept (missing,
/// "2.00", …), returns the document with `version="2.0"`.
fn fix_rss_version(doc: &[u8]) -> Option<Vec<u8>> {
    let p = find(doc, b"<rss")?;
    let after = doc.get(p + 4)?;
    if !(after.is_ascii_whitespace() || *after == b'>') {
        return None;
    }
    let end = p + doc[p..].iter().position(|&b| b == b'>')?;
    let tag = &doc[p..end];
    let mut out = Vec::with_capacity(doc.len() + 16);
    out.extend_from_slice(&doc[..p]);
    if let Some(v) = find(tag, b"version=") {
        let q = *tag.get(v + 8)?;
        let close = tag[v + 9..].iter().position(|&b| b == q)? + v + 9;
        out.extend_from_slice(&tag[..v]);
        out.extend_from_slice(b"version=\"2.0\"");
        out.extend_from_slice(&tag[close + 1..]);
    } else {
        out.extend_from_slice(b"<rss version=\"2.0\"");
        out.extend_from_slice(&tag[4..]);
    }
    out.extend_from_slice(&doc[end..]);
    Some(out)
}

fn convert(feed: feed_rs::model::Feed, base_url: Option<&str>) -> ParsedFeed {
    let feed_lang = feed
        .language
        .clone()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_lowercase());
    let mut seen = HashSet::new();
    let mut articles = Vec::with_capacity(feed.entries.len());
    for e in feed.entries {
        let title = e
            .title
            .map(|t| html_to_text(&t.content))
            .unwrap_or_default();
        let summary = e
            .summary
            .map(|t| html_to_text(&t.content))
            .unwrap_or_default();
        let content = e
            .content
            .and_then(|c| c.body)
            .map(|b| html_to_text(&b))
            .unwrap_or_default();
        let href = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(e.links.first())
            .map(|l| l.href.clone());
        let url = href.as_deref().and_then(|h| link::canonical(h, base_url));
        let published = e.published.or(e.updated).map(|d| d.timestamp());
        let guid = e.id.trim();
        let mut key = if !guid.is_empty() {
            format!("guid:{guid}")
        } else if let Some(u) = &url {
            format!("link:{u}")
        } else {
            format!(
                "hash:{}",
                hex_digest(&[
                    title.as_bytes(),
                    b"\n",
                    summary.as_bytes(),
                    b"\n",
                    content.as_bytes()
                ])
            )
        };
        if !seen.insert(key.clone()) {
            // A guid repeated inside one document: tell the items apart by
            // their link and title.
            let d = hex_digest(&[
                url.as_deref().unwrap_or("").as_bytes(),
                b"\n",
                title.as_bytes(),
            ]);
            key = format!("{key}#{}", &d[..16]);
            if !seen.insert(key.clone()) {
                continue;
            }
        }
        let lang = feed_lang.clone().or_else(|| guess_lang(&title, &summary));
        let categories = e
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term))
            .collect();
        articles.push(Article {
            key,
            title,
            url,
            published,
            summary,
            content,
            lang,
            categories,
        });
    }
    let _ = base_url;
    ParsedFeed {
        title: feed
            .title
            .map(|t| html_to_text(&t.content))
            .filter(|t| !t.is_empty()),
        lang: feed_lang,
        ttl: feed
            .ttl
            .filter(|&m| m > 0)
            .map(|m| std::time::Duration::from_secs(u64::from(m) * 60)),
        articles,
        partial: None,
    }
}

/// A guess from the script alone: Arabic text is "ar"; otherwise unknown.
fn guess_lang(title: &str, summary: &str) -> Option<String> {
    let sample = title
        .chars()
        .chain(summary.chars())
        .filter(|c| c.is_alphabetic())
        .take(200);
    let (mut ar, mut all) = (0, 0);
    for c in sample {
        all += 1;
        if is_arabic(c) {
            ar += 1;
        }
    }
    (all > 0 && ar * 2 > all).then(|| "ar".to_string())
}

#[cfg(test)]
mod tests {

    #[test]
    fn dates_read_as_feed_rs_reads_them() {
        for d in [
            "Thu, 28 May 2026 20:26:03 GMT",
            "Mon, 15 Jan 2024 10:00:00 +0100",
            "15 Jan 2024 10:00:00 -0000",
            "  2024-01-15T10:00:00Z  ",
            "2024-01-15T10:00:00.5+02:00",
            "2024-01-15T10:00:00+0100",
            "2024-01-15",
            "Wed, 25 Aug 2012 10:00:00 GMT",
            "Thurs, 13 Jul 2011 07:38:00 GMT",
            "Mon, 15 January 2024 10:00:00 +0000",
            "Jan 15 2024 10:00:00 +0000",
            "Tue, 15 Nov 2022 20:15:04 Z",
            "Mon, 15 Jan 2024 9:05:00 UTC",
            "Mon, 15 Jan 2024 24:05:00 +0000",
            "not a date",
            "",
        ] {
            let ours = parse_timestamp(d);
            assert_eq!(ours, lenient_timestamp(d.trim()), "{d:?}");
            if d.contains("2024-01-15T") || d.starts_with("Thu, 28 May") {
                assert!(ours.is_some(), "{d:?}");
            }
        }
    }

    use super::*;

    const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Coalition &amp; partners</title><link>https://ex.org/a?utm_source=x&amp;id=3#top</link>
<guid>g1</guid><description>&lt;p&gt;Ministers &lt;b&gt;met&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Mon, 11 May 2026 09:30:00 GMT</pubDate></item>
<item><title>No guid</title><link>/rel/b</link></item>
<item><title>Nothing but a title</title></item>
</channel></rss>"#;

    #[test]
    fn rss_items_become_articles() {
        let f = parse_feed(RSS.as_bytes(), Some("https://ex.org/feed.xml")).unwrap();
        assert_eq!(f.articles.len(), 3);
        let a = &f.articles[0];
        assert_eq!(a.key, "guid:g1");
        assert_eq!(a.title, "Coalition & partners");
        assert_eq!(a.summary, "Ministers met");
        assert_eq!(a.url.as_deref(), Some("https://ex.org/a?id=3"));
        assert_eq!(a.published, Some(1_778_491_800));
        assert_eq!(f.articles[1].key, "link:https://ex.org/rel/b");
        assert!(f.articles[2].key.starts_with("hash:"));
        // The same document gives the same keys every time.
        let g = parse_feed(RSS.as_bytes(), Some("https://ex.org/feed.xml")).unwrap();
        assert_eq!(g.articles[2].key, f.articles[2].key);
    }

    #[test]
    fn rss_without_version_and_utf16() {
        let doc = "<rss><channel><title>x</title><item><title>Hi</title><guid>1</guid></item></channel></rss>";
        assert_eq!(parse_feed(doc.as_bytes(), None).unwrap().articles.len(), 1);
        let decl = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{doc}");
        let mut wide = vec![0xFE, 0xFF];
        for u in decl.encode_utf16() {
            wide.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(parse_feed(&wide, None).unwrap().articles[0].title, "Hi");
    }

    #[test]
    fn publisher_poll_hints() {
        let rss = "<rss version=\"2.0\"><channel><title>t</title><ttl>60</ttl></channel></rss>";
        assert_eq!(
            parse_feed(rss.as_bytes(), None).unwrap().ttl,
            Some(std::time::Duration::from_secs(3600))
        );
        let sy = "<rss version=\"2.0\" xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel><title>t</title>\
                  <sy:updatePeriod> daily </sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency></channel></rss>";
        assert_eq!(
            parse_feed(sy.as_bytes(), None).unwrap().ttl,
            Some(std::time::Duration::from_secs(21_600))
        );
    }

    #[test]
    fn a_feed_wrapped_in_an_xhtml_page_and_atom_xhtml_content() {
        let doc = r#"<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Page</title></head><body><pre>
<rss version="2.0"><channel><title>T</title><item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item></channel></rss>
</pre></body></html>"#;
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        let titles: Vec<&str> = f.articles.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["One", "Two"]);
        assert!(f.partial.is_some());
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>x</id><updated>2026-01-01T00:00:00Z</updated>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <b>xhtml</b> title</div></title><id>e1</id><updated>2026-01-01T00:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body <i>here</i></p></div></content></entry></feed>"#;
        let f = parse_feed(atom.as_bytes(), None).unwrap();
        assert_eq!(f.articles[0].title, "An xhtml title");
        assert!(
            f.articles[0].content.contains("Body here"),
            "{:?}",
            f.articles[0]
        );
        assert_eq!(f.partial, None);
    }

    #[test]
    fn rss_in_a_prefixed_namespace_is_read() {
        let doc = r#"<r:rss version="2.0" xmlns:r="http://backend.userland.com/rss2" xmlns:dc="http://purl.org/dc/elements/1.1/">
            <r:channel><r:title>T</r:title><r:item><r:title>One</r:title><dc:creator>x</dc:creator></r:item></r:channel></r:rss>"#;
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        assert_eq!(f.articles.len(), 1);
        assert_eq!(f.articles[0].title, "One");
    }

    #[test]
    fn channel_definition_format_is_read() {
        let doc = "<!-- cdf --><CHANNEL HREF=\"http://ex.org/\"><TITLE>C</TITLE>\n<ITEM HREF=\"http://ex.org/1\" LASTMOD=\"2004-04-06T23:05:43-05:00\">\n<TITLE>One</TITLE><ABSTRACT>About &amp; more</ABSTRACT></ITEM>\n<ITEM HREF=\"http://ex.org/2\"></ITEM></CHANNEL>";
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        assert_eq!(f.articles.len(), 2);
        assert_eq!(f.articles[0].title, "One");
        assert_eq!(f.articles[0].summary, "About & more");
        assert_eq!(f.articles[0].url.as_deref(), Some("http://ex.org/1"));
        assert!(f.articles[0].published.is_some());
    }

    #[test]
    fn rss_with_a_default_namespace_is_read() {
        let doc = r#"<?xml version="1.0"?><rss xmlns="http://backend.userland.com/rss2" version="2.0"><channel><title>T</title>
            <item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item></channel></rss>"#;
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        assert_eq!(f.articles.len(), 2);
    }

    #[test]
    fn ill_formed_xml_gives_its_whole_items_and_says_why() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T &amp; co</title>
<item><title>Caf&eacute; one</title><guid>1</guid><description>A &amp; B</description></item>
<item><title>Bare & two</title><guid>2</guid></item>
<item><title>Ref &#233 three</title><guid>3</guid></item>
<item><title>Bad <b>tag</i> four</title><guid>4</guid></item>
<item><title>Five</title><guid>5</guid><description>unclosed
<item><title>Six</title><guid>6</guid></item>
</channel></rss>
junk after";
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        let titles: Vec<&str> = f.articles.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Café one",
                "Bare & two",
                "Ref é three",
                "Bad tag four",
                "Five",
                "Six"
            ]
        );
        assert_eq!(f.title.as_deref(), Some("T & co"));
        let why = f.partial.unwrap();
        for said in [
            "undefined entity &eacute;",
            "a bare &",
            "unterminated character reference",
            "mismatched",
            "an unclosed item",
            "6 of 6 items read",
        ] {
            assert!(why.contains(said), "{said}: {why}");
        }
    }

    #[test]
    fn bad_bytes_in_one_item_cost_only_those_bytes() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Bad \xff\xfe byte</title><guid>1</guid></item><item><title>Good</title><guid>2</guid></item></channel></rss>";
        let f = parse_feed(doc, None).unwrap();
        assert_eq!(f.articles.len(), 2);
        assert_eq!(f.articles[1].title, "Good");
        assert!(f.partial.unwrap().contains("not UTF-8"));
    }

    #[test]
    fn atom_entries_are_salvaged_with_their_namespaces() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"><title>A</title><id>x</id>
<entry><title>One & Two</title><id>e1</id><link href="https://ex.org/1"/><media:title>m</media:title></entry>
<entry><title>Two</title><id>e2</id><link href="https://ex.org/2"/></entry></feed>"#;
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        assert_eq!(f.articles.len(), 2);
        assert_eq!(f.articles[1].url.as_deref(), Some("https://ex.org/2"));
        assert!(f.partial.unwrap().contains("2 of 2 entries"));
    }

    #[test]
    fn json_feed_as_published() {
        // http version URL, 1.0, a number as id, a bare author name, an
        // attachment without mime_type, no title; and a string where an
        // item belongs.
        let doc = r#"{"version":"http://jsonfeed.org/version/1","title":"J","items":[
            {"id":123,"title":"num id","content_text":"x"},
            {"id":"b","title":"ok","content_text":"y","author":"A Name"},
            {"id":"c","content_html":"<p>no title</p>","attachments":[{"url":"https://x/a.mp3"}]},
            "not an item"]}"#;
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        let keys: Vec<&str> = f.articles.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["guid:123", "guid:b", "guid:c"]);
        let why = f.partial.unwrap();
        assert!(why.contains("3 of 4 items read"), "{why}");
        assert!(why.contains("item 4 is not an object"), "{why}");
        // Cut short: the complete items are read.
        let cut = &doc[..doc.find("\"c\"").unwrap() + 10];
        let f = parse_feed(cut.as_bytes(), None).unwrap();
        assert_eq!(f.articles.len(), 2);
        assert!(f.partial.unwrap().contains("cut short"));
        // Well formed, https, 1.1: read whole, nothing said.
        let ok = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","content_text":"x"}]}"#;
        let f = parse_feed(ok.as_bytes(), None).unwrap();
        assert_eq!((f.articles.len(), f.partial), (1, None));
    }

    #[test]
    fn a_feed_that_cannot_be_read_is_unreadable_not_a_non_feed() {
        let doc = "<rss version=\"2.0\"><channel><title>T</title><item><title>x</title>";
        match parse_feed(doc.as_bytes(), None) {
            Ok(f) => assert!(f.partial.is_some(), "{f:?}"),
            Err(e) => assert!(matches!(e, ParseError::Unreadable(_)), "{e:?}"),
        }
        assert!(matches!(
            parse_feed(b"<html><body>no feed</body></html>", None),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn the_document_beats_a_wrong_charset_header() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Café</title><guid>1</guid></item></channel></rss>";
        for header in [
            "text/xml; charset=iso-8859-1",
            "text/xml; charset=windows-1251",
        ] {
            let f = parse_feed_http(doc.as_bytes(), None, Some(header)).unwrap();
            assert_eq!(f.articles[0].title, "Café", "{header}");
        }
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(doc.replace(" encoding=\"UTF-8\"", "").as_bytes());
        let f = parse_feed_http(&bom, None, Some("text/xml; charset=iso-8859-1")).unwrap();
        assert_eq!(f.articles[0].title, "Café");
        // A header that is right still wins over a missing declaration.
        let latin = b"<rss version=\"2.0\"><channel><title>T</title><item><title>Caf\xe9</title><guid>1</guid></item></channel></rss>";
        let f = parse_feed_http(latin, None, Some("text/xml; charset=iso-8859-1")).unwrap();
        assert_eq!(f.articles[0].title, "Café");
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        assert_eq!(parse_feed(b"   ", None).err(), Some(ParseError::Empty));
        assert!(matches!(
            parse_feed(b"<html><body>nope</body></html>", None),
            Err(ParseError::Invalid(_))
        ));
        assert!(parse_feed(&[0xFE, 0xFF, 0xD8, 0x00], None).is_err());
    }
}
