//! `switchboard admin reset-password EMAIL`: the way back in for a locked-out administrator.
//! Works with the server stopped or running (SQLite lets the two take turns writing). The new
//! password comes from `SWITCHBOARD_ADMIN_PASSWORD` or standard input, never from the command
//! line, where `ps` and shell history would show it.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use crate::config::Config;
use crate::domain::account::Email;
use crate::domain::credentials::Credentials;
use crate::domain::service::{AccountService, ThrottleLimits};
use crate::startup::load_key;
use crate::store::{SqliteStore, StoreOptions};

pub fn reset_password(config: &Config, email: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|e| format!("EMAIL {}", e.reason))?;
    let password = read_new_password()?;
    let options = StoreOptions::new(config.db_path.clone(), config.sync);
    let checked = SqliteStore::check_existing(&options).map_err(|e| e.to_string())?;
    let key = load_key(&config.key_file).map_err(|e| e.to_string())?;
    let store = checked.start().map_err(|e| e.to_string())?;
    let service = AccountService::new(
        Arc::new(store),
        Credentials::new(key, config.bcrypt_cost),
        ThrottleLimits::default(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    let account = runtime
        .block_on(service.reset_password(&email, &password))
        .map_err(|error| describe(&error))?;
    Ok(format!(
        "the password of {} is reset; its status is {}. Its AuthToken changed too.",
        email.as_str(),
        account.status().as_str()
    ))
}

fn describe(error: &crate::domain::error::DomainError) -> String {
    use crate::domain::error::DomainError as D;
    match error {
        D::Invalid(invalid) => format!("the new password is refused: {}", invalid.reason),
        D::NotFound => "no account has this email address".into(),
        D::Closed => "the account is closed, which is final".into(),
        D::Store(crate::domain::store::StoreError::Busy) => {
            "the database stayed busy: try again".into()
        }
        other => format!("the password could not be set: {other}"),
    }
}

fn read_new_password() -> Result<String, String> {
    if let Some(password) = std::env::var("SWITCHBOARD_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the new password from standard input: {e}"))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(
            "no new password: pipe it on standard input or set SWITCHBOARD_ADMIN_PASSWORD".into(),
        );
    }
    Ok(password.to_owned())
}
