//! The events each change writes, inside the change's own transaction: a change that commits
//! has them, one that rolls back has none.

use crate::domain::account::{Account, AccountSid};
use crate::domain::error::DomainError;
use crate::domain::event::{account_changes, Event, EventType, Origin};
use crate::domain::store::{AccountKey, AccountWrite};
use serde_json::Map;

pub(super) fn created(
    tx: &mut dyn AccountWrite,
    account: &Account,
    origin: &Origin,
) -> Result<(), DomainError> {
    let mut data = Map::new();
    data.insert(
        "friendly_name".into(),
        account.friendly_name.as_str().into(),
    );
    data.insert("role".into(), account.role.as_str().into());
    data.insert("status".into(), account.own_status.as_str().into());
    if let Some(email) = &account.email {
        data.insert("email_address".into(), email.as_str().into());
    }
    let event = Event::about_account(
        account,
        EventType::AccountCreated,
        origin,
        data,
        account.created,
    );
    Ok(tx.record(&event)?)
}

pub(super) fn updated(
    tx: &mut dyn AccountWrite,
    before: &Account,
    after: &Account,
    password_set: bool,
    origin: &Origin,
) -> Result<(), DomainError> {
    for (kind, data) in account_changes(before, after, password_set) {
        tx.record(&Event::about_account(
            after,
            kind,
            origin,
            data,
            after.updated,
        ))?;
    }
    Ok(())
}

/// Closing an account closes its subtree: each account closed with it gets its own event,
/// naming the account whose closing took it along.
pub(super) fn closed_below(
    tx: &mut dyn AccountWrite,
    closed: &[AccountSid],
    by: &Account,
    origin: &Origin,
) -> Result<(), DomainError> {
    for sid in closed {
        let Some(account) = tx.find(&AccountKey::Sid(sid.clone()))? else {
            continue;
        };
        let mut data = Map::new();
        data.insert("closed_with".into(), by.sid.as_str().into());
        tx.record(&Event::about_account(
            &account,
            EventType::AccountClosed,
            origin,
            data,
            by.updated,
        ))?;
    }
    Ok(())
}

pub(super) fn password_reset(
    tx: &mut dyn AccountWrite,
    account: &Account,
) -> Result<(), DomainError> {
    tx.record(&Event::about_account(
        account,
        EventType::AccountPasswordReset,
        &Origin::cli(),
        Map::new(),
        account.updated,
    ))?;
    Ok(())
}
