//! A whole installation moved between stores, SQLite or PostgreSQL, for `switchboard copy`:
//! every account row exactly as stored (hashes, salts and creation numbers included), every
//! API key (its secret only as the keyed hash), and the installation's own rows. Never on the request path: it reads and writes whole tables.

use std::fmt;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::lock::InstanceLock;
use super::sqlite::{open_error, preflight_read_only, recognise, sqlite_cause};
use super::{database_files, postgres_url, OpenError, SqliteStore, StoreOptions, SyncMode};
use crate::domain::account::{Account, AccountSid};
use crate::domain::event::Event;

/// One account as stored: every column, with `seq` its place in creation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub sid: String,
    pub level: i64,
    pub owner_sid: String,
    pub root_sid: String,
    pub branch_sid: Option<String>,
    pub email: Option<String>,
    pub friendly_name: String,
    pub role: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub token_salt: String,
    pub date_created: i64,
    pub date_updated: i64,
    pub seq: i64,
    /// The salt of a secondary AuthToken and when it was made, while there is one.
    pub secondary_salt: Option<String>,
    pub secondary_created: Option<i64>,
}

/// One API key as stored: its secret only as the keyed hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: Option<String>,
    pub secret_hash: String,
    pub date_created: i64,
    pub date_updated: i64,
    pub seq: i64,
}

impl AccountRow {
    /// A new account's row, placed `seq`th in the creation order.
    pub fn from_account(account: &Account, seq: i64) -> AccountRow {
        let level = account.level();
        let root = account.ancestors.first().unwrap_or(&account.sid);
        let branch = match level {
            1 => None,
            2 => Some(&account.sid),
            _ => account.ancestors.get(1),
        };
        AccountRow {
            sid: account.sid.to_string(),
            level: level as i64,
            owner_sid: account.owner().to_string(),
            root_sid: root.to_string(),
            branch_sid: branch.map(AccountSid::to_string),
            email: account
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            friendly_name: account.friendly_name.as_str().to_owned(),
            role: account.role.as_str().to_owned(),
            status: account.own_status.as_str().to_owned(),
            password_hash: account.password_hash.clone(),
            token_salt: account.token_salt.clone(),
            date_created: account.created.0,
            date_updated: account.updated.0,
            seq,
            secondary_salt: account
                .secondary
                .as_ref()
                .map(|secondary| secondary.salt.clone()),
            secondary_created: account
                .secondary
                .as_ref()
                .map(|secondary| secondary.created.0),
        }
    }
}

/// One audit event as stored, every column; `texts` in the order of [`EVENT_COLUMNS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub texts: [Option<String>; EVENT_TEXTS],
    pub event_date: i64,
    pub seq: i64,
}

impl EventRow {
    /// A new event's row, placed `seq`th in the events' order.
    pub fn from_event(event: &Event, seq: i64) -> EventRow {
        let row = super::events::NewRow::of(event);
        EventRow {
            texts: [
                Some(row.sid),
                Some(row.account_sid),
                Some(row.root_sid),
                row.branch_sid,
                Some(row.actor_type.to_owned()),
                row.actor_sid,
                Some(row.event_type.to_owned()),
                Some(row.resource_type.to_owned()),
                Some(row.resource_sid),
                Some(row.source.to_owned()),
                row.source_ip,
                Some(row.event_data),
            ],
            event_date: row.event_date,
            seq,
        }
    }
}

pub(super) const EVENT_TEXTS: usize = 12;

/// The events' text columns, then `event_date` and `seq`: the order every copy statement uses.
pub(super) const EVENT_COLUMNS: &str = "sid, account_sid, root_sid, branch_sid, actor_type, \
     actor_sid, event_type, resource_type, resource_sid, source, source_ip, event_data, \
     event_date, seq";

/// Everything a copy carries: the accounts, the API keys and the audit events, each in `seq`
/// order, and the installation rows (the key check value among them) by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Installation {
    pub accounts: Vec<AccountRow>,
    pub keys: Vec<KeyRow>,
    pub events: Vec<EventRow>,
    pub rows: Vec<(String, String)>,
}

impl Installation {
    /// A new installation of `accounts` (without API keys) and their `events`, set up with the key whose check
    /// value is `key_check`.
    pub fn new(
        accounts: Vec<AccountRow>,
        events: Vec<EventRow>,
        key_check: String,
    ) -> Installation {
        Installation {
            accounts,
            keys: Vec::new(),
            events,
            rows: vec![("key_check".to_owned(), key_check)],
        }
    }
}

/// Counted the commits of the PostgreSQL database it lived in (the data version before
/// `pg_current_snapshot()` took over), so it means nothing in another database: never copied.
pub(super) const LOCAL_ROWS: &[&str] = &["data_version"];

/// Why a copy was refused or failed; no message holds a password, a hash or SQL.
#[derive(Debug)]
pub enum CopyError {
    /// The source could not be opened or read.
    Source(OpenError),
    /// The target could not be opened, checked or written.
    Target(OpenError),
    /// The source is a new, empty database: there is nothing to copy.
    SourceEmpty,
    /// The source's schema is older than this build's.
    SourceOutdated { found: i64, known: i64 },
    /// The target already holds an installation.
    TargetNotEmpty { accounts: bool },
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::Source(error) => write!(f, "the source: {error}"),
            CopyError::Target(error) => write!(f, "the target: {error}"),
            CopyError::SourceEmpty => {
                f.write_str("the source holds no installation: there is nothing to copy")
            }
            CopyError::SourceOutdated { found, known } => write!(
                f,
                "the source has schema version {found}, older than this build's {known}: start \
                 this build's server on it once (it upgrades the schema), stop it, then copy"
            ),
            CopyError::TargetNotEmpty { accounts: true } => f.write_str(
                "the target already holds accounts: copy into a new, empty database only",
            ),
            CopyError::TargetNotEmpty { accounts: false } => f.write_str(
                "the target was already set up with a key file: copy into a new, empty database only",
            ),
        }
    }
}

impl std::error::Error for CopyError {}

/// Reads the whole installation at `db` (a file path or a `postgres://` URL) in one
/// consistent snapshot, writing nothing.
pub fn read_installation(db: &Path) -> Result<Installation, CopyError> {
    match postgres_url(db).map_err(CopyError::Source)? {
        Some(settings) => super::postgres::read_installation(&settings),
        None => read_sqlite(db),
    }
}

/// Writes `installation` into the empty database at `db`, migrated to the latest schema first,
/// in one transaction: either all of it is there afterwards or none of it.
pub fn write_installation(db: &Path, installation: &Installation) -> Result<(), CopyError> {
    match postgres_url(db).map_err(CopyError::Target)? {
        Some(settings) => super::postgres::write_installation(&settings, installation),
        None => write_sqlite(db, installation),
    }
}

/// The source must be at this build's schema: then both stores mean the same by every column.
pub(super) fn require_latest(found: i64, known: i64) -> Result<(), CopyError> {
    match found {
        0 => Err(CopyError::SourceEmpty),
        found if found < known => Err(CopyError::SourceOutdated { found, known }),
        found if found > known => Err(CopyError::Source(OpenError::TooNew { found, known })),
        _ => Ok(()),
    }
}

/// Read-only, so a source that is missing is never created, and a running server's file is
/// read in one snapshot beside it.
fn read_sqlite(path: &Path) -> Result<Installation, CopyError> {
    let source = |error| CopyError::Source(error);
    preflight_read_only(path).map_err(source)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| source(open_error(error)))?;
    conn.busy_timeout(StoreOptions::DEFAULT_BUSY_WAIT)
        .map_err(|error| source(open_error(error)))?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(|error| source(open_error(error)))?;
    let found = recognise(&tx).map_err(source)?;
    require_latest(found, super::migrate::latest_version())?;
    let installation = read_sqlite_rows(&tx).map_err(|error| source(open_error(error)))?;
    drop(tx);
    Ok(installation)
}

fn read_sqlite_rows(conn: &Connection) -> rusqlite::Result<Installation> {
    let mut statement = conn.prepare(
        "SELECT sid, level, owner_sid, root_sid, branch_sid, email, friendly_name, role, status,
                password_hash, token_salt, date_created, date_updated, seq, secondary_salt,
                secondary_created
         FROM accounts ORDER BY seq",
    )?;
    let accounts = statement
        .query_map([], |row| {
            Ok(AccountRow {
                sid: row.get(0)?,
                level: row.get(1)?,
                owner_sid: row.get(2)?,
                root_sid: row.get(3)?,
                branch_sid: row.get(4)?,
                email: row.get(5)?,
                friendly_name: row.get(6)?,
                role: row.get(7)?,
                status: row.get(8)?,
                password_hash: row.get(9)?,
                token_salt: row.get(10)?,
                date_created: row.get(11)?,
                date_updated: row.get(12)?,
                seq: row.get(13)?,
                secondary_salt: row.get(14)?,
                secondary_created: row.get(15)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut statement = conn.prepare(
        "SELECT sid, account_sid, friendly_name, secret_hash, date_created, date_updated, seq
         FROM api_keys ORDER BY seq",
    )?;
    let keys = statement
        .query_map([], |row| {
            Ok(KeyRow {
                sid: row.get(0)?,
                account_sid: row.get(1)?,
                friendly_name: row.get(2)?,
                secret_hash: row.get(3)?,
                date_created: row.get(4)?,
                date_updated: row.get(5)?,
                seq: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut statement = conn.prepare("SELECT name, value FROM installation ORDER BY name")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    let mut statement =
        conn.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq"))?;
    let events = statement
        .query_map([], |row| {
            let mut texts: [Option<String>; EVENT_TEXTS] = Default::default();
            for (index, text) in texts.iter_mut().enumerate() {
                *text = row.get(index)?;
            }
            Ok(EventRow {
                texts,
                event_date: row.get(EVENT_TEXTS)?,
                seq: row.get(EVENT_TEXTS + 1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Installation {
        accounts,
        keys,
        events,
        rows,
    })
}

/// Under the instance lock, so no server starts on the file while it fills; a file this copy
/// created is taken away again if the copy does not complete.
fn write_sqlite(path: &Path, installation: &Installation) -> Result<(), CopyError> {
    let target = CopyError::Target;
    let lock = InstanceLock::acquire(path).map_err(target)?;
    let options = StoreOptions::new(path.to_owned(), SyncMode::Full);
    let outcome = SqliteStore::check(&options)
        .map_err(target)
        .and_then(|checked| {
            let created = checked.created();
            let outcome = fill_sqlite(checked, installation);
            if created && outcome.is_err() {
                for file in database_files(path) {
                    let _ = std::fs::remove_file(file);
                }
            }
            outcome
        });
    lock.release_removing_file();
    outcome
}

fn fill_sqlite(
    checked: super::CheckedDatabase,
    installation: &Installation,
) -> Result<(), CopyError> {
    let target = CopyError::Target;
    let accounts = checked.holds_accounts().map_err(target)?;
    if accounts || checked.key_check().map_err(target)?.is_some() {
        return Err(CopyError::TargetNotEmpty { accounts });
    }
    let mut conn = checked.into_migrated().map_err(target)?;
    insert_sqlite(&mut conn, installation).map_err(|error| target(open_error(error)))?;
    // Folds the log into the file, as a stopped server leaves it.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        false,
    )
    .map_err(|error| target(open_error(error)))?;
    conn.close()
        .map_err(|(_, error)| target(OpenError::Other(sqlite_cause(&error))))
}

fn insert_sqlite(conn: &mut Connection, installation: &Installation) -> rusqlite::Result<()> {
    // A large installation goes in as one transaction through indexes keyed by random Sids
    // and emails: with SQLite's default 2 MB page cache, most inserts would spill a page to
    // the log. About 1 KiB of cache per row (at most 1 GiB) keeps them in memory.
    let rows = installation.accounts.len() + installation.events.len();
    let cache_kib = (rows as i64).clamp(2_000, 1 << 20);
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // Filling an empty database through the WAL would write every page twice (log, then
    // checkpoint). A rollback journal keeps the fill all-or-nothing while writing each new
    // page once: past the file's old end there is nothing to save, so the journal stays
    // small. The file goes back to WAL, as a stopped server leaves it, once the rows are in.
    set_journal_mode(conn, "delete")?;
    fill_tables(conn, installation)?;
    set_journal_mode(conn, "wal")
}

/// SQLite answers with the mode it kept: another connection on the file keeps it in WAL.
fn set_journal_mode(conn: &Connection, mode: &str) -> rusqlite::Result<()> {
    let set: String = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |row| {
        row.get(0)
    })?;
    match set.eq_ignore_ascii_case(mode) {
        true => Ok(()),
        false => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        )),
    }
}

fn fill_tables(conn: &mut Connection, installation: &Installation) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Indexes built once from sorted rows cost a fraction of a million random inserts into
    // each: the tables' own indexes are dropped and made again from their stored SQL, inside
    // the transaction. Those of their constraints (the Sids and the email) stay, and rows go
    // in by Sid so that each Sid's index only ever grows at its end.
    let indexes = droppable_indexes(&tx)?;
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
    }
    insert_accounts(&tx, &installation.accounts)?;
    insert_keys(&tx, &installation.keys)?;
    insert_events(&tx, &installation.events)?;
    {
        let mut insert = tx.prepare("INSERT INTO installation (name, value) VALUES (?1, ?2)")?;
        for (name, value) in carried_rows(installation) {
            insert.execute([name, value])?;
        }
    }
    for (_, sql) in &indexes {
        tx.execute_batch(sql)?;
    }
    tx.commit()
}

fn insert_accounts(conn: &Connection, accounts: &[AccountRow]) -> rusqlite::Result<()> {
    let mut by_sid: Vec<&AccountRow> = accounts.iter().collect();
    by_sid.sort_unstable_by(|a, b| a.sid.cmp(&b.sid));
    let mut insert = conn.prepare(
        "INSERT INTO accounts (sid, level, owner_sid, root_sid, branch_sid, email,
             friendly_name, role, status, password_hash, token_salt, date_created,
             date_updated, seq, secondary_salt, secondary_created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for row in by_sid {
        insert.execute(rusqlite::params![
            row.sid,
            row.level,
            row.owner_sid,
            row.root_sid,
            row.branch_sid,
            row.email,
            row.friendly_name,
            row.role,
            row.status,
            row.password_hash,
            row.token_salt,
            row.date_created,
            row.date_updated,
            row.seq,
            row.secondary_salt,
            row.secondary_created,
        ])?;
    }
    Ok(())
}

fn insert_keys(conn: &Connection, keys: &[KeyRow]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare(
        "INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, date_created,
             date_updated, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for key in keys {
        insert.execute(rusqlite::params![
            key.sid,
            key.account_sid,
            key.friendly_name,
            key.secret_hash,
            key.date_created,
            key.date_updated,
            key.seq,
        ])?;
    }
    Ok(())
}

fn insert_events(conn: &Connection, events: &[EventRow]) -> rusqlite::Result<()> {
    let mut by_sid: Vec<&EventRow> = events.iter().collect();
    by_sid.sort_unstable_by(|a, b| a.texts[0].cmp(&b.texts[0]));
    let mut insert = conn.prepare(&format!(
        "INSERT INTO events ({EVENT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?;
    for row in by_sid {
        let mut values: Vec<&dyn rusqlite::ToSql> = row
            .texts
            .iter()
            .map(|text| text as &dyn rusqlite::ToSql)
            .collect();
        values.push(&row.event_date);
        values.push(&row.seq);
        insert.execute(values.as_slice())?;
    }
    Ok(())
}

/// The indexes of the bulk-filled tables made by CREATE INDEX (not by a constraint), with
/// their SQL.
fn droppable_indexes(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut statement = conn.prepare(
        "SELECT name, sql FROM sqlite_schema
         WHERE type = 'index' AND tbl_name IN ('accounts', 'events') AND sql IS NOT NULL
         ORDER BY name",
    )?;
    let indexes = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect();
    indexes
}

/// The installation rows that mean the same in any database.
pub(super) fn carried_rows(installation: &Installation) -> impl Iterator<Item = (&str, &str)> {
    installation
        .rows
        .iter()
        .filter(|(name, _)| !LOCAL_ROWS.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.as_str()))
}
