//! A row of `restcomm_accounts` as Restcomm stored it: its values picked out by column, by the
//! names its statement listed or else by the table's order, still as text.

use super::statements::{RawRow, Value};
use super::Problem;

/// The table's columns in order (Restcomm's `restcomm.script` and `mariadb/init.sql`).
const TABLE_ORDER: [&str; 12] = [
    "sid",
    "date_created",
    "date_updated",
    "email_address",
    "friendly_name",
    "parent_sid",
    "type",
    "status",
    "auth_token",
    "role",
    "uri",
    "organization_sid",
];

/// The columns the import reads, by their place in [`TABLE_ORDER`]; `uri` is derived from the
/// Sid and organizations have no counterpart, so those two are not read.
const READ: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const PARENT: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestcommRow {
    pub line: usize,
    pub sid: String,
    pub date_created: String,
    pub date_updated: String,
    pub email: String,
    pub friendly_name: String,
    pub parent_sid: Option<String>,
    pub account_type: String,
    pub status: String,
    pub auth_token: String,
    pub role: String,
}

impl RestcommRow {
    pub fn from_raw(raw: RawRow<'_>) -> Result<RestcommRow, Problem> {
        let line = raw.line;
        let places = places(&raw)?;
        let mut values: Vec<Option<String>> = raw
            .values
            .into_iter()
            .map(|value| match value {
                Value::Text(text) => Some(text.into_owned()),
                Value::Word(word) => Some(word.to_owned()),
                Value::Null => None,
            })
            .collect();
        let sid = places[0].and_then(|at| values[at].clone());
        let problem = |reason: String| Problem::at_line(line, sid.clone(), reason);
        let mut take = |column: usize| -> Result<Option<String>, Problem> {
            match places[column] {
                Some(at) => Ok(values[at].take()),
                None => Err(problem(format!(
                    "the statement lists no {} column",
                    TABLE_ORDER[column]
                ))),
            }
        };
        let mut read = [(); 10].map(|_| None);
        for column in READ {
            read[column] = take(column)?;
        }
        for column in READ {
            if column != PARENT && read[column].is_none() {
                return Err(problem(format!("{} is NULL", TABLE_ORDER[column])));
            }
        }
        let [sid, date_created, date_updated, email, friendly_name, parent_sid, account_type, status, auth_token, role] =
            read;
        let text = |value: Option<String>| value.unwrap_or_default();
        Ok(RestcommRow {
            line,
            sid: text(sid),
            date_created: text(date_created),
            date_updated: text(date_updated),
            email: text(email),
            friendly_name: text(friendly_name),
            parent_sid,
            account_type: text(account_type),
            status: text(status),
            auth_token: text(auth_token),
            role: text(role),
        })
    }
}

/// Where each column of [`TABLE_ORDER`] is among the row's values.
fn places(raw: &RawRow<'_>) -> Result<[Option<usize>; 12], Problem> {
    match &raw.columns {
        Some(names) => {
            if names.len() != raw.values.len() {
                return Err(Problem::at_line(
                    raw.line,
                    None,
                    format!(
                        "the row has {} values for {} columns",
                        raw.values.len(),
                        names.len()
                    ),
                ));
            }
            Ok(TABLE_ORDER.map(|column| {
                names
                    .iter()
                    .position(|name| name.eq_ignore_ascii_case(column))
            }))
        }
        None if raw.values.len() == TABLE_ORDER.len() => Ok(std::array::from_fn(Some)),
        None => Err(Problem::at_line(
            raw.line,
            None,
            format!(
                "the row has {} values where Restcomm's table has {} columns; a dump that \
                 names its columns (mysqldump --complete-insert) can be read",
                raw.values.len(),
                TABLE_ORDER.len()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::rc::Rc;

    use super::*;

    fn raw(columns: Option<&[&str]>, values: &[Option<&'static str>]) -> RawRow<'static> {
        RawRow {
            line: 7,
            columns: columns.map(|names| Rc::new(names.iter().map(|n| n.to_string()).collect())),
            values: values
                .iter()
                .map(|value| match value {
                    Some(text) => Value::Text(Cow::Borrowed(text)),
                    None => Value::Null,
                })
                .collect(),
        }
    }

    const ROW: [Option<&str>; 12] = [
        Some("ACa"),
        Some("2012-04-24 00:00:00"),
        Some("2012-04-25 00:00:00"),
        Some("a@b.c"),
        Some("A"),
        None,
        Some("Full"),
        Some("active"),
        Some("77f8c12cc7b8f8423e5c38b035249166"),
        Some("Administrator"),
        Some("/2012-04-24/Accounts/ACa"),
        Some("ORx"),
    ];

    #[test]
    fn values_are_read_by_table_order_or_by_the_named_columns() {
        let by_order = RestcommRow::from_raw(raw(None, &ROW)).unwrap();
        assert_eq!(by_order.sid, "ACa");
        assert_eq!(by_order.parent_sid, None);
        assert_eq!(by_order.role, "Administrator");
        let mut names = TABLE_ORDER;
        names.reverse();
        let mut values = ROW;
        values.reverse();
        let by_name = RestcommRow::from_raw(raw(Some(&names), &values)).unwrap();
        assert_eq!(by_name, by_order);
    }

    #[test]
    fn missing_columns_nulls_and_wrong_counts_are_named() {
        let short = RestcommRow::from_raw(raw(None, &ROW[..11])).unwrap_err();
        assert!(short.reason.contains("11 values"), "{short}");
        let mut null_role = ROW;
        null_role[9] = None;
        let null = RestcommRow::from_raw(raw(None, &null_role)).unwrap_err();
        assert_eq!(null.to_string(), "line 7 (ACa): role is NULL");
        let missing = RestcommRow::from_raw(raw(Some(&["sid", "role"]), &[Some("ACa"), Some("x")]))
            .unwrap_err();
        assert!(
            missing.reason.contains("no date_created column"),
            "{missing}"
        );
    }
}
