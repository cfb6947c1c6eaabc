//! AuthToken rotation (Twilio's AuthTokens resources): a secondary token beside the AuthToken,
//! promoted in its place or deleted. Always the caller's own, and never through a key.

use std::sync::{Arc, Mutex};

use super::keys::require_own_secret;
use super::rules::{require_active, reread};
use super::{audit, AccountService, Caller, DomainError, Written};
use crate::domain::account::{Account, AccountSid, SecondaryToken, UnixTime};
use crate::domain::credentials::Credentials;
use crate::domain::error::Invalid;
use crate::domain::event::{EventType, Origin};
use crate::domain::store::{AccountKey, AccountWrite};

/// A secondary token just made: the account it belongs to, the token, and when it was made.
pub struct IssuedSecondary {
    pub account: Account,
    pub token: String,
    pub created: UnixTime,
}

/// An AuthToken just promoted: the account that now has it, and when it was made (as the
/// secondary token it was until now).
pub struct Promoted {
    pub account: Account,
    pub created: UnixTime,
}

/// Inside a write: the caller's own account, the one about to change, read for update so that
/// two writers of it take turns instead of one losing the other's change.
fn own_account(tx: &mut dyn AccountWrite, sid: &AccountSid) -> Result<Account, DomainError> {
    let current = tx
        .find_for_update(&AccountKey::Sid(sid.clone()))?
        .ok_or(DomainError::Unauthenticated)?;
    require_active(&current)?;
    Ok(current)
}

impl AccountService {
    /// Makes a new secondary token, replacing (and so revoking) any earlier one. The account
    /// as shown does not change, so neither does its `date_updated`.
    pub async fn create_secondary(
        &self,
        caller: &Caller,
        origin: &Origin,
    ) -> Result<IssuedSecondary, DomainError> {
        require_own_secret(caller)?;
        let sid = caller.account.sid.clone();
        let secondary = SecondaryToken {
            salt: Credentials::new_token_salt(),
            created: UnixTime::now(),
        };
        let (job_secondary, origin) = (secondary.clone(), origin.clone());
        let account = self
            .write(move |tx| {
                let current = own_account(tx, &sid)?;
                let updated = Account {
                    secondary: Some(job_secondary.clone()),
                    ..current
                };
                tx.update(&updated)?;
                let kind = EventType::SecondaryTokenCreated;
                audit::auth_token(tx, &updated, kind, &origin, job_secondary.created)?;
                reread(&*tx, &sid)
            })
            .await?;
        let token = self
            .credentials
            .secondary_token(&account)
            .ok_or_else(|| DomainError::Internal("the secondary token vanished".into()))?;
        Ok(IssuedSecondary {
            account,
            token,
            created: secondary.created,
        })
    }

    pub async fn delete_secondary(
        &self,
        caller: &Caller,
        origin: &Origin,
    ) -> Result<(), DomainError> {
        require_own_secret(caller)?;
        let (sid, origin) = (caller.account.sid.clone(), origin.clone());
        self.written(Box::new(move |tx| {
            let current = own_account(tx, &sid)?;
            if current.secondary.is_none() {
                return Err(DomainError::NotFound);
            }
            let updated = Account {
                secondary: None,
                ..current
            };
            tx.update(&updated)?;
            let kind = EventType::SecondaryTokenDeleted;
            audit::auth_token(tx, &updated, kind, &origin, UnixTime::now())?;
            Ok(Written::Done)
        }))
        .await
        .map(drop)
    }

    /// The secondary token becomes the AuthToken: the old one stops working with this commit,
    /// and no secondary remains.
    pub async fn promote_secondary(
        &self,
        caller: &Caller,
        origin: &Origin,
    ) -> Result<Promoted, DomainError> {
        require_own_secret(caller)?;
        let (sid, origin) = (caller.account.sid.clone(), origin.clone());
        let credentials = Arc::clone(&self.credentials);
        // When the promoted token was made, as the run that committed found it.
        let made = Arc::new(Mutex::new(None));
        let job_made = Arc::clone(&made);
        let account = self
            .write(move |tx| {
                let current = own_account(tx, &sid)?;
                let (Some(token_salt), Some(secondary)) = (
                    credentials.salt_promoting_secondary(&current),
                    current.secondary.as_ref(),
                ) else {
                    return Err(Invalid::new(
                        "SecondaryAuthToken",
                        "does not exist: create one before promoting it",
                    )
                    .into());
                };
                *job_made.lock().unwrap_or_else(|e| e.into_inner()) = Some(secondary.created);
                let updated = Account {
                    token_salt,
                    secondary: None,
                    updated: UnixTime::now(),
                    ..current
                };
                tx.update(&updated)?;
                let kind = EventType::AuthTokenPromoted;
                audit::auth_token(tx, &updated, kind, &origin, updated.updated)?;
                reread(&*tx, &sid)
            })
            .await?;
        let created = made.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(Promoted {
            created: created.unwrap_or(account.updated),
            account,
        })
    }
}
