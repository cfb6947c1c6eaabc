//! `switchboard check`: SQLite's full integrity check of the database, which the start no
//! longer runs (its cost grows with the file). Reads only; the server may be running.

use crate::config::Config;
use crate::startup::require_folder;
use crate::store::check_integrity;

pub fn check(config: &Config) -> Result<String, String> {
    if crate::store::is_url(&config.db_path) {
        return Err("check reads a SQLite file: PostgreSQL checks its own pages (see its amcheck extension)".into());
    }
    require_folder(&config.db_path).map_err(|e| e.to_string())?;
    let integrity = check_integrity(&config.db_path).map_err(|e| e.to_string())?;
    match integrity.problems.first() {
        None => Ok(format!(
            "the database is intact: {} account{}, schema version {}",
            integrity.accounts,
            if integrity.accounts == 1 { "" } else { "s" },
            integrity.schema_version
        )),
        Some(first) => Err(format!(
            "the database is damaged ({} problem{} found, the first: {first}): restore it from a backup",
            integrity.problems.len(),
            if integrity.problems.len() == 1 { "" } else { "s" },
        )),
    }
}
