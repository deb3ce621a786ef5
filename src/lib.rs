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

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod fault;
pub mod fetch;
pub mod model;
pub mod opml;
pub mod panics;
pub mod parse;
pub mod rules;
pub mod schedule;
pub mod sinks;
pub mod store;
pub mod text;
