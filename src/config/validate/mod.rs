//! Validation of the main file's sections: one submodule and one function
//! per section (`[storage]`, `[http]`, `[poll]`, `[full_text]`, `[[feed]]`, `[[sink]]`),
//! each taking the raw section, pushing every problem it finds into the
//! [`Diagnostics`] and returning the validated section (with defaults where
//! a value was wrong, so that later checks still run). Here too are the
//! value checks they share: durations, counts and severities.

mod feeds;
mod full_text;
mod http;
mod poll;
mod sinks;
mod storage;

pub(crate) use feeds::feeds;
pub use feeds::normalize_feed_url;
pub(crate) use full_text::full_text;
pub(crate) use http::http;
pub(crate) use poll::poll;
pub(crate) use sinks::sinks;
pub(crate) use storage::storage;

use super::diag::Diagnostics;
use super::raw;
use crate::model::Severity;
use std::time::Duration;
use toml::Spanned;

/// A duration, or `default` when absent or (recorded) unreadable.
pub(crate) fn duration(
    dg: &mut Diagnostics,
    file: usize,
    v: &Option<Spanned<String>>,
    default: Duration,
) -> Duration {
    match v {
        None => default,
        Some(s) => match raw::parse_duration(s.get_ref()) {
            Ok(d) => d,
            Err(m) => {
                dg.issue(file, s.span(), m);
                default
            }
        },
    }
}

/// A size in bytes (more than 0), or `default` when absent or (recorded)
/// unreadable.
pub(crate) fn size(
    dg: &mut Diagnostics,
    file: usize,
    v: &Option<Spanned<raw::SizeValue>>,
    default: u64,
    name: &str,
) -> u64 {
    let Some(v) = v else {
        return default;
    };
    let r = match v.get_ref() {
        raw::SizeValue::Bytes(n) if *n > 0 => Ok(*n as u64),
        raw::SizeValue::Bytes(n) => Err(format!("`{name}` must be positive, not {n}")),
        raw::SizeValue::Text(s) => raw::parse_size(s),
    };
    match r {
        Ok(0) => {
            dg.issue(file, v.span(), format!("`{name}` must be more than 0"));
            default
        }
        Ok(n) => n,
        Err(m) => {
            dg.issue(file, v.span(), m);
            default
        }
    }
}

/// A count from 1 to `max`, or `default` when absent or (recorded) out of
/// range.
pub(crate) fn positive(
    dg: &mut Diagnostics,
    file: usize,
    v: &Option<Spanned<i64>>,
    default: usize,
    max: usize,
    what: &str,
) -> usize {
    match v {
        None => default,
        Some(n) => {
            let x = *n.get_ref();
            if x < 1 || x as u64 > max as u64 {
                dg.issue(
                    file,
                    n.span(),
                    format!("{what} must be between 1 and {max}, not {x}"),
                );
                default
            } else {
                x as usize
            }
        }
    }
}

/// A severity, or `default` when absent or (recorded) unknown.
pub(crate) fn severity(
    dg: &mut Diagnostics,
    file: usize,
    v: &Option<Spanned<String>>,
    default: Severity,
) -> Severity {
    match v {
        None => default,
        Some(s) => Severity::parse(s.get_ref()).unwrap_or_else(|| {
            dg.issue(
                file,
                s.span(),
                format!(
                    "unknown severity {:?}; expected low, medium, high or critical",
                    s.get_ref()
                ),
            );
            default
        }),
    }
}
