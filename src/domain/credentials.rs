//! Passwords, their hashes, the AuthToken derived from them, and the cache that keeps
//! password logins from paying the full bcrypt cost on every request.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::account::{Account, AccountSid, Email};
use super::error::Invalid;

type HmacSha256 = Hmac<Sha256>;

/// The installation secret, kept in a file beside (never inside) the database: a copy of the
/// database alone yields neither tokens nor an offline way to test password guesses.
#[derive(Clone)]
pub struct InstallationKey {
    bytes: [u8; 32],
    /// HMAC's state after absorbing the key, copied for each MAC: every authenticated request
    /// computes at least one, and this spares two of the SHA-256 blocks each would hash.
    keyed: HmacSha256,
}

impl InstallationKey {
    fn new(bytes: [u8; 32]) -> InstallationKey {
        let keyed = HmacSha256::new_from_slice(&bytes).expect("HMAC takes keys of any length");
        InstallationKey { bytes, keyed }
    }

    pub fn generate() -> InstallationKey {
        InstallationKey::new(super::random_bytes())
    }

    pub fn from_hex(text: &str) -> Option<InstallationKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(InstallationKey::new(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A password that meets the policy: 12 to 128 characters, not a common password, and not
/// containing the account's email address.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Password, Invalid> {
        let invalid = |reason: &str| Invalid::new("Password", reason);
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(invalid("is too short: use at least 12 characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(invalid("is too long: use at most 128 characters"));
        }
        let lowered = raw.to_lowercase();
        if common_passwords().contains(lowered.as_str()) {
            return Err(invalid("is a commonly used password"));
        }
        if email.is_some_and(|email| lowered.contains(email.as_str())) {
            return Err(invalid("must not contain the account's email address"));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A random password for the first administrator: 24 characters from a 56-letter
    /// alphabet without look-alikes (about 139 bits).
    pub fn generate() -> Password {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let random = super::random_bytes::<24>();
        let text = random
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        Password(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The lowercased entries of zxcvbn's `passwords` frequency list (the xato corpus) that are
/// long enough to pass the length rule; shorter ones are refused as too short anyway.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("common_passwords.txt").lines().collect())
}

/// Compares without an early exit, so the time taken says nothing about where a guess differs.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Credentials {
    key: InstallationKey,
    bcrypt_cost: u32,
    verified: VerifiedCache,
    dummy_hash: OnceLock<String>,
}

impl Credentials {
    pub fn new(key: InstallationKey, bcrypt_cost: u32) -> Credentials {
        Credentials {
            key,
            bcrypt_cost,
            verified: VerifiedCache::new(4096),
            dummy_hash: OnceLock::new(),
        }
    }

    /// bcrypt never sees the password itself: a keyed SHA-256 of it, base64-encoded (44
    /// bytes), so passwords longer than bcrypt's 72-byte limit are never cut short.
    fn prehash(&self, secret: &str) -> String {
        use base64::Engine;
        let digest = self.key.mac(&[b"password/v1", secret.as_bytes()]);
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    /// Slow on purpose (bcrypt): call it off the request threads.
    pub fn hash_password(&self, password: &Password) -> Result<String, String> {
        bcrypt::hash(self.prehash(password.expose()), self.bcrypt_cost).map_err(|e| e.to_string())
    }

    pub fn new_token_salt() -> String {
        hex::encode(super::random_bytes::<16>())
    }

    /// `hex(HMAC(K, "authtoken/v1" | Sid | salt | bcrypt-hash))[..32]`: cheap to recompute on
    /// every request, impossible to compute from the database alone.
    pub fn token(&self, account: &Account) -> String {
        let hash = account.password_hash.as_deref().unwrap_or("");
        let mac = self.key.mac(&[
            b"authtoken/v1",
            account.sid.as_str().as_bytes(),
            account.token_salt.as_bytes(),
            hash.as_bytes(),
        ]);
        let mut text = [0u8; 32];
        // Sixteen bytes always fit thirty-two hex digits.
        let _ = hex::encode_to_slice(&mac[..16], &mut text);
        String::from_utf8_lossy(&text).into_owned()
    }

    pub fn token_matches(&self, account: &Account, secret: &str) -> bool {
        constant_time_eq(self.token(account).as_bytes(), secret.as_bytes())
    }

    /// Whether `secret` is one of the account's secrets that cost no bcrypt to test (today the
    /// AuthToken; secondary tokens and API keys belong here too). These are long and random, so
    /// guessing them is no threat worth throttling, and they are tested even from a throttled
    /// address: nobody can lock a program out by failing from its address.
    pub fn matches_cheaply(&self, account: &Account, secret: &str) -> bool {
        self.token_matches(account, secret)
    }

    /// Answers from the cache when this exact password was verified against the account's
    /// current hash; `None` when bcrypt must decide.
    pub fn cached_password_match(&self, account: &Account, secret: &str) -> Option<bool> {
        let hash = account.password_hash.as_deref()?;
        self.verified
            .contains(&account.sid, secret, hash)
            .then_some(true)
    }

    /// Slow on purpose (bcrypt): call it off the request threads.
    pub fn verify_password(&self, account: &Account, secret: &str) -> bool {
        let Some(hash) = account.password_hash.as_deref() else {
            self.burn_time(secret);
            return false;
        };
        let matches = bcrypt::verify(self.prehash(secret), hash).unwrap_or(false);
        if matches {
            self.verified.insert(&account.sid, secret, hash);
        }
        matches
    }

    /// Costs what a real password check costs, so an unknown user cannot be told apart.
    pub fn burn_time(&self, secret: &str) {
        let dummy = self.dummy_hash.get_or_init(|| {
            bcrypt::hash("switchboard/dummy", self.bcrypt_cost).unwrap_or_default()
        });
        let _ = bcrypt::verify(self.prehash(secret), dummy);
    }

    /// Called whenever an account's password changes.
    pub fn forget(&self, sid: &AccountSid) {
        self.verified.forget(sid);
    }
}

/// Verified (account, password) pairs, keyed by an HMAC under a key that lives only in this
/// process: the cache never holds a password or an unkeyed hash of one.
struct VerifiedCache {
    key: [u8; 32],
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], (AccountSid, String)>>,
}

impl VerifiedCache {
    fn new(capacity: usize) -> VerifiedCache {
        VerifiedCache {
            key: super::random_bytes(),
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, sid: &AccountSid, secret: &str) -> [u8; 32] {
        keyed_hash(&self.key, &[sid.as_str().as_bytes(), secret.as_bytes()])
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (AccountSid, String)>> {
        // A panic while holding the lock cannot leave the map half-written, so keep going.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn contains(&self, sid: &AccountSid, secret: &str, hash: &str) -> bool {
        let slot = self.slot(sid, secret);
        self.entries()
            .get(&slot)
            .is_some_and(|(_, cached)| cached == hash)
    }

    fn insert(&self, sid: &AccountSid, secret: &str, hash: &str) {
        let slot = self.slot(sid, secret);
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            // Any entry will do: evicting one costs its owner a single bcrypt later.
            if let Some(victim) = entries.keys().next().copied() {
                entries.remove(&victim);
            }
        }
        entries.insert(slot, (sid.clone(), hash.to_owned()));
    }

    fn forget(&self, sid: &AccountSid) {
        self.entries()
            .retain(|_, (cached_sid, _)| cached_sid != sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::{FriendlyName, Role, Status, UnixTime};

    fn account(hash: Option<String>) -> Account {
        Account {
            sid: AccountSid::random(),
            ancestors: vec![],
            email: None,
            friendly_name: FriendlyName::parse("t").unwrap(),
            role: Role::Developer,
            own_status: Status::Active,
            ancestor_suspended: false,
            password_hash: hash,
            token_salt: Credentials::new_token_salt(),
            created: UnixTime(0),
            updated: UnixTime(0),
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("bob@example.com").unwrap();
        assert!(Password::parse("short", None).is_err());
        assert!(Password::parse(&"x".repeat(129), None).is_err());
        assert!(Password::parse(&"é".repeat(128), None).is_ok());
        assert!(
            Password::parse("1qaz2wsx3edc", None).is_err(),
            "common password"
        );
        assert!(
            Password::parse("1QAZ2WSX3EDC", None).is_err(),
            "case-insensitive"
        );
        assert!(Password::parse("my BOB@example.com pw", Some(&email)).is_err());
        assert!(Password::parse("correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn passwords_sharing_72_bytes_differ() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let first = Password::parse(&format!("{}A", "p".repeat(80)), None).unwrap();
        let hash = creds.hash_password(&first).unwrap();
        let owner = account(Some(hash));
        assert!(creds.verify_password(&owner, first.expose()));
        assert!(!creds.verify_password(&owner, &format!("{}B", "p".repeat(80))));
    }

    #[test]
    fn token_depends_on_key_salt_and_hash() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let mut owner = account(Some("$2b$04$abc".into()));
        let token = creds.token(&owner);
        assert_eq!(token.len(), 32);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(creds.token_matches(&owner, &token));
        assert!(!creds.token_matches(&owner, &token.to_uppercase()));
        let other_key = Credentials::new(InstallationKey::generate(), 4);
        assert_ne!(other_key.token(&owner), token);
        owner.token_salt = Credentials::new_token_salt();
        assert_ne!(creds.token(&owner), token);
    }

    #[test]
    fn cache_answers_only_for_the_current_hash_and_forgets() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let password = Password::parse("a long enough secret", None).unwrap();
        let owner = account(Some(creds.hash_password(&password).unwrap()));
        assert_eq!(creds.cached_password_match(&owner, password.expose()), None);
        assert!(creds.verify_password(&owner, password.expose()));
        assert_eq!(
            creds.cached_password_match(&owner, password.expose()),
            Some(true)
        );
        assert_eq!(
            creds.cached_password_match(&owner, "another secret!!"),
            None
        );
        let mut changed = owner.clone();
        changed.password_hash = Some(creds.hash_password(&password).unwrap());
        assert_eq!(
            creds.cached_password_match(&changed, password.expose()),
            None
        );
        creds.forget(&owner.sid);
        assert_eq!(creds.cached_password_match(&owner, password.expose()), None);
    }

    #[test]
    fn cache_is_bounded() {
        let cache = VerifiedCache::new(3);
        let sid = AccountSid::random();
        for i in 0..10 {
            cache.insert(&sid, &format!("secret{i}"), "h");
        }
        assert_eq!(cache.entries().len(), 3);
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let generated = Password::generate();
        assert!(Password::parse(generated.expose(), None).is_ok());
        assert_ne!(generated.expose(), Password::generate().expose());
    }

    #[test]
    fn key_round_trips_through_hex() {
        let key = InstallationKey::generate();
        assert_eq!(
            InstallationKey::from_hex(&key.to_hex()).unwrap().to_hex(),
            key.to_hex()
        );
        assert!(InstallationKey::from_hex("abcd").is_none());
    }
}
