//! The account and the value types it is made of. Each newtype can only hold a valid value,
//! so code that receives one never checks it again.

use std::fmt;

use super::error::Invalid;

/// `AC` followed by 32 lowercase hex digits drawn from 128 random bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountSid(String);

impl AccountSid {
    pub fn parse(raw: &str) -> Option<AccountSid> {
        let hex = raw.strip_prefix("AC")?;
        let valid = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| AccountSid(raw.to_owned()))
    }

    pub fn random() -> AccountSid {
        AccountSid(format!("AC{}", hex::encode(super::random_bytes::<16>())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, stored lowercase. Deliberately narrower than RFC 5322: the address
/// appears in URL paths (`/Accounts/{EmailAddress}`), so it may hold no character that a
/// path or query would need to escape other than `@`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let email = raw.to_ascii_lowercase();
        let invalid = |reason: &str| Invalid::new("EmailAddress", reason);
        if email.is_empty() || email.len() > Self::MAX_LEN {
            return Err(invalid("must be 3 to 254 characters long"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("must contain an @"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-'".contains(&b));
        let domain_ok = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err(invalid("is not a valid email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 64 Unicode scalar values, none of them a control character or a noncharacter, so that
/// every name can be carried by XML 1.0 as well as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendlyName(String);

impl FriendlyName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<FriendlyName, Invalid> {
        let count = raw.chars().count();
        if count == 0 || count > Self::MAX_CHARS {
            return Err(Invalid::new(
                "FriendlyName",
                "must be 1 to 64 characters long",
            ));
        }
        if !raw.chars().all(Self::allows) {
            return Err(Invalid::new(
                "FriendlyName",
                "must not contain control characters or noncharacters",
            ));
        }
        Ok(FriendlyName(raw.to_owned()))
    }

    /// A name read back from storage. Earlier versions let noncharacters in; such a name is
    /// shown with U+FFFD in their place rather than making its account unreadable.
    pub fn from_stored(raw: &str) -> Result<FriendlyName, Invalid> {
        FriendlyName::parse(raw).or_else(|_| {
            let repaired: String = raw
                .chars()
                .map(|c| {
                    if Self::allows(c) {
                        c
                    } else {
                        char::REPLACEMENT_CHARACTER
                    }
                })
                .collect();
            FriendlyName::parse(&repaired)
        })
    }

    fn allows(c: char) -> bool {
        !c.is_control() && !is_noncharacter(c)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// U+FDD0 to U+FDEF and the last two code points of every plane (U+FFFE, U+FFFF, U+1FFFE, ...).
fn is_noncharacter(c: char) -> bool {
    let code = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Administrator,
    Developer,
    ProvisioningAgent,
}

impl Role {
    /// Case-insensitive, since Restcomm clients have sent both spellings.
    pub fn parse(raw: &str) -> Result<Role, Invalid> {
        [
            Role::Administrator,
            Role::Developer,
            Role::ProvisioningAgent,
        ]
        .into_iter()
        .find(|role| role.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| {
            Invalid::new(
                "Role",
                "must be Administrator, Developer or ProvisioningAgent",
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Developer => "Developer",
            Role::ProvisioningAgent => "ProvisioningAgent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
    Closed,
    Uninitialized,
}

impl Status {
    pub fn parse(raw: &str) -> Result<Status, Invalid> {
        [
            Status::Active,
            Status::Suspended,
            Status::Closed,
            Status::Uninitialized,
        ]
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| {
            Invalid::new(
                "Status",
                "must be active, suspended, closed or uninitialized",
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Closed => "closed",
            Status::Uninitialized => "uninitialized",
        }
    }
}

/// Seconds since the Unix epoch, UTC. The wire format (RFC 2822) is the HTTP layer's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub i64);

impl UnixTime {
    pub fn now() -> UnixTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime(since_epoch.as_secs() as i64)
    }

    /// (year, month, day, hour, minute, second) in UTC, by Howard Hinnant's civil-from-days.
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (
            year,
            month,
            day,
            (secs / 3600) as u32,
            (secs % 3600 / 60) as u32,
            (secs % 60) as u32,
        )
    }

    /// 0 for Sunday; 1970-01-01 was a Thursday.
    pub fn weekday(self) -> u32 {
        (self.0.div_euclid(86_400) + 4).rem_euclid(7) as u32
    }
}

/// How deep the hierarchy may go: a top-level account, its children, their children.
pub const MAX_LEVEL: usize = 3;

/// An account as stored, plus the one fact about its ancestors that its shown status needs.
/// Its `Debug` leaves out the password hash and the token salt, from which (with the key file)
/// the AuthToken derives.
#[derive(Clone)]
pub struct Account {
    pub sid: AccountSid,
    /// From the top-level account down to the parent; empty for a top-level account.
    pub ancestors: Vec<AccountSid>,
    pub email: Option<Email>,
    pub friendly_name: FriendlyName,
    pub role: Role,
    /// The status this account was given; what callers see is [`Account::status`].
    pub own_status: Status,
    pub ancestor_suspended: bool,
    /// bcrypt hash of the pre-hashed password; `None` for an API-only account.
    pub password_hash: Option<String>,
    /// Random per password change, so that the token changes even when the password does not.
    pub token_salt: String,
    /// The second AuthToken of a rotation, while there is one.
    pub secondary: Option<SecondaryToken>,
    pub created: UnixTime,
    pub updated: UnixTime,
}

/// A second AuthToken, good beside the first until it is promoted or deleted. Like the first,
/// it is derived from a random salt and the key file; its `Debug` shows no salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SecondaryToken {
    pub salt: String,
    pub created: UnixTime,
}

impl fmt::Debug for SecondaryToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondaryToken")
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("sid", &self.sid)
            .field("ancestors", &self.ancestors)
            .field("email", &self.email)
            .field("friendly_name", &self.friendly_name)
            .field("role", &self.role)
            .field("own_status", &self.own_status)
            .field("ancestor_suspended", &self.ancestor_suspended)
            .field("has_password", &self.password_hash.is_some())
            .field("secondary", &self.secondary)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// A top-level Developer for the unit tests, with the given password hash.
    #[cfg(test)]
    pub(crate) fn sample(password_hash: Option<String>) -> Account {
        Account {
            sid: AccountSid::random(),
            ancestors: vec![],
            email: None,
            friendly_name: FriendlyName::parse("t").expect("a valid name"),
            role: Role::Developer,
            own_status: Status::Active,
            ancestor_suspended: false,
            password_hash,
            token_salt: hex::encode(super::random_bytes::<16>()),
            secondary: None,
            created: UnixTime(0),
            updated: UnixTime(0),
        }
    }

    /// The status as shown by GET, list and authentication: `closed` is final, and a suspended
    /// ancestor hides every other status without overwriting it.
    pub fn status(&self) -> Status {
        match self.own_status {
            Status::Closed => Status::Closed,
            _ if self.ancestor_suspended => Status::Suspended,
            own => own,
        }
    }

    /// 1 for a top-level account.
    pub fn level(&self) -> usize {
        self.ancestors.len() + 1
    }

    /// A top-level account is its own owner, as in Twilio.
    pub fn owner(&self) -> &AccountSid {
        self.ancestors.last().unwrap_or(&self.sid)
    }

    pub fn is_descendant_of(&self, other: &AccountSid) -> bool {
        self.ancestors.contains(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_printed_for_debugging_shows_no_hash_and_no_salt() {
        let mut account = Account::sample(Some("$2b$04$SENTINELHASH".into()));
        account.token_salt = "SENTINELSALT".into();
        for printed in [format!("{account:?}"), format!("{account:#?}")] {
            assert!(printed.contains(account.sid.as_str()));
            assert!(!printed.contains("SENTINEL"), "{printed}");
        }
    }

    #[test]
    fn sid_is_ac_and_32_lowercase_hex() {
        let sid = AccountSid::random();
        assert_eq!(sid.as_str().len(), 34);
        assert!(AccountSid::parse(sid.as_str()).is_some());
        assert_ne!(sid, AccountSid::random());
        assert!(AccountSid::parse(&sid.as_str().to_uppercase()).is_none());
        assert!(AccountSid::parse("AC123").is_none());
        assert!(AccountSid::parse(&format!("AC{}", "g".repeat(32))).is_none());
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            Email::parse("Bob.Smith+x@Example.COM").unwrap().as_str(),
            "bob.smith+x@example.com"
        );
        for bad in [
            "",
            "bob",
            "@x.com",
            "bob@",
            "bob@x..com",
            "bo b@x.com",
            "bob@x.com/",
            "a@b@c",
            "bob@-x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Email::parse("x@localhost").unwrap().as_str(), "x@localhost");
    }

    #[test]
    fn friendly_name_counts_characters_not_bytes() {
        assert!(FriendlyName::parse(&"é".repeat(64)).is_ok());
        assert!(FriendlyName::parse(&"é".repeat(65)).is_err());
        assert!(FriendlyName::parse("").is_err());
        assert!(FriendlyName::parse("line\nbreak").is_err());
        assert!(FriendlyName::parse("nul\0").is_err());
    }

    #[test]
    fn friendly_name_refuses_every_noncharacter() {
        let planes = (0..=0x10_u32).flat_map(|plane| [plane << 16 | 0xFFFE, plane << 16 | 0xFFFF]);
        for code in (0xFDD0..=0xFDEF).chain(planes) {
            let c = char::from_u32(code).unwrap();
            assert!(
                FriendlyName::parse(&format!("a{c}b")).is_err(),
                "U+{code:X}"
            );
        }
        for fine in [
            '\u{FDCF}',
            '\u{FDF0}',
            '\u{FFFD}',
            '\u{1FFFD}',
            '\u{10FFFD}',
            'é',
            '😀',
        ] {
            assert!(
                FriendlyName::parse(&format!("a{fine}b")).is_ok(),
                "{fine:?}"
            );
        }
    }

    #[test]
    fn a_stored_noncharacter_is_shown_as_a_replacement() {
        assert_eq!(
            FriendlyName::from_stored("old\u{FFFE}name")
                .unwrap()
                .as_str(),
            "old\u{FFFD}name"
        );
        assert_eq!(FriendlyName::from_stored("fine").unwrap().as_str(), "fine");
    }

    #[test]
    fn role_and_status_parse_their_spellings_only() {
        assert_eq!(
            Role::parse("ProvisioningAgent").unwrap(),
            Role::ProvisioningAgent
        );
        assert_eq!(Role::parse("administrator").unwrap(), Role::Administrator);
        assert!(Role::parse("Root").is_err());
        assert_eq!(Status::parse("Suspended").unwrap(), Status::Suspended);
        assert!(Status::parse("deleted").is_err());
    }

    #[test]
    fn civil_time_matches_known_dates() {
        assert_eq!(UnixTime(0).civil(), (1970, 1, 1, 0, 0, 0));
        assert_eq!(UnixTime(1_335_307_889).civil(), (2012, 4, 24, 22, 51, 29));
        assert_eq!(UnixTime(951_782_400).civil(), (2000, 2, 29, 0, 0, 0));
        assert_eq!(UnixTime(1_335_307_889).weekday(), 2, "a Tuesday");
    }

    #[test]
    fn suspended_ancestor_hides_all_but_closed() {
        let mut account = Account {
            sid: AccountSid::random(),
            ancestors: vec![AccountSid::random()],
            email: None,
            friendly_name: FriendlyName::parse("x").unwrap(),
            role: Role::Developer,
            own_status: Status::Uninitialized,
            ancestor_suspended: true,
            password_hash: None,
            token_salt: String::new(),
            secondary: None,
            created: UnixTime(0),
            updated: UnixTime(0),
        };
        assert_eq!(account.status(), Status::Suspended);
        account.own_status = Status::Closed;
        assert_eq!(account.status(), Status::Closed);
        account.ancestor_suspended = false;
        account.own_status = Status::Active;
        assert_eq!(account.status(), Status::Active);
        assert_eq!(account.level(), 2);
        assert_eq!(account.owner(), &account.ancestors[0]);
    }
}
