//! The events each change writes, inside the change's own transaction: a change that commits
//! has them, one that rolls back has none.

use crate::domain::account::{Account, AccountSid, UnixTime};
use crate::domain::error::DomainError;
use crate::domain::event::{account_changes, old_new, Event, EventType, Origin};
use crate::domain::keys::ApiKey;
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

/// A secondary AuthToken made, deleted or promoted: the event says which, never the token.
pub(super) fn auth_token(
    tx: &mut dyn AccountWrite,
    account: &Account,
    kind: EventType,
    origin: &Origin,
    date: UnixTime,
) -> Result<(), DomainError> {
    Ok(tx.record(&Event::about_auth_token(account, kind, origin, date))?)
}

pub(super) fn key_created(
    tx: &mut dyn AccountWrite,
    owner: &Account,
    key: &ApiKey,
    origin: &Origin,
) -> Result<(), DomainError> {
    let mut data = Map::new();
    if let Some(name) = &key.friendly_name {
        data.insert("friendly_name".into(), name.as_str().into());
    }
    let event = Event::about_key(
        owner,
        &key.sid,
        EventType::ApiKeyCreated,
        origin,
        data,
        key.created,
    );
    Ok(tx.record(&event)?)
}

pub(super) fn key_renamed(
    tx: &mut dyn AccountWrite,
    owner: &Account,
    before: &ApiKey,
    after: &ApiKey,
    origin: &Origin,
) -> Result<(), DomainError> {
    let name = |key: &ApiKey| {
        key.friendly_name
            .as_ref()
            .map_or("", |name| name.as_str())
            .to_owned()
    };
    let mut data = Map::new();
    data.insert("friendly_name".into(), old_new(&name(before), &name(after)));
    let event = Event::about_key(
        owner,
        &after.sid,
        EventType::ApiKeyUpdated,
        origin,
        data,
        after.updated,
    );
    Ok(tx.record(&event)?)
}

pub(super) fn key_deleted(
    tx: &mut dyn AccountWrite,
    owner: &Account,
    key: &ApiKey,
    origin: &Origin,
    date: UnixTime,
) -> Result<(), DomainError> {
    key_gone(tx, owner, key, origin, date, Map::new())
}

/// Closing an account deletes its keys and those below it: each gets its own deletion event,
/// naming the account whose closing took it along, so that a key's trail always ends.
pub(super) fn keys_closed_with(
    tx: &mut dyn AccountWrite,
    mut keys: Vec<ApiKey>,
    by: &Account,
    origin: &Origin,
) -> Result<(), DomainError> {
    keys.sort_by(|a, b| (a.created, a.sid.as_str()).cmp(&(b.created, b.sid.as_str())));
    for key in &keys {
        let Some(owner) = tx.find(&AccountKey::Sid(key.account.clone()))? else {
            continue;
        };
        let mut data = Map::new();
        data.insert("closed_with".into(), by.sid.as_str().into());
        key_gone(tx, &owner, key, origin, by.updated, data)?;
    }
    Ok(())
}

fn key_gone(
    tx: &mut dyn AccountWrite,
    owner: &Account,
    key: &ApiKey,
    origin: &Origin,
    date: UnixTime,
    mut data: Map<String, serde_json::Value>,
) -> Result<(), DomainError> {
    if let Some(name) = &key.friendly_name {
        data.insert("friendly_name".into(), name.as_str().into());
    }
    let event = Event::about_key(
        owner,
        &key.sid,
        EventType::ApiKeyDeleted,
        origin,
        data,
        date,
    );
    Ok(tx.record(&event)?)
}
