//! Black-box tests: each starts the real server and speaks HTTP to it.

#[allow(dead_code)] // Shared by every test module; not each uses every helper.
pub(crate) mod helpers;

mod auth;
mod clients;
mod create;
mod errors;
mod events;
mod fetch;
mod head;
mod list;
mod metrics;
mod paging;
mod status;
mod storage;
mod update;
mod versions;
