//! A `mysqldump` of Restcomm-Connect's `restcomm_accounts` with COUNT accounts, written to
//! standard output: `cargo run --release --example restcomm_dump -- COUNT > dump.sql`.
//!
//! Deterministic: account `n` is always the same. Three levels (a thousand accounts below
//! each top-level one), every Restcomm status and both types, and names and emails that test
//! the reader: quotes, backslashes, commas, parentheses, semicolons and non-ASCII text. The
//! tests (tests/import.rs) read the same accounts back through [`account`].

use std::io::{self, Write};

use md5::{Digest, Md5};

/// Awkward text for names, each at most 40 characters so that ` #N` still fits in 64.
const NAMES: [&str; 10] = [
    "Quote ' single",
    "Double \" quote",
    "Back\\slash \\ twice \\\\",
    "Comma, and (parens), too",
    "Semi; colon) ( odd",
    "Ünïcödé 漢字 Ελληνικά",
    "Emoji 😀 and ♥",
    "Percent \\% under \\_",
    "O'Brien, \"Jr.\" (ops)",
    "plain",
];

const STATUSES: [&str; 5] = ["active", "suspended", "inactive", "closed", "uninitialized"];
const ROLES: [&str; 3] = ["Developer", "ProvisioningAgent", "Administrator"];

/// One account as Restcomm stored it.
pub struct Generated {
    pub sid: String,
    pub parent: Option<String>,
    pub email: String,
    pub friendly_name: String,
    pub account_type: &'static str,
    pub status: &'static str,
    pub auth_token: String,
    pub role: &'static str,
    /// Unix seconds, UTC.
    pub created: i64,
    pub updated: i64,
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

pub fn sid(n: usize) -> String {
    format!("AC{}", md5_hex(&format!("account {n}")))
}

/// The password account `n` had; its token is the MD5 of it.
pub fn password(n: usize) -> String {
    format!("password of account {n}")
}

/// How many top-level accounts and second-level accounts `count` accounts have.
pub fn shape(count: usize) -> (usize, usize) {
    let tops = count.div_ceil(1000).max(1);
    (tops, (tops * 30).min(count - tops))
}

pub fn account(n: usize, count: usize) -> Generated {
    let (tops, mids) = shape(count);
    let (parent, level) = if n < tops {
        (None, 1)
    } else if n < tops + mids {
        (Some(sid((n - tops) % tops)), 2)
    } else {
        (Some(sid(tops + (n - tops - mids) % mids)), 3)
    };
    // Suspended or closed accounts would change what their children show: only leaves are.
    let status = match level {
        1 => "active",
        2 if n.is_multiple_of(5) => "uninitialized",
        2 => "active",
        _ => STATUSES[n % STATUSES.len()],
    };
    let role = match level {
        3 => ROLES[n % ROLES.len()],
        _ => "Administrator",
    };
    let email = match n % 3 {
        0 => format!("o'neil.{n}@example.com"),
        1 => format!("User_{n}+Tag@Sub-{}.Example.ORG", n % 7),
        _ => format!("u{n}@x.example"),
    };
    let created = 1_400_000_000 + n as i64 * 61;
    Generated {
        sid: sid(n),
        parent,
        email,
        friendly_name: format!("{} #{n}", NAMES[n % NAMES.len()]),
        account_type: if n.is_multiple_of(4) { "Trial" } else { "Full" },
        status,
        auth_token: md5_hex(&password(n)),
        role,
        created,
        updated: created + (n % 1000) as i64,
    }
}

/// A string literal as mysqldump writes it.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{1A}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds (Howard Hinnant's civil-from-days).
pub fn date(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn row(account: &Generated) -> String {
    let parent = account.parent.as_deref().map_or("NULL".into(), literal);
    format!(
        "({},{},{},{},{},{parent},{},{},{},{},{},'ORafbe225ad37541eba518a74248f0ac4c')",
        literal(&account.sid),
        literal(&date(account.created)),
        literal(&date(account.updated)),
        literal(&account.email),
        literal(&account.friendly_name),
        literal(account.account_type),
        literal(account.status),
        literal(&account.auth_token),
        literal(account.role),
        literal(&format!("/2012-04-24/Accounts/{}", account.sid)),
    )
}

const COLUMNS: &str = "(`sid`, `date_created`, `date_updated`, `email_address`, \
    `friendly_name`, `parent_sid`, `type`, `status`, `auth_token`, `role`, `uri`, \
    `organization_sid`)";

/// The whole dump. Rows go in a scrambled order (children before their parents too), 250 to
/// an extended INSERT; every third statement names its columns, as --complete-insert does.
pub fn write_dump(count: usize, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)"
    )?;
    writeln!(out, "--\n-- Host: localhost    Database: restcomm\n-- ------------------------------------------------------")?;
    writeln!(
        out,
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;"
    )?;
    writeln!(out, "/*!40101 SET NAMES utf8mb4 */;\n")?;
    writeln!(out, "DROP TABLE IF EXISTS `restcomm_accounts`;")?;
    writeln!(
        out,
        "CREATE TABLE `restcomm_accounts` (\n  `sid` varchar(34) NOT NULL,\n  `date_created` datetime NOT NULL,\n  \
         `date_updated` datetime NOT NULL,\n  `email_address` mediumtext NOT NULL,\n  `friendly_name` varchar(64) NOT NULL,\n  \
         `parent_sid` varchar(34) DEFAULT NULL,\n  `type` varchar(8) NOT NULL,\n  `status` varchar(16) NOT NULL,\n  \
         `auth_token` varchar(32) NOT NULL,\n  `role` varchar(64) NOT NULL COMMENT 'free text; see (roles); ok',\n  \
         `uri` mediumtext NOT NULL,\n  `organization_sid` varchar(34) NOT NULL,\n  PRIMARY KEY (`sid`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
    )?;
    writeln!(out, "\nLOCK TABLES `restcomm_accounts` WRITE;")?;
    writeln!(
        out,
        "/*!40000 ALTER TABLE `restcomm_accounts` DISABLE KEYS */;"
    )?;
    let step = coprime_step(count);
    let mut written = 0;
    for (statement, first) in (0..count).step_by(250).enumerate() {
        let columns = if statement % 3 == 2 { COLUMNS } else { "" };
        write!(out, "INSERT INTO `restcomm_accounts` {columns}VALUES ")?;
        for (i, position) in (first..count.min(first + 250)).enumerate() {
            let n = position * step % count;
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(row(&account(n, count)).as_bytes())?;
            written += 1;
        }
        writeln!(out, ";")?;
    }
    debug_assert_eq!(written, count);
    writeln!(
        out,
        "/*!40000 ALTER TABLE `restcomm_accounts` ENABLE KEYS */;\nUNLOCK TABLES;"
    )?;
    writeln!(
        out,
        "INSERT INTO `restcomm_clients` VALUES ('CL1','{}','a;b','c''d');",
        sid(0)
    )?;
    writeln!(out, "-- Dump completed on 2019-06-01 12:00:00")
}

/// A step that visits every position once, scrambling the order.
fn coprime_step(count: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (7919..).find(|step| gcd(*step, count) == 1).unwrap_or(1)
}

#[allow(dead_code)]
fn main() -> io::Result<()> {
    let count = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    write_dump(count, &mut out)?;
    out.flush()
}
