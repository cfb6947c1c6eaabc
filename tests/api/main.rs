//! Black-box tests: each starts the real server and speaks HTTP to it.

mod helpers;

mod fetch;
