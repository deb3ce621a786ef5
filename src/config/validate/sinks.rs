//! `[[sink]]`: unique names, known kinds, secrets resolved, what each kind
//! needs, routes to watches that exist, retry and rate settings.

use super::{duration, positive, severity};
use crate::config::diag::Diagnostics;
use crate::config::raw::{self, RawSink, SizeValue};
use crate::config::secrets;
use crate::config::types::{DEFAULT_RETRY, EmailConfig, SinkConfig, SinkKind, SmtpTls};
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
            dg.issue(main, s.kind.span(), format!("unknown sink kind {:?}; expected webhook, slack, discord, teams, telegram, ntfy, email or log", s.kind.get_ref()));
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
        if let Some(u) = &url
            && kind != SinkKind::Email
        {
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
        let email = if kind == SinkKind::Email {
            email(dg, main, base, &name, &s, url.as_ref())
        } else {
            for (v, key) in [
                (&s.from, "from"),
                (&s.username, "username"),
                (&s.password, "password"),
                (&s.password_file, "password_file"),
            ] {
                if let Some(v) = v {
                    dg.issue(
                        main,
                        v.span(),
                        format!("sink {name:?}: `{key}` is for `email` sinks"),
                    );
                }
            }
            if let Some(v) = &s.to {
                dg.issue(
                    main,
                    v.span(),
                    format!("sink {name:?}: `to` is for `email` sinks"),
                );
            }
            None
        };
        for k in &secrets {
            if let Some(b) = k.expose().strip_prefix("whsec_") {
                use base64::Engine as _;
                if base64::engine::general_purpose::STANDARD.decode(b).is_err() {
                    let span = s
                        .secret
                        .as_ref()
                        .or(s.secret_file.as_ref())
                        .map_or(0..0, Spanned::span);
                    dg.issue(
                        main,
                        span,
                        format!("sink {name:?}: a `whsec_` secret must be followed by base64"),
                    );
                }
            }
        }
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
            email,
            follow_ups: s.follow_ups.unwrap_or(true),
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

/// An `email` sink's server (from `url`), envelope and credentials.
fn email(
    dg: &mut Diagnostics,
    main: usize,
    base: &Path,
    name: &str,
    s: &RawSink,
    url: Option<&crate::config::Secret>,
) -> Option<EmailConfig> {
    let url_span = s
        .url
        .as_ref()
        .or(s.url_file.as_ref())
        .map_or(s.kind.span(), Spanned::span);
    let u = url.and_then(|u| url::Url::parse(u.expose()).ok());
    let Some(u) = u else {
        dg.issue(main, url_span.clone(), format!("sink {name:?}: an `email` sink needs `url = \"smtp://host:port\"` (STARTTLS) or `\"smtps://host:port\"` (TLS)"));
        return None;
    };
    let host = u
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let plain = u.query_pairs().any(|(k, v)| k == "tls" && v == "none");
    let tls = match u.scheme() {
        "smtps" => SmtpTls::Implicit,
        "smtp" if plain => SmtpTls::None,
        "smtp" => SmtpTls::StartTls,
        other => {
            dg.issue(
                main,
                url_span.clone(),
                format!("sink {name:?}: unknown mail URL scheme {other:?}; expected smtp or smtps"),
            );
            return None;
        }
    };
    if host.is_empty() {
        dg.issue(
            main,
            url_span.clone(),
            format!("sink {name:?}: the mail URL has no host"),
        );
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if tls == SmtpTls::None && !loopback {
        dg.issue(main, url_span.clone(), format!("sink {name:?}: `tls=none` is allowed only for a relay on loopback (mail and passwords would cross the network in clear)"));
    }
    let port = u.port().unwrap_or(match tls {
        SmtpTls::Implicit => 465,
        SmtpTls::StartTls => 587,
        SmtpTls::None => 25,
    });
    let mailbox = |dg: &mut Diagnostics, v: &str, span: std::ops::Range<usize>, what: &str| {
        if v.parse::<lettre::message::Mailbox>().is_err() {
            dg.issue(
                main,
                span,
                format!("sink {name:?}: {what} {v:?} is not a mail address"),
            );
        }
        v.to_string()
    };
    let from = match &s.from {
        Some(f) => mailbox(dg, f.get_ref(), f.span(), "`from`"),
        None => {
            dg.issue(
                main,
                s.kind.span(),
                format!("sink {name:?}: an `email` sink needs `from`"),
            );
            String::new()
        }
    };
    let to = match &s.to {
        Some(t) => {
            let vals: Vec<String> = t
                .get_ref()
                .values()
                .into_iter()
                .map(str::to_string)
                .collect();
            if vals.is_empty() {
                dg.issue(main, t.span(), format!("sink {name:?}: `to` is empty"));
            }
            vals.iter()
                .map(|v| mailbox(dg, v, t.span(), "recipient"))
                .collect()
        }
        None => {
            dg.issue(
                main,
                s.kind.span(),
                format!("sink {name:?}: an `email` sink needs `to`"),
            );
            Vec::new()
        }
    };
    let password = secrets::resolve(dg, main, base, &s.password, &s.password_file, "password");
    let username = s.username.as_ref().map(|u| u.get_ref().clone());
    if password.is_some() != username.is_some() {
        dg.issue(
            main,
            s.kind.span(),
            format!("sink {name:?}: give `username` and `password` (or `password_file`) together"),
        );
    }
    if password.is_some() && tls == SmtpTls::None {
        dg.issue(
            main,
            url_span.clone(),
            format!("sink {name:?}: a password is never sent without TLS"),
        );
    }
    Some(EmailConfig {
        host,
        port,
        tls,
        from,
        to,
        username,
        password,
    })
}
