//! `[[feed]]`, from the main file and the included feed lists: URLs
//! normalized and unique, names defaulted, intervals bounded by `[poll]`.

use super::duration;
use crate::config::diag::Diagnostics;
use crate::config::raw::RawFeed;
use crate::config::types::{FeedConfig, PollConfig};
use std::collections::HashSet;

/// Validates every feed, each with the index of the file it is written in.
pub(crate) fn feeds(
    dg: &mut Diagnostics,
    raw_feeds: Vec<(usize, RawFeed)>,
    poll: &PollConfig,
) -> Vec<FeedConfig> {
    let mut feeds = Vec::new();
    let mut seen_urls = HashSet::new();
    for (fi, f) in raw_feeds {
        let url = match normalize_feed_url(f.url.get_ref()) {
            Ok(u) => u,
            Err(m) => {
                dg.issue(fi, f.url.span(), m);
                continue;
            }
        };
        if !seen_urls.insert(url.clone()) {
            dg.issue(fi, f.url.span(), format!("feed {url} is listed twice"));
            continue;
        }
        let iv = duration(dg, fi, &f.interval, poll.interval);
        if let Some(v) = &f.interval
            && (iv < poll.min_interval || iv > poll.max_interval)
        {
            dg.warn(format!(
                "{}: feed {url}: interval {} is outside poll.min_interval..poll.max_interval and is clamped",
                dg.path(fi).display(),
                v.get_ref()
            ));
        }
        let name = f
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| url.clone())
            });
        feeds.push(FeedConfig {
            url,
            name,
            interval: iv.clamp(
                poll.min_interval.min(poll.max_interval),
                poll.max_interval.max(poll.min_interval),
            ),
            tags: f.tags.clone(),
            enabled: f.enabled.unwrap_or(true),
            full_text: f.full_text,
        });
    }
    feeds
}

/// Normalizes a feed URL: parsed, http(s) only, fragment dropped.
pub fn normalize_feed_url(s: &str) -> Result<String, String> {
    let mut u = url::Url::parse(s.trim()).map_err(|e| format!("bad URL {s:?}: {e}"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!(
            "bad URL {s:?}: only http and https feeds are supported"
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("bad URL {s:?}: no host"));
    }
    u.set_fragment(None);
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_urls_are_normalized() {
        assert_eq!(
            normalize_feed_url(" https://Example.org/a?x=1#top "),
            Ok("https://example.org/a?x=1".to_string())
        );
        assert_eq!(
            normalize_feed_url("ftp://example.org/"),
            Err(
                "bad URL \"ftp://example.org/\": only http and https feeds are supported"
                    .to_string()
            )
        );
        assert!(normalize_feed_url("example.org/feed").is_err());
    }
}
