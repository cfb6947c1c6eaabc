//! `switchboard events prune --before DATE`: the audit trail's retention, chosen by the
//! operator. Works with the server stopped or running; the pruning is recorded as an event.

use crate::config::Config;
use crate::domain::account::UnixTime;
use crate::domain::error::DomainError;
use crate::domain::event::iso8601;

pub fn prune_events(config: &Config, before: UnixTime) -> Result<String, String> {
    let (service, runtime) = super::offline_service(config)?;
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
