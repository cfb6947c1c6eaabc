//! The SQLite adapter: all the SQL of the project, behind the domain's storage traits.

mod backup;
mod check;
mod lock;
mod migrate;
pub mod sqlite;
mod writer;

pub use backup::{copy_database, CopySummary};
pub use check::{check_integrity, Integrity};
pub use lock::{lock_path, InstanceLock};
pub use sqlite::{CheckedDatabase, OpenError, SqliteStore, StorageLimit, StoreOptions, SyncMode};
