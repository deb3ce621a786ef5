//! The process's panic hook. A panic inside the feed parser is caught and
//! becomes that feed's error, so the hook stays quiet about it; any other
//! panic is logged as one error line (thread, place, message) and kept as
//! [`last`], which the supervisor quotes when it reports what died.

use std::sync::Mutex;

static LAST: Mutex<Option<String>> = Mutex::new(None);

/// Installs the hook (once, at start-up).
pub(crate) fn install() {
    std::panic::set_hook(Box::new(|info| {
        if crate::parse::in_parser() {
            return;
        }
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(no message)".to_string()
        };
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        if let Ok(mut last) = LAST.lock() {
            *last = Some(msg.clone());
        }
        tracing::error!(thread = %thread, at = %place, "panic: {msg}");
    }));
}

/// The message of the latest panic outside the parser, if any.
pub(crate) fn last() -> Option<String> {
    LAST.lock().ok().and_then(|l| l.clone())
}
