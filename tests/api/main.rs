//! Black-box tests: each starts the real server and speaks HTTP to it.

// Shared by every test module; not each one uses all of it.
#[allow(dead_code)]
mod helpers;

mod fetch;
mod paging;
