//! Black-box tests: each starts the real server and speaks HTTP to it.

// Each test module uses part of the harness; the rest is not dead, just unused by some.
#[allow(dead_code)]
mod helpers;

mod auth;
mod clients;
mod create;
mod errors;
mod fetch;
mod list;
mod status;
mod storage;
mod update;
