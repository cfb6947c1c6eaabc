//! The operator's way back in: a new password set from the machine, for an account whose
//! owner can no longer sign in. It follows the same rules as a password change over the API.

use super::{audit, reread, AccountService, UpdatePlan};
use crate::domain::account::{Account, Email, Status, UnixTime};
use crate::domain::credentials::Password;
use crate::domain::error::DomainError;
use crate::domain::store::AccountKey;

impl AccountService {
    /// Sets `raw` as the password of the account with this email address: the password
    /// policy applies, the AuthToken changes, and an `uninitialized` account becomes
    /// `active`. A closed account stays closed. A server running on the same database stops
    /// accepting the old password at once, since its cache answers only for the stored hash.
    pub async fn reset_password(&self, email: &Email, raw: &str) -> Result<Account, DomainError> {
        let key = AccountKey::Email(email.clone());
        let target = self.find(key.clone()).await?.ok_or(DomainError::NotFound)?;
        if target.status() == Status::Closed {
            return Err(DomainError::Closed);
        }
        let password = Password::parse(raw, Some(email), Some(&target.friendly_name))?;
        let secret = self.hash(&password).await?;
        let sid = target.sid.clone();
        let updated = self
            .write(move |tx| {
                let target = tx.find_for_update(&key)?.ok_or(DomainError::NotFound)?;
                if target.status() == Status::Closed {
                    return Err(DomainError::Closed);
                }
                let plan = UpdatePlan {
                    friendly_name: None,
                    role: None,
                    status: None,
                    password: None,
                };
                let updated = plan.apply(target, Some(secret.clone()), UnixTime::now());
                tx.update(&updated)?;
                audit::password_reset(tx, &updated)?;
                reread(&*tx, &updated.sid)
            })
            .await?;
        self.credentials.forget(&sid);
        Ok(updated)
    }
}
