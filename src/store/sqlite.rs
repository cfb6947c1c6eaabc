//! Reads run on the request's own thread with a pooled connection (a point read takes a few
//! microseconds, less than a hop to another thread would); writes go to the single writer.
//! Accounts and keys read by Sid are kept until the next commit (see `recent.rs`).

mod commits;
mod recent;

use std::cell::OnceCell;
use std::fmt;
use std::hash::Hash;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, ToSql};

use super::events;
use super::migrate::{migrate, MigrateError};
use super::writer::Writer;
use crate::domain::account::{
    Account, AccountSid, Email, FriendlyName, Role, SecondaryToken, Status, UnixTime,
};
use crate::domain::event::{Event, EventSid};
use crate::domain::keys::{ApiKey, KeySid};
use crate::domain::paging::MAX_PAGE_SIZE;
use crate::domain::store::{
    AccountKey, AccountRead, AccountWrite, Answer, Cursor, DataVersion, EventQuery, KeyQuery,
    ListQuery, Listed, ListedEvent, ListedKey, Position, ReadJob, Scope, Store, StoreError,
    WriteJob, WriteReply,
};
use crate::domain::throttle::{FailureCounts, MemoryCounts, ThrottleLimits};
use commits::Commits;
use recent::Kept;

/// `full`: an answered write survives power loss. `normal`: it survives a crash of the
/// process, but the last commits may be lost on power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    Full,
    Normal,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full",
            SyncMode::Normal => "normal",
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub path: PathBuf,
    pub sync: SyncMode,
    /// Pooled read connections; at least one per HTTP worker so a checkout never waits.
    pub readers: u32,
    /// How long a write waits for a lock held by another process before it is refused as busy.
    pub busy_wait: Duration,
    /// A cap on the database's size, in pages; `None` leaves only the disk as the limit.
    pub storage_limit: Option<StorageLimit>,
}

impl StoreOptions {
    /// Long enough for any write of this server to finish; short enough to answer 503 soon.
    pub const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(5);

    pub fn new(path: PathBuf, sync: SyncMode) -> StoreOptions {
        StoreOptions {
            path,
            sync,
            readers: 1,
            busy_wait: Self::DEFAULT_BUSY_WAIT,
            storage_limit: None,
        }
    }
}

/// A cap on the database's size that can be moved while the server runs: the disk-full tests
/// fill a database to it and then lift it, as an operator would free space.
#[derive(Clone, Debug, Default)]
pub struct StorageLimit(Arc<AtomicU32>);

impl StorageLimit {
    pub fn new(max_pages: u32) -> StorageLimit {
        StorageLimit(Arc::new(AtomicU32::new(max_pages)))
    }

    pub fn set_max_pages(&self, max_pages: u32) {
        self.0.store(max_pages, Ordering::Relaxed);
    }

    pub(super) fn max_pages(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why the database could not be opened. The message names no path and no SQL.
#[derive(Debug)]
pub enum OpenError {
    NotAFile,
    Missing,
    Unreadable,
    NotADatabase,
    Corrupt,
    Unwritable,
    TooNew {
        found: i64,
        known: i64,
    },
    /// A SQLite file, but not one that Switchboard made.
    NotSwitchboard,
    /// The key file is not the one the database was set up with.
    KeyMismatch,
    /// Another process holds the database's instance lock.
    InUse,
    LockFile(std::io::ErrorKind),
    Other(String),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NotAFile => f.write_str("the database path is not a regular file"),
            OpenError::Missing => f.write_str("the database file does not exist"),
            OpenError::Unreadable => {
                f.write_str("the database file cannot be read: check its owner and permissions")
            }
            OpenError::NotADatabase => f.write_str("the database file is not a SQLite database"),
            OpenError::Corrupt => {
                f.write_str("the database file is corrupt: restore it from a backup")
            }
            OpenError::Unwritable => f.write_str(
                "the database file is read-only: check its permissions and the file system",
            ),
            OpenError::TooNew { found, known } => write!(
                f,
                "the database has schema version {found}, newer than this build knows ({known})"
            ),
            OpenError::NotSwitchboard => f.write_str(
                "the database file is a SQLite database of another program, not of Switchboard",
            ),
            OpenError::KeyMismatch => f.write_str(
                "the key file does not belong to this database: use the key file kept with it \
                 (see --key-file)",
            ),
            OpenError::InUse => f.write_str(
                "another Switchboard is already serving this database: stop it first, or use a copy",
            ),
            OpenError::LockFile(kind) => write!(
                f,
                "cannot lock the database: the lock file beside it cannot be opened ({kind})"
            ),
            OpenError::Other(cause) => write!(f, "the database cannot be opened: {cause}"),
        }
    }
}

pub(super) fn open_error(error: rusqlite::Error) -> OpenError {
    match sqlite_code(&error) {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase,
        Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt,
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            OpenError::Unwritable
        }
        _ => OpenError::Other(sqlite_cause(&error)),
    }
}

pub struct SqliteStore {
    path: PathBuf,
    readers: Pool<SqliteConnectionManager>,
    writer: Writer,
    /// Tells whether anything was committed since the last look.
    watch: Watch,
    recent_accounts: Kept<AccountSid, Account>,
    recent_keys: Kept<KeySid, ApiKey>,
}

/// A database file that passed every check but has not been written to yet: a start-up that
/// fails after this point (a missing key file, say) leaves the file exactly as it was.
pub struct CheckedDatabase {
    conn: Connection,
    options: StoreOptions,
    created: bool,
}

impl SqliteStore {
    /// Opens the file and checks it without writing to it; a missing file is created empty,
    /// readable and writable by its owner only.
    pub fn check(options: &StoreOptions) -> Result<CheckedDatabase, OpenError> {
        preflight(&options.path)?;
        let created = create_private(&options.path)?;
        let conn = open_checked(&options.path);
        if created && conn.is_err() {
            let _ = std::fs::remove_file(&options.path);
        }
        Ok(CheckedDatabase {
            conn: conn?,
            options: options.clone(),
            created,
        })
    }

    /// Opens an existing database for a command run beside the server, never creating one.
    pub fn check_existing(options: &StoreOptions) -> Result<CheckedDatabase, OpenError> {
        if !options.path.exists() {
            return Err(OpenError::Missing);
        }
        preflight(&options.path)?;
        Ok(CheckedDatabase {
            conn: open_checked(&options.path)?,
            options: options.clone(),
            created: false,
        })
    }
}

impl CheckedDatabase {
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// True when this check created the file: it was not there before.
    pub fn created(&self) -> bool {
        self.created
    }

    /// True when the file holds at least one account (of any schema version).
    pub fn holds_accounts(&self) -> Result<bool, OpenError> {
        if !has_table(&self.conn, "accounts")? {
            return Ok(false);
        }
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM accounts)", [], |row| {
                row.get(0)
            })
            .map_err(open_error)
    }

    /// The value derived from the key file that the database was set up with; `None` for a
    /// new database, or one from before the check value was kept.
    pub fn key_check(&self) -> Result<Option<String>, OpenError> {
        if !has_table(&self.conn, "installation")? {
            return Ok(None);
        }
        read_key_check(&self.conn).map_err(open_error)
    }

    /// Records `key_check` in place of whatever check value the file holds, durably, and
    /// closes the file: for a new key made because the old one is lost. The caller holds
    /// the instance lock, so no server runs on the file meanwhile.
    pub fn replace_key_check(self, key_check: &str) -> Result<(), OpenError> {
        let mut conn = self.into_migrated()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(open_error)?;
        tx.execute(
            "INSERT INTO installation (name, value) VALUES ('key_check', ?1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [key_check],
        )
        .map_err(open_error)?;
        tx.commit().map_err(open_error)?;
        // Folds the log into the file, as a stopped server leaves it.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
            .map_err(open_error)?;
        conn.close().map_err(|(_, error)| open_error(error))
    }

    /// The connection, switched to WAL with durable commits and migrated as a start would,
    /// for a copy of a whole installation into this database; nothing serves it meanwhile.
    pub(super) fn into_migrated(self) -> Result<Connection, OpenError> {
        let CheckedDatabase {
            mut conn,
            mut options,
            ..
        } = self;
        options.sync = SyncMode::Full;
        prepare_writer(&conn, &options)?;
        migrate(&mut conn).map_err(|error| match error {
            MigrateError::TooNew { found, known } => OpenError::TooNew { found, known },
            MigrateError::Sqlite(error) => open_error(error),
        })?;
        Ok(conn)
    }

    /// Switches to WAL, migrates, records `key_check` if the file has none yet, and starts
    /// the readers and the writer.
    pub fn start(self, key_check: &str) -> Result<SqliteStore, OpenError> {
        let CheckedDatabase {
            mut conn, options, ..
        } = self;
        prepare_writer(&conn, &options)?;
        migrate(&mut conn).map_err(|error| match error {
            MigrateError::TooNew { found, known } => OpenError::TooNew { found, known },
            MigrateError::Sqlite(error) => open_error(error),
        })?;
        record_key_check(&mut conn, key_check)?;
        let busy_wait = options.busy_wait;
        let manager = SqliteConnectionManager::file(&options.path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |conn| {
                conn.busy_timeout(busy_wait)?;
                conn.pragma_update(None, "query_only", true)?;
                conn.set_prepared_statement_cache_capacity(64);
                Ok(())
            });
        let readers = Pool::builder()
            .max_size(options.readers.max(1))
            .min_idle(Some(options.readers.max(1)))
            // A health check on every checkout would cost as much as the read itself.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|error| OpenError::Other(error.to_string()))?;
        let watch = Watch::open(&options.path, busy_wait)?;
        Ok(SqliteStore {
            path: options.path.clone(),
            readers,
            writer: Writer::start(conn, options.storage_limit),
            watch,
            recent_accounts: Kept::default(),
            recent_keys: Kept::default(),
        })
    }
}

/// Checks that SQLite would only report vaguely, or not at all when running as root (which
/// ignores permission bits): a file nobody may read or write is refused as the operator meant.
fn preflight(path: &Path) -> Result<(), OpenError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => return Err(OpenError::Unreadable),
    };
    check_readable(path, &metadata)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o222 == 0 {
            return Err(OpenError::Unwritable);
        }
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|_| OpenError::Unwritable)?;
    Ok(())
}

/// The checks of [`preflight`] that a command which only reads needs: an existing, readable
/// regular file that starts as a SQLite file does.
pub(super) fn preflight_read_only(path: &Path) -> Result<(), OpenError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::Missing)
        }
        Err(_) => return Err(OpenError::Unreadable),
    };
    check_readable(path, &metadata)
}

fn check_readable(path: &Path, metadata: &std::fs::Metadata) -> Result<(), OpenError> {
    if !metadata.is_file() {
        return Err(OpenError::NotAFile);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o444 == 0 {
            return Err(OpenError::Unreadable);
        }
    }
    let mut header = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|file| file.take(16).read_to_end(&mut header))
        .map_err(|_| OpenError::Unreadable)?;
    // An empty file is an empty database to SQLite; anything else must carry its header.
    if !header.is_empty() && header != b"SQLite format 3\0" {
        return Err(OpenError::NotADatabase);
    }
    Ok(())
}

/// Creates a missing database file with mode 0600, whatever the umask: SQLite gives its
/// `-wal` and `-shm` files the mode of the database file. True when it created the file.
fn create_private(path: &Path) -> Result<bool, OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(OpenError::Missing),
        Err(_) => Err(OpenError::Unwritable),
    }
}

/// Opens the file and runs the cheap checks, without writing to it: every check here costs
/// the same for ten accounts as for a million (the full check is `switchboard check`).
/// Closing this connection never checkpoints, so a refused start leaves even a leftover WAL
/// as it was.
fn open_checked(path: &Path) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // A log left by a crash must stay as it was if the start is refused. Without one, this
    // connection may close as SQLite usually does: it then takes away the empty `-wal` and
    // `-shm` files that reading made.
    let keep_log = std::fs::metadata(companion(path, "-wal")).is_ok_and(|log| log.len() > 0);
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, keep_log)
        .map_err(open_error)?;
    if conn
        .is_readonly(rusqlite::DatabaseName::Main)
        .map_err(open_error)?
    {
        return Err(OpenError::Unwritable);
    }
    conn.busy_timeout(StoreOptions::DEFAULT_BUSY_WAIT)
        .map_err(open_error)?;
    recognise(&conn)?;
    Ok(conn)
}

/// The schema version of a Switchboard database, read from the header and the schema
/// (which SQLite parses in full, so a damaged schema is caught here). A new, empty file is
/// version 0.
pub(super) fn recognise(conn: &Connection) -> Result<i64, OpenError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(open_error)?;
    let known = super::migrate::latest_version();
    if version > known {
        return Err(OpenError::TooNew {
            found: version,
            known,
        });
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(open_error)?;
    let ours = if version == 0 {
        tables == 0
    } else {
        has_table(conn, "accounts")?
    };
    if !ours {
        return Err(OpenError::NotSwitchboard);
    }
    Ok(version)
}

/// A file SQLite keeps beside the database: `-wal`, `-shm`.
pub(super) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn has_table(conn: &Connection, name: &str) -> Result<bool, OpenError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |row| row.get(0),
    )
    .map_err(open_error)
}

fn read_key_check(conn: &Connection) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT value FROM installation WHERE name = 'key_check'",
        [],
        |row| row.get(0),
    )
    .optional()
}

/// Keeps the check value of the key in use, unless the file already holds one: then the two
/// must agree (the start compared them before writing anything; this holds for a process
/// that raced it).
fn record_key_check(conn: &mut Connection, key_check: &str) -> Result<(), OpenError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(open_error)?;
    match read_key_check(&tx).map_err(open_error)? {
        Some(stored) if stored == key_check => return Ok(()),
        Some(_) => return Err(OpenError::KeyMismatch),
        None => {}
    }
    tx.execute(
        "INSERT INTO installation (name, value) VALUES ('key_check', ?1)",
        [key_check],
    )
    .map_err(open_error)?;
    tx.commit().map_err(open_error)
}

fn prepare_writer(conn: &Connection, options: &StoreOptions) -> Result<(), OpenError> {
    conn.busy_timeout(options.busy_wait).map_err(open_error)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Other(format!(
            "journal mode {mode} instead of WAL"
        )));
    }
    conn.pragma_update(None, "synchronous", options.sync.as_str())
        .map_err(open_error)?;
    // Every value the server writes comes from a type that can only hold a valid one, and
    // SQLite builds a temporary B-tree for each `IN (...)` CHECK on every write that checks
    // it (four per update with its event: about a fifth of the writer's time). The CHECKs
    // still guard every other connection to the file.
    conn.pragma_update(None, "ignore_check_constraints", true)
        .map_err(open_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Store for SqliteStore {
    fn read(&self, mut job: Box<dyn ReadJob>) -> Answer<Box<dyn ReadJob>> {
        let reader = self.reader();
        job.run(&reader);
        Answer::Done(Ok(job))
    }

    fn find(&self, key: AccountKey) -> Answer<Option<Account>> {
        let reader = self.reader();
        Answer::Done(reader.find(&key))
    }

    fn write(&self, job: WriteJob) -> Result<WriteReply, StoreError> {
        self.writer.submit(job)
    }

    /// Only this process serves the file (the instance lock sees to it), so its counts can
    /// stay in memory, where checking one costs no I/O.
    fn failure_counts(&self, limits: &ThrottleLimits) -> Arc<dyn FailureCounts> {
        Arc::new(MemoryCounts::new(limits))
    }

    fn data_version(&self) -> Answer<DataVersion> {
        Answer::Done(self.version().map(DataVersion::counter))
    }

    /// Lets queued writes finish, then folds the write-ahead log into the database file, so
    /// that a stopped server leaves one self-contained file behind.
    fn close(&self) {
        self.writer.close();
    }

    fn queue_depth(&self) -> usize {
        self.writer.depth()
    }

    /// The file and its write-ahead log, as the disk holds them.
    fn size_bytes(&self) -> Option<u64> {
        let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).ok();
        let file = size(&self.path)?;
        Some(file + size(&companion(&self.path, "-wal")).unwrap_or(0))
    }
}

impl SqliteStore {
    fn reader(&self) -> Reader<'_> {
        Reader {
            store: self,
            conn: OnceCell::new(),
            version: OnceCell::new(),
        }
    }

    fn version(&self) -> Result<u64, StoreError> {
        match &self.watch {
            Watch::Header(commits) => Ok(commits.version()),
            Watch::Pragma(watcher) => {
                let watcher = watcher
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let version = watcher
                    .prepare_cached("PRAGMA data_version")?
                    .query_row([], |row| row.get::<_, i64>(0))?;
                Ok(version as u64)
            }
        }
    }
}

/// How the store tells that something was committed, by its writer or another process.
enum Watch {
    /// The WAL-index header in the shared-memory file (see `sqlite/commits.rs`).
    Header(Commits),
    /// Where that file cannot be opened: `PRAGMA data_version`, on a connection of its own
    /// (the number is per connection, and changes when any other connection commits).
    Pragma(Mutex<Connection>),
}

impl Watch {
    /// The writer's connection has the database open in WAL mode, so its `-shm` file exists.
    fn open(path: &Path, busy_wait: Duration) -> Result<Watch, OpenError> {
        if let Ok(commits) = Commits::open(&companion(path, "-shm")) {
            return Ok(Watch::Header(commits));
        }
        log::warn!("the database's shared-memory file cannot be read; asking SQLite instead");
        let watcher = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|watcher| {
            watcher.busy_timeout(busy_wait)?;
            watcher.pragma_update(None, "query_only", true)?;
            Ok(watcher)
        })
        .map_err(open_error)?;
        Ok(Watch::Pragma(Mutex::new(watcher)))
    }
}

/// One read job's view: a pooled connection taken when a query first needs it (a job answered
/// from what was kept needs none), and the data version read once, before any row.
struct Reader<'a> {
    store: &'a SqliteStore,
    conn: OnceCell<PooledConnection<SqliteConnectionManager>>,
    version: OnceCell<u64>,
}

impl Reader<'_> {
    fn conn(&self) -> Result<&Connection, StoreError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        let conn = self.store.readers.get().map_err(|_| StoreError::Busy)?;
        Ok(self.conn.get_or_init(|| conn))
    }

    fn version(&self) -> Result<u64, StoreError> {
        if let Some(version) = self.version.get() {
            return Ok(*version);
        }
        let version = self.store.version()?;
        Ok(*self.version.get_or_init(|| version))
    }

    /// The row as kept under this job's data version, or `read` and kept.
    fn recall<K: Hash + Eq + Clone, V: Clone>(
        &self,
        kept: &Kept<K, V>,
        sid: &K,
        read: impl FnOnce(&Connection) -> Result<Option<V>, StoreError>,
    ) -> Result<Option<V>, StoreError> {
        let version = self.version()?;
        if let Some(row) = kept.get(version, sid) {
            return Ok(Some(row));
        }
        let found = read(self.conn()?)?;
        if let Some(row) = &found {
            kept.keep(version, sid, row);
        }
        Ok(found)
    }
}

impl AccountRead for Reader<'_> {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        match key {
            AccountKey::Sid(sid) => {
                self.recall(&self.store.recent_accounts, sid, |conn| find(conn, key))
            }
            AccountKey::Email(_) => find(self.conn()?, key),
        }
    }
    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
        list(self.conn()?, query)
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        is_empty(self.conn()?)
    }
    fn find_key(&self, sid: &KeySid) -> Result<Option<ApiKey>, StoreError> {
        self.recall(&self.store.recent_keys, sid, |conn| find_key(conn, sid))
    }
    fn list_keys(&self, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError> {
        list_keys(self.conn()?, query)
    }
    fn count_keys(&self, account: &AccountSid) -> Result<usize, StoreError> {
        count_keys(self.conn()?, account)
    }
    fn first_root(&self) -> Result<Option<Account>, StoreError> {
        first_root(self.conn()?)
    }
    fn find_event(&self, sid: &EventSid) -> Result<Option<Event>, StoreError> {
        find_event(self.conn()?, sid)
    }
    fn list_events(&self, query: &EventQuery) -> Result<Vec<ListedEvent>, StoreError> {
        list_events(self.conn()?, query)
    }
}

/// The writer's view inside a transaction (a savepoint of the group commit).
pub(super) struct InTransaction<'a>(pub &'a Connection);

impl AccountRead for InTransaction<'_> {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        find(self.0, key)
    }
    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
        list(self.0, query)
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        is_empty(self.0)
    }
    fn find_key(&self, sid: &KeySid) -> Result<Option<ApiKey>, StoreError> {
        find_key(self.0, sid)
    }
    fn list_keys(&self, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError> {
        list_keys(self.0, query)
    }
    fn count_keys(&self, account: &AccountSid) -> Result<usize, StoreError> {
        count_keys(self.0, account)
    }
    fn first_root(&self) -> Result<Option<Account>, StoreError> {
        first_root(self.0)
    }
    fn find_event(&self, sid: &EventSid) -> Result<Option<Event>, StoreError> {
        find_event(self.0, sid)
    }
    fn list_events(&self, query: &EventQuery) -> Result<Vec<ListedEvent>, StoreError> {
        list_events(self.0, query)
    }
}

impl AccountWrite for InTransaction<'_> {
    fn insert(&mut self, account: &Account) -> Result<(), StoreError> {
        let level = account.level() as i64;
        let root = account.ancestors.first().unwrap_or(&account.sid);
        let branch = match level {
            1 => None,
            2 => Some(&account.sid),
            _ => account.ancestors.get(1),
        };
        // The writer runs one insert at a time, so max + 1 is never handed out twice (and the
        // unique index would refuse it if it were).
        let mut statement = self.0.prepare_cached(
            "INSERT INTO accounts (sid, level, owner_sid, root_sid, branch_sid, email, friendly_name,
                 role, status, password_hash, token_salt, date_created, date_updated, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 (SELECT coalesce(max(seq), 0) + 1 FROM accounts))",
        )?;
        statement.execute(rusqlite::params![
            account.sid.as_str(),
            level,
            account.owner().as_str(),
            root.as_str(),
            branch.map(AccountSid::as_str),
            account.email.as_ref().map(Email::as_str),
            account.friendly_name.as_str(),
            account.role.as_str(),
            account.own_status.as_str(),
            account.password_hash,
            account.token_salt,
            account.created.0,
            account.updated.0,
        ])?;
        Ok(())
    }

    fn update(&mut self, account: &Account) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(
            "UPDATE accounts SET friendly_name = ?2, role = ?3, status = ?4, password_hash = ?5,
                 token_salt = ?6, date_updated = ?7, secondary_salt = ?8, secondary_created = ?9
             WHERE sid = ?1",
        )?;
        let secondary = account.secondary.as_ref();
        statement.execute(rusqlite::params![
            account.sid.as_str(),
            account.friendly_name.as_str(),
            account.role.as_str(),
            account.own_status.as_str(),
            account.password_hash,
            account.token_salt,
            account.updated.0,
            secondary.map(|secondary| secondary.salt.as_str()),
            secondary.map(|secondary| secondary.created.0),
        ])?;
        Ok(())
    }

    fn close_descendants(
        &mut self,
        sid: &AccountSid,
        at: UnixTime,
    ) -> Result<Vec<AccountSid>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "UPDATE accounts SET status = 'closed', date_updated = ?2
             WHERE (root_sid = ?1 OR branch_sid = ?1) AND sid <> ?1 AND status <> 'closed'
             RETURNING sid",
        )?;
        let mut rows = statement.query(rusqlite::params![sid.as_str(), at.0])?;
        let mut closed = Vec::new();
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            closed.push(
                AccountSid::parse(&text).ok_or_else(|| {
                    StoreError::Failed("a stored account has an invalid sid".into())
                })?,
            );
        }
        Ok(closed)
    }

    fn record(&mut self, event: &Event) -> Result<(), StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!(
                "INSERT INTO events ({}, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
                     ?11, ?12, ?13, (SELECT coalesce(max(seq), 0) + 1 FROM events))",
                events::INSERT_COLUMNS
            )
        });
        let row = events::NewRow::of(event);
        self.0.prepare_cached(sql)?.execute(rusqlite::params![
            row.sid,
            row.account_sid,
            row.root_sid,
            row.branch_sid,
            row.actor_type,
            row.actor_sid,
            row.event_type,
            row.resource_type,
            row.resource_sid,
            row.source,
            row.source_ip,
            row.event_data,
            row.event_date,
        ])?;
        Ok(())
    }

    /// The single writer runs one insert at a time, so max + 1 is never handed out twice.
    fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(
            "INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, date_created,
                 date_updated, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT coalesce(max(seq), 0) + 1 FROM api_keys))",
        )?;
        statement.execute(rusqlite::params![
            key.sid.as_str(),
            key.account.as_str(),
            key.friendly_name.as_ref().map(FriendlyName::as_str),
            key.secret_hash,
            key.created.0,
            key.updated.0,
        ])?;
        Ok(())
    }

    fn update_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(
            "UPDATE api_keys SET friendly_name = ?2, date_updated = ?3 WHERE sid = ?1",
        )?;
        statement.execute(rusqlite::params![
            key.sid.as_str(),
            key.friendly_name.as_ref().map(FriendlyName::as_str),
            key.updated.0,
        ])?;
        Ok(())
    }

    fn delete_key(&mut self, sid: &KeySid) -> Result<bool, StoreError> {
        let mut statement = self
            .0
            .prepare_cached("DELETE FROM api_keys WHERE sid = ?1")?;
        Ok(statement.execute([sid.as_str()])? > 0)
    }

    fn delete_keys_in_subtree(&mut self, sid: &AccountSid) -> Result<Vec<ApiKey>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "DELETE FROM api_keys WHERE account_sid IN (
                 SELECT sid FROM accounts WHERE sid = ?1 OR root_sid = ?1 OR branch_sid = ?1)
             RETURNING sid, account_sid, friendly_name, secret_hash, date_created, date_updated,
                 seq",
        )?;
        let rows = statement.query([sid.as_str()])?;
        let deleted = rows
            .mapped(|row| Ok(key_from_row(row).map(|listed| listed.key)))
            .collect::<Result<Result<Vec<_>, StoreError>, rusqlite::Error>>()??;
        Ok(deleted)
    }

    fn prune_events(&mut self, before: UnixTime) -> Result<u64, StoreError> {
        let deleted = self
            .0
            .prepare_cached("DELETE FROM events WHERE event_date < ?1")?
            .execute([before.0])?;
        Ok(deleted as u64)
    }
}

fn first_root(conn: &Connection) -> Result<Option<Account>, StoreError> {
    let mut statement = conn.prepare_cached(FIRST_ROOT)?;
    let mut rows = statement.query([])?;
    match rows.next()? {
        Some(row) => Ok(Some(account_from_row(row)?)),
        None => Ok(None),
    }
}

fn find_event(conn: &Connection, sid: &EventSid) -> Result<Option<Event>, StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql =
        SQL.get_or_init(|| format!("SELECT {} FROM events e WHERE e.sid = ?1", events::COLUMNS));
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query([sid.as_str()])?;
    match rows.next()? {
        Some(row) => Ok(Some(stored_event(row)?.into_listed()?.0)),
        None => Ok(None),
    }
}

fn list_events(conn: &Connection, query: &EventQuery) -> Result<Vec<ListedEvent>, StoreError> {
    let p = events::Params::of(query);
    let mut statement = conn.prepare_cached(events::list_sql(events::Dialect::Sqlite, query))?;
    let mut rows = statement.query(rusqlite::params![
        p.scope,
        p.actor,
        p.event_type,
        p.resource,
        p.address,
        p.start,
        p.end,
        p.date,
        p.seq,
        p.limit,
    ])?;
    let mut listed = Vec::with_capacity(query.limit.min(MAX_PAGE_SIZE + 1));
    while let Some(row) = rows.next()? {
        let (event, cursor) = stored_event(row)?.into_listed()?;
        listed.push(ListedEvent { event, cursor });
    }
    if p.reverse {
        listed.reverse();
    }
    Ok(listed)
}

fn stored_event(row: &Row<'_>) -> Result<events::StoredEvent, StoreError> {
    Ok(events::StoredEvent {
        sid: row.get(0)?,
        account_sid: row.get(1)?,
        root_sid: row.get(2)?,
        branch_sid: row.get(3)?,
        actor_type: row.get(4)?,
        actor_sid: row.get(5)?,
        event_type: row.get(6)?,
        resource_type: row.get(7)?,
        resource_sid: row.get(8)?,
        source: row.get(9)?,
        source_ip: row.get(10)?,
        event_data: row.get(11)?,
        event_date: row.get(12)?,
        seq: row.get(13)?,
    })
}

/// True when a proper ancestor is suspended: the root from level 2, the branch at level 3.
/// Closing cascades into the descendants' own status, so only suspension needs this. Each is
/// one probe into the small index of suspended accounts, skipped by level (SQLite would
/// otherwise pick the unique Sid index and then read the row). An `IN (root, branch)` list
/// built a temporary index for every row.
/// (Macros rather than constants, so `concat!` can build every statement at compile time.)
macro_rules! ancestor_suspended {
    () => {
        "((a.level > 1 AND EXISTS (SELECT 1 FROM accounts x INDEXED BY accounts_suspended
              WHERE x.sid = a.root_sid AND x.status = 'suspended'))
          OR (a.level > 2 AND EXISTS (SELECT 1 FROM accounts x INDEXED BY accounts_suspended
              WHERE x.sid = a.branch_sid AND x.status = 'suspended')))"
    };
}

macro_rules! select_account {
    () => {
        concat!(
            "SELECT a.sid, a.level, a.root_sid, a.branch_sid, a.email, a.friendly_name, a.role,
                    a.status, a.password_hash, a.token_salt, a.date_created, a.date_updated, a.seq, ",
            ancestor_suspended!(),
            ", a.secondary_salt, a.secondary_created FROM accounts a"
        )
    };
}

const FIND_BY_SID: &str = concat!(select_account!(), " WHERE a.sid = ?1");
const FIND_BY_EMAIL: &str = concat!(select_account!(), " WHERE a.email = ?1");
const FIRST_ROOT: &str = concat!(
    select_account!(),
    " WHERE a.level = 1 ORDER BY a.seq LIMIT 1"
);

/// The status as shown (see `Account::status`), for the list filter.
const SHOWN_STATUS: &str = concat!(
    "(CASE WHEN a.status = 'closed' THEN 'closed' WHEN ",
    ancestor_suspended!(),
    " THEN 'suspended' ELSE a.status END)"
);

fn find(conn: &Connection, key: &AccountKey) -> Result<Option<Account>, StoreError> {
    let (sql, value) = match key {
        AccountKey::Sid(sid) => (FIND_BY_SID, sid.as_str()),
        AccountKey::Email(email) => (FIND_BY_EMAIL, email.as_str()),
    };
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query([value])?;
    match rows.next()? {
        Some(row) => Ok(Some(account_from_row(row)?)),
        None => Ok(None),
    }
}

fn is_empty(conn: &Connection) -> Result<bool, StoreError> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts)")?
        .query_row([], |row| row.get(0))?;
    Ok(!any)
}

/// The parts of a listing that change its SQL; the values go in as parameters.
/// PostgreSQL builds its own statements from the same shapes.
#[derive(Clone, Copy)]
pub(super) struct ListShape {
    /// 0: the account itself, 1: a root's subtree, 2: a branch's subtree.
    pub(super) scope: usize,
    pub(super) friendly_name: bool,
    pub(super) email: bool,
    pub(super) status: bool,
    /// 0: offset, 1: after a cursor, 2: before a cursor.
    pub(super) position: usize,
}

impl ListShape {
    pub(super) const COUNT: usize = 3 * 2 * 2 * 2 * 3;

    pub(super) fn of(query: &ListQuery) -> ListShape {
        ListShape {
            scope: match query.scope {
                Scope::Itself(_) => 0,
                Scope::Subtree { level: 1, .. } => 1,
                Scope::Subtree { .. } => 2,
            },
            friendly_name: query.friendly_name.is_some(),
            email: query.email.is_some(),
            status: query.status.is_some(),
            position: match query.position {
                Position::Offset(_) => 0,
                Position::After(_) => 1,
                Position::Before(_) => 2,
            },
        }
    }

    pub(super) fn index(self) -> usize {
        let flags = usize::from(self.friendly_name)
            | usize::from(self.email) << 1
            | usize::from(self.status) << 2;
        (self.scope * 8 + flags) * 3 + self.position
    }

    pub(super) fn from_index(index: usize) -> ListShape {
        let (rest, position) = (index / 3, index % 3);
        let (scope, flags) = (rest / 8, rest % 8);
        ListShape {
            scope,
            friendly_name: flags & 1 != 0,
            email: flags & 2 != 0,
            status: flags & 4 != 0,
            position,
        }
    }

    /// Parameters in this order: scope, friendly name, email, status, cursor, limit, offset.
    fn sql(self) -> String {
        let mut sql = String::from(select_account!());
        sql.push_str(
            [
                " WHERE a.sid = ?",
                " WHERE a.root_sid = ?",
                " WHERE a.branch_sid = ?",
            ][self.scope],
        );
        if self.friendly_name {
            sql.push_str(" AND a.friendly_name = ?");
        }
        if self.email {
            sql.push_str(" AND a.email = ?");
        }
        if self.status {
            sql.push_str(&format!(" AND {SHOWN_STATUS} = ?"));
        }
        let direction = match self.position {
            1 => {
                sql.push_str(" AND (a.date_created, a.seq) > (?, ?)");
                "ASC"
            }
            2 => {
                sql.push_str(" AND (a.date_created, a.seq) < (?, ?)");
                "DESC"
            }
            _ => "ASC",
        };
        sql.push_str(&format!(
            " ORDER BY a.date_created {direction}, a.seq {direction} LIMIT ?"
        ));
        if self.position == 0 {
            sql.push_str(" OFFSET ?");
        }
        sql
    }
}

/// Every shape's SQL, built once: a listing picks its statement without formatting any text.
fn list_sql(shape: ListShape) -> &'static str {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..ListShape::COUNT)
            .map(|index| ListShape::from_index(index).sql())
            .collect()
    });
    &all[shape.index()]
}

fn list(conn: &Connection, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
    let shape = ListShape::of(query);
    let scope = match &query.scope {
        Scope::Itself(sid) | Scope::Subtree { sid, .. } => sid.as_str(),
    };
    let mut params: Vec<&dyn ToSql> = vec![&scope];
    let friendly_name = query.friendly_name.as_ref().map(FriendlyName::as_str);
    let email = query.email.as_ref().map(Email::as_str);
    let status = query.status.map(Status::as_str);
    for value in [&friendly_name, &email, &status].into_iter().flatten() {
        params.push(value);
    }
    let cursor = match &query.position {
        Position::After(cursor) | Position::Before(cursor) => Some((cursor.created.0, cursor.seq)),
        Position::Offset(_) => None,
    };
    if let Some((created, seq)) = &cursor {
        params.push(created);
        params.push(seq);
    }
    let limit = query.limit as i64;
    params.push(&limit);
    let offset = match query.position {
        Position::Offset(offset) => i64::try_from(offset).unwrap_or(i64::MAX),
        _ => 0,
    };
    if shape.position == 0 {
        params.push(&offset);
    }
    let mut statement = conn.prepare_cached(list_sql(shape))?;
    let mut rows = statement.query(params.as_slice())?;
    let mut accounts = Vec::with_capacity(query.limit.min(MAX_PAGE_SIZE + 1));
    while let Some(row) = rows.next()? {
        let account = account_from_row(row)?;
        let cursor = Cursor {
            created: account.created,
            seq: row.get(12)?,
        };
        accounts.push(Listed { account, cursor });
    }
    if shape.position == 2 {
        accounts.reverse();
    }
    Ok(accounts)
}

fn account_from_row(row: &Row<'_>) -> Result<Account, StoreError> {
    let corrupt =
        |what: &str| StoreError::Failed(format!("a stored account has an invalid {what}"));
    // Borrowed text, parsed in place: each value is copied once, into its newtype.
    let text = |index: usize| -> Result<&str, StoreError> {
        row.get_ref(index)?
            .as_str()
            .map_err(|_| corrupt("text column"))
    };
    let optional_text = |index: usize| -> Result<Option<&str>, StoreError> {
        row.get_ref(index)?
            .as_str_or_null()
            .map_err(|_| corrupt("text column"))
    };
    let parse_sid = |text: &str| AccountSid::parse(text).ok_or_else(|| corrupt("sid"));
    let level: i64 = row.get(1)?;
    let ancestors = match (level, optional_text(3)?) {
        (1, _) => Vec::new(),
        (2, _) => vec![parse_sid(text(2)?)?],
        (3, Some(branch)) => vec![parse_sid(text(2)?)?, parse_sid(branch)?],
        _ => return Err(corrupt("level")),
    };
    let email = optional_text(4)?
        .map(Email::parse)
        .transpose()
        .map_err(|_| corrupt("email"))?;
    Ok(Account {
        sid: parse_sid(text(0)?)?,
        ancestors,
        email,
        friendly_name: FriendlyName::from_stored(text(5)?).map_err(|_| corrupt("friendly name"))?,
        role: Role::parse(text(6)?).map_err(|_| corrupt("role"))?,
        own_status: Status::parse(text(7)?).map_err(|_| corrupt("status"))?,
        password_hash: optional_text(8)?.map(str::to_owned),
        token_salt: text(9)?.to_owned(),
        created: UnixTime(row.get(10)?),
        updated: UnixTime(row.get(11)?),
        ancestor_suspended: row.get(13)?,
        secondary: match (optional_text(14)?, row.get::<_, Option<i64>>(15)?) {
            (Some(salt), Some(created)) => Some(SecondaryToken {
                salt: salt.to_owned(),
                created: UnixTime(created),
            }),
            _ => None,
        },
    })
}

const KEY_COLUMNS: &str =
    "SELECT sid, account_sid, friendly_name, secret_hash, date_created, date_updated, seq \
     FROM api_keys";

/// Run on every authentication with a key, so its text is built once.
const FIND_KEY: &str = "SELECT sid, account_sid, friendly_name, secret_hash, date_created, \
     date_updated, seq FROM api_keys WHERE sid = ?1";

fn find_key(conn: &Connection, sid: &KeySid) -> Result<Option<ApiKey>, StoreError> {
    let mut statement = conn.prepare_cached(FIND_KEY)?;
    let mut rows = statement.query([sid.as_str()])?;
    match rows.next()? {
        Some(row) => Ok(Some(key_from_row(row)?.key)),
        None => Ok(None),
    }
}

const KEYS_FROM: &str = "WHERE account_sid = ?1 ORDER BY date_created, seq LIMIT ?2 OFFSET ?3";
const KEYS_AFTER: &str = "WHERE account_sid = ?1 AND (date_created, seq) > (?3, ?4) \
     ORDER BY date_created, seq LIMIT ?2";
const KEYS_BEFORE: &str = "WHERE account_sid = ?1 AND (date_created, seq) < (?3, ?4) \
     ORDER BY date_created DESC, seq DESC LIMIT ?2";

fn list_keys(conn: &Connection, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError> {
    let account = query.account.as_str();
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let sql = match &query.position {
        Position::Offset(_) => KEYS_FROM,
        Position::After(_) => KEYS_AFTER,
        Position::Before(_) => KEYS_BEFORE,
    };
    let mut statement = conn.prepare_cached(&format!("{KEY_COLUMNS} {sql}"))?;
    let rows = match &query.position {
        Position::Offset(offset) => {
            let offset = i64::try_from(*offset).unwrap_or(i64::MAX);
            statement.query(rusqlite::params![account, limit, offset])?
        }
        Position::After(cursor) | Position::Before(cursor) => {
            statement.query(rusqlite::params![
                account,
                limit,
                cursor.created.0,
                cursor.seq
            ])?
        }
    };
    let mut keys = rows
        .mapped(|row| Ok(key_from_row(row)))
        .collect::<Result<Result<Vec<_>, StoreError>, rusqlite::Error>>()??;
    if matches!(query.position, Position::Before(_)) {
        keys.reverse();
    }
    Ok(keys)
}

fn count_keys(conn: &Connection, account: &AccountSid) -> Result<usize, StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM api_keys WHERE account_sid = ?1")?
        .query_row([account.as_str()], |row| row.get(0))?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

fn key_from_row(row: &Row<'_>) -> Result<ListedKey, StoreError> {
    let corrupt = |what: &str| StoreError::Failed(format!("a stored key has an invalid {what}"));
    let text = |index: usize| -> Result<String, StoreError> {
        row.get::<_, String>(index)
            .map_err(|_| corrupt("text column"))
    };
    let friendly_name = row
        .get::<_, Option<String>>(2)?
        .map(|name| FriendlyName::from_stored(&name))
        .transpose()
        .map_err(|_| corrupt("friendly name"))?;
    let key = ApiKey {
        sid: KeySid::parse(&text(0)?).ok_or_else(|| corrupt("sid"))?,
        account: AccountSid::parse(&text(1)?).ok_or_else(|| corrupt("account sid"))?,
        friendly_name,
        secret_hash: text(3)?,
        created: UnixTime(row.get(4)?),
        updated: UnixTime(row.get(5)?),
    };
    let cursor = Cursor {
        created: key.created,
        seq: row.get(6)?,
    };
    Ok(ListedKey { key, cursor })
}

fn sqlite_code(error: &rusqlite::Error) -> Option<ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    }
}

/// A description for the log that holds neither SQL nor a path.
pub(super) fn sqlite_cause(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => {
            format!(
                "sqlite error {:?} (extended code {})",
                failure.code, failure.extended_code
            )
        }
        rusqlite::Error::SqlInputError { .. } => "invalid SQL".to_owned(),
        other => format!("sqlite: {other}"),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        match error {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
                ErrorCode::DiskFull => StoreError::Full,
                ErrorCode::ConstraintViolation
                    if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    StoreError::Duplicate
                }
                _ => StoreError::Failed(sqlite_cause(&error)),
            },
            other => StoreError::Failed(sqlite_cause(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_list_shape_has_its_own_statement() {
        let shapes = (0..ListShape::COUNT).map(ListShape::from_index);
        for (index, shape) in shapes.clone().enumerate() {
            assert_eq!(shape.index(), index);
        }
        let statements: HashSet<String> = shapes.map(ListShape::sql).collect();
        assert_eq!(statements.len(), ListShape::COUNT);
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    /// Every listing walks an index in the listing's own order: no table scan, no sort.
    #[test]
    fn every_list_shape_searches_an_index_in_creation_order() {
        let conn = migrated();
        for index in 0..ListShape::COUNT {
            let shape = ListShape::from_index(index);
            let sql = format!("EXPLAIN QUERY PLAN {}", shape.sql());
            let mut statement = conn.prepare(&sql).unwrap();
            let mut rows = statement.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            let plan = plan.join("; ");
            let expected = [
                "USING INDEX sqlite_autoindex_accounts_1 (sid=?)",
                "USING INDEX accounts_by_root (root_sid=?",
                "USING INDEX accounts_by_branch (branch_sid=?",
            ][shape.scope];
            // An email names one account at most: its unique index is as good as any.
            let by_email = shape.email && plan.contains("INDEX sqlite_autoindex_accounts_2");
            assert!(
                plan.contains(expected) || by_email,
                "{}: {plan}",
                shape.sql()
            );
            assert!(!plan.contains("SCAN"), "{}: {plan}", shape.sql());
            assert!(!plan.contains("TEMP B-TREE"), "{}: {plan}", shape.sql());
            if shape.position != 0 && shape.scope != 0 && !by_email {
                assert!(plan.contains("(date_created,seq)"), "{plan}");
            }
        }
    }

    /// Every event listing walks its scope's index in date order: a page costs the same
    /// however many events there are before it.
    #[test]
    fn every_event_listing_walks_an_index_in_date_order() {
        use crate::domain::store::{EventQuery, Scope};
        let conn = migrated();
        let sid = AccountSid::random();
        let cursor = Cursor {
            created: UnixTime(5),
            seq: 9,
        };
        let scopes = [
            (Scope::Itself(sid.clone()), "events_by_account"),
            (
                Scope::Subtree {
                    sid: sid.clone(),
                    level: 1,
                },
                "events_by_root",
            ),
            (Scope::Subtree { sid, level: 2 }, "events_by_branch"),
        ];
        for (scope, index) in scopes {
            for position in [
                None,
                Some(Position::After(cursor.clone())),
                Some(Position::Before(cursor.clone())),
            ] {
                let query = EventQuery {
                    scope: scope.clone(),
                    actor: None,
                    event_type: None,
                    resource: None,
                    address: None,
                    start: None,
                    end: None,
                    position,
                    limit: 51,
                };
                let sql = events::list_sql(events::Dialect::Sqlite, &query);
                let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let mut rows = statement.raw_query();
                let mut plan = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    plan.push(row.get::<_, String>(3).unwrap());
                }
                let plan = plan.join("; ");
                assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                // The walk starts at the cursor, whatever the page: constant cost at any depth.
                assert!(plan.contains("(event_date,seq)"), "{plan}");
            }
        }
    }

    #[test]
    fn inserts_take_the_next_sequence_number() {
        let conn = migrated();
        let mut tx = InTransaction(&conn);
        let root = AccountSid::random();
        let mut seqs = Vec::new();
        for n in 0..3 {
            let sid = if n == 0 {
                root.clone()
            } else {
                AccountSid::random()
            };
            let account = Account {
                sid: sid.clone(),
                ancestors: if n == 0 { vec![] } else { vec![root.clone()] },
                email: None,
                friendly_name: FriendlyName::parse("n").unwrap(),
                role: Role::Developer,
                own_status: Status::Active,
                ancestor_suspended: false,
                password_hash: None,
                token_salt: String::new(),
                secondary: None,
                created: UnixTime(5),
                updated: UnixTime(5),
            };
            tx.insert(&account).unwrap();
            let seq: i64 = conn
                .query_row(
                    "SELECT seq FROM accounts WHERE sid = ?1",
                    [sid.as_str()],
                    |row| row.get(0),
                )
                .unwrap();
            seqs.push(seq);
        }
        assert_eq!(seqs, [1, 2, 3]);
    }
}
