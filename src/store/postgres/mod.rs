//! The PostgreSQL store: where to connect (`url`), how (`connect`, TLS by rustls), the schema
//! (`migrate`, schema.pg.sql under an advisory lock), the accounts' SQL (`sql`), the store
//! itself (`store`) and the checks before it starts (`open`).

mod connect;
mod executor;
mod failures;
mod lookups;
mod migrate;
mod open;
mod sql;
mod store;
mod transfer;
mod url;

pub use connect::{connect, ConnectError};
pub use migrate::{latest_version, migrate, schema_version, MigrateError};
pub use open::CheckedPostgres;
pub use store::PostgresStore;
pub(crate) use transfer::{read_installation, write_installation};
pub use url::{Password, Settings, SslMode, UrlError};
