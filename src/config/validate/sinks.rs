//! `[[sink]]`: unique names, known kinds, secrets resolved, what each kind
//! needs, routes to watches that exist, retry and rate settings.

use super::{duration, positive, severity};
use crate::config::diag::Diagnostics;
use crate::config::raw::{self, RawSink, SizeValue};
use crate::config::secrets;
use crate::config::types::{DEFAULT_RETRY, SinkConfig, SinkKind};
use crate::model::Severity;
use crate::rules::RuleSet;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// Validates the sinks of the main file (secret files relative to `base`);
/// `rules` tells which watches they may route.
pub(crate) fn sinks(
    dg: &mut Diagnostics,
    main: usize,
    base: &Path,
    raw_sinks: Vec<RawSink>,
    rules: &RuleSet,
) -> Vec<SinkConfig> {
    let watch_names: BTreeSet<String> = rules.watch_names().map(str::to_string).collect();
    let mut sinks = Vec::new();
    let mut sink_names = HashSet::new();
    for s in raw_sinks {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            dg.issue(main, s.name.span(), "sink `name` is empty");
        } else if !sink_names.insert(name.clone()) {
            dg.issue(
                main,
                s.name.span(),
                format!("sink name {name:?} is used twice"),
            );
        }
        let Some(kind) = SinkKind::parse(s.kind.get_ref()) else {
            dg.issue(main, s.kind.span(), format!("unknown sink kind {:?}; expected webhook, slack, discord, teams, telegram, ntfy or log", s.kind.get_ref()));
            continue;
        };
        let url = secrets::resolve(dg, main, base, &s.url, &s.url_file, "url");
        let secrets = secrets::resolve_list(dg, main, base, &s.secret, &s.secret_file, "secret");
        let token = secrets::resolve(dg, main, base, &s.token, &s.token_file, "token");
        let needs_url = !matches!(kind, SinkKind::Log | SinkKind::Telegram);
        if needs_url && url.is_none() && s.url.is_none() && s.url_file.is_none() {
            dg.issue(
                main,
                s.kind.span(),
                format!("a `{}` sink needs `url` or `url_file`", kind.as_str()),
            );
        }
        if let Some(u) = &url {
            match url::Url::parse(u.expose()) {
                Ok(p) if p.scheme() == "http" || p.scheme() == "https" => {}
                _ => {
                    let span = s
                        .url
                        .as_ref()
                        .or(s.url_file.as_ref())
                        .map_or(0..0, Spanned::span);
                    dg.issue(
                        main,
                        span,
                        format!("sink {name:?}: `url` is not an http(s) URL"),
                    );
                }
            }
        }
        if kind == SinkKind::Telegram && (token.is_none() || s.chat_id.is_none()) {
            dg.issue(
                main,
                s.kind.span(),
                "a `telegram` sink needs `token` (or `token_file`) and `chat_id`",
            );
        }
        let watches = s.watches.as_ref().map(|ws| {
            ws.iter()
                .map(|w| {
                    if !watch_names.contains(w.get_ref()) && !dg.has_issues() {
                        dg.issue(
                            main,
                            w.span(),
                            format!("sink {name:?} routes unknown watch {:?}", w.get_ref()),
                        );
                    }
                    w.get_ref().clone()
                })
                .collect::<Vec<_>>()
        });
        let min_severity = severity(dg, main, &s.min_severity, Severity::Low);
        let retry = retry_schedule(dg, main, &name, &s);
        let retry_after_max = duration(dg, main, &s.retry_after_max, Duration::from_secs(3600));
        let dtimeout = duration(dg, main, &s.timeout, Duration::from_secs(15));
        let max_per_minute = s
            .max_per_minute
            .as_ref()
            .map(|_| positive(dg, main, &s.max_per_minute, 60, 100_000, "`max_per_minute`") as u32);
        let digest = s
            .digest
            .as_ref()
            .map(|_| duration(dg, main, &s.digest, Duration::from_secs(900)));
        let max_body = body_bound(dg, main, &s);
        sinks.push(SinkConfig {
            name,
            kind,
            url,
            secrets,
            token,
            chat_id: s.chat_id.clone(),
            watches,
            tags: s.tags.clone(),
            min_severity,
            retry,
            retry_after_max,
            timeout: dtimeout,
            max_per_minute,
            digest,
            max_body,
        });
    }
    sinks
}

/// A sink's retry schedule: `retry` as written, or the exponential one
/// that `max_attempts`, `retry_base` and `retry_max` describe, or the
/// default. Both forms at once are refused.
fn retry_schedule(dg: &mut Diagnostics, main: usize, name: &str, s: &RawSink) -> Vec<Duration> {
    let shorthand = [
        s.max_attempts.as_ref().map(Spanned::span),
        s.retry_base.as_ref().map(Spanned::span),
        s.retry_max.as_ref().map(Spanned::span),
    ];
    if let Some(list) = &s.retry {
        if let Some(span) = shorthand.iter().flatten().next() {
            dg.issue(
                main,
                span.clone(),
                format!("sink {name:?}: give either `retry` or `max_attempts`/`retry_base`/`retry_max`, not both"),
            );
        }
        if list.get_ref().len() > 1000 {
            dg.issue(
                main,
                list.span(),
                format!(
                    "sink {name:?}: `retry` has {} steps; at most 1000",
                    list.get_ref().len()
                ),
            );
            return DEFAULT_RETRY.to_vec();
        }
        let mut steps = Vec::with_capacity(list.get_ref().len());
        for step in list.get_ref() {
            let d = duration(dg, main, &Some(step.clone()), Duration::from_secs(1));
            if d.is_zero() {
                dg.issue(
                    main,
                    step.span(),
                    format!("sink {name:?}: a `retry` step must be more than 0"),
                );
            }
            steps.push(d);
        }
        return steps;
    }
    if shorthand.iter().all(Option::is_none) {
        return DEFAULT_RETRY.to_vec();
    }
    let attempts = positive(dg, main, &s.max_attempts, 12, 1000, "`max_attempts`");
    let base = duration(dg, main, &s.retry_base, Duration::from_secs(10));
    let max = duration(dg, main, &s.retry_max, Duration::from_secs(3600));
    if base.is_zero() {
        let span = s.retry_base.as_ref().map_or(0..0, Spanned::span);
        dg.issue(
            main,
            span,
            format!("sink {name:?}: `retry_base` must be more than 0"),
        );
    }
    (0..attempts.saturating_sub(1))
        .map(|i| base.saturating_mul(1u32 << i.min(20)).min(max))
        .collect()
}

/// The largest body a sink sends (default 64 KiB, at least 1 KiB).
fn body_bound(dg: &mut Diagnostics, main: usize, s: &RawSink) -> usize {
    const DEFAULT: usize = 64 << 10;
    let Some(v) = &s.max_body else {
        return DEFAULT;
    };
    let r = match v.get_ref() {
        SizeValue::Bytes(n) => {
            u64::try_from(*n).map_err(|_| format!("`max_body` must be positive, not {n}"))
        }
        SizeValue::Text(t) => raw::parse_size(t),
    };
    match r {
        Ok(n) if (1024..=(64 << 20)).contains(&n) => n as usize,
        Ok(n) => {
            dg.issue(
                main,
                v.span(),
                format!("`max_body` must be between 1KiB and 64MiB, not {n} bytes"),
            );
            DEFAULT
        }
        Err(m) => {
            dg.issue(main, v.span(), m);
            DEFAULT
        }
    }
}
