//! The hostile-input, throttling and log tests of tests/security, each on a database of its
//! own in a throwaway PostgreSQL cluster (the helpers choose the store by this target's name).

#[path = "security/main.rs"]
mod suite;

use suite::{helpers, support};
