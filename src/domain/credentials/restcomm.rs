//! Restcomm-Connect's secrets, kept working after `switchboard import restcomm` until the
//! account's password is next set. Restcomm's AuthToken was the unsalted MD5 of the password,
//! so the database must hold neither it nor anything that tests a password guess without the
//! key file:
//!
//! - the token is sealed in the token salt like a token kept across a new hash
//!   (`salt.sealed`), so it is shown and checked by the ordinary token code;
//! - the password is checked by `HMAC(K, "restcomm-password/v1" | Sid | MD5(password))`, kept
//!   in the password hash column behind a prefix that no bcrypt hash has. It costs no bcrypt;
//!   the first login it admits stores a bcrypt hash of the password in its place (the same
//!   path as a hash made at another cost), so the MD5-derived value does not outlive its use.

use std::fmt;

use md5::{Digest, Md5};

use super::{constant_time_eq, Credentials, PasswordCheck};
use crate::domain::account::{Account, AccountSid};

const PREFIX: &str = "$restcomm-md5$";

/// The password Restcomm ships its administrator with (its documentation names it).
const DEFAULT_PASSWORD: &str = "RestComm";

/// An AuthToken of Restcomm: the MD5 of a password. Printing it shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct RestcommToken([u8; 16]);

impl RestcommToken {
    /// 32 hex digits, in either case.
    pub fn parse(text: &str) -> Option<RestcommToken> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(RestcommToken(bytes))
    }

    /// What Restcomm stored for `password`: the MD5 of its UTF-8 bytes, as sent.
    pub fn of_password(password: &str) -> RestcommToken {
        let digest = Md5::digest(password.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest);
        RestcommToken(bytes)
    }

    /// True for the token of Restcomm's well-known default password.
    pub fn is_default_password(&self) -> bool {
        *self == RestcommToken::of_password(DEFAULT_PASSWORD)
    }
}

impl fmt::Debug for RestcommToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RestcommToken([secret])")
    }
}

/// The keyed check of an imported password, when `hash` is one.
pub(super) fn password_check(hash: &str) -> Option<&str> {
    hash.strip_prefix(PREFIX)
}

impl Credentials {
    /// Gives `account` its Restcomm token as its AuthToken and its Restcomm password as its
    /// password, both under the key file; setting a password later replaces both.
    pub fn adopt_restcomm_token(&self, account: &mut Account, token: &RestcommToken) {
        let salt = Credentials::new_token_salt();
        account.token_salt = self.salt_sealing(&account.sid, &salt, &token.0);
        let check = self.restcomm_check(&account.sid, token);
        account.password_hash = Some(format!("{PREFIX}{}", hex::encode(check)));
    }

    fn restcomm_check(&self, sid: &AccountSid, token: &RestcommToken) -> [u8; 32] {
        self.key
            .mac(&[b"restcomm-password/v1", sid.as_str().as_bytes(), &token.0])
    }

    /// One MD5 and one HMAC, compared in constant time. A right password is due for a bcrypt
    /// hash; a wrong one costs the dummy bcrypt, as an unknown user's does.
    pub(super) fn verify_restcomm_password(
        &self,
        account: &Account,
        check: &str,
        secret: &str,
    ) -> PasswordCheck {
        let presented = self.restcomm_check(&account.sid, &RestcommToken::of_password(secret));
        let mut expected = [0u8; 32];
        let right = hex::decode_to_slice(check, &mut expected).is_ok()
            && constant_time_eq(&presented, &expected);
        if right {
            return PasswordCheck::RightButHashAgain;
        }
        self.burn_time(secret);
        PasswordCheck::Wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credentials::InstallationKey;

    const RESTCOMM12: &str = "28f96b0fea1f9e33646f42026abdf305";

    #[test]
    fn tokens_are_restcomms_md5_of_the_password() {
        let token = RestcommToken::of_password("RestComm12");
        assert_eq!(RestcommToken::parse(RESTCOMM12), Some(token.clone()));
        assert_eq!(
            RestcommToken::parse(&RESTCOMM12.to_uppercase()),
            Some(token.clone())
        );
        assert_eq!(
            RestcommToken::of_password("latestpassword12"),
            RestcommToken::parse("81eb94645c485fc39eedc5d46522e5ba").unwrap()
        );
        assert!(RestcommToken::parse("77f8c12cc7b8f8423e5c38b035249166")
            .unwrap()
            .is_default_password());
        assert!(!token.is_default_password());
        for bad in [
            "",
            "77f8",
            "zzf8c12cc7b8f8423e5c38b035249166",
            &"a".repeat(34),
        ] {
            assert!(RestcommToken::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{token:?}").contains("28f9"));
    }

    #[test]
    fn an_adopted_token_is_shown_and_both_old_secrets_check_without_leaving_the_md5() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let mut account = Account::sample(None);
        creds.adopt_restcomm_token(&mut account, &RestcommToken::parse(RESTCOMM12).unwrap());
        assert_eq!(creds.token(&account), RESTCOMM12);
        assert!(creds.token_matches(&account, RESTCOMM12));
        let stored = format!(
            "{}{}",
            account.token_salt,
            account.password_hash.clone().unwrap()
        );
        assert!(!stored.contains(RESTCOMM12), "{stored}");
        assert_eq!(
            creds.verify_password(&account, "RestComm12"),
            PasswordCheck::RightButHashAgain
        );
        assert_eq!(
            creds.verify_password(&account, "RestComm13"),
            PasswordCheck::Wrong
        );
        assert_eq!(
            creds.verify_password(&account, RESTCOMM12),
            PasswordCheck::Wrong
        );

        // Another key reads neither.
        let other = Credentials::new(InstallationKey::generate(), 4);
        assert_ne!(other.token(&account), RESTCOMM12);
        assert_eq!(
            other.verify_password(&account, "RestComm12"),
            PasswordCheck::Wrong
        );

        // Hashed again after a login: the token stays, the password now checks by bcrypt.
        account.token_salt = creds.salt_keeping_token(&account);
        account.password_hash = Some(creds.hash_again("RestComm12").unwrap());
        assert_eq!(creds.token(&account), RESTCOMM12);
        assert_eq!(
            creds.verify_password(&account, "RestComm12"),
            PasswordCheck::Right
        );

        // A password set afresh: a new plain salt, so a derived token.
        account.token_salt = Credentials::new_token_salt();
        assert_ne!(creds.token(&account), RESTCOMM12);
    }

    #[test]
    fn the_same_token_on_two_accounts_is_stored_differently() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let token = RestcommToken::parse(RESTCOMM12).unwrap();
        let (mut first, mut second) = (Account::sample(None), Account::sample(None));
        creds.adopt_restcomm_token(&mut first, &token);
        creds.adopt_restcomm_token(&mut second, &token);
        assert_ne!(first.password_hash, second.password_hash);
        assert_ne!(first.token_salt, second.token_salt);
        assert_eq!(creds.token(&first), creds.token(&second));
    }
}
