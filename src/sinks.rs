//! Native message formats for chat and push services: Slack (incoming
//! webhook, Block Kit with mrkdwn), Discord (webhook embed), Microsoft Teams
//! (workflow webhook with an Adaptive Card), Telegram (Bot API
//! `sendMessage`, HTML) and ntfy (JSON publishing). Each carries the same
//! facts as the generic webhook: title, link, source, watches with
//! severity, matched terms and the snippet. Text from feeds is escaped for
//! each format, so a headline can never inject markup or mentions.

use crate::alert::{Delivery, top_severity};
use crate::config::{SinkConfig, SinkKind};
use crate::model::{Severity, WatchMatch};
use crate::store::PendingAlert;
use serde_json::{Value, json};

/// The facts every format shows.
struct Facts<'a> {
    title: &'a str,
    url: Option<&'a str>,
    source: &'a str,
    severity: Severity,
    watches: String,
    terms: String,
    snippet: &'a str,
    also: String,
    /// "Meeting: …" for a coalition-meeting article, when facts were found.
    meeting: Option<String>,
}

fn facts<'a>(a: &'a PendingAlert, watches: &[&'a WatchMatch]) -> Facts<'a> {
    let mut terms: Vec<&str> = Vec::new();
    for w in watches {
        for t in &w.terms {
            if !terms.contains(&t.term.as_str()) {
                terms.push(&t.term);
            }
        }
    }
    Facts {
        title: &a.article.title,
        url: a.article.url.as_deref(),
        source: &a.article.feed_name,
        severity: top_severity(watches),
        watches: watches
            .iter()
            .map(|w| format!("{} ({})", w.watch, w.severity))
            .collect::<Vec<_>>()
            .join(", "),
        terms: terms.join(", "),
        snippet: watches.first().map_or("", |w| w.snippet.as_str()),
        also: a
            .also_seen_in
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        meeting: a.article.event.as_ref().and_then(|(_, f)| f.line()),
    }
}

/// Slack mrkdwn: `&`, `<`, `>` are the only control characters.
pub(crate) fn escape_slack(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Markdown (Discord, Teams): backslash before every formatting character,
/// and no mass mentions.
pub(crate) fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '#'
                | '['
                | ']'
                | '('
                | ')'
                | '-'
                | '+'
                | '!'
                | '<'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out.replace("@everyone", "@\u{200b}everyone")
        .replace("@here", "@\u{200b}here")
}

/// HTML text (Telegram `parse_mode=HTML`).
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn color(sev: Severity) -> u32 {
    match sev {
        Severity::Critical => 0xB0_00_20,
        Severity::High => 0xE0_60_00,
        Severity::Medium => 0xE0_B0_00,
        Severity::Low => 0x60_80_A0,
    }
}

/// Where to POST and what, for a chat or push sink.
pub(crate) fn render(
    sink: &SinkConfig,
    a: &PendingAlert,
    watches: &[&WatchMatch],
) -> Option<(String, Value)> {
    let f = facts(a, watches);
    let base = sink
        .url
        .as_ref()
        .map(|u| u.expose().trim_end_matches('/').to_string());
    match sink.kind {
        SinkKind::Slack => {
            let title = match f.url {
                Some(u) => format!("<{}|{}>", escape_slack(u), escape_slack(f.title)),
                None => format!("*{}*", escape_slack(f.title)),
            };
            let mut lines = vec![
                format!("*[{}]* {}", f.severity, title),
                format!(
                    "*Watches:* {}   *Source:* {}",
                    escape_slack(&f.watches),
                    escape_slack(f.source)
                ),
                format!("*Terms:* {}", escape_slack(&f.terms)),
                format!(">{}", escape_slack(f.snippet)),
            ];
            if !f.also.is_empty() {
                lines.push(format!("*Also seen in:* {}", escape_slack(&f.also)));
            }
            if let Some(m) = &f.meeting {
                lines.push(escape_slack(m));
            }
            let body = json!({
                "text": format!("[{}] {}", f.severity, escape_slack(f.title)),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}}],
            });
            Some((base?, body))
        }
        SinkKind::Discord => {
            let mut fields = vec![
                json!({"name": "Watches", "value": escape_markdown(&f.watches), "inline": true}),
                json!({"name": "Source", "value": escape_markdown(f.source), "inline": true}),
                json!({"name": "Terms", "value": escape_markdown(&f.terms)}),
            ];
            if !f.also.is_empty() {
                fields.push(json!({"name": "Also seen in", "value": escape_markdown(&f.also)}));
            }
            if let Some(m) = &f.meeting {
                fields.push(json!({"name": "Meeting", "value": escape_markdown(m.trim_start_matches("Meeting: "))}));
            }
            let mut embed = json!({
                "title": truncate(&format!("[{}] {}", f.severity, f.title), 250),
                "description": truncate(&escape_markdown(f.snippet), 4000),
                "color": color(f.severity),
                "fields": fields,
                "footer": {"text": format!("newswatch alert {}", a.id)},
            });
            if let Some(u) = f.url {
                embed["url"] = json!(u);
            }
            Some((
                base?,
                json!({"content": "", "embeds": [embed], "allowed_mentions": {"parse": []}}),
            ))
        }
        SinkKind::Teams => {
            let text = |t: String, weight: Option<&str>| {
                let mut b = json!({"type": "TextBlock", "text": t, "wrap": true});
                if let Some(w) = weight {
                    b["weight"] = json!(w);
                }
                b
            };
            let mut body = vec![
                text(
                    format!("[{}] {}", f.severity, escape_markdown(f.title)),
                    Some("Bolder"),
                ),
                text(
                    format!(
                        "Watches: {} — Source: {}",
                        escape_markdown(&f.watches),
                        escape_markdown(f.source)
                    ),
                    None,
                ),
                text(format!("Terms: {}", escape_markdown(&f.terms)), None),
                text(escape_markdown(f.snippet), None),
            ];
            if !f.also.is_empty() {
                body.push(text(
                    format!("Also seen in: {}", escape_markdown(&f.also)),
                    None,
                ));
            }
            if let Some(m) = &f.meeting {
                body.push(text(escape_markdown(m), None));
            }
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            });
            if let Some(u) = f.url {
                card["actions"] =
                    json!([{"type": "Action.OpenUrl", "title": "Open the article", "url": u}]);
            }
            let msg = json!({
                "type": "message",
                "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
            });
            Some((base?, msg))
        }
        SinkKind::Telegram => {
            let token = sink.token.as_ref()?;
            let api = base.unwrap_or_else(|| "https://api.telegram.org".into());
            let title = match f.url {
                Some(u) => format!(
                    "<a href=\"{}\">{}</a>",
                    escape_html(u),
                    escape_html(f.title)
                ),
                None => format!("<b>{}</b>", escape_html(f.title)),
            };
            let mut text = format!(
                "<b>[{}]</b> {}\n<b>Watches:</b> {}\n<b>Source:</b> {}\n<b>Terms:</b> {}\n<i>{}</i>",
                f.severity,
                title,
                escape_html(&f.watches),
                escape_html(f.source),
                escape_html(&f.terms),
                escape_html(f.snippet)
            );
            if !f.also.is_empty() {
                text.push_str(&format!("\n<b>Also seen in:</b> {}", escape_html(&f.also)));
            }
            if let Some(m) = &f.meeting {
                text.push_str(&format!("\n{}", escape_html(m)));
            }
            let body = json!({"chat_id": sink.chat_id, "text": truncate(&text, 4000), "parse_mode": "HTML"});
            Some((format!("{api}/bot{}/sendMessage", token.expose()), body))
        }
        SinkKind::Ntfy => {
            // JSON publishing: POST to the server root with the topic inside.
            let url = base?;
            let (server, topic) = url.rsplit_once('/')?;
            let priority = ntfy_priority(f.severity);
            let mut message = format!(
                "{}\nWatches: {}\nSource: {}\nTerms: {}",
                f.snippet, f.watches, f.source, f.terms
            );
            if !f.also.is_empty() {
                message.push_str(&format!("\nAlso seen in: {}", f.also));
            }
            if let Some(m) = &f.meeting {
                message.push_str(&format!("\n{m}"));
            }
            let mut body = json!({
                "topic": topic,
                "title": truncate(&format!("[{}] {}", f.severity, f.title), 250),
                "message": truncate(&message, 3800),
                "priority": priority,
                "tags": watches.iter().map(|w| w.watch.clone()).collect::<Vec<_>>(),
            });
            if let Some(u) = f.url {
                body["click"] = json!(u);
            }
            Some((server.to_string(), body))
        }
        SinkKind::Webhook | SinkKind::Email | SinkKind::Log => None,
    }
}

/// ntfy priority (1–5) for a severity.
fn ntfy_priority(s: Severity) -> u8 {
    match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
    }
}

/// POSTs a rendered message with its `Idempotency-Key`.
async fn post(
    client: &reqwest::Client,
    sink: &SinkConfig,
    rendered: Option<(String, Value)>,
    key: &str,
) -> Delivery {
    let Some((url, body)) = rendered else {
        return Delivery::transient(format!(
            "the {} sink is missing its url or token",
            sink.kind.as_str()
        ));
    };
    let req = client
        .post(url)
        .timeout(sink.timeout)
        .header("Idempotency-Key", key)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    crate::alert::classify(req.send().await).await
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Sends one alert to a chat or push sink.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    sink: &SinkConfig,
    a: &PendingAlert,
    watches: &[&WatchMatch],
) -> Delivery {
    post(client, sink, render(sink, a, watches), &a.id).await
}

/// Sends several alerts as one chat or push message: a list of the alerts,
/// each with severity, title and link; the key is the digest's.
pub(crate) async fn deliver_digest(
    client: &reqwest::Client,
    sink: &SinkConfig,
    key: &str,
    alerts: &[&PendingAlert],
    watches: &[Vec<&WatchMatch>],
) -> Delivery {
    let n = alerts.len();
    let entries: Vec<(Severity, &str, Option<&str>)> = alerts
        .iter()
        .zip(watches)
        .map(|(a, w)| {
            (
                top_severity(w),
                a.article.title.as_str(),
                a.article.url.as_deref(),
            )
        })
        .collect();
    let base = sink
        .url
        .as_ref()
        .map(|u| u.expose().trim_end_matches('/').to_string());
    let header = format!("newswatch digest: {n} alerts");
    let rendered: Option<(String, Value)> = match sink.kind {
        SinkKind::Slack => {
            let lines: Vec<String> = entries
                .iter()
                .map(|(s, t, u)| match u {
                    Some(u) => format!("• *[{s}]* <{}|{}>", escape_slack(u), escape_slack(t)),
                    None => format!("• *[{s}]* {}", escape_slack(t)),
                })
                .collect();
            base.map(|b| (b, json!({"text": header, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": format!("*{header}*\n{}", lines.join("\n"))}}]})))
        }
        SinkKind::Discord => {
            let lines: Vec<String> = entries
                .iter()
                .map(|(s, t, u)| format!("[{s}] {}{}", escape_markdown(t), u.map(|u| format!(" <{u}>")).unwrap_or_default()))
                .collect();
            base.map(|b| (b, json!({"content": truncate(&format!("**{header}**\n{}", lines.join("\n")), 1900), "allowed_mentions": {"parse": []}})))
        }
        SinkKind::Teams => {
            let mut body = vec![json!({"type": "TextBlock", "text": header, "weight": "Bolder", "wrap": true})];
            for (s, t, u) in &entries {
                let text = match u {
                    Some(u) => format!("[{s}] [{}]({u})", escape_markdown(t)),
                    None => format!("[{s}] {}", escape_markdown(t)),
                };
                body.push(json!({"type": "TextBlock", "text": text, "wrap": true}));
            }
            base.map(|b| {
                (b, json!({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}}]}))
            })
        }
        SinkKind::Telegram => sink.token.as_ref().map(|token| {
            let api = base.clone().unwrap_or_else(|| "https://api.telegram.org".into());
            let lines: Vec<String> = entries
                .iter()
                .map(|(s, t, u)| match u {
                    Some(u) => format!("• <b>[{s}]</b> <a href=\"{}\">{}</a>", escape_html(u), escape_html(t)),
                    None => format!("• <b>[{s}]</b> {}", escape_html(t)),
                })
                .collect();
            let text = truncate(&format!("<b>{}</b>\n{}", escape_html(&header), lines.join("\n")), 4000);
            (format!("{api}/bot{}/sendMessage", token.expose()), json!({"chat_id": sink.chat_id, "text": text, "parse_mode": "HTML"}))
        }),
        SinkKind::Ntfy => base.and_then(|b| {
            let (server, topic) = b.rsplit_once('/')?;
            let lines: Vec<String> = entries.iter().map(|(s, t, u)| format!("[{s}] {t}{}", u.map(|u| format!(" {u}")).unwrap_or_default())).collect();
            let top = entries.iter().map(|e| e.0).max().unwrap_or(Severity::Low);
            let priority = ntfy_priority(top);
            Some((server.to_string(), json!({"topic": topic, "title": header, "message": truncate(&lines.join("\n"), 3800), "priority": priority})))
        }),
        SinkKind::Webhook | SinkKind::Email | SinkKind::Log => None,
    };
    post(client, sink, rendered, key).await
}
