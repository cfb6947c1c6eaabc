//! A consistent copy of a live database: `VACUUM INTO` reads the whole file inside one read
//! transaction, so the copy holds every write committed before it began and none half-done,
//! while the server goes on writing (WAL readers never block the writer).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::migrate::latest_version;
use super::sqlite::{sqlite_cause, OpenError, SqliteStore, StoreOptions, SyncMode};

/// What a finished copy holds.
#[derive(Debug)]
pub struct CopySummary {
    pub accounts: u64,
    pub schema_version: i64,
}

/// Copies the database at `source` into `target`, which must not exist yet, then checks the
/// copy. Never creates or migrates the source.
pub fn copy_database(source: &Path, target: &Path) -> Result<CopySummary, OpenError> {
    let options = StoreOptions::new(source.to_owned(), SyncMode::Full);
    let checked = SqliteStore::check_existing(&options)?;
    let target_name = target
        .to_str()
        .ok_or_else(|| OpenError::Other("the backup path is not valid UTF-8".into()))?;
    checked
        .connection()
        .execute("VACUUM INTO ?1", [target_name])
        .map_err(|error| OpenError::Other(format!("the copy failed: {}", sqlite_cause(&error))))?;
    verify_copy(target)
}

/// Reads the copy back: it must pass a full integrity check and know its schema version.
fn verify_copy(target: &Path) -> Result<CopySummary, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let fail = |error: rusqlite::Error| {
        OpenError::Other(format!(
            "the copy cannot be read back: {}",
            sqlite_cause(&error)
        ))
    };
    let copy = Connection::open_with_flags(target, flags).map_err(fail)?;
    let verdict: String = copy
        .query_row("PRAGMA integrity_check(1)", [], |row| row.get(0))
        .map_err(fail)?;
    if verdict != "ok" {
        return Err(OpenError::Corrupt);
    }
    let schema_version: i64 = copy
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(fail)?;
    let accounts: i64 = if schema_version == 0 {
        0
    } else {
        copy.query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
            .map_err(fail)?
    };
    if schema_version > latest_version() {
        return Err(OpenError::TooNew {
            found: schema_version,
            known: latest_version(),
        });
    }
    Ok(CopySummary {
        accounts: u64::try_from(accounts).unwrap_or(0),
        schema_version,
    })
}
