//! Durability: each test runs the real executable (or the real server in-process), breaks
//! something an appliance meets in the field, and checks that no answered write is lost.

#[allow(dead_code)] // The shared harness that starts the binary.
#[path = "../support/binary.rs"]
mod binary;
#[allow(dead_code)] // The API tests' harness; these tests use a part of it.
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
mod process;

mod backup;
mod check;
mod crash;
mod events_prune;
mod load;
mod new_key;
mod rehash;
mod reset_password;
mod shutdown;
mod startup_errors;
mod upgrade;
