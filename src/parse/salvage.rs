//! Reading what is there when a document is not what its format says:
//! counting the items a document holds by its markup (so that reading
//! fewer is noticed, never silent), and recovering the whole items of an
//! ill-formed XML feed or a JSON Feed with bad items, each item on its own,
//! with the reasons. feed-rs still reads every item; this module only
//! hands it pieces it can take.

use super::ParseError;
use feed_rs::model::Feed;
use serde_json::Value;
use std::borrow::Cow;

/// What a document holds, by its markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Held {
    /// RSS `<item>` elements.
    Items(usize),
    /// Atom `<entry>` elements.
    Entries(usize),
    /// JSON Feed `items` array members.
    Json(usize),
}

impl Held {
    /// How many items.
    pub(super) fn count(self) -> usize {
        match self {
            Held::Items(n) | Held::Entries(n) | Held::Json(n) => n,
        }
    }
}

/// Counts the items of a document: `<item>` or `<entry>` start tags outside
/// comments and CDATA sections, or the members of a JSON Feed's `items`.
pub(super) fn held(doc: &[u8]) -> Held {
    if doc.first() == Some(&b'{') {
        // Counted without building the items (the common, whole case).
        #[derive(serde::Deserialize)]
        struct Count {
            #[serde(default)]
            items: Vec<serde::de::IgnoredAny>,
        }
        return match serde_json::from_slice::<Count>(doc) {
            Ok(c) => Held::Json(c.items.len()),
            Err(_) => Held::Json(json_items(doc).0.len()),
        };
    }
    let (mut items, mut entries) = (0, 0);
    let own = feed_prefixes(doc);
    for (_, name) in start_tags(doc) {
        match feed_element(name, &own) {
            Some(b"item") => items += 1,
            Some(b"entry") => entries += 1,
            _ => {}
        }
    }
    if entries > items {
        Held::Entries(entries)
    } else {
        Held::Items(items)
    }
}

/// An upper bound of [`held`] for an XML document, at the cost of two SIMD
/// searches (every item or entry start tag contains one of the words).
pub(super) fn held_at_most(doc: &[u8]) -> usize {
    memchr::memmem::find_iter(doc, b"item").count()
        + memchr::memmem::find_iter(doc, b"entry").count()
}

/// A Channel Definition Format document (`<CHANNEL>` with `<ITEM HREF=…
/// LASTMOD=…>` holding `TITLE` and `ABSTRACT`) rewritten as RSS 2.0.
pub(super) fn cdf_to_rss(doc: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(doc);
    let c = text.find("<CHANNEL")?;
    if text.contains("<rss") || text.contains("<feed") {
        return None;
    }
    let body = &text[c..];
    let field = |s: &str, name: &str| -> Option<String> {
        let open = s.find(&format!("<{name}>"))? + name.len() + 2;
        let end = s[open..].find(&format!("</{name}>"))?;
        Some(escape(&field_text(&s[open..open + end])))
    };
    let attr = |s: &str, name: &str| -> Option<String> {
        let tag = &s[..s.find('>')?];
        let a = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[a..].find('"')?;
        Some(escape(&htmlize::unescape(&tag[a..a + end])))
    };
    let first_item = body.find("<ITEM").unwrap_or(body.len());
    let head = &body[..first_item];
    let mut out = String::from("<rss version=\"2.0\"><channel>");
    out.push_str(&format!(
        "<title>{}</title>",
        field(head, "TITLE").unwrap_or_default()
    ));
    if let Some(l) = attr(head, "HREF") {
        out.push_str(&format!("<link>{l}</link>"));
    }
    if let Some(d) = field(head, "ABSTRACT") {
        out.push_str(&format!("<description>{d}</description>"));
    }
    let mut rest = &body[first_item..];
    while let Some(p) = rest.find("<ITEM") {
        let item = &rest[p..];
        let end = item.find("</ITEM>").unwrap_or(item.len());
        let one = &item[..end];
        out.push_str("<item>");
        if let Some(t) = field(one, "TITLE") {
            out.push_str(&format!("<title>{t}</title>"));
        }
        if let Some(l) = attr(one, "HREF") {
            out.push_str(&format!("<link>{l}</link>"));
        }
        if let Some(d) = field(one, "ABSTRACT") {
            out.push_str(&format!("<description>{d}</description>"));
        }
        if let Some(m) = attr(one, "LASTMOD") {
            out.push_str(&format!("<pubDate>{m}</pubDate>"));
        }
        out.push_str("</item>");
        rest = &item[end.min(item.len())..];
        if end == item.len() {
            break;
        }
    }
    out.push_str("</channel></rss>");
    Some(out.into_bytes())
}

/// The namespaces of RSS (0.9, 1.0, the 2.0 variants) and Atom.
pub(super) const FEED_NAMESPACES: [&[u8]; 6] = [
    b"http://backend.userland.com/rss2",
    b"http://blogs.law.harvard.edu/tech/rss",
    b"http://purl.org/rss/1.0/",
    b"http://my.netscape.com/rdf/simple/0.9/",
    b"http://www.w3.org/2005/Atom",
    b"http://purl.org/atom/ns#",
];

/// The prefixes a document binds to a feed namespace (`xmlns:r=
/// "http://backend.userland.com/rss2"` makes `r:item` an RSS item).
pub(super) fn feed_prefixes(doc: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for p in memchr::memmem::find_iter(doc, b"xmlns:") {
        let rest = &doc[p + 6..];
        let Some(eq) = rest.iter().position(|&b| b == b'=') else {
            continue;
        };
        let prefix = rest[..eq].trim_ascii();
        let value = rest[eq + 1..].trim_ascii_start();
        let Some(&q) = value.first().filter(|q| **q == b'"' || **q == b'\'') else {
            continue;
        };
        let Some(end) = value[1..].iter().position(|&b| b == q) else {
            continue;
        };
        if FEED_NAMESPACES.contains(&&value[1..1 + end])
            && !out.iter().any(|o: &Vec<u8>| o == prefix)
        {
            out.push(prefix.to_vec());
        }
    }
    out
}

/// The local name of an element that may be a feed's own (no prefix, or a
/// prefix bound to a feed namespace); `None` for an element of another
/// vocabulary (`content:item`, `media:content`, …).
fn feed_element<'a>(name: &'a [u8], own: &[Vec<u8>]) -> Option<&'a [u8]> {
    match name.iter().position(|&b| b == b':') {
        None => Some(name),
        Some(p) if own.iter().any(|o| o.as_slice() == &name[..p]) => Some(&name[p + 1..]),
        Some(_) => None,
    }
}

/// A document whose feed elements carry a prefix bound to a feed namespace
/// (`<r:rss xmlns:r="http://backend.userland.com/rss2">`), with the
/// prefix taken off every element, so feed-rs sees plain RSS.
pub(super) fn unprefix(doc: &[u8]) -> Option<Vec<u8>> {
    let own = feed_prefixes(doc);
    let root = start_tags(doc).next()?.1;
    let p = root.iter().position(|&b| b == b':')?;
    let prefix = &root[..p];
    if !own.iter().any(|o| o.as_slice() == prefix) || &root[p + 1..] != b"rss" {
        return None;
    }
    let mut open = b"<".to_vec();
    open.extend_from_slice(prefix);
    open.push(b':');
    let mut close = b"</".to_vec();
    close.extend_from_slice(prefix);
    close.push(b':');
    let a = super::replace_all(doc, &close, b"</").unwrap_or_else(|| doc.to_vec());
    super::replace_all(&a, &open, b"<")
}

/// The local part of a qualified name.
fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|&b| b == b':').next().unwrap_or(name)
}

/// Start tags (position of `<`, name) outside comments, CDATA sections and
/// processing instructions, in document order.
fn start_tags(doc: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        loop {
            let off = memchr::memchr(b'<', doc.get(i..)?)?;
            let p = i + off;
            let rest = &doc[p..];
            if rest.starts_with(b"<!--") {
                i = memchr::memmem::find(rest, b"-->").map_or(doc.len(), |e| p + e + 3);
                continue;
            }
            if rest.starts_with(b"<![CDATA[") {
                i = memchr::memmem::find(rest, b"]]>").map_or(doc.len(), |e| p + e + 3);
                continue;
            }
            i = p + 1;
            let name_len = rest[1..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
                .unwrap_or(rest.len() - 1);
            let name = &rest[1..1 + name_len];
            if name.is_empty() || !name[0].is_ascii_alphabetic() {
                continue;
            }
            return Some((p, name));
        }
    })
}

/// What the repair of a document found wrong, said once each.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, p: impl Into<String>) {
        let p = p.into();
        if !self.0.contains(&p) {
            self.0.push(p);
        }
    }
}

/// The five entities XML defines; any other name must be decoded.
const XML_ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "apos"];

/// Makes a piece of a document well-formed at the character level: an
/// undefined (HTML) entity becomes its character, a bare `&` becomes
/// `&amp;`, an unterminated character reference is closed, characters XML
/// forbids are dropped.
fn repair_text(s: &str, problems: &mut Problems) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(p) = rest.find(|c: char| c == '&' || !xml_char(c)) {
        out.push_str(&rest[..p]);
        let c = rest[p..].chars().next().unwrap_or('&');
        if c != '&' {
            problems.add("characters XML does not allow");
            rest = &rest[p + c.len_utf8()..];
            continue;
        }
        let after = &rest[p + 1..];
        let name_len = after
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '#' || ch == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let closed = after[name_len..].starts_with(';');
        if let Some(num) = name.strip_prefix('#') {
            let value = match num.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            match value.and_then(char::from_u32).filter(|&ch| xml_char(ch)) {
                Some(ch) => {
                    if !closed {
                        problems.add("an unterminated character reference");
                    }
                    push_escaped(&mut out, ch);
                }
                None => {
                    problems.add("a bad character reference");
                    out.push_str("&amp;");
                    out.push_str(name);
                }
            }
            rest = &after[name_len + usize::from(closed)..];
            continue;
        }
        if closed && XML_ENTITIES.contains(&name) {
            out.push('&');
            out.push_str(name);
            out.push(';');
            rest = &after[name_len + 1..];
            continue;
        }
        if closed && !name.is_empty() {
            let decoded = htmlize::unescape(format!("&{name};"));
            if decoded != format!("&{name};") {
                problems.add(format!("undefined entity &{name};"));
                for ch in decoded.chars() {
                    push_escaped(&mut out, ch);
                }
                rest = &after[name_len + 1..];
                continue;
            }
        }
        problems.add("a bare &");
        out.push_str("&amp;");
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether XML 1.0 allows `c`.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c if xml_char(c) => out.push(c),
        _ => {}
    }
}

/// Escapes text for an XML element's content.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// The items of an ill-formed XML feed, each read on its own: repaired at
/// the character level and wrapped in a minimal document with the root's
/// namespace declarations; an item that still cannot be read is rebuilt
/// from the fields found in it. `None` when nothing could be read.
pub(super) fn salvage_xml(
    doc: &[u8],
    held: Held,
    parse: &dyn Fn(&[u8]) -> Result<Feed, ParseError>,
) -> Option<(Feed, String)> {
    let mut problems = Problems::default();
    let text: Cow<'_, str> = String::from_utf8_lossy(doc);
    if matches!(text, Cow::Owned(_)) {
        problems.add("bytes that are not UTF-8");
    }
    let atom = matches!(held, Held::Entries(_));
    let item_name: &[u8] = if atom { b"entry" } else { b"item" };
    let bytes = text.as_bytes();
    let tags: Vec<(usize, &[u8])> = start_tags(bytes).collect();
    let own = feed_prefixes(bytes);
    let starts: Vec<usize> = tags
        .iter()
        .filter(|(_, n)| feed_element(n, &own) == Some(item_name))
        .map(|&(p, _)| p)
        .collect();
    let first = *starts.first()?;
    // The root's namespace declarations (an RSS root's default namespace
    // is dropped: RSS elements have none).
    let root = tags
        .iter()
        .find(|(_, n)| matches!(local(n), b"rss" | b"RDF" | b"feed" | b"Channel"))
        .map(|&(p, _)| p);
    let decls = root
        .map(|p| namespace_decls(&text[p..], atom))
        .unwrap_or_default();
    let header = &text[..first];
    let title = first_field(header, "title").unwrap_or_default();
    let lang = first_field(header, "language");
    let wrap = |item: &str| -> String {
        if atom {
            format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"{decls}><title>{}</title>{item}</feed>",
                escape(&title)
            )
        } else {
            format!(
                "<rss version=\"2.0\"{decls}><channel><title>{}</title>{}{item}</channel></rss>",
                escape(&title),
                lang.as_deref()
                    .map(|l| format!("<language>{}</language>", escape(l)))
                    .unwrap_or_default()
            )
        }
    };
    let close = if atom { "</entry>" } else { "</item>" };
    let mut feed: Option<Feed> = None;
    let mut entries = Vec::new();
    let mut lost = 0;
    for (i, &s) in starts.iter().enumerate() {
        let next = starts.get(i + 1).copied().unwrap_or(text.len());
        let chunk = &text[s..next];
        let chunk = match chunk.find(close) {
            Some(e) => chunk[..e + close.len()].to_string(),
            None => {
                // Up to where the channel or feed ends, then closed; an item
                // the document ends inside is not whole, and is lost.
                let end = ["</channel", "</feed", "</rss", "</rdf:RDF"]
                    .iter()
                    .filter_map(|m| chunk.find(m))
                    .min();
                let end = match (end, starts.get(i + 1)) {
                    (Some(e), _) => e,
                    (None, Some(_)) => chunk.len(),
                    (None, None) => {
                        problems.add("a document cut short");
                        lost += 1;
                        continue;
                    }
                };
                problems.add(format!(
                    "an unclosed {}",
                    if atom { "entry" } else { "item" }
                ));
                format!("{}{close}", &chunk[..end])
            }
        };
        let repaired = repair_text(&chunk, &mut problems);
        let got = parse(wrap(&repaired).as_bytes())
            .ok()
            .filter(|f| f.entries.len() == 1)
            .or_else(|| {
                problems.add("mismatched or unclosed tags");
                let rebuilt = rebuild(&chunk, atom);
                parse(wrap(&rebuilt).as_bytes())
                    .ok()
                    .filter(|f| f.entries.len() == 1)
            });
        match got {
            Some(mut f) => {
                entries.append(&mut f.entries);
                feed.get_or_insert(f);
            }
            None => lost += 1,
        }
    }
    let mut feed = feed?;
    feed.entries = entries;
    let n = starts.len();
    let read = n - lost;
    let what = if atom { "entries" } else { "items" };
    Some((
        feed,
        format!(
            "ill-formed XML ({}); {read} of {n} {what} read",
            problems.0.join(", ")
        ),
    ))
}

/// The `xmlns…` attributes of a root start tag (an RSS root's default
/// namespace left out, an Atom one's kept by the wrapper itself).
fn namespace_decls(root: &str, atom: bool) -> String {
    let end = root.find('>').unwrap_or(root.len());
    let tag = &root[..end];
    let mut out = String::new();
    let mut rest = tag;
    while let Some(p) = rest.find("xmlns") {
        let attr = &rest[p..];
        let Some(eq) = attr.find('=') else { break };
        let name = attr[..eq].trim();
        let value_part = attr[eq + 1..].trim_start();
        let Some(q) = value_part
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            break;
        };
        let Some(vend) = value_part[1..].find(q) else {
            break;
        };
        let value = &value_part[1..1 + vend];
        let default = name == "xmlns";
        if !(default || atom && value == "http://www.w3.org/2005/Atom") {
            out.push_str(&format!(" {name}=\"{}\"", escape(value)));
        }
        let consumed = p + eq + 1 + (attr[eq + 1..].len() - value_part.len()) + vend + 2;
        rest = &rest[consumed.min(rest.len())..];
    }
    out
}

/// The text inside the first `<name …>…</name>` of `s`, tags stripped.
fn first_field(s: &str, name: &str) -> Option<String> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(p) = s[from..].find(&open) {
        let p = from + p;
        let after = &s[p + open.len()..];
        if after.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
            let gt = after.find('>')?;
            if after[..gt].ends_with('/') {
                return Some(String::new());
            }
            let inner = &after[gt + 1..];
            // A field without its end tag is not whole.
            let end = inner.find(&format!("</{name}"))?;
            return Some(field_text(&inner[..end]));
        }
        from = p + open.len();
    }
    None
}

/// An attribute's value in the first `<name …>` tag of `s`.
fn first_attr(s: &str, name: &str, attr: &str) -> Option<String> {
    let p = s.find(&format!("<{name}"))?;
    let tag = &s[p..p + s[p..].find('>')?];
    let a = tag.find(&format!("{attr}="))?;
    let v = &tag[a + attr.len() + 1..];
    let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = v[1..].find(q)?;
    Some(htmlize::unescape(&v[1..1 + end]).into_owned())
}

/// A field's text: CDATA unwrapped, markup (even mismatched) stripped,
/// entities decoded.
fn field_text(inner: &str) -> String {
    let t = inner.trim();
    let t = t
        .strip_prefix("<![CDATA[")
        .and_then(|x| x.strip_suffix("]]>"))
        .unwrap_or(t);
    crate::text::html_to_text(t)
}

/// An item rebuilt from the fields found in it, every value escaped.
fn rebuild(chunk: &str, atom: bool) -> String {
    let field = |n: &str| first_field(chunk, n).filter(|v| !v.is_empty());
    let mut out = String::new();
    if atom {
        out.push_str("<entry>");
        for n in ["title", "id", "updated", "published", "summary", "content"] {
            if let Some(v) = field(n) {
                out.push_str(&format!("<{n}>{}</{n}>", escape(&v)));
            }
        }
        if let Some(href) = first_attr(chunk, "link", "href") {
            out.push_str(&format!("<link href=\"{}\"/>", escape(&href)));
        }
        out.push_str("</entry>");
    } else {
        out.push_str("<item>");
        for n in [
            "title",
            "link",
            "guid",
            "description",
            "pubDate",
            "dc:date",
            "category",
        ] {
            if let Some(v) = field(n) {
                out.push_str(&format!("<{n}>{}</{n}>", escape(&v)));
            }
        }
        out.push_str("</item>");
    }
    out
}

/// The members of a JSON Feed's `items` array, as far as they are whole
/// (a truncated document keeps its complete items), and the document's
/// other top-level fields when it parses whole.
fn json_items(doc: &[u8]) -> (Vec<Value>, Option<serde_json::Map<String, Value>>) {
    if let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(doc) {
        let items = match top.remove("items") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        return (items, Some(top));
    }
    // Truncated or broken: the items array, member by member.
    let Some(k) = memchr::memmem::find(doc, b"\"items\"") else {
        return (Vec::new(), None);
    };
    let mut rest = &doc[k + 7..];
    let skip_ws = |r: &[u8]| {
        r.iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(r.len())
    };
    rest = &rest[skip_ws(rest)..];
    let Some(r) = rest.strip_prefix(b":") else {
        return (Vec::new(), None);
    };
    rest = &r[skip_ws(r)..];
    let Some(r) = rest.strip_prefix(b"[") else {
        return (Vec::new(), None);
    };
    rest = r;
    let mut items = Vec::new();
    loop {
        rest = &rest[skip_ws(rest)..];
        if let Some(r) = rest.strip_prefix(b",") {
            rest = r;
            continue;
        }
        if rest.is_empty() || rest[0] == b']' {
            break;
        }
        let mut it = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                let used = it.byte_offset();
                items.push(v);
                rest = &rest[used..];
            }
            _ => break,
        }
    }
    (items, None)
}

/// A JSON Feed read item by item: each member of `items` mended where it
/// is merely loose (an `id` that is a number, an `author` that is a name,
/// an attachment without `mime_type`), then read on its own; one that
/// still cannot be read is skipped and said.
pub(super) fn salvage_json(
    doc: &[u8],
    parse: &dyn Fn(&[u8]) -> Result<Feed, ParseError>,
) -> Option<(Feed, String)> {
    let mut problems = Problems::default();
    let (items, top) = json_items(doc);
    let title = match top.as_ref().and_then(|t| t.get("title")) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    if top.is_none() {
        problems.add("the document is cut short or broken");
    }
    let language = top
        .as_ref()
        .and_then(|t| t.get("language"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let n = items.len();
    let mut feed: Option<Feed> = None;
    let mut entries = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut m) = item else {
            problems.add(format!("item {} is not an object", i + 1));
            continue;
        };
        mend_item(&mut m, i + 1, &mut problems);
        let mut one = serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [Value::Object(m)],
        });
        if let Some(l) = &language {
            one["language"] = Value::String(l.clone());
        }
        let bytes = serde_json::to_vec(&one).ok()?;
        match parse(&bytes) {
            Ok(mut f) if f.entries.len() == 1 => {
                entries.append(&mut f.entries);
                feed.get_or_insert(f);
            }
            Ok(_) | Err(_) => problems.add(format!("item {} could not be read", i + 1)),
        }
    }
    let mut feed = feed?;
    let read = entries.len();
    feed.entries = entries;
    Some((
        feed,
        format!(
            "loose JSON Feed ({}); {read} of {n} items read",
            problems.0.join(", ")
        ),
    ))
}

/// Mends the loose fields of JSON Feed item number `n`.
fn mend_item(m: &mut serde_json::Map<String, Value>, n: usize, problems: &mut Problems) {
    match m.get("id") {
        Some(Value::String(_)) => {}
        Some(Value::Number(x)) => {
            let s = x.to_string();
            problems.add(format!("item {n}: a number as id"));
            m.insert("id".into(), Value::String(s));
        }
        Some(_) => {
            problems.add(format!("item {n}: a bad id"));
            m.remove("id");
        }
        None => {}
    }
    for key in [
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "image",
        "banner_image",
        "date_published",
        "date_modified",
        "language",
    ] {
        if m.get(key).is_some_and(|v| !v.is_string()) {
            problems.add(format!("item {n}: `{key}` is not a string"));
            m.remove(key);
        }
    }
    if let Some(a) = m.get("author").cloned() {
        match a {
            Value::Object(_) => {}
            Value::String(name) => {
                problems.add(format!("item {n}: an author that is a bare name"));
                m.insert("author".into(), serde_json::json!({ "name": name }));
            }
            _ => {
                problems.add(format!("item {n}: a bad author"));
                m.remove("author");
            }
        }
    }
    if m.get("authors").is_some_and(|v| !v.is_array()) {
        problems.add(format!("item {n}: `authors` is not a list"));
        m.remove("authors");
    }
    if m.get("tags").is_some_and(|v| !v.is_array()) {
        problems.add(format!("item {n}: `tags` is not a list"));
        m.remove("tags");
    }
    if let Some(Value::Array(tags)) = m.get_mut("tags") {
        tags.retain(Value::is_string);
    }
    match m.get_mut("attachments") {
        Some(Value::Array(list)) => {
            list.retain(|a| a.get("url").is_some_and(Value::is_string));
            for a in list.iter_mut() {
                if let Value::Object(o) = a
                    && !o.get("mime_type").is_some_and(Value::is_string)
                {
                    o.insert("mime_type".into(), "application/octet-stream".into());
                }
            }
        }
        Some(_) => {
            problems.add(format!("item {n}: `attachments` is not a list"));
            m.remove("attachments");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_counted_outside_comments_and_cdata() {
        let doc = b"<rss xmlns:rss='http://purl.org/rss/1.0/'><channel><!-- <item> --><item><description><![CDATA[<item>]]></description></item><items/><item/>\
                    <content:items><content:item/></content:items><rss:item/></channel></rss>";
        assert_eq!(held(doc), Held::Items(3));
        let atom = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry/><entry></entry></feed>";
        assert_eq!(held(atom), Held::Entries(2));
        assert_eq!(
            held(br#"{"version":"x","items":[{"id":"1"},{"id":"2"},{"id""#),
            Held::Json(2)
        );
    }

    #[test]
    fn fields_are_found_in_any_markup_without_a_panic() {
        for junk in [
            "<link href=é>",
            "<link href=\"x",
            "<title>é",
            "<title",
            "<",
            "&#xFFFFFFFF;&#0;&",
        ] {
            let _ = first_attr(junk, "link", "href");
            let _ = first_field(junk, "title");
            let _ = rebuild(junk, true);
            let _ = rebuild(junk, false);
            let _ = namespace_decls(junk, false);
        }
        assert_eq!(
            first_attr("<link href='a&amp;b'/>", "link", "href").as_deref(),
            Some("a&b")
        );
    }

    #[test]
    fn text_is_repaired_at_the_character_level() {
        let mut p = Problems::default();
        let out = repair_text("Caf&eacute; &amp; B & C &#233 &#x41; &nbsp;x \u{1}", &mut p);
        assert_eq!(out, "Café &amp; B &amp; C é A \u{a0}x ");
        assert_eq!(p.0.len(), 5, "{:?}", p.0);
    }
}
