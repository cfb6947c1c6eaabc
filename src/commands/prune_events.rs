//! `switchboard events prune --before DATE`: the audit trail's retention, chosen by the
//! operator. Works with the server stopped or running; the pruning is recorded as an event.

use crate::config::Config;
use crate::domain::account::UnixTime;
use crate::domain::credentials::Credentials;
use crate::domain::error::DomainError;
use crate::domain::event::iso8601;
use crate::domain::service::{AccountService, ThrottleLimits};
use crate::startup::existing_installation;
use crate::store::{StoreOptions, SyncMode};

pub fn prune_events(config: &Config, before: UnixTime) -> Result<String, String> {
    let options = StoreOptions::new(config.db_path.clone(), SyncMode::Full);
    let (store, key) =
        existing_installation(&options, &config.key_file).map_err(|e| e.to_string())?;
    let service = AccountService::new(
        store,
        Credentials::new(key, config.bcrypt_cost),
        ThrottleLimits::default(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    let deleted = runtime
        .block_on(service.prune_events(before))
        .map_err(|error| match error {
            DomainError::NotFound => "the database holds no accounts".to_owned(),
            other => format!("the events could not be pruned: {other}"),
        })?;
    Ok(format!(
        "deleted {deleted} events dated before {}",
        iso8601(before)
    ))
}
