//! Black-box tests: each starts the real server and speaks HTTP to it.

#[allow(dead_code)] // Shared by every test module; not each uses every helper.
mod helpers;

mod fetch;
