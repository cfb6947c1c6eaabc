//! The stores: every line of SQL in the project, behind the domain's storage traits. SQLite
//! (`sqlite.rs`, with its writer, migrations, lock, backup and check) serves a file;
//! PostgreSQL (`postgres`) serves a `postgres://` URL. [`open`] chooses by `--db`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::store::Store;

mod backup;
mod check;
mod events;
mod lock;
mod migrate;
pub mod postgres;
pub mod sqlite;
mod transfer;
mod writer;

pub use backup::{copy_database, CopySummary};
pub use check::{check_integrity, Integrity};
pub use lock::{lock_path, InstanceLock};
pub use postgres::{CheckedPostgres, PostgresStore, Settings};
pub use sqlite::{CheckedDatabase, OpenError, SqliteStore, StorageLimit, StoreOptions, SyncMode};
pub use transfer::{
    read_installation, write_installation, AccountRow, CopyError, EventRow, Installation, KeyRow,
};

/// A database that passed every check and has not been written to yet: a start that fails
/// before [`Opened::start`] leaves it exactly as it was.
pub enum Opened {
    Sqlite(CheckedDatabase),
    Postgres(CheckedPostgres),
}

/// The PostgreSQL settings when `--db` is a `postgres://` or `postgresql://` URL; `None` for a
/// SQLite file. `--db` reaches the store as given, so a URL rides in the path unchanged.
pub fn postgres_url(db: &Path) -> Result<Option<Settings>, OpenError> {
    match db.to_str() {
        Some(text) if Settings::is_url(text) => Settings::parse(text)
            .map(Some)
            .map_err(|error| OpenError::Other(error.to_string())),
        _ => Ok(None),
    }
}

/// True when `--db` names PostgreSQL rather than a SQLite file.
pub fn is_url(db: &Path) -> bool {
    db.to_str().is_some_and(Settings::is_url)
}

/// Opens the configured database and checks it, writing nothing; a missing SQLite file is
/// created empty.
pub fn open(options: &StoreOptions) -> Result<Opened, OpenError> {
    match postgres_url(&options.path)? {
        Some(settings) => open_postgres(settings, options),
        None => SqliteStore::check(options).map(Opened::Sqlite),
    }
}

/// As [`open`], for a command run beside the server: never creates a database.
pub fn open_existing(options: &StoreOptions) -> Result<Opened, OpenError> {
    match postgres_url(&options.path)? {
        Some(settings) => open_postgres(settings, options),
        None => SqliteStore::check_existing(options).map(Opened::Sqlite),
    }
}

/// Connections (and threads) a PostgreSQL node keeps at least, for writes and the reads other
/// than an account lookup (those share one connection of their own, see `postgres/lookups.rs`).
/// Fewer would cap the writes in flight, each holding its connection until COMMIT; each more
/// costs a thread and its allocator heap (about 2 MiB under load). 8 per node leave room for
/// ten nodes under PostgreSQL's default 100.
const POSTGRES_MIN_CONNECTIONS: usize = 8;

fn open_postgres(settings: Settings, options: &StoreOptions) -> Result<Opened, OpenError> {
    let connections = usize::try_from(options.readers)
        .unwrap_or(usize::MAX)
        .max(POSTGRES_MIN_CONNECTIONS);
    CheckedPostgres::check(settings, connections, options.busy_wait).map(Opened::Postgres)
}

impl Opened {
    /// True when opening created the database: it was not there before.
    pub fn created(&self) -> bool {
        match self {
            Opened::Sqlite(checked) => checked.created(),
            // A PostgreSQL database is made by its operator, never by a start.
            Opened::Postgres(_) => false,
        }
    }

    /// True when the database holds at least one account (of any schema version).
    pub fn holds_accounts(&self) -> Result<bool, OpenError> {
        match self {
            Opened::Sqlite(checked) => checked.holds_accounts(),
            Opened::Postgres(checked) => checked.holds_accounts(),
        }
    }

    /// The value derived from the key file that the database was set up with, if any.
    pub fn key_check(&self) -> Result<Option<String>, OpenError> {
        match self {
            Opened::Sqlite(checked) => checked.key_check(),
            Opened::Postgres(checked) => checked.key_check(),
        }
    }

    /// Migrates, records `key_check` if none is recorded yet, and starts serving.
    pub fn start(self, key_check: &str) -> Result<Arc<dyn Store>, OpenError> {
        match self {
            Opened::Sqlite(checked) => Ok(Arc::new(checked.start(key_check)?)),
            Opened::Postgres(checked) => Ok(Arc::new(checked.start(key_check)?)),
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
