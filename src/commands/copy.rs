//! `switchboard copy --from DB --to DB`: a whole installation moved between stores, SQLite or
//! PostgreSQL, into an empty target in one transaction. Hashes, salts and the key check value
//! travel as stored, so the command needs no key file, and the copy answers to the same one.

use std::path::Path;

use crate::store::{postgres_url, read_installation, write_installation};

pub fn copy(from: &Path, to: &Path) -> Result<String, String> {
    let (shown_from, shown_to) = (shown(from)?, shown(to)?);
    if shown_from == shown_to {
        return Err("--from and --to name the same database: copy into another one".into());
    }
    let installation = read_installation(from).map_err(|error| error.to_string())?;
    write_installation(to, &installation).map_err(|error| error.to_string())?;
    let count = installation.accounts.len();
    let events = installation.events.len();
    Ok(format!(
        "copied {count} account{} and {events} audit event{} from {shown_from} -> {shown_to}. \
         Start the copy with the same key file.",
        if count == 1 { "" } else { "s" },
        if events == 1 { "" } else { "s" }
    ))
}

/// A URL without its password, or the path as typed.
fn shown(db: &Path) -> Result<String, String> {
    match postgres_url(db).map_err(|error| error.to_string())? {
        Some(settings) => Ok(settings.to_string()),
        None => Ok(db.display().to_string()),
    }
}
