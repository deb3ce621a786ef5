//! Canonical article links: absolute, http(s), no fragment, no tracking
//! parameters. Two feeds that link the same story with different campaign
//! tags give the same canonical link, which is how sightings are found.

/// Query parameters that only track the reader, never select content.
fn is_tracking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || n.starts_with("at_")
        || n.starts_with("ns_")
        || n.starts_with("mc_")
        || n.starts_with("pk_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "ocid"
                | "cmpid"
                | "xtor"
                | "_ga"
                | "_gl"
                | "mkt_tok"
                | "smid"
                | "sr_share"
                | "ito"
                | "rss"
                | "ref_src"
        )
}

/// The canonical form of `href`, resolved against `base`; `None` when it is
/// not an http(s) URL.
pub(crate) fn canonical(href: &str, base: Option<&str>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let mut u = match url::Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            url::Url::parse(base?).ok()?.join(href).ok()?
        }
        Err(_) => return None,
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        return None;
    }
    u.set_fragment(None);
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn drops_tracking_and_fragment() {
        assert_eq!(
            canonical("https://EX.org/a/b?utm_source=rss&id=7&fbclid=z#frag", None).as_deref(),
            Some("https://ex.org/a/b?id=7")
        );
        assert_eq!(
            canonical("https://ex.org/x?utm_medium=a", None).as_deref(),
            Some("https://ex.org/x")
        );
        assert_eq!(
            canonical("/p/1", Some("https://ex.org/feed")).as_deref(),
            Some("https://ex.org/p/1")
        );
        assert_eq!(canonical("mailto:a@b", None), None);
        assert_eq!(canonical("/p/1", None), None);
    }
}
