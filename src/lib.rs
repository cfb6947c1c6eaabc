//! Switchboard: the Restcomm-compatible Accounts API over embedded SQLite, or PostgreSQL.
//!
//! Layers point one way: `http` -> `domain` <- `store`. The domain holds the rules and the
//! storage traits; the stores implement them; `startup` wires them together.

pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod key_file;
pub mod logging;
pub mod metrics;
pub mod startup;
pub mod store;
pub mod tls;
