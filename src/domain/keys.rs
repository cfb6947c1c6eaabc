//! API keys (Twilio's Keys resource): a Sid and a random secret that act as their account,
//! except for managing credentials. The database keeps only a keyed hash of the secret.

use std::fmt;

use super::account::{AccountSid, FriendlyName, UnixTime};
use super::secret::Secret;

/// `SK` followed by 32 lowercase hex digits drawn from 128 random bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySid(String);

impl KeySid {
    pub fn parse(raw: &str) -> Option<KeySid> {
        let hex = raw.strip_prefix("SK")?;
        let valid = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| KeySid(raw.to_owned()))
    }

    pub fn random() -> KeySid {
        KeySid(format!("SK{}", hex::encode(super::random_bytes::<16>())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeySid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// At most this many keys per account: enough for every program of an account, and a bound
/// on what one account can make the database hold.
pub const MAX_KEYS_PER_ACCOUNT: usize = 100;

/// A key as stored. Its `Debug` leaves out the secret's hash.
#[derive(Clone)]
pub struct ApiKey {
    pub sid: KeySid,
    pub account: AccountSid,
    /// `None` when none was given, as Twilio answers `null`.
    pub friendly_name: Option<FriendlyName>,
    /// `hex(HMAC(K, "apikey/v1" | key Sid | secret))`: useless without the key file.
    pub secret_hash: String,
    pub created: UnixTime,
    pub updated: UnixTime,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("sid", &self.sid)
            .field("account", &self.account)
            .field("friendly_name", &self.friendly_name)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish_non_exhaustive()
    }
}

/// 32 characters of `[A-Za-z0-9]` from the operating system's random source (about 190
/// bits), shown once, in the answer that creates the key.
pub fn generate_secret() -> Secret {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut text = String::with_capacity(32);
    while text.len() < 32 {
        // Rejection sampling keeps every character equally likely: 248 = 4 x 62.
        for byte in super::random_bytes::<48>() {
            if byte < 248 && text.len() < 32 {
                text.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    Secret::new(text)
}

/// A key just made, with its secret: the only time the secret exists outside the client.
#[derive(Debug)]
pub struct NewKey {
    pub key: ApiKey,
    pub secret: Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_is_sk_and_32_lowercase_hex() {
        let sid = KeySid::random();
        assert!(KeySid::parse(sid.as_str()).is_some());
        assert!(KeySid::parse(&sid.as_str().to_uppercase()).is_none());
        assert!(KeySid::parse(&sid.as_str().replacen("SK", "AC", 1)).is_none());
        assert_ne!(sid, KeySid::random());
    }

    #[test]
    fn secrets_are_32_alphanumerics_and_differ() {
        let secret = generate_secret();
        assert_eq!(secret.expose().len(), 32);
        assert!(secret.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(secret.expose(), generate_secret().expose());
    }

    #[test]
    fn a_key_printed_for_debugging_shows_no_hash() {
        let key = ApiKey {
            sid: KeySid::random(),
            account: AccountSid::random(),
            friendly_name: None,
            secret_hash: "SENTINELHASH".into(),
            created: UnixTime(0),
            updated: UnixTime(0),
        };
        assert!(!format!("{key:?}").contains("SENTINEL"));
    }
}
