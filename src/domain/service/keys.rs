//! API keys under an account: made, listed, read, renamed and deleted by the account itself or
//! an Administrator ancestor, never by a key.

use super::rules::{caller_and_target, require_active};
use super::{
    audit, links, position_and_limit, AccountService, Caller, Credential, DomainError, PageLink,
    Written,
};
use crate::domain::account::{Account, AccountSid, FriendlyName, Status, UnixTime};
use crate::domain::error::Invalid;
use crate::domain::event::Origin;
use crate::domain::keys::{generate_secret, ApiKey, KeySid, NewKey, MAX_KEYS_PER_ACCOUNT};
use crate::domain::paging::{page_window, parse_page, parse_page_size, PageToken, PageWindow};
use crate::domain::store::{AccountRead, AccountWrite, KeyQuery, ListedKey, Position};

/// The raw paging values of a key listing.
#[derive(Clone, Debug, Default)]
pub struct KeyListForm {
    pub page_size: Option<String>,
    pub page: Option<String>,
    pub page_token: Option<String>,
}

#[derive(Debug)]
pub struct KeyListing {
    pub account: AccountSid,
    pub keys: Vec<ApiKey>,
    pub window: PageWindow,
    pub this: PageLink,
    pub previous: Option<PageLink>,
    pub next: Option<PageLink>,
}

/// Managing keys takes the caller's own secret: a key that could make keys would outlive its
/// own deletion. The status comes first, as everywhere.
pub(super) fn require_own_secret(caller: &Caller) -> Result<(), DomainError> {
    require_active(&caller.account)?;
    match caller.credential {
        Credential::Own => Ok(()),
        Credential::Key(_) => Err(DomainError::Forbidden),
    }
}

fn parse_name(raw: Option<&str>) -> Result<Option<FriendlyName>, DomainError> {
    Ok(raw.map(FriendlyName::parse).transpose()?)
}

/// The key, when it belongs to `account`; any other key is the same 404 as a missing one.
fn key_of(
    reader: &dyn AccountRead,
    account: &AccountSid,
    key_sid: &str,
) -> Result<ApiKey, DomainError> {
    let sid = KeySid::parse(key_sid).ok_or(DomainError::NotFound)?;
    reader
        .find_key(&sid)?
        .filter(|key| key.account == *account)
        .ok_or(DomainError::NotFound)
}

/// Inside a write: the caller as it is now, and the account it names, still visible to it.
/// The account is read for update first, so that key writes for one account (and the count
/// that bounds them) take their turns.
fn target_now(
    tx: &mut dyn AccountWrite,
    caller: &AccountSid,
    id: &str,
) -> Result<Account, DomainError> {
    let (caller, target) = caller_and_target(tx, caller, id)?;
    require_active(&caller)?;
    Ok(target)
}

impl AccountService {
    /// The account whose keys `caller` asks for.
    async fn key_owner(&self, caller: &Caller, id: &str) -> Result<Account, DomainError> {
        require_own_secret(caller)?;
        self.fetch(&caller.account, id).await
    }

    pub async fn create_key(
        &self,
        caller: &Caller,
        id: &str,
        friendly_name: Option<String>,
        origin: &Origin,
    ) -> Result<NewKey, DomainError> {
        let target = self.key_owner(caller, id).await?;
        if target.status() == Status::Closed {
            return Err(DomainError::Closed);
        }
        let friendly_name = parse_name(friendly_name.as_deref())?;
        let secret = generate_secret();
        let sid = KeySid::random();
        let now = UnixTime::now();
        let key = ApiKey {
            secret_hash: self.credentials.key_secret_hash(&sid, secret.expose()),
            sid,
            account: target.sid.clone(),
            friendly_name,
            created: now,
            updated: now,
        };
        let (caller_sid, job_key) = (caller.account.sid.clone(), key.clone());
        let origin = origin.clone();
        let written = self
            .written(Box::new(move |tx| {
                let target = target_now(tx, &caller_sid, job_key.account.as_str())?;
                if target.status() == Status::Closed {
                    return Err(DomainError::Closed);
                }
                if tx.count_keys(&target.sid)? >= MAX_KEYS_PER_ACCOUNT {
                    return Err(Invalid::new(
                        "Keys",
                        "are limited to 100 per account: delete one first",
                    )
                    .into());
                }
                tx.insert_key(&job_key)?;
                audit::key_created(tx, &target, &job_key, &origin)?;
                Ok(Written::Key(job_key.clone()))
            }))
            .await?;
        match written {
            Written::Key(key) => Ok(NewKey { key, secret }),
            _ => Err(DomainError::Internal(
                "a key write answered without its key".into(),
            )),
        }
    }

    pub async fn list_keys(
        &self,
        caller: &Caller,
        id: &str,
        form: &KeyListForm,
    ) -> Result<KeyListing, DomainError> {
        let target = self.key_owner(caller, id).await?;
        let page_size = parse_page_size(form.page_size.as_deref())?;
        let token = form
            .page_token
            .as_deref()
            .map(PageToken::parse)
            .transpose()?;
        let window = page_window(parse_page(form.page.as_deref())?, token.as_ref(), page_size)?;
        let (position, limit) = position_and_limit(token.as_ref(), window, page_size);
        let query = KeyQuery {
            account: target.sid.clone(),
            position,
            limit,
        };
        let (keys, has_next) = self
            .read(move |reader| read_key_page(reader, query, page_size))
            .await?;
        let cursors = (
            keys.first().map(|listed| &listed.cursor),
            keys.last().map(|listed| &listed.cursor),
        );
        let (previous, next) = links(window, cursors, has_next);
        Ok(KeyListing {
            account: target.sid,
            keys: keys.into_iter().map(|listed| listed.key).collect(),
            window,
            this: PageLink {
                page: window.page,
                token: token.map(|token| token.encode()),
            },
            previous,
            next,
        })
    }

    pub async fn fetch_key(
        &self,
        caller: &Caller,
        id: &str,
        key_sid: &str,
    ) -> Result<ApiKey, DomainError> {
        let target = self.key_owner(caller, id).await?;
        let key_sid = key_sid.to_owned();
        self.read(move |reader| key_of(reader, &target.sid, &key_sid))
            .await
    }

    /// Without a `FriendlyName` nothing changes, and `date_updated` stays.
    pub async fn rename_key(
        &self,
        caller: &Caller,
        id: &str,
        key_sid: &str,
        friendly_name: Option<String>,
        origin: &Origin,
    ) -> Result<ApiKey, DomainError> {
        let target = self.key_owner(caller, id).await?;
        let (owner, sid) = (target.sid.clone(), key_sid.to_owned());
        let key = self
            .read(move |reader| key_of(reader, &owner, &sid))
            .await?;
        let Some(name) = parse_name(friendly_name.as_deref())? else {
            return Ok(key);
        };
        let caller_sid = caller.account.sid.clone();
        let origin = origin.clone();
        let written = self
            .written(Box::new(move |tx| {
                let target = target_now(tx, &caller_sid, target.sid.as_str())?;
                let key = key_of(&*tx, &target.sid, key.sid.as_str())?;
                if key.friendly_name.as_ref() == Some(&name) {
                    return Ok(Written::Key(key));
                }
                let renamed = ApiKey {
                    friendly_name: Some(name.clone()),
                    updated: UnixTime::now(),
                    ..key.clone()
                };
                tx.update_key(&renamed)?;
                audit::key_renamed(tx, &target, &key, &renamed, &origin)?;
                Ok(Written::Key(renamed))
            }))
            .await?;
        match written {
            Written::Key(key) => Ok(key),
            _ => Err(DomainError::Internal(
                "a key write answered without its key".into(),
            )),
        }
    }

    /// The key stops working with this commit: authentication reads keys afresh each time.
    pub async fn delete_key(
        &self,
        caller: &Caller,
        id: &str,
        key_sid: &str,
        origin: &Origin,
    ) -> Result<(), DomainError> {
        let target = self.key_owner(caller, id).await?;
        let caller_sid = caller.account.sid.clone();
        let key_sid = key_sid.to_owned();
        let origin = origin.clone();
        self.written(Box::new(move |tx| {
            let target = target_now(tx, &caller_sid, target.sid.as_str())?;
            let key = key_of(&*tx, &target.sid, &key_sid)?;
            tx.delete_key(&key.sid)?;
            audit::key_deleted(tx, &target, &key, &origin, UnixTime::now())?;
            Ok(Written::Done)
        }))
        .await
        .map(drop)
    }
}

/// At most `page_size` keys, and whether any follow them.
fn read_key_page(
    reader: &dyn AccountRead,
    query: KeyQuery,
    page_size: usize,
) -> Result<(Vec<ListedKey>, bool), DomainError> {
    let list = |position: &Position, limit: usize| {
        let query = KeyQuery {
            position: position.clone(),
            limit,
            ..query.clone()
        };
        Ok(reader.list_keys(&query)?)
    };
    super::page_of(&query.position, query.limit, page_size, list, |listed| {
        &listed.cursor
    })
}
