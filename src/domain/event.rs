//! Audit events: what changed, who changed it, from where. Events are written in the same
//! transaction as the change they describe and are never changed afterwards. None ever holds
//! a secret: their data is built here from names, roles and statuses alone.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::account::{Account, AccountSid, UnixTime};
use super::error::Invalid;
use super::keys::KeySid;

/// `AE` followed by 32 lowercase hex digits drawn from 128 random bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventSid(String);

impl EventSid {
    pub fn parse(raw: &str) -> Option<EventSid> {
        Sid::parse(raw)
            .filter(|sid| sid.as_str().starts_with("AE"))
            .map(|sid| EventSid(sid.0))
    }

    /// The time first (milliseconds since 1970, 12 hex digits), then 20 random hex digits:
    /// events are written in about the order of their Sids, so the Sid index grows at its end
    /// rather than taking a write on a page of its own for each event. The Sid tells nothing
    /// the event's date does not.
    pub fn generate() -> EventSid {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let millis = (millis & 0xffff_ffff_ffff) as u64;
        let random = hex::encode(super::random_bytes::<10>());
        EventSid(format!("AE{millis:012x}{random}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Any Twilio-style Sid: two uppercase letters, then 32 lowercase hex digits. Events name
/// accounts (`AC`), API keys (`SK`) and other resources by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sid(String);

impl Sid {
    pub fn parse(raw: &str) -> Option<Sid> {
        let bytes = raw.as_bytes();
        let valid = bytes.len() == 34
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..]
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Sid(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&AccountSid> for Sid {
    fn from(sid: &AccountSid) -> Sid {
        Sid(sid.as_str().to_owned())
    }
}

impl From<&KeySid> for Sid {
    fn from(sid: &KeySid) -> Sid {
        Sid(sid.as_str().to_owned())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Generates the enum, its wire spelling both ways and the list of every value, so that a new
/// kind is one line.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $parameter:literal { $($variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(raw: &str) -> Result<$name, Invalid> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == raw)
                    .ok_or_else(|| Invalid::new($parameter, "is not one of the known values"))
            }
        }
    };
}

wire_enum!(
    /// What happened. The spelling is the contract's `event_type`.
    EventType, "EventType" {
        AccountCreated => "account.created",
        AccountUpdated => "account.updated",
        AccountPasswordChanged => "account.password-changed",
        AccountSuspended => "account.suspended",
        AccountReactivated => "account.reactivated",
        AccountClosed => "account.closed",
        AccountPasswordReset => "account.password-reset",
        AccountImported => "account.imported",
        EventsPruned => "events.pruned",
        SecondaryTokenCreated => "auth-token.secondary-created",
        SecondaryTokenDeleted => "auth-token.secondary-deleted",
        AuthTokenPromoted => "auth-token.promoted",
        ApiKeyCreated => "api-key.created",
        ApiKeyUpdated => "api-key.updated",
        ApiKeyDeleted => "api-key.deleted",
    }
);

impl EventType {
    /// One line for people, as Twilio's `description`.
    pub fn description(self) -> &'static str {
        match self {
            EventType::AccountCreated => "Account created",
            EventType::AccountUpdated => "Account updated",
            EventType::AccountPasswordChanged => "Account password changed",
            EventType::AccountSuspended => "Account suspended",
            EventType::AccountReactivated => "Account reactivated",
            EventType::AccountClosed => "Account closed",
            EventType::AccountPasswordReset => "Account password reset by the operator",
            EventType::AccountImported => "Account imported from Restcomm-Connect",
            EventType::EventsPruned => "Events pruned by the operator",
            EventType::SecondaryTokenCreated => "Secondary AuthToken created",
            EventType::SecondaryTokenDeleted => "Secondary AuthToken deleted",
            EventType::AuthTokenPromoted => "Secondary AuthToken promoted to AuthToken",
            EventType::ApiKeyCreated => "API key created",
            EventType::ApiKeyUpdated => "API key updated",
            EventType::ApiKeyDeleted => "API key deleted",
        }
    }
}

wire_enum!(
    /// What kind of thing an event is about.
    ResourceType, "ResourceType" {
        Account => "account",
        AuthToken => "auth-token",
        ApiKey => "api-key",
    }
);

wire_enum!(
    /// Which door the change came in by.
    Source, "Source" {
        Api => "api",
        Console => "console",
        Cli => "cli",
    }
);

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Account(AccountSid),
    /// An API key (`SK...`) acting for its account.
    ApiKey(Sid),
    /// The operator, through a command run on the machine, or the server itself.
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Account(_) => "account",
            Actor::ApiKey(_) => "api-key",
            Actor::System => "system",
        }
    }

    pub fn sid(&self) -> Option<&str> {
        match self {
            Actor::Account(sid) => Some(sid.as_str()),
            Actor::ApiKey(sid) => Some(sid.as_str()),
            Actor::System => None,
        }
    }

    /// Back from the stored kind and Sid.
    pub fn from_stored(kind: &str, sid: Option<&str>) -> Option<Actor> {
        match (kind, sid) {
            ("account", Some(sid)) => AccountSid::parse(sid).map(Actor::Account),
            ("api-key", Some(sid)) => Sid::parse(sid).map(Actor::ApiKey),
            ("system", None) => Some(Actor::System),
            _ => None,
        }
    }
}

/// Where a change came from: the actor, the door, and the client's address if there was one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub source: Source,
    pub address: Option<IpAddr>,
}

impl Origin {
    /// A command run on the machine.
    pub fn cli() -> Origin {
        Origin {
            actor: Actor::System,
            source: Source::Cli,
            address: None,
        }
    }
}

/// One audit event, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub sid: EventSid,
    /// The account the event is about.
    pub account: AccountSid,
    /// That account's ancestors, root first: who may see the event.
    pub ancestors: Vec<AccountSid>,
    pub actor: Actor,
    pub event_type: EventType,
    pub resource_type: ResourceType,
    pub resource_sid: Sid,
    pub source: Source,
    pub address: Option<IpAddr>,
    /// Always a JSON object.
    pub data: Map<String, Value>,
    pub date: UnixTime,
}

impl Event {
    /// An event about `account` itself.
    pub fn about_account(
        account: &Account,
        event_type: EventType,
        origin: &Origin,
        data: Map<String, Value>,
        date: UnixTime,
    ) -> Event {
        Event {
            sid: EventSid::generate(),
            account: account.sid.clone(),
            ancestors: account.ancestors.clone(),
            actor: origin.actor.clone(),
            event_type,
            resource_type: ResourceType::Account,
            resource_sid: Sid::from(&account.sid),
            source: origin.source,
            address: origin.address,
            data,
            date,
        }
    }

    /// An event about the AuthTokens of `account`. They have no Sid of their own: the
    /// account's stands for them, as in Twilio's AuthTokens resources.
    pub fn about_auth_token(
        account: &Account,
        event_type: EventType,
        origin: &Origin,
        date: UnixTime,
    ) -> Event {
        Event {
            resource_type: ResourceType::AuthToken,
            ..Event::about_account(account, event_type, origin, Map::new(), date)
        }
    }

    /// An event about the API key `key` of `owner`.
    pub fn about_key(
        owner: &Account,
        key: &KeySid,
        event_type: EventType,
        origin: &Origin,
        data: Map<String, Value>,
        date: UnixTime,
    ) -> Event {
        Event {
            resource_type: ResourceType::ApiKey,
            resource_sid: Sid::from(key),
            ..Event::about_account(owner, event_type, origin, data, date)
        }
    }

    /// The top-level account above the one the event is about (or that account itself).
    pub fn root(&self) -> &AccountSid {
        self.ancestors.first().unwrap_or(&self.account)
    }

    /// The level-2 account on the way to this one, itself at level 2; none at level 1.
    pub fn branch(&self) -> Option<&AccountSid> {
        match self.ancestors.len() {
            0 => None,
            1 => Some(&self.account),
            _ => self.ancestors.get(1),
        }
    }
}

/// The events an update from `before` to `after` makes: one for each kind of change, so that
/// a filter on `EventType` finds it. The data names fields, never a secret.
pub fn account_changes(
    before: &Account,
    after: &Account,
    password_set: bool,
) -> Vec<(EventType, Map<String, Value>)> {
    let mut events = Vec::new();
    let mut fields = Map::new();
    let mut change = |name: &str, old: &str, new: &str| {
        if old != new {
            fields.insert(name.to_owned(), old_new(old, new));
        }
    };
    change(
        "friendly_name",
        before.friendly_name.as_str(),
        after.friendly_name.as_str(),
    );
    change("role", before.role.as_str(), after.role.as_str());
    let status = (before.own_status, after.own_status);
    let status_event = status_event(status.0, status.1);
    if status_event.is_none() && status.0 != status.1 && !password_set {
        change("status", status.0.as_str(), status.1.as_str());
    }
    if !fields.is_empty() {
        events.push((EventType::AccountUpdated, fields));
    }
    if password_set {
        let mut data = Map::new();
        if status_event.is_none() && status.0 != status.1 {
            data.insert(
                "status".to_owned(),
                old_new(status.0.as_str(), status.1.as_str()),
            );
        }
        events.push((EventType::AccountPasswordChanged, data));
    }
    if let Some(kind) = status_event {
        let mut data = Map::new();
        data.insert(
            "status".to_owned(),
            old_new(status.0.as_str(), status.1.as_str()),
        );
        events.push((kind, data));
    }
    events
}

/// Suspending, reactivating and closing have event types of their own; other status moves
/// (to or from `uninitialized`) are plain updates.
fn status_event(
    before: super::account::Status,
    after: super::account::Status,
) -> Option<EventType> {
    use super::account::Status::*;
    match (before, after) {
        (a, b) if a == b => None,
        (_, Closed) => Some(EventType::AccountClosed),
        (_, Suspended) => Some(EventType::AccountSuspended),
        (Suspended, Active) => Some(EventType::AccountReactivated),
        _ => None,
    }
}

pub fn old_new(old: &str, new: &str) -> Value {
    let mut pair = Map::new();
    pair.insert("old".to_owned(), Value::String(old.to_owned()));
    pair.insert("new".to_owned(), Value::String(new.to_owned()));
    Value::Object(pair)
}

/// An ISO 8601 date and time in UTC as Twilio writes it (`2024-04-24T22:51:29Z`): the events'
/// dates, those of Twilio's v1 resources, and the log's.
pub fn iso8601(time: UnixTime) -> String {
    let (year, month, day, hour, minute, second) = time.civil();
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// A `StartDate` or `EndDate`: a date (`2024-04-24`, midnight UTC) or a date and time with
/// `Z` or a numeric offset (`2024-04-24T22:51:29Z`, `...+02:00`), fractions of a second
/// dropped.
pub fn parse_iso8601(raw: &str, parameter: &'static str) -> Result<UnixTime, Invalid> {
    parse_date_time(raw).ok_or_else(|| {
        Invalid::new(
            parameter,
            "must be an ISO 8601 date, or date and time with a zone (2024-04-24T22:51:29Z)",
        )
    })
}

fn parse_date_time(raw: &str) -> Option<UnixTime> {
    // Every valid spelling is ASCII; checking first keeps every slice below on a boundary.
    if !raw.is_ascii() {
        return None;
    }
    let (date, time) = match raw.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (raw, None),
    };
    let days = parse_date(date)?;
    let seconds = match time {
        None => 0,
        Some(time) => parse_time(time)?,
    };
    Some(UnixTime(days * 86_400 + seconds))
}

fn number(text: &str, digits: usize) -> Option<i64> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let year = number(parts.next()?, 4)?;
    let month = number(parts.next()?, 2)?;
    let day = number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A day past the month's end would roll over: refuse it.
    let (_, m, d, ..) = UnixTime(days * 86_400).civil();
    (i64::from(m) == month && i64::from(d) == day).then_some(days)
}

/// Seconds after midnight UTC, the offset applied.
fn parse_time(time: &str) -> Option<i64> {
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if !time.contains(['+', '-']) {
        // No zone: UTC, as Twilio's documentation asks dates to be given.
        (time, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = &zone[1..];
        let (hours, minutes) = zone
            .split_once(':')
            .unwrap_or_else(|| zone.split_at(2.min(zone.len())));
        let (hours, minutes) = (number(hours, 2)?, number(minutes, 2)?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        let offset = hours * 3600 + minutes * 60;
        (clock, sign * offset)
    };
    let clock = clock.split('.').next()?;
    let mut parts = clock.split(':');
    let hour = number(parts.next()?, 2)?;
    let minute = number(parts.next()?, 2)?;
    let second = match parts.next() {
        Some(second) => number(second, 2)?,
        None => 0,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01, by Howard Hinnant's days-from-civil.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sids_are_valid_and_later_ones_sort_after_earlier_ones() {
        let first = EventSid::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = EventSid::generate();
        assert!(
            EventSid::parse(first.as_str()).is_some(),
            "{}",
            first.as_str()
        );
        assert!(first.as_str() < second.as_str());
        assert_ne!(
            first.as_str()[14..],
            second.as_str()[14..],
            "the rest is random"
        );
    }

    #[test]
    fn event_sids_are_ae_and_32_hex_digits() {
        let sid = EventSid::generate();
        assert_eq!(sid.as_str().len(), 34);
        assert_eq!(EventSid::parse(sid.as_str()), Some(sid));
        assert!(EventSid::parse("AC0123456789abcdef0123456789abcdef").is_none());
        assert!(EventSid::parse("AE0123456789ABCDEF0123456789abcdef").is_none());
    }

    #[test]
    fn every_wire_value_reads_back() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Ok(*kind));
        }
        assert!(EventType::parse("account.deleted").is_err());
        for source in Source::ALL {
            assert_eq!(Source::parse(source.as_str()), Ok(*source));
        }
    }

    #[test]
    fn dates_read_as_twilio_writes_them_and_with_offsets() {
        let at = parse_iso8601("2012-04-24T22:51:29Z", "StartDate").unwrap();
        assert_eq!(iso8601(at), "2012-04-24T22:51:29Z");
        assert_eq!(iso8601(UnixTime(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_iso8601("2012-04-24", "StartDate").unwrap().0 % 86_400,
            0
        );
        assert_eq!(
            parse_iso8601("2012-04-25T00:51:29+02:00", "StartDate").unwrap(),
            at
        );
        assert_eq!(
            parse_iso8601("2012-04-24T22:51:29.123Z", "StartDate").unwrap(),
            at
        );
        assert_eq!(
            parse_iso8601("2012-04-24T22:51:29", "StartDate").unwrap(),
            at
        );
        for bad in [
            "",
            "2012-02-30",
            "2012-4-24",
            "yesterday",
            "2012-04-24T25:00:00Z",
            "2012-04-24T22:51:29+1é",
            "2012-04-24T22:51:29+",
            "2012-04-24T22:51:29-0",
            "2012-04-24T22:51:29+99:99",
            "é",
        ] {
            assert!(parse_iso8601(bad, "StartDate").is_err(), "{bad}");
        }
        assert_eq!(parse_iso8601("1970-01-01", "EndDate").unwrap(), UnixTime(0));
    }
}
