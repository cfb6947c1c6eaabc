//! Applies `schema.sql`, section by section, to bring any older database file up to date.

use rusqlite::Connection;

const SCHEMA: &str = include_str!("../../schema.sql");

fn migrations() -> Vec<(i64, String)> {
    sections(SCHEMA)
}

/// The `-- version N` sections of a schema file, in order: both stores' schemas are written so.
pub(super) fn sections(schema: &str) -> Vec<(i64, String)> {
    let mut sections: Vec<(i64, String)> = Vec::new();
    for line in schema.lines() {
        if let Some(version) = line
            .strip_prefix("-- version ")
            .and_then(|v| v.trim().parse().ok())
        {
            sections.push((version, String::new()));
        } else if let Some((_, sql)) = sections.last_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    sections
}

pub fn latest_version() -> i64 {
    migrations().last().map_or(0, |(version, _)| *version)
}

#[derive(Debug)]
pub enum MigrateError {
    /// The file was written by a newer Switchboard.
    TooNew {
        found: i64,
        known: i64,
    },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(error: rusqlite::Error) -> MigrateError {
        MigrateError::Sqlite(error)
    }
}

pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = latest_version();
    if current > known {
        return Err(MigrateError::TooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in migrations()
        .into_iter()
        .filter(|(version, _)| *version > current)
    {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(&sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_numbered_upwards_from_one() {
        let versions: Vec<i64> = migrations().iter().map(|(v, _)| *v).collect();
        assert_eq!(versions.first(), Some(&1));
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "{versions:?}"
        );
    }

    #[test]
    fn migrating_twice_changes_nothing_and_newer_files_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, latest_version());
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrateError::TooNew { .. })
        ));
    }
}
