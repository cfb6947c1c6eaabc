//! Reading a Restcomm-Connect installation's accounts for `switchboard import restcomm`: its
//! HSQLDB script or a `mysqldump` of `restcomm_accounts`, told apart by content, then checked
//! against Switchboard's rules ([`plan`]). Pure: no file, key or database is touched here.

use std::fmt;

mod plan;
mod rows;
mod statements;
mod tokenizer;

pub use plan::{plan, Mapping, Plan, Planned, Provenance, Summary};
pub use rows::RestcommRow;
pub use tokenizer::Dialect;

/// Why an account, a row or a statement cannot be imported, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub sid: Option<String>,
    pub reason: String,
}

impl Problem {
    pub fn at_line(line: usize, sid: Option<String>, reason: String) -> Problem {
        Problem {
            line: Some(line),
            sid,
            reason,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.sid) {
            (Some(line), Some(sid)) => write!(f, "line {line} ({}): ", shown(sid))?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, Some(sid)) => write!(f, "{}: ", shown(sid))?,
            (None, None) => {}
        }
        f.write_str(&self.reason)
    }
}

/// A value from the file, cut short and without control characters, to be printed safely.
pub(crate) fn shown(value: &str) -> String {
    let mut text: String = value
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > 80 {
        text.push_str("...");
    }
    text
}

/// Which dump this is, from its first telling line: a MySQL dump's header, backquoted names or
/// versioned comments, or HSQLDB's `SET`/`CREATE` lines and double-quoted names. A file that
/// shows neither but has INSERT lines is taken by how they end (`;` is MySQL's).
pub fn detect(text: &str) -> Option<Dialect> {
    for line in text.lines().map(str::trim_start) {
        let upper: String = line
            .chars()
            .take(24)
            .collect::<String>()
            .to_ascii_uppercase();
        if [
            "-- MYSQL DUMP",
            "-- MARIADB DUMP",
            "/*!",
            "INSERT INTO `",
            "LOCK TABLES `",
            "CREATE TABLE `",
        ]
        .iter()
        .any(|start| upper.starts_with(start))
        {
            return Some(Dialect::MySql);
        }
        if [
            "INSERT INTO \"",
            "SET DATABASE",
            "SET SCHEMA",
            "CREATE SCHEMA",
            "CREATE MEMORY TABLE",
            "CREATE CACHED TABLE",
        ]
        .iter()
        .any(|start| upper.starts_with(start))
        {
            return Some(Dialect::Hsqldb);
        }
        if upper.starts_with("INSERT ") {
            return Some(match line.trim_end().ends_with(';') {
                true => Dialect::MySql,
                false => Dialect::Hsqldb,
            });
        }
    }
    None
}

/// Every row of `restcomm_accounts` in the file, or every problem that stops the import.
pub fn read(bytes: &[u8]) -> Result<(Dialect, Vec<RestcommRow>), Vec<Problem>> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = 1 + bytes[..error.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        vec![Problem::at_line(
            line,
            None,
            "the file is not UTF-8 text (dump it with --default-character-set=utf8mb4)".into(),
        )]
    })?;
    let dialect = detect(text).ok_or_else(|| {
        vec![Problem {
            line: None,
            sid: None,
            reason: "the file is neither a Restcomm HSQLDB script (restcomm.script) nor a \
                     mysqldump of restcomm_accounts"
                .into(),
        }]
    })?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let read = statements::each_row(text, dialect, |row| match RestcommRow::from_raw(row) {
        Ok(row) => rows.push(row),
        Err(problem) => problems.push(problem),
    });
    if let Err(unreadable) = read {
        problems.extend(unreadable);
    }
    if !problems.is_empty() {
        problems.sort_by_key(|problem| problem.line);
        return Err(problems);
    }
    if rows.is_empty() {
        return Err(vec![Problem {
            line: None,
            sid: None,
            reason: format!("the file inserts no row into {}", statements::TABLE),
        }]);
    }
    Ok((dialect, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_are_told_apart_by_content() {
        for (text, dialect) in [
            ("-- MySQL dump 10.13\n", Some(Dialect::MySql)),
            ("-- MariaDB dump 10.19\n", Some(Dialect::MySql)),
            ("\n/*!40101 SET NAMES utf8 */;\n", Some(Dialect::MySql)),
            (
                "INSERT INTO `restcomm_accounts` VALUES ('a');",
                Some(Dialect::MySql),
            ),
            ("SET DATABASE UNIQUE NAME HSQLDB\n", Some(Dialect::Hsqldb)),
            (
                "INSERT INTO \"restcomm_accounts\" VALUES('a')\n",
                Some(Dialect::Hsqldb),
            ),
            (
                "insert into restcomm_accounts values ('a');\n",
                Some(Dialect::MySql),
            ),
            (
                "insert into restcomm_accounts values ('a')\n",
                Some(Dialect::Hsqldb),
            ),
            ("hello\nworld\n", None),
        ] {
            assert_eq!(detect(text), dialect, "{text:?}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_its_line() {
        let problems = read(b"-- MySQL dump\n\n'caf\xe9'").unwrap_err();
        assert_eq!(problems[0].line, Some(3));
    }

    #[test]
    fn problems_print_their_place_and_no_control_characters() {
        let problem = Problem::at_line(4, Some("AC\nx".into()), "bad".into());
        assert_eq!(problem.to_string(), "line 4 (AC?x): bad");
        assert_eq!(shown(&"x".repeat(90)).len(), 83);
    }
}
