//! `[http]`: user agent, timeouts, body cap, concurrency and per-host
//! politeness.

use super::{duration, positive, size};
use crate::config::diag::Diagnostics;
use crate::config::raw::RawHttp;
use crate::config::types::HttpConfig;
use std::time::Duration;

/// Validates `[http]` of the main file.
pub(crate) fn http(dg: &mut Diagnostics, main: usize, http: &RawHttp) -> HttpConfig {
    let user_agent = match &http.user_agent {
        Some(u) if u.get_ref().trim().is_empty() || u.get_ref().contains(['\r', '\n']) => {
            dg.issue(
                main,
                u.span(),
                "`http.user_agent` must be one non-empty line",
            );
            default_user_agent()
        }
        Some(u) => u.get_ref().clone(),
        None => default_user_agent(),
    };
    let timeout = duration(dg, main, &http.timeout, Duration::from_secs(30));
    let connect_timeout = duration(dg, main, &http.connect_timeout, Duration::from_secs(10));
    for (d, v, name) in [
        (timeout, &http.timeout, "http.timeout"),
        (
            connect_timeout,
            &http.connect_timeout,
            "http.connect_timeout",
        ),
    ] {
        if let Some(v) = v
            && d.is_zero()
        {
            dg.issue(main, v.span(), format!("`{name}` must be more than 0"));
        }
    }
    let max_body = size(dg, main, &http.max_body, 10 << 20, "http.max_body");
    let concurrency = positive(dg, main, &http.concurrency, 32, 4096, "`http.concurrency`");
    let per_host = positive(dg, main, &http.per_host, 2, 256, "`http.per_host`");
    let host_spacing = duration(dg, main, &http.host_spacing, Duration::from_millis(250));
    HttpConfig {
        user_agent,
        timeout,
        connect_timeout,
        max_body,
        concurrency,
        per_host,
        host_spacing,
    }
}

fn default_user_agent() -> String {
    format!(
        "newswatch/{} (+https://github.com/newswatch/newswatch)",
        env!("CARGO_PKG_VERSION")
    )
}
