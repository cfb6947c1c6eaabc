//! Passwords, their hashes, the AuthToken derived from them, and the cache that keeps
//! password logins from paying the full bcrypt cost on every request.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use super::account::{Account, AccountSid, Email, FriendlyName};
use super::error::Invalid;
use super::keys::{ApiKey, KeySid};

mod restcomm;

pub use restcomm::RestcommToken;

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

    /// A value the database keeps to recognise its key without holding it: a start with
    /// another key is refused instead of serving with every login failing.
    pub fn check_value(&self) -> String {
        hex::encode(self.mac(&[b"key-check/v1"]))
    }

    /// The secret under which presented user names are counted: the same on every node of an
    /// installation, so that their shared counters agree on which name is which.
    pub fn failure_names(&self) -> super::throttle::NameKeys {
        super::throttle::NameKeys::with_secret(&self.mac(&[b"failure-names/v1"]))
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

/// A password that meets the policy: 12 to 128 characters once normalized, not a common
/// password, not containing the account's email address, and not easy to guess by zxcvbn's
/// estimate. It holds the normalized text (Unicode NFKC).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    /// `email` and `name` are the account's: a password made of them is easy to guess.
    pub fn parse(
        raw: &str,
        email: Option<&Email>,
        name: Option<&FriendlyName>,
    ) -> Result<Password, Invalid> {
        let invalid = |reason: &str| Invalid::new("Password", reason);
        let password = normalized(raw);
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(invalid("is too short: use at least 12 characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(invalid("is too long: use at most 128 characters"));
        }
        let lowered = password.to_lowercase();
        if common_passwords().contains(lowered.as_str()) {
            return Err(invalid("is a commonly used password"));
        }
        if email.is_some_and(|email| lowered.contains(email.as_str())) {
            return Err(invalid("must not contain the account's email address"));
        }
        if let Some(why) = weakness(&password, email, name) {
            return Err(invalid(&format!(
                "is too weak: {why}; a few unrelated words make a strong one"
            )));
        }
        Ok(Password(password.into_owned()))
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

/// NIST SP 800-63B: the same password typed on another keyboard or system (composed or
/// decomposed accents, fullwidth forms) is the same password.
pub fn normalized(secret: &str) -> Cow<'_, str> {
    if is_nfkc_quick(secret.chars()) == IsNormalized::Yes {
        Cow::Borrowed(secret)
    } else {
        Cow::Owned(secret.nfkc().collect())
    }
}

/// Why zxcvbn scores the password below 3 (at most 10^8 guesses), given what an attacker
/// would try first against this account; `None` when it is strong enough. Its sentence has
/// the password as subject, after "Password is too weak:".
fn weakness(
    password: &str,
    email: Option<&Email>,
    name: Option<&FriendlyName>,
) -> Option<&'static str> {
    let mut inputs = vec!["switchboard"];
    let local_part = email.and_then(|email| email.as_str().split('@').next());
    inputs.extend(local_part);
    for text in [email.map(Email::as_str), name.map(FriendlyName::as_str)]
        .into_iter()
        .flatten()
    {
        inputs.push(text);
        // zxcvbn matches whole inputs only: the parts of an address or a name count too.
        inputs.extend(
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|word| word.chars().count() >= 3),
        );
    }
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(estimate.score()) >= 3 {
        return None;
    }
    use zxcvbn::feedback::Warning as W;
    Some(
        match estimate.feedback().and_then(|feedback| feedback.warning()) {
            Some(W::StraightRowsOfKeysAreEasyToGuess | W::ShortKeyboardPatternsAreEasyToGuess) => {
                "it follows a pattern of keys on the keyboard"
            }
            Some(
                W::RepeatsLikeAaaAreEasyToGuess | W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
            ) => "it repeats a character or a group of characters",
            Some(W::ThisIsATop10Password | W::ThisIsATop100Password | W::ThisIsACommonPassword) => {
                "it is a commonly used password"
            }
            Some(W::ThisIsSimilarToACommonlyUsedPassword) => {
                "it is close to a commonly used password"
            }
            Some(W::SequencesLikeAbcAreEasyToGuess) => "it is a sequence, such as abc or 6543",
            Some(W::RecentYearsAreEasyToGuess | W::DatesAreOftenEasyToGuess) => {
                "it rests on a date or a year"
            }
            Some(W::AWordByItselfIsEasyToGuess) => "it is a single common word",
            Some(
                W::NamesAndSurnamesByThemselvesAreEasyToGuess
                | W::CommonNamesAndSurnamesAreEasyToGuess,
            ) => "it rests on common names",
            None => "it would be guessed too quickly",
        },
    )
}

/// The lowercased entries of zxcvbn's `passwords` frequency list (the xato corpus) that are
/// long enough to pass the length rule; shorter ones are refused as too short anyway.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("common_passwords.txt").lines().collect())
}

fn first_16(mac: &[u8; 32]) -> [u8; 16] {
    std::array::from_fn(|i| mac[i])
}

/// Compares without an early exit, so the time taken says nothing about where a guess differs.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What bcrypt said of a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Wrong,
    Right,
    /// Right, against a hash that should be made again: at another cost than the configured
    /// one (which timing would betray), or of the password before it was normalized.
    RightButHashAgain,
}

pub struct Credentials {
    key: InstallationKey,
    bcrypt_cost: u32,
    verified: VerifiedCache,
    /// AuthTokens by [`token_inputs`].
    tokens: Remembered,
    /// Key secrets that matched, by their stored hash (which only that secret matches).
    key_secrets: Remembered,
    dummy_hash: OnceLock<String>,
}

impl Credentials {
    pub fn new(key: InstallationKey, bcrypt_cost: u32) -> Credentials {
        Credentials {
            key,
            bcrypt_cost,
            verified: VerifiedCache::new(4096),
            tokens: Remembered::default(),
            key_secrets: Remembered::default(),
            dummy_hash: OnceLock::new(),
        }
    }

    pub fn failure_names(&self) -> super::throttle::NameKeys {
        self.key.failure_names()
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
        self.hash_normalized(password.expose())
    }

    /// A password that was just verified, hashed again at the configured cost; it need not
    /// meet today's policy, since it was set under an earlier one. Slow on purpose (bcrypt).
    pub fn hash_again(&self, secret: &str) -> Result<String, String> {
        self.hash_normalized(&normalized(secret))
    }

    fn hash_normalized(&self, password: &str) -> Result<String, String> {
        bcrypt::hash(self.prehash(password), self.bcrypt_cost).map_err(|e| e.to_string())
    }

    pub fn new_token_salt() -> String {
        hex::encode(super::random_bytes::<16>())
    }

    /// `hex(HMAC(K, "authtoken/v1" | Sid | salt | bcrypt-hash))[..32]`: cheap to recompute on
    /// every request, impossible to compute from the database alone.
    ///
    /// Hashing a password again (at a new cost) must not change the token, yet the token was
    /// minted from the old hash. So the stored salt then carries the token sealed:
    /// `salt.sealed`, where `sealed` is the token's bytes XOR `HMAC(K, "authtoken/seal" | Sid |
    /// salt)`. Like the minted token, it cannot be read without the key file; and a password
    /// set afresh brings a new plain salt.
    pub fn token(&self, account: &Account) -> String {
        let inputs = token_inputs(account);
        if let Some(token) = self.tokens.get(&inputs) {
            return token;
        }
        let token = self.derive_token(account);
        self.tokens.keep(inputs, token.clone());
        token
    }

    fn derive_token(&self, account: &Account) -> String {
        let bytes = match account.token_salt.split_once('.') {
            Some((salt, sealed)) => self.unseal(account, salt, sealed),
            None => None,
        };
        let bytes = bytes.unwrap_or_else(|| self.mint(account));
        let mut text = [0u8; 32];
        // Sixteen bytes always fit thirty-two hex digits.
        let _ = hex::encode_to_slice(bytes, &mut text);
        String::from_utf8_lossy(&text).into_owned()
    }

    fn mint(&self, account: &Account) -> [u8; 16] {
        let hash = account.password_hash.as_deref().unwrap_or("");
        let mac = self.key.mac(&[
            b"authtoken/v1",
            account.sid.as_str().as_bytes(),
            account.token_salt.as_bytes(),
            hash.as_bytes(),
        ]);
        first_16(&mac)
    }

    fn seal_pad(&self, sid: &AccountSid, salt: &str) -> [u8; 16] {
        let pad = self
            .key
            .mac(&[b"authtoken/seal", sid.as_str().as_bytes(), salt.as_bytes()]);
        first_16(&pad)
    }

    /// A salt that carries `token` sealed (see [`Credentials::token`]): the token an account
    /// keeps until its password is next set.
    fn salt_sealing(&self, sid: &AccountSid, salt: &str, token: &[u8; 16]) -> String {
        let pad = self.seal_pad(sid, salt);
        let sealed: [u8; 16] = std::array::from_fn(|i| token[i] ^ pad[i]);
        format!("{salt}.{}", hex::encode(sealed))
    }

    /// `None` when the sealed part is damaged: the token is then one nobody knows.
    fn unseal(&self, account: &Account, salt: &str, sealed: &str) -> Option<[u8; 16]> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(sealed, &mut bytes).ok()?;
        let pad = self.seal_pad(&account.sid, salt);
        Some(std::array::from_fn(|i| bytes[i] ^ pad[i]))
    }

    /// The salt to store with a new hash of the same password, so that the token stays the
    /// one the account has now.
    pub fn salt_keeping_token(&self, account: &Account) -> String {
        if account.token_salt.contains('.') {
            return account.token_salt.clone();
        }
        let token = self.mint(account);
        self.salt_sealing(&account.sid, &account.token_salt, &token)
    }

    pub fn token_matches(&self, account: &Account, secret: &str) -> bool {
        constant_time_eq(self.token(account).as_bytes(), secret.as_bytes())
    }

    /// `hex(HMAC(K, "secondary/v1" | Sid | salt))[..32]`: like the AuthToken, made of a random
    /// salt the database keeps and the key file it does not.
    pub fn secondary_token(&self, account: &Account) -> Option<String> {
        let secondary = account.secondary.as_ref()?;
        Some(hex::encode(self.secondary_bytes(account, &secondary.salt)))
    }

    fn secondary_bytes(&self, account: &Account, salt: &str) -> [u8; 16] {
        let mac = self.key.mac(&[
            b"secondary/v1",
            account.sid.as_str().as_bytes(),
            salt.as_bytes(),
        ]);
        first_16(&mac)
    }

    /// The token salt that makes the secondary token the AuthToken: a fresh salt with the
    /// secondary sealed to it, as [`Credentials::salt_keeping_token`] seals a token, so the
    /// promoted token survives a new hash of the password as any other does. `None` when
    /// there is no secondary token.
    pub fn salt_promoting_secondary(&self, account: &Account) -> Option<String> {
        let secondary = account.secondary.as_ref()?;
        let token = self.secondary_bytes(account, &secondary.salt);
        let salt = Self::new_token_salt();
        let pad = self.seal_pad(&account.sid, &salt);
        let sealed: [u8; 16] = std::array::from_fn(|i| token[i] ^ pad[i]);
        Some(format!("{salt}.{}", hex::encode(sealed)))
    }

    /// The only form of a key's secret that is stored: `hex(HMAC(K, "apikey/v1" | key Sid |
    /// secret))`. One HMAC to check, and nothing to learn from the database alone.
    pub fn key_secret_hash(&self, sid: &KeySid, secret: &str) -> String {
        hex::encode(
            self.key
                .mac(&[b"apikey/v1", sid.as_str().as_bytes(), secret.as_bytes()]),
        )
    }

    pub fn key_matches(&self, key: &ApiKey, secret: &str) -> bool {
        if let Some(matched) = self.key_secrets.get(&key.secret_hash) {
            return constant_time_eq(matched.as_bytes(), secret.as_bytes());
        }
        let presented = self.key_secret_hash(&key.sid, secret);
        let matches = constant_time_eq(presented.as_bytes(), key.secret_hash.as_bytes());
        if matches {
            self.key_secrets
                .keep(key.secret_hash.clone(), secret.to_owned());
        }
        matches
    }

    /// Whether `secret` is one of the account's secrets that cost no bcrypt to test: the
    /// AuthToken, or the secondary token while there is one (API keys are tested by
    /// [`Credentials::key_matches`]). These are long and random, so guessing them is no threat
    /// worth throttling, and they are tested even from a throttled address: nobody can lock a
    /// program out by failing from its address. Both are always compared, so the time taken
    /// does not tell which one matched.
    pub fn matches_cheaply(&self, account: &Account, secret: &str) -> bool {
        let primary = self.token_matches(account, secret);
        let secondary = self
            .secondary_token(account)
            .is_some_and(|token| constant_time_eq(token.as_bytes(), secret.as_bytes()));
        primary | secondary
    }

    /// Answers from the cache when this exact password was verified against the account's
    /// current hash; `None` when bcrypt must decide.
    pub fn cached_password_match(&self, account: &Account, secret: &str) -> Option<bool> {
        let hash = account.password_hash.as_deref()?;
        self.verified
            .contains(&account.sid, &normalized(secret), hash)
            .then_some(true)
    }

    /// Slow on purpose (bcrypt): call it off the request threads.
    pub fn verify_password(&self, account: &Account, secret: &str) -> PasswordCheck {
        let Some(hash) = account.password_hash.as_deref() else {
            self.burn_time(secret);
            return PasswordCheck::Wrong;
        };
        if let Some(check) = restcomm::password_check(hash) {
            return self.verify_restcomm_password(account, check, secret);
        }
        let password = normalized(secret);
        if self.bcrypt_matches(&password, hash) {
            self.verified.insert(&account.sid, &password, hash);
            return match self.made_at_configured_cost(hash) {
                true => PasswordCheck::Right,
                false => PasswordCheck::RightButHashAgain,
            };
        }
        // A password set before passwords were normalized was hashed as it was sent.
        if password != secret && self.bcrypt_matches(secret, hash) {
            return PasswordCheck::RightButHashAgain;
        }
        PasswordCheck::Wrong
    }

    fn bcrypt_matches(&self, secret: &str, hash: &str) -> bool {
        bcrypt::verify(self.prehash(secret), hash).unwrap_or(false)
    }

    fn made_at_configured_cost(&self, hash: &str) -> bool {
        hash.parse::<bcrypt::HashParts>()
            .is_ok_and(|parts| parts.get_cost() == self.bcrypt_cost)
    }

    /// Costs what a real password check costs (one bcrypt, or two when the secret is not
    /// normalized), so an unknown user cannot be told apart.
    pub fn burn_time(&self, secret: &str) {
        let dummy = self.dummy_hash.get_or_init(|| {
            bcrypt::hash("switchboard/dummy", self.bcrypt_cost).unwrap_or_default()
        });
        let password = normalized(secret);
        let _ = self.bcrypt_matches(&password, dummy);
        if password != secret {
            let _ = self.bcrypt_matches(secret, dummy);
        }
    }

    /// After the account's hash was made again from `secret`, which was just verified.
    pub fn remember(&self, account: &Account, secret: &str) {
        if let Some(hash) = account.password_hash.as_deref() {
            self.verified
                .insert(&account.sid, &normalized(secret), hash);
        }
    }

    /// Called whenever an account's password changes.
    pub fn forget(&self, sid: &AccountSid) {
        self.verified.forget(sid);
    }
}

/// Secrets this process already derived or checked, by what they derive from. A request
/// signed with a token derives it to check it and again to show it, each an HMAC over the
/// password's hash; a key's request checks its secret by another HMAC. These maps spare both.
/// They live in this process's memory only, as the page cache's pages (which show tokens) do.
#[derive(Default)]
struct Remembered {
    entries: Mutex<HashMap<String, String>>,
}

impl Remembered {
    const CAPACITY: usize = 4096;

    fn get(&self, from: &str) -> Option<String> {
        self.entries().get(from).cloned()
    }

    fn keep(&self, from: String, secret: String) {
        let mut entries = self.entries();
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(from, secret);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Everything an AuthToken derives from (Sid, salt and hash), so a changed password or salt
/// can never find an old token. Sids, salts and hashes hold no newline.
fn token_inputs(account: &Account) -> String {
    let hash = account.password_hash.as_deref().unwrap_or("");
    let mut inputs = String::with_capacity(
        account.sid.as_str().len() + account.token_salt.len() + hash.len() + 2,
    );
    for part in [account.sid.as_str(), &account.token_salt, hash] {
        inputs.push_str(part);
        inputs.push('\n');
    }
    inputs
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
    use crate::domain::account::FriendlyName;

    fn account(hash: Option<String>) -> Account {
        Account::sample(hash)
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("bob@example.com").unwrap();
        assert!(Password::parse("short", None, None).is_err());
        assert!(Password::parse(&"x".repeat(129), None, None).is_err());
        let accents = "éclair forêt château naïveté garçon île crème brûlée fenêtre où déjà cœur \
                       œuvre zèbre piñata façade mañana über straße éclair forêt château";
        let longest: String = accents.chars().take(128).collect();
        assert_eq!(longest.chars().count(), 128);
        assert!(Password::parse(&longest, None, None).is_ok());
        assert!(
            Password::parse("1qaz2wsx3edc", None, None).is_err(),
            "common password"
        );
        assert!(
            Password::parse("1QAZ2WSX3EDC", None, None).is_err(),
            "case-insensitive"
        );
        assert!(Password::parse("my BOB@example.com pw", Some(&email), None).is_err());
        assert!(Password::parse("correct horse battery", Some(&email), None).is_ok());
    }

    fn weakness_of(raw: &str, email: Option<&str>, name: Option<&str>) -> Option<String> {
        let email = email.map(|e| Email::parse(e).unwrap());
        let name = name.map(|n| FriendlyName::parse(n).unwrap());
        match Password::parse(raw, email.as_ref(), name.as_ref()) {
            Ok(_) => None,
            Err(invalid) => {
                assert_eq!(invalid.parameter, "Password");
                Some(invalid.reason)
            }
        }
    }

    #[test]
    fn passwords_easy_to_guess_are_refused_with_the_reason() {
        for (weak, why) in [
            ("passwordpassword", "repeats"),
            ("abcdefghijklmnop", "sequence"),
            ("zxcvbnmasdfghjkl", "commonly used"),
            ("1995-12-25!!", "date"),
            ("switchboard!!!", "guessed too quickly"),
        ] {
            let reason = weakness_of(weak, None, None).unwrap_or_else(|| panic!("{weak} passed"));
            assert!(reason.starts_with("is too weak: it "), "{reason}");
            assert!(reason.contains(why), "{weak}: {reason}");
        }
        for strong in [
            "correct horse battery staple",
            "alice has a long password",
            "a long enough secret",
        ] {
            assert_eq!(weakness_of(strong, None, None), None, "{strong}");
        }
    }

    #[test]
    fn the_accounts_own_name_makes_a_weak_password() {
        let name = Some("Kestrel Voyager Hub");
        assert_eq!(weakness_of("kestrel voyager hub", None, None), None);
        assert!(weakness_of("kestrel voyager hub", None, name).is_some());
        assert!(weakness_of(
            "Zorblax.Quintana 1",
            Some("zorblax.quintana@example.com"),
            None
        )
        .is_some());
    }

    #[test]
    fn passwords_are_normalized_before_they_are_checked_and_hashed() {
        let fullwidth =
            Password::parse("ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ", None, None).unwrap();
        assert_eq!(fullwidth.expose(), "correct horse battery");
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let composed = "café au lait tous les matins";
        let decomposed = "cafe\u{301} au lait tous les matins";
        let owner = account(Some(
            creds
                .hash_password(&Password::parse(decomposed, None, None).unwrap())
                .unwrap(),
        ));
        assert_eq!(
            creds.verify_password(&owner, composed),
            PasswordCheck::Right
        );
        assert_eq!(creds.cached_password_match(&owner, decomposed), Some(true));
        assert_eq!(
            creds.verify_password(&owner, "cafe au lait tous les matins"),
            PasswordCheck::Wrong
        );
        // Set before passwords were normalized: still right, and due for a new hash.
        let legacy = account(Some(creds.hash_normalized(decomposed).unwrap()));
        assert_eq!(
            creds.verify_password(&legacy, decomposed),
            PasswordCheck::RightButHashAgain
        );
        assert_eq!(
            creds.verify_password(&legacy, composed),
            PasswordCheck::Wrong
        );
    }

    #[test]
    fn a_hash_at_another_cost_is_due_for_a_new_one() {
        let at_4 = Credentials::new(InstallationKey::generate(), 4);
        let password = Password::parse("a long enough secret", None, None).unwrap();
        let owner = account(Some(at_4.hash_password(&password).unwrap()));
        assert_eq!(
            at_4.verify_password(&owner, password.expose()),
            PasswordCheck::Right
        );
        let at_5 = Credentials {
            bcrypt_cost: 5,
            ..Credentials::new(at_4.key.clone(), 4)
        };
        assert_eq!(
            at_5.verify_password(&owner, password.expose()),
            PasswordCheck::RightButHashAgain
        );
        assert_eq!(
            at_5.verify_password(&owner, "a wrong secret!"),
            PasswordCheck::Wrong
        );
        assert!(at_5
            .hash_again(password.expose())
            .unwrap()
            .starts_with("$2b$05$"));
    }

    #[test]
    fn a_remembered_token_is_the_derived_one_and_any_changed_input_derives_afresh() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let owner = account(Some("$2b$04$first".into()));
        let token = creds.token(&owner);
        assert_eq!(creds.token(&owner), creds.derive_token(&owner));
        assert_eq!(creds.token(&owner), token);
        let changed = [
            Account {
                password_hash: Some("$2b$04$other".into()),
                ..owner.clone()
            },
            Account {
                token_salt: Credentials::new_token_salt(),
                ..owner.clone()
            },
            Account {
                sid: AccountSid::random(),
                ..owner.clone()
            },
        ];
        for other in changed {
            assert_eq!(creds.token(&other), creds.derive_token(&other));
            assert_ne!(creds.token(&other), token);
        }
    }

    #[test]
    fn a_new_hash_of_the_same_password_keeps_the_token() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let mut owner = account(Some("$2b$04$first".into()));
        let token = creds.token(&owner);
        owner.token_salt = creds.salt_keeping_token(&owner);
        owner.password_hash = Some("$2b$05$second".into());
        assert_eq!(creds.token(&owner), token);
        assert_eq!(
            creds.salt_keeping_token(&owner),
            owner.token_salt,
            "sealed once"
        );
        owner.password_hash = Some("$2b$06$third".into());
        assert_eq!(creds.token(&owner), token);
        let other_key = Credentials::new(InstallationKey::generate(), 4);
        assert_ne!(
            other_key.token(&owner),
            token,
            "the sealed token needs the key"
        );
        let mut damaged = owner.clone();
        damaged.token_salt.push('x');
        assert_ne!(creds.token(&damaged), token);
        owner.token_salt = Credentials::new_token_salt();
        assert_ne!(
            creds.token(&owner),
            token,
            "a password set afresh changes it"
        );
    }

    #[test]
    fn a_secondary_token_works_beside_the_first_and_survives_promotion() {
        use crate::domain::account::{SecondaryToken, UnixTime};
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let mut owner = account(Some("$2b$04$abc".into()));
        let first = creds.token(&owner);
        assert_eq!(creds.secondary_token(&owner), None);
        assert_eq!(creds.salt_promoting_secondary(&owner), None);
        owner.secondary = Some(SecondaryToken {
            salt: Credentials::new_token_salt(),
            created: UnixTime(1),
        });
        let second = creds.secondary_token(&owner).unwrap();
        assert_eq!(second.len(), 32);
        assert_ne!(second, first);
        assert!(creds.matches_cheaply(&owner, &first));
        assert!(creds.matches_cheaply(&owner, &second));
        assert!(!creds.matches_cheaply(&owner, "0123456789abcdef0123456789abcdef"));
        let other_key = Credentials::new(InstallationKey::generate(), 4);
        assert_ne!(other_key.secondary_token(&owner).unwrap(), second);
        owner.token_salt = creds.salt_promoting_secondary(&owner).unwrap();
        owner.secondary = None;
        assert_eq!(creds.token(&owner), second);
        assert!(!creds.matches_cheaply(&owner, &first));
        assert_ne!(
            other_key.token(&owner),
            second,
            "the promoted token needs the key"
        );
        // A new hash of the same password keeps the promoted token.
        owner.token_salt = creds.salt_keeping_token(&owner);
        owner.password_hash = Some("$2b$05$def".into());
        assert_eq!(creds.token(&owner), second);
    }

    #[test]
    fn key_secrets_are_checked_against_a_keyed_hash() {
        use crate::domain::account::UnixTime;
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let sid = KeySid::random();
        let key = ApiKey {
            secret_hash: creds.key_secret_hash(&sid, "the secret"),
            sid,
            account: AccountSid::random(),
            friendly_name: None,
            created: UnixTime(0),
            updated: UnixTime(0),
        };
        assert!(!creds.key_matches(&key, "the secreT"), "before any match");
        assert!(creds.key_matches(&key, "the secret"));
        // Once a match is remembered, it is the only secret that matches.
        assert!(!creds.key_matches(&key, "the secreT"));
        assert!(!creds.key_matches(&key, ""));
        assert!(creds.key_matches(&key, "the secret"));
        assert!(!key.secret_hash.contains("the secret"));
        let other_key = Credentials::new(InstallationKey::generate(), 4);
        assert!(!other_key.key_matches(&key, "the secret"));
    }

    #[test]
    fn passwords_sharing_72_bytes_differ() {
        let creds = Credentials::new(InstallationKey::generate(), 4);
        let shared = "a long sentence about nothing in particular that runs well past \
                      seventy-two bytes of text, then";
        let first = Password::parse(&format!("{shared} A"), None, None).unwrap();
        let hash = creds.hash_password(&first).unwrap();
        let owner = account(Some(hash));
        assert_eq!(
            creds.verify_password(&owner, first.expose()),
            PasswordCheck::Right
        );
        assert_eq!(
            creds.verify_password(&owner, &format!("{shared} B")),
            PasswordCheck::Wrong
        );
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
        let password = Password::parse("a long enough secret", None, None).unwrap();
        let owner = account(Some(creds.hash_password(&password).unwrap()));
        assert_eq!(creds.cached_password_match(&owner, password.expose()), None);
        assert_eq!(
            creds.verify_password(&owner, password.expose()),
            PasswordCheck::Right
        );
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
        assert!(Password::parse(generated.expose(), None, None).is_ok());
        for _ in 0..20 {
            let name = crate::domain::service::FirstAdministrator::name();
            let email = Email::parse("administrator@company.com").unwrap();
            let password = Password::generate();
            assert!(Password::parse(password.expose(), Some(&email), Some(&name)).is_ok());
        }
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
