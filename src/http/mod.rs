//! Everything that knows HTTP: routes, credentials, formats and error bodies.

mod accounts;
mod auth;
mod console;
mod error;
mod form;
pub mod format;
mod openapi;
pub mod routes;
pub mod security;
