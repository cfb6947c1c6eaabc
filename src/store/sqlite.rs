//! Reads run on the request's own thread with a pooled connection (a point read takes a few
//! microseconds, less than a hop to another thread would); writes go to the single writer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};

use super::migrate::{migrate, MigrateError};
use super::writer::Writer;
use crate::domain::account::{Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime};
use crate::domain::store::{
    AccountKey, AccountRead, AccountWrite, ListQuery, Position, Scope, Store, StoreError, WriteJob,
    WriteReply,
};

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
}

/// Why the database could not be opened. The message names no path and no SQL.
#[derive(Debug)]
pub enum OpenError {
    NotADatabase,
    Unwritable,
    TooNew { found: i64, known: i64 },
    Other(String),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NotADatabase => {
                f.write_str("the database file is not a SQLite database or is corrupt")
            }
            OpenError::Unwritable => f.write_str("the database file cannot be opened for writing"),
            OpenError::TooNew { found, known } => write!(
                f,
                "the database has schema version {found}, newer than this build knows ({known})"
            ),
            OpenError::Other(cause) => write!(f, "the database cannot be opened: {cause}"),
        }
    }
}

fn open_error(error: rusqlite::Error) -> OpenError {
    match sqlite_code(&error) {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => OpenError::NotADatabase,
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            OpenError::Unwritable
        }
        _ => OpenError::Other(describe(&error)),
    }
}

pub struct SqliteStore {
    readers: Pool<SqliteConnectionManager>,
    writer: Writer,
}

impl SqliteStore {
    pub fn open(options: &StoreOptions) -> Result<SqliteStore, OpenError> {
        let mut conn = open_writer(&options.path, options.sync)?;
        migrate(&mut conn).map_err(|error| match error {
            MigrateError::TooNew { found, known } => OpenError::TooNew { found, known },
            MigrateError::Sqlite(error) => open_error(error),
        })?;
        let manager = SqliteConnectionManager::file(&options.path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|conn| {
                conn.busy_timeout(Duration::from_secs(5))?;
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
        Ok(SqliteStore {
            readers,
            writer: Writer::start(conn),
        })
    }
}

fn open_writer(path: &Path, sync: SyncMode) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    if conn
        .is_readonly(rusqlite::DatabaseName::Main)
        .map_err(open_error)?
    {
        return Err(OpenError::Unwritable);
    }
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(open_error)?;
    // Reading the schema first makes a corrupt or foreign file fail here, before any write.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(open_error)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Other(format!(
            "journal mode {mode} instead of WAL"
        )));
    }
    conn.pragma_update(None, "synchronous", sync.as_str())
        .map_err(open_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Store for SqliteStore {
    fn reader(&self) -> Result<Box<dyn AccountRead + '_>, StoreError> {
        let conn = self.readers.get().map_err(|_| StoreError::Busy)?;
        Ok(Box::new(PooledReader(conn)))
    }

    fn write(&self, job: WriteJob) -> Result<WriteReply, StoreError> {
        self.writer.submit(job)
    }
}

struct PooledReader(PooledConnection<SqliteConnectionManager>);

impl AccountRead for PooledReader {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        find(&self.0, key)
    }
    fn list(&self, query: &ListQuery) -> Result<Vec<Account>, StoreError> {
        list(&self.0, query)
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        is_empty(&self.0)
    }
}

/// The writer's view inside a transaction (a savepoint of the group commit).
pub(super) struct InTransaction<'a>(pub &'a Connection);

impl AccountRead for InTransaction<'_> {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        find(self.0, key)
    }
    fn list(&self, query: &ListQuery) -> Result<Vec<Account>, StoreError> {
        list(self.0, query)
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        is_empty(self.0)
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
        let mut statement = self.0.prepare_cached(
            "INSERT INTO accounts (sid, level, owner_sid, root_sid, branch_sid, email, friendly_name,
                 role, status, password_hash, token_salt, date_created, date_updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
                 token_salt = ?6, date_updated = ?7
             WHERE sid = ?1",
        )?;
        statement.execute(rusqlite::params![
            account.sid.as_str(),
            account.friendly_name.as_str(),
            account.role.as_str(),
            account.own_status.as_str(),
            account.password_hash,
            account.token_salt,
            account.updated.0,
        ])?;
        Ok(())
    }

    fn close_descendants(&mut self, sid: &AccountSid, at: UnixTime) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(
            "UPDATE accounts SET status = 'closed', date_updated = ?2
             WHERE (root_sid = ?1 OR branch_sid = ?1) AND sid <> ?1 AND status <> 'closed'",
        )?;
        statement.execute(rusqlite::params![sid.as_str(), at.0])?;
        Ok(())
    }
}

/// True when a proper ancestor (the root or the branch, when they are not the row itself) is
/// suspended. Closing cascades into the descendants' own status, so only suspension needs this.
const ANCESTOR_SUSPENDED: &str = "EXISTS (SELECT 1 FROM accounts x
     WHERE x.sid IN (a.root_sid, a.branch_sid) AND x.sid <> a.sid AND x.status = 'suspended')";

fn select_columns() -> String {
    format!(
        "SELECT a.sid, a.level, a.root_sid, a.branch_sid, a.email, a.friendly_name, a.role,
                a.status, a.password_hash, a.token_salt, a.date_created, a.date_updated,
                {ANCESTOR_SUSPENDED}
         FROM accounts a"
    )
}

/// The status as shown (see `Account::status`), for the list filter.
fn shown_status() -> String {
    format!("(CASE WHEN a.status = 'closed' THEN 'closed' WHEN {ANCESTOR_SUSPENDED} THEN 'suspended' ELSE a.status END)")
}

fn find(conn: &Connection, key: &AccountKey) -> Result<Option<Account>, StoreError> {
    let (column, value) = match key {
        AccountKey::Sid(sid) => ("sid", sid.as_str()),
        AccountKey::Email(email) => ("email", email.as_str()),
    };
    let sql = format!("{} WHERE a.{column} = ?1", select_columns());
    let mut statement = conn.prepare_cached(&sql)?;
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

fn list(conn: &Connection, query: &ListQuery) -> Result<Vec<Account>, StoreError> {
    let mut sql = select_columns();
    let mut params: Vec<Value> = Vec::new();
    let scope = match &query.scope {
        Scope::Itself(sid) => ("a.sid", sid),
        Scope::Subtree { sid, level: 1 } => ("a.root_sid", sid),
        Scope::Subtree { sid, .. } => ("a.branch_sid", sid),
    };
    sql.push_str(&format!(" WHERE {} = ?", scope.0));
    params.push(Value::Text(scope.1.as_str().to_owned()));
    if let Some(name) = &query.friendly_name {
        sql.push_str(" AND a.friendly_name = ?");
        params.push(Value::Text(name.as_str().to_owned()));
    }
    if let Some(email) = &query.email {
        sql.push_str(" AND a.email = ?");
        params.push(Value::Text(email.as_str().to_owned()));
    }
    if let Some(status) = query.status {
        sql.push_str(&format!(" AND {} = ?", shown_status()));
        params.push(Value::Text(status.as_str().to_owned()));
    }
    let backwards = matches!(query.position, Position::Before(_));
    match &query.position {
        Position::After(cursor) | Position::Before(cursor) => {
            let comparison = if backwards { "<" } else { ">" };
            sql.push_str(&format!(" AND (a.date_created, a.sid) {comparison} (?, ?)"));
            params.push(Value::Integer(cursor.created.0));
            params.push(Value::Text(cursor.sid.as_str().to_owned()));
        }
        Position::Offset(_) => {}
    }
    let direction = if backwards { "DESC" } else { "ASC" };
    sql.push_str(&format!(
        " ORDER BY a.date_created {direction}, a.sid {direction} LIMIT ?"
    ));
    params.push(Value::Integer(query.limit as i64));
    if let Position::Offset(offset) = query.position {
        sql.push_str(" OFFSET ?");
        params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    }
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut accounts = Vec::with_capacity(query.limit.min(1001));
    while let Some(row) = rows.next()? {
        accounts.push(account_from_row(row)?);
    }
    if backwards {
        accounts.reverse();
    }
    Ok(accounts)
}

fn account_from_row(row: &Row<'_>) -> Result<Account, StoreError> {
    let corrupt =
        |what: &str| StoreError::Failed(format!("a stored account has an invalid {what}"));
    let sid: String = row.get(0)?;
    let level: i64 = row.get(1)?;
    let root: String = row.get(2)?;
    let branch: Option<String> = row.get(3)?;
    let parse_sid = |text: &str| AccountSid::parse(text).ok_or_else(|| corrupt("sid"));
    let ancestors = match (level, branch) {
        (1, _) => Vec::new(),
        (2, _) => vec![parse_sid(&root)?],
        (3, Some(branch)) => vec![parse_sid(&root)?, parse_sid(&branch)?],
        _ => return Err(corrupt("level")),
    };
    let email = row
        .get::<_, Option<String>>(4)?
        .map(|e| Email::parse(&e))
        .transpose()
        .map_err(|_| corrupt("email"))?;
    Ok(Account {
        sid: parse_sid(&sid)?,
        ancestors,
        email,
        friendly_name: FriendlyName::parse(&row.get::<_, String>(5)?)
            .map_err(|_| corrupt("friendly name"))?,
        role: Role::parse(&row.get::<_, String>(6)?).map_err(|_| corrupt("role"))?,
        own_status: Status::parse(&row.get::<_, String>(7)?).map_err(|_| corrupt("status"))?,
        password_hash: row.get(8)?,
        token_salt: row.get(9)?,
        created: UnixTime(row.get(10)?),
        updated: UnixTime(row.get(11)?),
        ancestor_suspended: row.get(12)?,
    })
}

fn sqlite_code(error: &rusqlite::Error) -> Option<ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    }
}

/// A description for the log that holds neither SQL nor a path.
fn describe(error: &rusqlite::Error) -> String {
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
                _ => StoreError::Failed(describe(&error)),
            },
            other => StoreError::Failed(describe(&other)),
        }
    }
}
