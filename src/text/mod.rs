//! Text handling shared by `parse` and `rules`: HTML to plain text
//! ([`html`]), the matching normalization ([`normalize`](mod@normalize)),
//! and digests (here).
//!
//! Normalization is the one definition of "the same word" in newswatch: rule
//! terms and article text both go through [`normalize()`], so a term matches
//! exactly when its normalized form appears on word boundaries in the
//! normalized text. It is pure and allocation-light: ASCII takes a fast path,
//! everything else goes through Unicode NFKD with marks dropped (which is
//! NFKC plus diacritics removal for matching purposes), case folding and
//! Arabic letter unification.

pub mod html;
pub mod normalize;

pub use html::{collapse_ws, html_to_text};
pub use normalize::{
    Feed, Normalized, WordSpan, feed, is_arabic, normalize, normalize_keep_case, normalize_text,
};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of the concatenated parts.
pub fn hex_digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let out = h.finalize();
    let mut s = String::with_capacity(64);
    for b in out.iter() {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s
}
