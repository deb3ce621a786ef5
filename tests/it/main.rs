//! Integration tests: the built binary against real loopback HTTP servers
//! and real SQLite files in temporary directories.

mod alerts;
mod cli;
mod corpus;
mod delivery;
mod facts;
mod fulltext;
mod pipeline;
mod polling;
mod reading;
mod rules;
mod service;
mod supervision;
mod support;
