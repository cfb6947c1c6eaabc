//! The PostgreSQL store's foundation: where to connect (`url`), how (`connect`, TLS by rustls)
//! and the schema (`migrate`, schema.pg.sql under an advisory lock).

mod connect;
mod migrate;
mod url;

pub use connect::{connect, ConnectError};
pub use migrate::{latest_version, migrate, schema_version, MigrateError};
pub use url::{Password, Settings, SslMode, UrlError};
