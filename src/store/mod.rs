//! The stores: every line of SQL in the project, behind the domain's storage traits. There is
//! one store today, SQLite (`sqlite.rs`, with its writer, migrations, lock, backup and check).

mod backup;
mod check;
mod lock;
mod migrate;
pub mod postgres;
pub mod sqlite;
mod writer;

pub use backup::{copy_database, CopySummary};
pub use check::{check_integrity, Integrity};
pub use lock::{lock_path, InstanceLock};
pub use sqlite::{CheckedDatabase, OpenError, SqliteStore, StorageLimit, StoreOptions, SyncMode};
