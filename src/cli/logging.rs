//! Log output on stderr: timestamped text for a terminal, one JSON object per
//! line for log shippers, or syslog-priority-prefixed lines when stderr is
//! connected to the journal (systemd sets `JOURNAL_STREAM` to the device and
//! inode of that stream). `RUST_LOG` filters in every format.

use super::LogFormat;
use std::fmt::Write as _;
use std::io::IsTerminal;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber; `default` is the filter when `RUST_LOG`
/// is unset or invalid. A second call is a no-op.
pub(super) fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let format = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        other => other,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Journal => builder
            .with_ansi(false)
            .event_format(JournalFormat::new())
            .try_init(),
        LogFormat::Text | LogFormat::Auto => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Writes a fatal error to stderr as `newswatch: error: …`; under the
/// journal every line carries priority 3 (err).
pub(super) fn print_error(message: &str) {
    let text = format!("newswatch: error: {message}");
    if stderr_is_journal() {
        let mut out = String::with_capacity(text.len() + 16);
        for line in text.lines() {
            let _ = writeln!(out, "<3>{line}");
        }
        eprint!("{out}");
    } else {
        eprintln!("{text}");
    }
}

/// Whether stderr is the stream systemd named in `JOURNAL_STREAM`
/// (`<device>:<inode>`); a variable inherited by a child whose stderr was
/// redirected elsewhere does not count.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    stderr_identity().is_some_and(|(d, i)| d == dev && i == ino)
}

fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// The syslog priority journald reads from a `<N>` line prefix.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// The plain format without time, level or colour, each line of the event
/// (multi-line messages such as a config error with its caret) prefixed with
/// the event's priority so that no line falls back to the default level.
struct JournalFormat {
    inner: Format<Full, ()>,
}

impl JournalFormat {
    fn new() -> Self {
        JournalFormat {
            inner: Format::default()
                .without_time()
                .with_target(false)
                .with_level(false)
                .with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let prio = priority(event.metadata().level());
        let mut out = String::with_capacity(line.len() + 8);
        for part in line.trim_end_matches('\n').split('\n') {
            let _ = writeln!(out, "<{prio}>{part}");
        }
        writer.write_str(&out)
    }
}
