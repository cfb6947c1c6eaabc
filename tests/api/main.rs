//! Black-box tests: each starts the real server and speaks HTTP to it.

#[allow(dead_code)] // Shared by every test module; not each uses every helper.
mod helpers;

mod auth;
mod clients;
mod create;
mod errors;
mod fetch;
mod head;
mod keys;
mod list;
mod paging;
mod status;
mod storage;
mod tokens;
mod update;
mod versions;
