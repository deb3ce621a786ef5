//! Configuration: reading the TOML files (main config, rule packs, feed
//! lists) into [`raw`] structs and turning them into one validated,
//! immutable [`Config`].
//!
//! Every problem is collected, not just the first, and each names its file,
//! line and column (with the offending line and a caret). Nothing here
//! touches the network or the database; the only I/O is reading the files
//! the config names and the environment for `${VAR}` secrets.
//!
//! [`load`] only sequences the steps; each has its own module:
//! `diag.rs` collects located problems, `include.rs` expands `include` and
//! `rules` and reads those files, `validate/` checks each section of the
//! main file, `secrets.rs` resolves secret values, `packs.rs` turns rule packs
//! into compiled rules, `types.rs` holds the validated result and [`raw`] the
//! serde schema.

mod diag;
mod include;
mod packs;
pub mod raw;
mod secrets;
mod types;
mod validate;

pub use diag::{ConfigError, ConfigIssue};
pub use secrets::Secret;
pub use types::{
    Config, DEFAULT_RETRY, EmailConfig, FeedConfig, FullTextConfig, HttpConfig, PollConfig,
    SinkConfig, SinkKind, SmtpTls, StorageConfig,
};
pub use validate::normalize_feed_url;

use diag::Diagnostics;
use raw::{RawFeed, RawFullText, RawHttp, RawPoll, RawSink, RawStorage};
use std::path::Path;
use toml::Spanned;
use toml::de::DeTable;

/// Where the config is looked for when neither `--config` nor
/// `$NEWSWATCH_CONFIG` says.
pub const DEFAULT_PATH: &str = "/etc/newswatch/newswatch.toml";

/// Reads and validates the configuration at `path`, with every rule pack and
/// feed list it includes.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let mut dg = Diagnostics::new();
    let base = include::base_dir(path);
    let Some(main) = dg.read(path) else {
        return Err(dg.into_error());
    };
    let main_text = dg.text(main).to_string();
    let Some(top) = dg.parse(main, &main_text) else {
        return Err(dg.into_error());
    };
    let mut raw = split_main(&mut dg, main, top);

    // Included feed lists.
    let include_files = include::expand(&mut dg, main, &base, &raw.include, "include");
    include::read_feed_lists(&mut dg, &include_files, &mut raw.feeds);

    // The main file's sections, then every feed.
    let storage = validate::storage(&mut dg, main, &raw.storage);
    let http = validate::http(&mut dg, main, &raw.http);
    let poll = validate::poll(&mut dg, main, &raw.poll);
    let full_text = validate::full_text(&mut dg, main, &raw.full_text);
    let feeds = validate::feeds(&mut dg, raw.feeds, &poll);

    // Rule packs.
    let rule_files = include::expand(&mut dg, main, &base, &raw.rules, "rules");
    let defs = packs::read(&mut dg, &rule_files);
    if rule_files.is_empty() && !dg.has_issues() {
        dg.warn(
            "no rule pack is loaded: no watch can fire (set `rules = [\"rules/*.toml\"]`)".into(),
        );
    }
    let rules = packs::compile(&mut dg, defs);

    // Sinks last: they route to watches by name.
    let sinks = validate::sinks(&mut dg, main, &base, raw.sinks, &rules);

    let warnings = dg.finish()?;
    Ok(Config {
        path: path.to_path_buf(),
        storage,
        http,
        poll,
        full_text,
        feeds,
        sinks,
        rules,
        rule_files,
        include_files,
        warnings,
    })
}

/// The main file's top-level keys, deserialized but not yet validated.
#[derive(Default)]
struct MainFile {
    rules: Vec<Spanned<String>>,
    include: Vec<Spanned<String>>,
    storage: RawStorage,
    http: RawHttp,
    poll: RawPoll,
    full_text: RawFullText,
    /// With the index of the file each is written in (the main file, then
    /// included feed lists).
    feeds: Vec<(usize, RawFeed)>,
    sinks: Vec<RawSink>,
}

/// Sorts the main file's top-level keys into their raw sections.
fn split_main(dg: &mut Diagnostics, main: usize, top: DeTable<'_>) -> MainFile {
    let mut raw = MainFile::default();
    for (k, v) in top {
        let key_span = k.span();
        match k.get_ref().as_ref() {
            "rules" => raw.rules = dg.de(main, v).unwrap_or_default(),
            "include" => raw.include = dg.de(main, v).unwrap_or_default(),
            "storage" => raw.storage = dg.de(main, v).unwrap_or_default(),
            "http" => raw.http = dg.de(main, v).unwrap_or_default(),
            "poll" => raw.poll = dg.de(main, v).unwrap_or_default(),
            "full_text" => raw.full_text = dg.de(main, v).unwrap_or_default(),
            "feed" => include::collect_array(dg, main, v, |dg, item| {
                if let Some(f) = dg.de::<RawFeed>(main, item) {
                    raw.feeds.push((main, f));
                }
            }),
            "sink" => include::collect_array(dg, main, v, |dg, item| {
                if let Some(s) = dg.de::<RawSink>(main, item) {
                    raw.sinks.push(s);
                }
            }),
            other => dg.issue(
                main,
                key_span,
                format!(
                    "unknown key `{other}`; expected one of rules, include, storage, http, poll, full_text, feed, sink"
                ),
            ),
        }
    }
    raw
}
