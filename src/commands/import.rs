//! `switchboard import restcomm FILE`: a Restcomm-Connect installation's accounts, from its
//! HSQLDB script or a mysqldump of `restcomm_accounts`, written into a new database of either
//! store in one transaction. The file is read and checked whole before anything is created;
//! a refusal names every offending row and leaves no file behind.

use std::path::Path;

use crate::config::Config;
use crate::domain::account::UnixTime;
use crate::domain::credentials::Credentials;
use crate::domain::event::{Event, EventType, Origin};
use crate::import::{self, Plan, Planned, Problem};
use crate::key_file;
use crate::startup::require_folder;
use crate::store::{
    postgres_url, write_installation, AccountRow, CopyError, EventRow, Installation,
};

pub fn import_restcomm(config: &Config, file: &Path) -> Result<String, String> {
    let bytes =
        std::fs::read(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let plan = import::read(&bytes)
        .and_then(|(_, rows)| import::plan(rows))
        .map_err(|problems| refusal(file, &problems))?;
    drop(bytes);
    require_folder(&config.db_path).map_err(|error| error.to_string())?;
    let target = shown(&config.db_path)?;
    let (key, created_key) =
        key_file::load_or_create(&config.key_file, true).map_err(|error| error.to_string())?;
    let check_value = key.check_value();
    let credentials = Credentials::new(key, config.bcrypt_cost);
    let Plan { accounts, summary } = plan;
    let (rows, events) = installation_rows(accounts, &credentials);
    let installation = Installation::new(rows, events, check_value);
    if let Err(error) = write_installation(&config.db_path, &installation) {
        if created_key {
            let _ = std::fs::remove_file(&config.key_file);
        }
        return Err(written_nothing(error));
    }
    Ok(format!(
        "{summary}\ninto {target}. Serve it with the key file {}: every Restcomm Sid, \
         AuthToken and password works as before, until the account's password is next set.",
        config.key_file.display()
    ))
}

/// Each account's row, its Restcomm secrets adopted, and its `account.imported` event: the
/// import writes both in one transaction, so every imported account has its event.
fn installation_rows(
    accounts: Vec<Planned>,
    credentials: &Credentials,
) -> (Vec<AccountRow>, Vec<EventRow>) {
    let now = UnixTime::now();
    let origin = Origin::cli();
    accounts
        .into_iter()
        .map(|mut planned| {
            credentials.adopt_restcomm_token(&mut planned.account, &planned.token);
            let event = Event::about_account(
                &planned.account,
                EventType::AccountImported,
                &origin,
                planned.event_data(),
                now,
            );
            (
                AccountRow::from_account(&planned.account, planned.seq),
                EventRow::from_event(&event, planned.seq),
            )
        })
        .unzip()
}

/// Every problem, one per line, under a line that says nothing was written.
fn refusal(file: &Path, problems: &[Problem]) -> String {
    let count = problems.len();
    let mut text = format!(
        "nothing was imported: {count} problem{} in {}",
        if count == 1 { "" } else { "s" },
        file.display()
    );
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

fn written_nothing(error: CopyError) -> String {
    match error {
        CopyError::TargetNotEmpty { accounts: true } => {
            "nothing was imported: the database already holds accounts; import into a new, \
             empty database"
                .into()
        }
        CopyError::TargetNotEmpty { accounts: false } => {
            "nothing was imported: the database was already set up with a key file (a server \
             started on it); import into a new, empty database"
                .into()
        }
        CopyError::Target(error) | CopyError::Source(error) => {
            format!("nothing was imported: the database: {error}")
        }
        other => format!("nothing was imported: {other}"),
    }
}

/// A URL without its password, or the path as typed.
fn shown(db: &Path) -> Result<String, String> {
    match postgres_url(db).map_err(|error| error.to_string())? {
        Some(settings) => Ok(settings.to_string()),
        None => Ok(db.display().to_string()),
    }
}
