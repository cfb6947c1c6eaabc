//! Credentials under attack: hostile input, throttling, protocol limits, TLS and the log.
//! Each test starts the real server and speaks HTTP (or raw TCP) to it.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
pub(crate) mod helpers;

pub(crate) mod support;

mod hostile_auth;
mod hostile_input;
mod hostile_protocol;
mod hostile_tree;
mod logs;
mod response_headers;
mod throttle;
mod tls;
mod trusted_proxy;
mod well_formed;
