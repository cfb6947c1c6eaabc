//! `switchboard admin new-key`: the way back from a lost key file. Every account survives,
//! but every AuthToken and every password check derives from the key, so all of them change:
//! the command says how to get back in.
//!
//! The new key file is written first, under its final name, then the database's check value
//! is replaced. A crash between the two leaves a key file that the database does not
//! recognise: the server refuses it, and moving it aside and running the command again
//! finishes the job. If the database cannot be updated, the new key file is taken away again.

use std::path::Path;

use crate::config::{default_key_file, Config};
use crate::key_file;
use crate::startup::require_folder;
use crate::store::{InstanceLock, OpenError, SqliteStore, StoreOptions, SyncMode};

pub fn new_key(config: &Config) -> Result<String, String> {
    if crate::store::is_url(&config.db_path) {
        return Err("new-key is for a SQLite file: a PostgreSQL database keeps the key file it was set up with".into());
    }
    require_folder(&config.db_path).map_err(|e| e.to_string())?;
    refuse_present_key(&config.key_file)?;
    // With a server running, the database's check value must not change under it.
    let lock = InstanceLock::acquire(&config.db_path).map_err(|e| e.to_string())?;
    let outcome = replace_key(config);
    lock.release_removing_file();
    outcome
}

/// A key file is never replaced: it may be the database's own, found again.
fn refuse_present_key(path: &Path) -> Result<(), String> {
    match key_file::present(path) {
        Ok(true) => Err(
            "the key file exists, and admin new-key never replaces a key file: it is for a key \
             file that is lost (if the server refuses this one and the right one cannot be \
             found, move it aside first)"
                .into(),
        ),
        Ok(false) => Ok(()),
        Err(error) => Err(format!("cannot look for the key file: {error}")),
    }
}

fn replace_key(config: &Config) -> Result<String, String> {
    let options = StoreOptions::new(config.db_path.clone(), SyncMode::Full);
    let checked = SqliteStore::check_existing(&options).map_err(|e| e.to_string())?;
    let message = |error: OpenError| error.to_string();
    // The server itself makes the key file of a database it may still set up.
    if checked.key_check().map_err(message)?.is_none()
        && !checked.holds_accounts().map_err(message)?
    {
        return Err(
            "the database holds no accounts, so there is nothing to recover: start the server, \
             which creates the key file"
                .into(),
        );
    }
    let key = key_file::create(&config.key_file).map_err(|e| e.to_string())?;
    if let Err(error) = checked.replace_key_check(&key.check_value()) {
        let _ = std::fs::remove_file(&config.key_file);
        return Err(format!(
            "the new key could not be recorded in the database, so the new key file was taken \
             away again and nothing changed: {error}"
        ));
    }
    Ok(next_steps(config))
}

/// What happened and what to do next; names the files as the operator gave them.
fn next_steps(config: &Config) -> String {
    let mut files = format!("--db {}", config.db_path.display());
    if config.key_file != default_key_file(&config.db_path) {
        files.push_str(&format!(" --key-file {}", config.key_file.display()));
    }
    format!(
        "a new key file is in place and the database now expects it. Every account is kept, \
         with its Sid, email, role, status and place in the tree, but every AuthToken has \
         changed (AuthTokens derive from the key) and no password works any more (password \
         hashes were keyed by the old key).\n\
         Next:\n  \
         1. give the administrator a new password: switchboard {files} admin reset-password EMAIL\n  \
         2. start the server and sign in as the administrator with that password\n  \
         3. for each account, read its new AuthToken (GET /Accounts/SID.json shows it), or set \
         a new password through the API (an Administrator may set Password on the accounts \
         below it)"
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_next_steps_name_the_key_file_only_when_it_is_not_the_default() {
        let mut config = Config::new(PathBuf::from("/srv/sb.db"));
        let steps = next_steps(&config);
        assert!(steps.contains("switchboard --db /srv/sb.db admin reset-password EMAIL"));
        assert!(!steps.contains("--key-file"));
        config.key_file = PathBuf::from("/keys/sb.key");
        assert!(next_steps(&config).contains("--db /srv/sb.db --key-file /keys/sb.key admin"));
    }

    #[test]
    fn a_present_key_file_is_refused_before_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::new(dir.path().join("sb.db"));
        std::fs::write(&config.key_file, "not even a key\n").unwrap();
        let error = new_key(&config).unwrap_err();
        assert!(error.contains("never replaces a key file"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&config.key_file).unwrap(),
            "not even a key\n"
        );
        assert!(!config.db_path.exists());
    }
}
