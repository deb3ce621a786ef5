//! `[full_text]`: whether and how the article pages of short items are
//! fetched (word threshold, wait, rate, body cap, private addresses).

use super::{duration, positive, size};
use crate::config::diag::Diagnostics;
use crate::config::raw::RawFullText;
use crate::config::types::FullTextConfig;

/// Validates `[full_text]` of the main file.
pub(crate) fn full_text(dg: &mut Diagnostics, main: usize, raw: &RawFullText) -> FullTextConfig {
    let d = FullTextConfig::default();
    let timeout = duration(dg, main, &raw.timeout, d.timeout);
    if let Some(v) = &raw.timeout
        && timeout.is_zero()
    {
        dg.issue(main, v.span(), "`full_text.timeout` must be more than 0");
    }
    FullTextConfig {
        enabled: raw.enabled.unwrap_or(d.enabled),
        min_words: positive(
            dg,
            main,
            &raw.min_words,
            d.min_words,
            100_000,
            "`full_text.min_words`",
        ),
        timeout: if timeout.is_zero() {
            d.timeout
        } else {
            timeout
        },
        per_minute: positive(
            dg,
            main,
            &raw.per_minute,
            d.per_minute,
            1_000_000,
            "`full_text.per_minute`",
        ),
        max_body: size(dg, main, &raw.max_body, d.max_body, "full_text.max_body"),
        allow_private: raw.allow_private.unwrap_or(d.allow_private),
    }
}
