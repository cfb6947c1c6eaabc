//! The full integrity check, off the start-up path: it reads every page, so it takes time in
//! proportion to the file (seconds for a million accounts), while a start must not.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::lock::InstanceLock;
use super::sqlite::{companion, open_error, preflight_read_only, recognise, OpenError};

/// At most this many of SQLite's findings are kept: the first ones say enough.
const MAX_FINDINGS: usize = 10;

/// What `PRAGMA integrity_check` found.
#[derive(Debug)]
pub struct Integrity {
    /// Empty when the file is intact.
    pub problems: Vec<String>,
    pub accounts: u64,
    pub schema_version: i64,
}

/// Checks the database at `path` without writing to it, with a server running on it or not.
pub fn check_integrity(path: &Path) -> Result<Integrity, OpenError> {
    preflight_read_only(path)?;
    // With no server running, nothing changes the file while it is read: it is read as it
    // is, and no `-wal` or `-shm` file is made beside it. `None`: a server runs.
    let lock = InstanceLock::acquire(path).ok();
    let quiet = lock.is_some() && !companion(path, "-wal").exists();
    let outcome = open_read_only(path, quiet).and_then(|conn| run_check(&conn));
    if let Some(lock) = lock {
        lock.release_removing_file();
    }
    outcome
}

fn open_read_only(path: &Path, immutable: bool) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let location = path
        .to_str()
        .ok_or_else(|| OpenError::Other("the database path is not valid UTF-8".into()))?;
    let uri = format!(
        "file:{}?mode=ro{}",
        percent_encode(location),
        if immutable { "&immutable=1" } else { "" }
    );
    let conn = Connection::open_with_flags(uri, flags).map_err(open_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_error)?;
    Ok(conn)
}

/// A file name inside a `file:` URI: `?`, `#` and `%` would otherwise end or escape it.
fn percent_encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'?' | b'#' | b'%' => encoded.push_str(&format!("%{byte:02X}")),
            _ => encoded.push(char::from(byte)),
        }
    }
    encoded
}

fn run_check(conn: &Connection) -> Result<Integrity, OpenError> {
    let schema_version = recognise(conn)?;
    let mut statement = conn
        .prepare(&format!("PRAGMA integrity_check({MAX_FINDINGS})"))
        .map_err(open_error)?;
    let findings = match statement
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
    {
        Ok(findings) => findings,
        // A page too damaged to walk stops the check itself; that is its verdict.
        Err(error) => match open_error(error) {
            OpenError::Corrupt => {
                vec!["a page is too damaged to be read (the disk image is malformed)".to_owned()]
            }
            other => return Err(other),
        },
    };
    let problems: Vec<String> = findings.into_iter().filter(|f| f != "ok").collect();
    let accounts: i64 = if schema_version == 0 || !problems.is_empty() {
        0
    } else {
        conn.query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
            .map_err(open_error)?
    };
    Ok(Integrity {
        problems,
        accounts: u64::try_from(accounts).unwrap_or(0),
        schema_version,
    })
}
