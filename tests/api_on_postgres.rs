//! The black-box API tests of tests/api, each on a database of its own in a throwaway
//! PostgreSQL cluster (the helpers choose the store by this target's name).

#[path = "api/main.rs"]
mod suite;

use suite::helpers;
