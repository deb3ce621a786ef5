//! The `email` sink: one message per alert, or one per digest, sent over
//! SMTP (STARTTLS, implicit TLS, or plain on loopback) with `lettre`. Each
//! message has a plain-text and an HTML alternative with the same facts as
//! the webhook; feed text is escaped for HTML and cut to the sink's body
//! bound. The `Message-ID` is derived from the alert (or digest) id, so a
//! resend after a crash is recognisable. Answers are classified as the
//! webhook's are: credentials refused fail the sink, a message refused for
//! good is a rejection, anything else is transient.

use crate::alert::{Delivery, FailKind, cut_at_word, rfc3339, top_severity};
use crate::config::{EmailConfig, SinkConfig, SmtpTls};
use crate::model::WatchMatch;
use crate::sinks::escape_html;
use crate::store::PendingAlert;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt::Write as _;

/// The text and HTML of one alert, its texts cut to `limit` bytes.
fn render(
    a: &PendingAlert,
    watches: &[&WatchMatch],
    limit: usize,
    text: &mut String,
    html: &mut String,
) {
    let art = &a.article;
    let title = cut_at_word(&art.title, limit.min(1000));
    let summary = cut_at_word(&art.summary, limit);
    let snippet = cut_at_word(watches.first().map_or("", |w| w.snippet.as_str()), limit);
    let names: Vec<String> = watches
        .iter()
        .map(|w| format!("{} ({})", w.watch, w.severity))
        .collect();
    let published = art
        .published
        .map(rfc3339)
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(text, "[{}] {}", top_severity(watches), one_line(&title));
    if let Some(u) = &art.url {
        let _ = writeln!(text, "{}", one_line(u));
    }
    let _ = writeln!(text, "Watches: {}", names.join(", "));
    let _ = writeln!(text, "Source: {} ({published})", one_line(&art.feed_name));
    let _ = writeln!(text, "\n{}\n\n{}", one_line(&snippet), summary.trim());
    for (name, _, url) in &a.also_seen_in {
        let _ = writeln!(
            text,
            "Also seen in: {} {}",
            one_line(name),
            url.as_deref().unwrap_or("")
        );
    }
    let meeting = art.event.as_ref().and_then(|(_, f)| f.line());
    if let Some(m) = &meeting {
        let _ = writeln!(text, "{}", one_line(m));
    }
    let _ = writeln!(text, "Alert id: {}\n", a.id);

    let heading = match &art.url {
        Some(u) => format!("<a href=\"{}\">{}</a>", escape_html(u), escape_html(&title)),
        None => escape_html(&title),
    };
    let _ = write!(
        html,
        "<h2>[{}] {heading}</h2>\n<p><b>Watches:</b> {}<br>\n<b>Source:</b> {} ({})</p>\n<blockquote>{}</blockquote>\n<p>{}</p>\n",
        top_severity(watches),
        escape_html(&names.join(", ")),
        escape_html(&art.feed_name),
        escape_html(&published),
        escape_html(&snippet),
        escape_html(summary.trim())
    );
    if !a.also_seen_in.is_empty() {
        let seen: Vec<String> = a
            .also_seen_in
            .iter()
            .map(|(n, _, _)| escape_html(n))
            .collect();
        let _ = writeln!(html, "<p><b>Also seen in:</b> {}</p>", seen.join(", "));
    }
    if let Some(m) = &meeting {
        let _ = writeln!(html, "<p><b>{}</b></p>", escape_html(m));
    }
    let _ = writeln!(
        html,
        "<p><small>Alert id {}</small></p><hr>",
        escape_html(&a.id)
    );
}

/// Control characters (a feed could embed them) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Builds the message for `alerts` (one, or a digest keyed `key`).
pub(crate) fn message(
    sink: &SinkConfig,
    mail: &EmailConfig,
    key: &str,
    alerts: &[&PendingAlert],
    watches: &[Vec<&WatchMatch>],
) -> Result<Message, String> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| format!("bad `from` address: {e}"))?;
    let domain = from.email.domain().to_string();
    let subject = match (alerts, watches) {
        ([a], [w]) => {
            let names: Vec<&str> = w.iter().map(|m| m.watch.as_str()).collect();
            format!(
                "[{}] {}: {}",
                top_severity(w),
                names.join(", "),
                cut_at_word(&one_line(&a.article.title), 200)
            )
        }
        _ => {
            let top = watches
                .iter()
                .map(|w| top_severity(w))
                .max()
                .unwrap_or(crate::model::Severity::Low);
            format!("[{top}] newswatch digest: {} alerts", alerts.len())
        }
    };
    // Texts share the body bound (two alternatives of every alert).
    let limit = (sink.max_body / 2 / alerts.len().max(1)).max(256);
    let (mut text, mut html) = (String::new(), String::from("<html><body>\n"));
    for (a, w) in alerts.iter().zip(watches) {
        render(a, w, limit, &mut text, &mut html);
    }
    html.push_str("</body></html>");
    let mut b = Message::builder()
        .from(from)
        .subject(subject)
        .message_id(Some(format!("<{key}@{domain}>")));
    for to in &mail.to {
        let m: Mailbox = to
            .parse()
            .map_err(|e| format!("bad recipient {to:?}: {e}"))?;
        b = b.to(m);
    }
    let mut msg = b
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("cannot build the message: {e}"))?;
    msg.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("X-Newswatch-Alert-Id"),
        key.to_string(),
    ));
    Ok(msg)
}

/// Sends `alerts` as one message through the sink's SMTP server.
pub(crate) async fn deliver(
    sink: &SinkConfig,
    key: &str,
    alerts: &[&PendingAlert],
    watches: &[Vec<&WatchMatch>],
) -> Delivery {
    let Some(mail) = &sink.email else {
        return Delivery::transient("the email sink has no server settings");
    };
    let msg = match message(sink, mail, key, alerts, watches) {
        Ok(m) => m,
        Err(e) => return Delivery::transient(e),
    };
    let builder = match mail.tls {
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&mail.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&mail.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &mail.host,
        )),
    };
    let mut builder = match builder {
        Ok(b) => b.port(mail.port).timeout(Some(sink.timeout)),
        Err(e) => return Delivery::transient(format!("cannot set up TLS: {e}")),
    };
    if let (Some(user), Some(pass)) = (&mail.username, &mail.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    let transport = builder.build();
    // The whole conversation within the sink's timeout.
    match tokio::time::timeout(sink.timeout, transport.send(msg)).await {
        Err(_) => Delivery::transient("timed out"),
        Ok(Ok(_)) => Delivery::Delivered,
        Ok(Err(e)) => classify(&e),
    }
}

/// An SMTP failure as a delivery outcome: refused credentials (530, 534,
/// 535, 538) fail the sink; other permanent refusals (5xx) reject the
/// message; the rest is transient.
fn classify(e: &lettre::transport::smtp::Error) -> Delivery {
    let code = e.status().map(u16::from);
    let kind = match code {
        Some(530 | 534 | 535 | 538) => FailKind::Sink,
        Some(500..=599) => FailKind::Rejected,
        _ => FailKind::Transient,
    };
    let error = match code {
        Some(c) => {
            let said = one_line(&e.to_string());
            let said: String = said.chars().take(200).collect();
            format!("SMTP {c}: {said}")
        }
        None if e.is_timeout() => "timed out".to_string(),
        None => format!("SMTP: {}", one_line(&e.to_string())),
    };
    Delivery::Failed {
        error,
        kind,
        after: None,
    }
}
