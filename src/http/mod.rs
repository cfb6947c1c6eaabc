//! Everything that knows HTTP: routes, credentials, formats and error bodies.

mod accounts;
mod auth;
pub mod client;
mod console;
mod error;
mod events;
mod fallback;
mod form;
pub mod format;
mod health;
mod keys;
pub mod metrics;
pub mod observe;
mod openapi;
mod page_cache;
pub mod routes;
pub mod security;
mod tokens;

pub use page_cache::PageCache;
