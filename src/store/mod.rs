//! The SQLite adapter: all the SQL of the project, behind the domain's storage traits.

mod migrate;
pub mod sqlite;
mod writer;

pub use sqlite::{OpenError, SqliteStore, StoreOptions, SyncMode};
