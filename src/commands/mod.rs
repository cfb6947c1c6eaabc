//! The operator's commands beside `serve`. Each returns what to print on success (one line,
//! or for `admin new-key` the steps that follow), or one line of error; neither ever holds a
//! password, a hash or a key.

mod backup;
mod check;
mod copy;
mod import;
mod new_key;
mod prune_events;
mod reset_password;

pub use backup::backup;
pub use check::check;
pub use copy::copy;
pub use import::import_restcomm;
pub use new_key::new_key;
pub use prune_events::prune_events;
pub use reset_password::reset_password;

use crate::config::Config;
use crate::domain::credentials::Credentials;
use crate::domain::service::{AccountService, ThrottleLimits};
use crate::startup::existing_installation;
use crate::store::{StoreOptions, SyncMode};

/// The account service over an existing installation, for a command that runs beside the
/// server or without it, and a runtime to drive it. Its writes are durable before the command
/// says it is done.
fn offline_service(config: &Config) -> Result<(AccountService, tokio::runtime::Runtime), String> {
    let options = StoreOptions::new(config.db_path.clone(), SyncMode::Full);
    let (store, key) =
        existing_installation(&options, &config.key_file).map_err(|e| e.to_string())?;
    let service = AccountService::new(
        store,
        Credentials::new(key, config.bcrypt_cost),
        ThrottleLimits::default(),
    );
    // With I/O and timers, as the server's: a store may answer on the asynchronous PostgreSQL
    // client, whose connection needs both.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    Ok((service, runtime))
}
