//! OPML: reading a subscription list exported by a feed reader into feed
//! entries (`newswatch feeds import`), and writing the configured feeds as
//! OPML (`newswatch feeds export`). Nested outlines become tags; `xmlUrl`
//! names the feed, `title` or `text` its name.

use crate::config::FeedConfig;
use quick_xml::events::{BytesStart, Event};

/// A feed found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpmlFeed {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`.
    pub name: Option<String>,
    /// The names of the outlines it is nested in.
    pub folders: Vec<String>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name))
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
        .filter(|v| !v.is_empty())
}

/// Reads the feeds of an OPML document; an error names the byte offset.
pub(crate) fn parse(text: &str) -> Result<Vec<OpmlFeed>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // For each open <outline>: the folder name it pushed, if any.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "opml" => {
                saw_opml = true;
                let _ = e;
            }
            Event::Start(ref e) if e.local_name().as_ref() == "outline" => {
                let folder = if let Some(url) = attr(e, "xmlUrl") {
                    out.push(feed(e, url, &stack));
                    None
                } else {
                    attr(e, "title").or_else(|| attr(e, "text"))
                };
                stack.push(folder);
            }
            Event::Empty(ref e) if e.local_name().as_ref() == "outline" => {
                if let Some(url) = attr(e, "xmlUrl") {
                    out.push(feed(e, url, &stack));
                }
            }
            Event::End(ref e) if e.local_name().as_ref() == "outline" => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err("not an OPML document (no <opml> element)".into());
    }
    Ok(out)
}

fn feed(e: &BytesStart<'_>, url: String, stack: &[Option<String>]) -> OpmlFeed {
    OpmlFeed {
        url,
        name: attr(e, "title").or_else(|| attr(e, "text")),
        folders: stack.iter().flatten().cloned().collect(),
    }
}

/// A folder name as a tag: lowercase words joined by `-`.
pub(crate) fn tag_of(folder: &str) -> String {
    folder
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// `[[feed]]` entries for `feeds`, as TOML text.
pub(crate) fn to_toml(feeds: &[OpmlFeed]) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut s = String::from("# Feeds imported from OPML by `newswatch feeds import`.\n");
    for f in feeds {
        s.push_str("\n[[feed]]\n");
        s.push_str(&format!("url = {}\n", q(&f.url)));
        if let Some(n) = &f.name {
            s.push_str(&format!("name = {}\n", q(n)));
        }
        let tags: Vec<String> = f.folders.iter().map(|t| q(&tag_of(t))).collect();
        if !tags.is_empty() {
            s.push_str(&format!("tags = [{}]\n", tags.join(", ")));
        }
    }
    s
}

/// The configured feeds as an OPML 2.0 document (tags as `category`).
pub(crate) fn render(feeds: &[FeedConfig]) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>newswatch feeds</title></head>\n  <body>\n",
    );
    for f in feeds {
        let cat = if f.tags.is_empty() {
            String::new()
        } else {
            format!(" category=\"{}\"", esc(&f.tags.join(",")))
        };
        s.push_str(&format!(
            "    <outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\"{cat}/>\n",
            n = esc(&f.name),
            u = esc(&f.url)
        ));
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_become_tags() {
        let doc = r#"<?xml version="1.0"?><opml version="1.0"><head/><body>
          <outline text="Middle East &amp; Africa"><outline text="Sahel">
            <outline type="rss" text="RFI" xmlUrl="https://rfi.example/afrique/rss"/>
          </outline></outline>
          <outline title="BBC" text="ignored" xmlUrl="https://bbc.example/world.xml"></outline>
        </body></opml>"#;
        let feeds = parse(doc).unwrap();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].folders, ["Middle East & Africa", "Sahel"]);
        assert_eq!(feeds[1].name.as_deref(), Some("BBC"));
        assert_eq!(tag_of(&feeds[0].folders[0]), "middle-east-africa");
        assert!(parse("<rss/>").is_err());
        assert!(parse("<opml><body><outline").is_err());
    }
}
