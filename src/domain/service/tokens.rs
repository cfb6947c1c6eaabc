//! AuthToken rotation (Twilio's AuthTokens resources): a secondary token beside the AuthToken,
//! promoted in its place or deleted. Always the caller's own, and never through a key.

use std::sync::Arc;

use super::keys::require_own_secret;
use super::rules::{current_caller, require_active, reread};
use super::{AccountService, Caller, DomainError, Written};
use crate::domain::account::{Account, SecondaryToken, UnixTime};
use crate::domain::credentials::Credentials;
use crate::domain::error::Invalid;

/// An AuthToken just promoted: the account that now has it, and when it was made.
pub struct Promoted {
    pub account: Account,
    pub created: UnixTime,
}

impl AccountService {
    /// The caller's secondary token while it has one.
    pub fn secondary_token(&self, account: &Account) -> Option<String> {
        self.credentials.secondary_token(account)
    }

    /// Makes a new secondary token, replacing (and so revoking) any earlier one. The account
    /// as shown does not change, so neither does its `date_updated`.
    pub async fn create_secondary(&self, caller: &Caller) -> Result<Account, DomainError> {
        require_own_secret(caller)?;
        let sid = caller.account.sid.clone();
        let secondary = SecondaryToken {
            salt: Credentials::new_token_salt(),
            created: UnixTime::now(),
        };
        self.write(move |tx| {
            let current = current_caller(&*tx, &sid)?;
            require_active(&current)?;
            let updated = Account {
                secondary: Some(secondary.clone()),
                ..current
            };
            tx.update(&updated)?;
            reread(&*tx, &sid)
        })
        .await
    }

    pub async fn delete_secondary(&self, caller: &Caller) -> Result<(), DomainError> {
        require_own_secret(caller)?;
        let sid = caller.account.sid.clone();
        self.written(Box::new(move |tx| {
            let current = current_caller(&*tx, &sid)?;
            require_active(&current)?;
            if current.secondary.is_none() {
                return Err(DomainError::NotFound);
            }
            tx.update(&Account {
                secondary: None,
                ..current
            })?;
            Ok(Written::Done)
        }))
        .await
        .map(drop)
    }

    /// The secondary token becomes the AuthToken: the old one stops working with this commit,
    /// and no secondary remains.
    pub async fn promote_secondary(&self, caller: &Caller) -> Result<Promoted, DomainError> {
        require_own_secret(caller)?;
        let sid = caller.account.sid.clone();
        let created = caller
            .account
            .secondary
            .as_ref()
            .map_or(UnixTime::now(), |secondary| secondary.created);
        let credentials = Arc::clone(&self.credentials);
        let account = self
            .write(move |tx| {
                let current = current_caller(&*tx, &sid)?;
                require_active(&current)?;
                let Some(token_salt) = credentials.salt_promoting_secondary(&current) else {
                    return Err(Invalid::new(
                        "SecondaryAuthToken",
                        "does not exist: create one before promoting it",
                    )
                    .into());
                };
                tx.update(&Account {
                    token_salt,
                    secondary: None,
                    updated: UnixTime::now(),
                    ..current
                })?;
                reread(&*tx, &sid)
            })
            .await?;
        Ok(Promoted { account, created })
    }
}
