//! `switchboard admin reset-password EMAIL`: the way back in for a locked-out administrator.
//! Works with the server stopped or running (SQLite lets the two take turns writing). The new
//! password is typed at a prompt, read from standard input or taken from
//! `SWITCHBOARD_RESET_PASSWORD`: never from the command line, where `ps` and shell history
//! would show it, and never from `SWITCHBOARD_ADMIN_PASSWORD`, which a service's environment
//! keeps for the first start and which would silently win over what the operator typed.

use std::io::{BufRead, IsTerminal};

use crate::config::Config;
use crate::domain::account::Email;
use crate::domain::error::DomainError;
use crate::domain::secret::Secret;

const VARIABLE: &str = "SWITCHBOARD_RESET_PASSWORD";

/// The new password, which no format prints, and where it came from.
#[derive(Debug)]
struct NewPassword {
    text: Secret,
    source: &'static str,
}

pub fn reset_password(config: &Config, email: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|e| format!("EMAIL {}", e.reason))?;
    let password = read_new_password()?;
    let (service, runtime) = super::offline_service(config)?;
    let account = runtime
        .block_on(service.reset_password(&email, password.text.expose()))
        .map_err(|error| refusal(&error))?;
    Ok(format!(
        "the password of {} is reset (the new one {}); its status is {}. Its AuthToken changed too.",
        email.as_str(),
        password.source,
        account.status().as_str()
    ))
}

fn refusal(error: &DomainError) -> String {
    use crate::domain::store::StoreError;
    match error {
        // The reason reads on from its subject: "is too short: use at least 12 characters".
        DomainError::Invalid(invalid) => format!("the new password {}", invalid.reason),
        DomainError::NotFound => "no account has this email address".into(),
        DomainError::Closed => "the account is closed, which is final".into(),
        DomainError::Store(StoreError::Busy) => "the database stayed busy: try again".into(),
        other => format!("the password could not be set: {other}"),
    }
}

fn read_new_password() -> Result<NewPassword, String> {
    if let Some(text) = std::env::var(VARIABLE).ok().filter(|p| !p.is_empty()) {
        return Ok(NewPassword {
            text: Secret::from(text),
            source: "from SWITCHBOARD_RESET_PASSWORD",
        });
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return prompt();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the new password from standard input: {e}"))?;
    let text = line.strip_suffix('\n').unwrap_or(&line);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(format!(
            "no new password: type it at the prompt, pipe it on standard input or set {VARIABLE}"
        ));
    }
    Ok(NewPassword {
        text: Secret::from(text),
        source: "read from standard input",
    })
}

fn prompt() -> Result<NewPassword, String> {
    let first =
        Secret::from(rpassword::prompt_password("New password: ").map_err(|e| e.to_string())?);
    let again = Secret::from(rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?);
    if first != again {
        return Err("the two passwords typed differ: nothing was changed".into());
    }
    Ok(NewPassword {
        text: first,
        source: "typed at the prompt",
    })
}
