//! Pure duplicate heuristics: "the same headline" and "the same summary".
//! No SQL. The article's own side of both is computed beside the matcher
//! (`daemon::pipeline::match_articles`), off the store's writer thread;
//! only the stored candidates' summaries are read on it.

use crate::text::hex_digest;
use std::collections::HashSet;

/// A key for "the same headline": the normalized title's digest, for titles
/// of five words or more (short ones are too generic to identify a story).
pub(crate) fn story_title_key(title: &str) -> Option<String> {
    let norm = crate::text::normalize_text(title);
    (norm.split(' ').filter(|w| !w.is_empty()).count() >= 5).then(|| hex_digest(&[norm.as_bytes()]))
}

/// The distinct words of a summary that [`same_summary`] compares (longer
/// than two bytes, normalized), sorted.
pub(crate) fn summary_words(summary: &str) -> Vec<String> {
    let mut v: Vec<String> = crate::text::normalize_text(summary)
        .split(' ')
        .filter(|w| w.len() > 2)
        .map(str::to_string)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Two summaries tell the same story: either is empty, or their word sets
/// overlap by at least half (Dice or Jaccard). `stored` is the text of a
/// stored article; `words` the new one's [`summary_words`].
pub(super) fn same_summary(stored: &str, words: &[String]) -> bool {
    let x: HashSet<String> = summary_words(stored).into_iter().collect();
    let y: HashSet<&str> = words.iter().map(String::as_str).collect();
    if x.is_empty() || y.is_empty() {
        return true;
    }
    let inter = x.iter().filter(|w| y.contains(w.as_str())).count() as f64;
    let union = (x.len() + y.len()) as f64 - inter;
    inter / (x.len() + y.len()) as f64 * 2.0 >= 0.5 || inter / union >= 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_titles() {
        let w = summary_words("Ministers met in Rome to discuss the coalition");
        assert!(same_summary(
            "Ministers met in Rome to discuss the coalition",
            &w
        ));
        assert!(!same_summary(
            "A storm hit the northern coast overnight",
            &w
        ));
        assert!(same_summary("", &w));
        assert!(story_title_key("Too short title").is_none());
        assert_eq!(
            story_title_key("Coalition ministers meet in Rome today"),
            story_title_key("COALITION ministers meet in Rome, today")
        );
    }
}
