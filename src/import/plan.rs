//! Restcomm's rows checked against Switchboard's rules (contract section 15), all at once:
//! either every account maps, or every offending row is named with why.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::rows::RestcommRow;
use super::Problem;
use crate::domain::account::{
    Account, AccountSid, Email, FriendlyName, Role, Status, UnixTime, MAX_LEVEL,
};
use crate::domain::credentials::RestcommToken;

/// An account ready to be written once its secrets are set from `token`.
#[derive(Debug)]
pub struct Planned {
    /// Its password hash and token salt are empty until
    /// `Credentials::adopt_restcomm_token` fills them.
    pub account: Account,
    pub token: RestcommToken,
    /// Its place in the creation order among accounts made in the same second: file order.
    pub seq: i64,
    /// What Restcomm had and which rules changed it, for the account's `account.imported`.
    pub provenance: Provenance,
}

/// Where an account came from: its row, Restcomm's status and type, and every rule of section
/// 15 that made it differ. Names and statuses only: never a token, a hash or a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub line: usize,
    /// Restcomm's spelling: `active`, `inactive`, `suspended`, `closed` or `uninitialized`.
    pub status: &'static str,
    /// `Full` or `Trial`.
    pub account_type: &'static str,
    pub mappings: Vec<Mapping>,
}

/// A rule that made the imported account differ from Restcomm's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    InactiveToSuspended,
    TrialToFull,
    /// Its token was the MD5 of Restcomm's default password: a new password is due.
    DefaultPasswordToUninitialized,
    ClosedBelowClosed,
    FriendlyNameFromEmail,
    EmailLowercased,
}

impl Mapping {
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::InactiveToSuspended => "inactive-to-suspended",
            Mapping::TrialToFull => "trial-to-full",
            Mapping::DefaultPasswordToUninitialized => "default-password-to-uninitialized",
            Mapping::ClosedBelowClosed => "closed-below-closed",
            Mapping::FriendlyNameFromEmail => "friendly-name-from-email",
            Mapping::EmailLowercased => "email-lowercased",
        }
    }
}

impl Planned {
    /// The data of its `account.imported` event: what Restcomm had (status, type, the row's
    /// line), what was imported (status, role), and the rules that made them differ.
    pub fn event_data(&self) -> Map<String, Value> {
        let mut restcomm = Map::new();
        restcomm.insert("status".into(), self.provenance.status.into());
        restcomm.insert("type".into(), self.provenance.account_type.into());
        restcomm.insert("line".into(), self.provenance.line.into());
        let mappings = self.provenance.mappings.iter();
        let mappings = mappings.map(|mapping| Value::from(mapping.as_str()));
        let mut data = Map::new();
        data.insert("restcomm".into(), Value::Object(restcomm));
        data.insert("status".into(), self.account.own_status.as_str().into());
        data.insert("role".into(), self.account.role.as_str().into());
        data.insert("mappings".into(), Value::Array(mappings.collect()));
        data
    }
}

#[derive(Debug)]
pub struct Plan {
    pub accounts: Vec<Planned>,
    pub summary: Summary,
}

/// What the import did, for the operator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    /// By status as imported: active, suspended, closed, uninitialized.
    pub by_status: [usize; 4],
    /// Administrator, Developer, ProvisioningAgent.
    pub by_role: [usize; 3],
    pub inactive_to_suspended: usize,
    pub trial_to_full: usize,
    /// Made `uninitialized` because their token is the MD5 of Restcomm's default password.
    pub default_password: usize,
    /// Suspended with the default password: they stay suspended, so say so.
    pub default_password_suspended: Vec<String>,
    /// Not closed in Restcomm, below a closed account: closed, as closing closes a subtree.
    pub closed_below_closed: usize,
}

const STATUSES: [Status; 4] = [
    Status::Active,
    Status::Suspended,
    Status::Closed,
    Status::Uninitialized,
];
const ROLES: [Role; 3] = [
    Role::Administrator,
    Role::Developer,
    Role::ProvisioningAgent,
];

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.total == 1 { "" } else { "s" };
        writeln!(f, "imported {} account{plural}", self.total)?;
        let statuses: Vec<String> = STATUSES
            .iter()
            .zip(self.by_status)
            .map(|(status, count)| format!("{count} {}", status.as_str()))
            .collect();
        writeln!(f, "  by status: {}", statuses.join(", "))?;
        let roles: Vec<String> = ROLES
            .iter()
            .zip(self.by_role)
            .map(|(role, count)| format!("{count} {}", role.as_str()))
            .collect();
        write!(f, "  by role: {}", roles.join(", "))?;
        for (count, what) in [
            (self.inactive_to_suspended, "inactive in Restcomm, imported as suspended"),
            (self.trial_to_full, "of type Trial, imported as Full"),
            (
                self.default_password,
                "with Restcomm's default password, imported as uninitialized (a new password is due)",
            ),
            (
                self.closed_below_closed,
                "below a closed account, imported as closed",
            ),
        ] {
            if count > 0 {
                write!(f, "\n  {count} {what}")?;
            }
        }
        for sid in &self.default_password_suspended {
            write!(
                f,
                "\n  warning: {sid} is suspended and still has Restcomm's default password: set a \
                 new one before reactivating it"
            )?;
        }
        Ok(())
    }
}

/// One row in Switchboard's terms, before the tree is known.
struct Mapped {
    line: usize,
    sid: AccountSid,
    parent: Option<AccountSid>,
    email: Email,
    friendly_name: FriendlyName,
    role: Role,
    status: Status,
    was_inactive: bool,
    was_trial: bool,
    /// Restcomm's name was empty and the email address took its place.
    named_from_email: bool,
    email_lowercased: bool,
    token: RestcommToken,
    created: UnixTime,
    updated: UnixTime,
}

pub fn plan(rows: Vec<RestcommRow>) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut mapped = Vec::with_capacity(rows.len());
    for row in &rows {
        match map_row(row) {
            Ok(row) => mapped.push(row),
            Err(reasons) => problems.extend(
                reasons
                    .into_iter()
                    .map(|reason| Problem::at_line(row.line, Some(row.sid.clone()), reason)),
            ),
        }
    }
    drop(rows);
    let by_sid = index_sids(&mapped, &mut problems);
    refuse_shared_emails(&mapped, &mut problems);
    let ancestors = ancestors_of(&mapped, &by_sid, &mut problems);
    if !problems.is_empty() {
        problems.sort_by_key(|problem| problem.line);
        return Err(problems);
    }
    Ok(build(mapped, ancestors, &by_sid))
}

fn map_row(row: &RestcommRow) -> Result<Mapped, Vec<String>> {
    let mut reasons = Vec::new();
    let sid = note(&mut reasons, parse_sid(&row.sid, "its Sid"));
    // An empty parent_sid means none, as NULL does: written by hand, not by Restcomm.
    let parent = note(
        &mut reasons,
        match row.parent_sid.as_deref() {
            Some("") | None => Ok(None),
            Some(parent) => parse_sid(parent, "its parent_sid").map(Some),
        },
    );
    let email = note(
        &mut reasons,
        Email::parse(&row.email).map_err(|e| {
            format!(
                "email_address \"{}\" {}",
                super::shown(&row.email),
                e.reason
            )
        }),
    );
    let friendly_name = note(&mut reasons, friendly_name(row));
    let role = note(
        &mut reasons,
        Role::parse(&row.role).map_err(|_| {
            format!(
            "unknown role \"{}\": Switchboard has Administrator, Developer and ProvisioningAgent",
            super::shown(&row.role)
        )
        }),
    );
    let status = note(&mut reasons, status(&row.status));
    let was_trial = note(&mut reasons, account_type(&row.account_type));
    let token = note(
        &mut reasons,
        RestcommToken::parse(&row.auth_token).ok_or_else(|| {
            "auth_token is not 32 hex digits (Restcomm's MD5 of the password)".to_owned()
        }),
    );
    let created = note(&mut reasons, parse_date(&row.date_created, "date_created"));
    let updated = note(&mut reasons, parse_date(&row.date_updated, "date_updated"));
    match (
        sid,
        parent,
        email,
        friendly_name,
        role,
        status,
        was_trial,
        token,
        created,
        updated,
    ) {
        (
            Some(sid),
            Some(parent),
            Some(email),
            Some(friendly_name),
            Some(role),
            Some((status, was_inactive)),
            Some(was_trial),
            Some(token),
            Some(created),
            Some(updated),
        ) => Ok(Mapped {
            line: row.line,
            named_from_email: row.friendly_name.is_empty(),
            email_lowercased: email.as_str() != row.email,
            sid,
            parent,
            email,
            friendly_name,
            role,
            status,
            was_inactive,
            was_trial,
            token,
            created,
            updated,
        }),
        _ => Err(reasons),
    }
}

/// The value, or `None` with the reason noted: every field of a row is checked.
fn note<T>(reasons: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
    result.map_err(|reason| reasons.push(reason)).ok()
}

fn parse_sid(text: &str, what: &str) -> Result<AccountSid, String> {
    AccountSid::parse(text).ok_or_else(|| {
        format!(
            "{what} \"{}\" is not AC followed by 32 lowercase hex digits",
            super::shown(text)
        )
    })
}

/// An empty name takes the email address, as an account created without one does.
fn friendly_name(row: &RestcommRow) -> Result<FriendlyName, String> {
    let name = match row.friendly_name.is_empty() {
        true => row.email.to_ascii_lowercase(),
        false => row.friendly_name.clone(),
    };
    FriendlyName::parse(&name)
        .map_err(|e| format!("friendly_name \"{}\" {}", super::shown(&name), e.reason))
}

/// The status, and whether it was Restcomm's `inactive`.
fn status(text: &str) -> Result<(Status, bool), String> {
    if text.eq_ignore_ascii_case("inactive") {
        return Ok((Status::Suspended, true));
    }
    Status::parse(text)
        .map(|status| (status, false))
        .map_err(|_| {
            format!(
                "unknown status \"{}\": Restcomm's are active, suspended, inactive, closed and \
             uninitialized",
                super::shown(text)
            )
        })
}

/// True for `Trial`, which becomes `Full`.
fn account_type(text: &str) -> Result<bool, String> {
    match text {
        _ if text.eq_ignore_ascii_case("Full") => Ok(false),
        _ if text.eq_ignore_ascii_case("Trial") => Ok(true),
        _ => Err(format!(
            "unknown type \"{}\": Restcomm's are Full and Trial",
            super::shown(text)
        )),
    }
}

/// `YYYY-MM-DD HH:MM:SS`, with any fraction of a second (HSQLDB writes nine digits), read as
/// UTC; the fraction is dropped, as Switchboard keeps seconds.
fn parse_date(text: &str, what: &str) -> Result<UnixTime, String> {
    let invalid = || {
        format!(
            "{what} \"{}\" is not a date and time (YYYY-MM-DD HH:MM:SS)",
            super::shown(text)
        )
    };
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let shape = bytes.len() >= 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b' ' | b'T')
        && bytes[13] == b':'
        && bytes[16] == b':'
        && (bytes.len() == 19 || (bytes[19] == b'.' && bytes[20..].iter().all(u8::is_ascii_digit)));
    if !shape {
        return Err(invalid());
    }
    let parts = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19].map(digits);
    let [Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)] = parts else {
        return Err(invalid());
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return Err(invalid());
    }
    Ok(UnixTime(
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second,
    ))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Each Sid's row; a Sid on two rows is refused on both.
fn index_sids(mapped: &[Mapped], problems: &mut Vec<Problem>) -> HashMap<AccountSid, usize> {
    let mut by_sid: HashMap<AccountSid, usize> = HashMap::with_capacity(mapped.len());
    for (index, row) in mapped.iter().enumerate() {
        if let Some(&first) = by_sid.get(&row.sid) {
            let other = &mapped[first];
            problems.push(Problem::at_line(
                row.line,
                Some(row.sid.to_string()),
                format!("the same Sid is on line {} too", other.line),
            ));
            continue;
        }
        by_sid.insert(row.sid.clone(), index);
    }
    by_sid
}

/// Emails are unique case-insensitively in Switchboard; Restcomm had no such index. Every
/// account of a shared address is named, with the others.
fn refuse_shared_emails(mapped: &[Mapped], problems: &mut Vec<Problem>) {
    // The first row of each address; a second one starts a group, kept apart so that a
    // million distinct addresses cost one map entry each.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(mapped.len());
    let mut shared: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, row) in mapped.iter().enumerate() {
        match first.entry(row.email.as_str()) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
            }
            std::collections::hash_map::Entry::Occupied(slot) => shared
                .entry(row.email.as_str())
                .or_insert_with(|| vec![*slot.get()])
                .push(index),
        }
    }
    for (email, rows) in shared {
        for &index in &rows {
            let others: Vec<String> = rows
                .iter()
                .filter(|other| **other != index)
                .map(|other| format!("{} (line {})", mapped[*other].sid, mapped[*other].line))
                .collect();
            problems.push(Problem::at_line(
                mapped[index].line,
                Some(mapped[index].sid.to_string()),
                format!(
                    "email address {email} (compared without case) is also that of {}",
                    others.join(", ")
                ),
            ));
        }
    }
}

/// Every account's ancestors, top-level first; refuses a missing parent, a loop and a tree
/// deeper than Switchboard's three levels.
fn ancestors_of(
    mapped: &[Mapped],
    by_sid: &HashMap<AccountSid, usize>,
    problems: &mut Vec<Problem>,
) -> Vec<Vec<AccountSid>> {
    let mut all = Vec::with_capacity(mapped.len());
    for row in mapped {
        let mut chain: Vec<AccountSid> = Vec::new();
        let mut parent = row.parent.clone();
        let problem =
            |reason: String| Problem::at_line(row.line, Some(row.sid.to_string()), reason);
        while let Some(sid) = parent {
            if sid == row.sid || chain.contains(&sid) {
                problems.push(problem(
                    "its parent_sid links loop back to it: it has no top-level account".into(),
                ));
                break;
            }
            let Some(&index) = by_sid.get(&sid) else {
                problems.push(problem(format!("its parent {sid} is not in the file")));
                break;
            };
            chain.push(sid);
            if chain.len() >= MAX_LEVEL {
                let mut path: Vec<String> = chain.iter().rev().map(AccountSid::to_string).collect();
                path.push(row.sid.to_string());
                problems.push(problem(format!(
                    "it is more than {MAX_LEVEL} levels deep ({}): Switchboard keeps a top-level \
                     account, its children and their children",
                    path.join(" > ")
                )));
                break;
            }
            parent = mapped[index].parent.clone();
        }
        chain.reverse();
        all.push(chain);
    }
    all
}

fn build(
    mapped: Vec<Mapped>,
    ancestors: Vec<Vec<AccountSid>>,
    by_sid: &HashMap<AccountSid, usize>,
) -> Plan {
    let closed: Vec<bool> = mapped
        .iter()
        .map(|row| row.status == Status::Closed)
        .collect();
    let mut summary = Summary {
        total: mapped.len(),
        ..Summary::default()
    };
    let mut accounts = Vec::with_capacity(mapped.len());
    for (index, (row, ancestors)) in mapped.into_iter().zip(ancestors).enumerate() {
        let below_closed = ancestors.iter().any(|sid| closed[by_sid[sid]]);
        let (status, mappings) = imported_status(&row, below_closed, &mut summary);
        summary.by_status[STATUSES.iter().position(|s| *s == status).unwrap_or(0)] += 1;
        summary.by_role[ROLES.iter().position(|r| *r == row.role).unwrap_or(0)] += 1;
        let provenance = Provenance {
            line: row.line,
            status: match row.was_inactive {
                true => "inactive",
                false => row.status.as_str(),
            },
            account_type: if row.was_trial { "Trial" } else { "Full" },
            mappings,
        };
        accounts.push(Planned {
            account: Account {
                sid: row.sid,
                ancestors,
                email: Some(row.email),
                friendly_name: row.friendly_name,
                role: row.role,
                own_status: status,
                ancestor_suspended: false,
                password_hash: None,
                token_salt: String::new(),
                secondary: None,
                created: row.created,
                updated: row.updated,
            },
            token: row.token,
            seq: index as i64 + 1,
            provenance,
        });
    }
    Plan { accounts, summary }
}

/// The status an account is imported with, counted in the summary, and every rule that made
/// the account differ from its row.
fn imported_status(
    row: &Mapped,
    below_closed: bool,
    summary: &mut Summary,
) -> (Status, Vec<Mapping>) {
    let mut status = row.status;
    let mut mappings = Vec::new();
    if below_closed && status != Status::Closed {
        status = Status::Closed;
        summary.closed_below_closed += 1;
        mappings.push(Mapping::ClosedBelowClosed);
    } else if row.token.is_default_password() {
        match status {
            Status::Active => {
                status = Status::Uninitialized;
                summary.default_password += 1;
                mappings.push(Mapping::DefaultPasswordToUninitialized);
            }
            Status::Uninitialized => summary.default_password += 1,
            Status::Suspended => summary.default_password_suspended.push(row.sid.to_string()),
            Status::Closed => {}
        }
    }
    if row.was_inactive && status == Status::Suspended {
        summary.inactive_to_suspended += 1;
        mappings.push(Mapping::InactiveToSuspended);
    }
    if row.was_trial {
        summary.trial_to_full += 1;
        mappings.push(Mapping::TrialToFull);
    }
    if row.named_from_email {
        mappings.push(Mapping::FriendlyNameFromEmail);
    }
    if row.email_lowercased {
        mappings.push(Mapping::EmailLowercased);
    }
    (status, mappings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_TOKEN: &str = "77f8c12cc7b8f8423e5c38b035249166";
    const OTHER_TOKEN: &str = "28f96b0fea1f9e33646f42026abdf305";

    fn sid(n: u32) -> String {
        format!("AC{n:032x}")
    }

    fn row(n: u32, parent: Option<u32>) -> RestcommRow {
        RestcommRow {
            line: n as usize,
            sid: sid(n),
            date_created: "2012-04-24 00:00:00.000000000".into(),
            date_updated: "2013-01-02 03:04:05".into(),
            email: format!("User{n}@Example.com"),
            friendly_name: format!("User {n}"),
            parent_sid: parent.map(sid),
            account_type: "Full".into(),
            status: "active".into(),
            auth_token: OTHER_TOKEN.into(),
            role: "Administrator".into(),
        }
    }

    fn reasons(rows: Vec<RestcommRow>) -> Vec<String> {
        plan(rows)
            .unwrap_err()
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    #[test]
    fn a_three_level_tree_maps_field_for_field() {
        let plan = plan(vec![row(3, Some(2)), row(1, None), row(2, Some(1))]).unwrap();
        let grandchild = &plan.accounts[0].account;
        assert_eq!(
            grandchild.ancestors,
            [
                AccountSid::parse(&sid(1)).unwrap(),
                AccountSid::parse(&sid(2)).unwrap()
            ]
        );
        assert_eq!(
            grandchild.email.as_ref().unwrap().as_str(),
            "user3@example.com"
        );
        assert_eq!(grandchild.friendly_name.as_str(), "User 3");
        assert_eq!(grandchild.created, UnixTime(1_335_225_600));
        assert_eq!(grandchild.updated, UnixTime(1_357_095_845));
        assert_eq!(plan.accounts[0].seq, 1);
        assert_eq!(plan.summary.total, 3);
        assert_eq!(plan.summary.by_status, [3, 0, 0, 0]);
        assert_eq!(plan.summary.by_role, [3, 0, 0]);
    }

    #[test]
    fn statuses_types_and_the_default_password_map() {
        let mut rows: Vec<RestcommRow> = (1..=8).map(|n| row(n, None)).collect();
        rows[0].status = "inactive".into();
        rows[1].account_type = "Trial".into();
        rows[2].auth_token = DEFAULT_TOKEN.into();
        rows[3].auth_token = DEFAULT_TOKEN.into();
        rows[3].status = "suspended".into();
        rows[4].auth_token = DEFAULT_TOKEN.to_uppercase();
        rows[4].status = "closed".into();
        rows[5].status = "closed".into();
        rows[6].parent_sid = Some(sid(6));
        rows[6].status = "uninitialized".into();
        rows[7].role = "developer".into();
        rows[7].parent_sid = Some(String::new());
        rows[7].friendly_name = String::new();
        let plan = plan(rows).unwrap();
        let status = |i: usize| plan.accounts[i].account.own_status;
        assert_eq!(status(0), Status::Suspended);
        assert_eq!(status(2), Status::Uninitialized);
        assert_eq!(status(3), Status::Suspended);
        assert_eq!(status(4), Status::Closed);
        assert_eq!(status(6), Status::Closed, "below a closed account");
        assert_eq!(plan.accounts[7].account.role, Role::Developer);
        assert_eq!(
            plan.accounts[7].account.friendly_name.as_str(),
            "user8@example.com"
        );
        let summary = &plan.summary;
        assert_eq!(summary.by_status, [2, 2, 3, 1]);
        assert_eq!(summary.inactive_to_suspended, 1);
        assert_eq!(summary.trial_to_full, 1);
        assert_eq!(summary.default_password, 1);
        assert_eq!(summary.default_password_suspended, [sid(4)]);
        assert_eq!(summary.closed_below_closed, 1);
        let shown = summary.to_string();
        assert!(shown.starts_with("imported 8 accounts\n  by status: 2 active, 2 suspended, 3 closed, 1 uninitialized"), "{shown}");
        assert!(shown.contains("1 inactive in Restcomm"), "{shown}");
    }

    #[test]
    fn each_event_says_what_restcomm_had_and_which_rules_changed_it() {
        let mut rows: Vec<RestcommRow> = (1..=5).map(|n| row(n, None)).collect();
        rows[0].status = "INACTIVE".into();
        rows[0].account_type = "Trial".into();
        rows[1].auth_token = DEFAULT_TOKEN.into();
        rows[2].status = "closed".into();
        rows[3].parent_sid = Some(sid(3));
        rows[4].email = "user5@example.com".into();
        rows[4].friendly_name = String::new();
        let plan = plan(rows).unwrap();
        let data = |i: usize| Value::Object(plan.accounts[i].event_data());
        let mappings = |i: usize| data(i)["mappings"].clone();
        assert_eq!(
            data(0),
            serde_json::json!({
                "restcomm": {"status": "inactive", "type": "Trial", "line": 1},
                "status": "suspended",
                "role": "Administrator",
                "mappings": ["inactive-to-suspended", "trial-to-full", "email-lowercased"],
            })
        );
        assert_eq!(
            mappings(1),
            serde_json::json!(["default-password-to-uninitialized", "email-lowercased"])
        );
        assert_eq!(data(1)["status"], "uninitialized");
        assert_eq!(data(2)["restcomm"]["status"], "closed");
        assert_eq!(
            mappings(3),
            serde_json::json!(["closed-below-closed", "email-lowercased"])
        );
        assert_eq!(mappings(4), serde_json::json!(["friendly-name-from-email"]));
        for planned in &plan.accounts {
            let text = Value::Object(planned.event_data()).to_string();
            assert!(
                !text.contains(DEFAULT_TOKEN) && !text.contains(OTHER_TOKEN),
                "{text}"
            );
        }
    }

    #[test]
    fn a_four_level_tree_names_the_accounts_below_the_third() {
        let found = reasons(vec![
            row(1, None),
            row(2, Some(1)),
            row(3, Some(2)),
            row(4, Some(3)),
            row(5, Some(4)),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with(&format!(
                "line 4 ({}): it is more than 3 levels deep ({} > {} > {} > {})",
                sid(4),
                sid(1),
                sid(2),
                sid(3),
                sid(4)
            )),
            "{found:?}"
        );
        assert!(
            found[1].starts_with(&format!("line 5 ({})", sid(5))),
            "{found:?}"
        );
    }

    #[test]
    fn missing_parents_loops_and_duplicates_are_named() {
        let mut looped = row(3, Some(4));
        looped.email = "loop3@example.com".into();
        let found = reasons(vec![
            row(1, None),
            row(2, Some(9)),
            looped,
            row(4, Some(3)),
            row(1, None),
        ]);
        let all = found.join("\n");
        assert!(
            all.contains(&format!(
                "line 2 ({}): its parent {} is not in the file",
                sid(2),
                sid(9)
            )),
            "{all}"
        );
        assert!(
            all.contains(&format!("line 3 ({}): its parent_sid links loop", sid(3))),
            "{all}"
        );
        assert!(
            all.contains(&format!(
                "line 1 ({}): the same Sid is on line 1 too",
                sid(1)
            )),
            "{all}"
        );
    }

    #[test]
    fn emails_that_differ_by_case_are_refused_naming_both() {
        let mut second = row(2, None);
        second.email = "USER1@example.COM".into();
        let found = reasons(vec![row(1, None), second]);
        assert_eq!(found.len(), 2);
        assert!(
            found[0].contains(&format!("is also that of {} (line 2)", sid(2))),
            "{found:?}"
        );
        assert!(
            found[1].contains(&format!("is also that of {} (line 1)", sid(1))),
            "{found:?}"
        );
    }

    #[test]
    fn every_bad_field_of_a_row_is_named() {
        let mut bad = row(1, None);
        bad.role = "Root".into();
        bad.status = "deleted".into();
        bad.account_type = "Gold".into();
        bad.auth_token = "xyz".into();
        bad.email = "no at sign".into();
        bad.date_created = "2012-02-30 00:00:00".into();
        bad.friendly_name = "line\nbreak".into();
        let found = reasons(vec![bad]).join("\n");
        for part in [
            "unknown role \"Root\"",
            "unknown status \"deleted\"",
            "unknown type \"Gold\"",
            "auth_token is not",
            "email_address \"no at sign\"",
            "date_created \"2012-02-30",
            "friendly_name \"line?break\"",
        ] {
            assert!(found.contains(part), "{part}: {found}");
        }
    }

    #[test]
    fn dates_read_as_utc_seconds() {
        assert_eq!(parse_date("1970-01-01 00:00:00", "d"), Ok(UnixTime(0)));
        assert_eq!(
            parse_date("2000-02-29T23:59:59.5", "d"),
            Ok(UnixTime(951_868_799))
        );
        assert_eq!(
            parse_date("2012-04-24 22:51:29.000000000", "d"),
            Ok(UnixTime(1_335_307_889))
        );
        for bad in [
            "0000-00-00 00:00:00",
            "2012-04-24",
            "2012-13-01 00:00:00",
            "2012-04-24 24:00:00",
            "2012-04-24 00:00:00.x",
            "２０12-04-24 00:00:00",
        ] {
            assert!(parse_date(bad, "d").is_err(), "{bad}");
        }
    }
}
