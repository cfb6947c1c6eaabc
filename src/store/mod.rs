//! The stores: every line of SQL in the project, behind the domain's storage traits. There is
//! one store today, SQLite (`sqlite.rs`, with its writer, migrations, lock, backup and check);
//! [`open`] is where another backend would be chosen.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::store::Store;

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

/// A database that passed every check and has not been written to yet: a start that fails
/// before [`Opened::start`] leaves it exactly as it was.
pub enum Opened {
    Sqlite(CheckedDatabase),
}

/// Opens the configured database and checks it, writing nothing; a missing SQLite file is
/// created empty.
pub fn open(options: &StoreOptions) -> Result<Opened, OpenError> {
    SqliteStore::check(options).map(Opened::Sqlite)
}

/// As [`open`], for a command run beside the server: never creates a database.
pub fn open_existing(options: &StoreOptions) -> Result<Opened, OpenError> {
    SqliteStore::check_existing(options).map(Opened::Sqlite)
}

impl Opened {
    /// True when opening created the database: it was not there before.
    pub fn created(&self) -> bool {
        match self {
            Opened::Sqlite(checked) => checked.created(),
        }
    }

    /// True when the database holds at least one account (of any schema version).
    pub fn holds_accounts(&self) -> Result<bool, OpenError> {
        match self {
            Opened::Sqlite(checked) => checked.holds_accounts(),
        }
    }

    /// The value derived from the key file that the database was set up with, if any.
    pub fn key_check(&self) -> Result<Option<String>, OpenError> {
        match self {
            Opened::Sqlite(checked) => checked.key_check(),
        }
    }

    /// Migrates, records `key_check` if none is recorded yet, and starts serving.
    pub fn start(self, key_check: &str) -> Result<Arc<dyn Store>, OpenError> {
        match self {
            Opened::Sqlite(checked) => Ok(Arc::new(checked.start(key_check)?)),
        }
    }
}

/// The files a new database at `path` may leave beside it: a refused first start takes them
/// all away.
pub fn database_files(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    ["", "-wal", "-shm", "-journal"]
        .into_iter()
        .map(move |suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
}
