//! newswatch watches news feeds (RSS, Atom, JSON Feed) for reports of
//! coalition meetings and counterterrorism, in English, French, Spanish,
//! Arabic and German, keeps what it finds in SQLite and alerts through
//! sinks.
//!
//! The pipeline, one article left to right: `fetch` (HTTP) → `parse`
//! (feed-rs, HTML to text, stable keys) → `rules` (normalization and one
//! automaton pass for every watch) → `store` (SQLite: dedup, sightings,
//! matches and the alert outbox in one transaction) → `alert` (sinks).
//! `daemon` sequences the stages; `config` builds the immutable
//! configuration they all read; `cli` wires commands to them. See
//! `ARCHITECTURE.md` for the invariants.

#![warn(missing_docs, unreachable_pub)]

// The public surface is small: the command line (for `main`), and what the
// benchmarks reach (config loading, the rule set, the normalization, the
// model types they return). Everything else is internal.

pub(crate) mod alert;
pub mod cli;
pub mod config;
pub(crate) mod daemon;
pub(crate) mod demo;
pub(crate) mod email;
pub mod facts;
pub(crate) mod fault;
pub(crate) mod fetch;
pub mod model;
pub(crate) mod opml;
pub(crate) mod panics;
pub(crate) mod parse;
pub mod rules;
pub(crate) mod scan;
pub(crate) mod schedule;
pub(crate) mod sinks;
pub(crate) mod store;
pub mod text;
