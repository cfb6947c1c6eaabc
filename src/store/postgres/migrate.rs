//! Applies `schema.pg.sql`, section by section, each in its own transaction under one advisory
//! lock, so that nodes starting together on one database upgrade it exactly once.

use std::fmt;

use postgres::{Client, Transaction};

const SCHEMA: &str = include_str!("../../../schema.pg.sql");

/// The key of the transaction-level advisory lock every migration holds: "sb-schem" as bytes,
/// so it is unlikely to collide with another application's lock on a shared database.
const LOCK_KEY: i64 = i64::from_be_bytes(*b"sb-schem");

/// PostgreSQL has no `user_version`: the version lives in a table of exactly one row. It is
/// created here rather than by a numbered section because it is what numbers the sections.
const VERSION_TABLE: &str = "
    CREATE TABLE IF NOT EXISTS schema_version (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version  integer NOT NULL
    );
    INSERT INTO schema_version (only_row, version) VALUES (true, 0) ON CONFLICT DO NOTHING;
";

fn migrations() -> Vec<(i64, String)> {
    crate::store::migrate::sections(SCHEMA)
}

pub fn latest_version() -> i64 {
    migrations().last().map_or(0, |(version, _)| *version)
}

/// What went wrong, by step and SQLSTATE: never the SQL, which is the binary's business.
#[derive(Debug)]
pub enum MigrateError {
    /// The database was written by a newer Switchboard.
    TooNew { found: i64, known: i64 },
    /// The server refused or lost a step; `version` is the section being applied, if any.
    Database {
        version: Option<i64>,
        sqlstate: Option<String>,
        connection_lost: bool,
    },
}

impl MigrateError {
    fn database(version: Option<i64>) -> impl Fn(postgres::Error) -> MigrateError {
        move |error| MigrateError::Database {
            version,
            sqlstate: error.code().map(|code| code.code().to_owned()),
            connection_lost: error.is_closed(),
        }
    }
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::TooNew { found, known } => write!(
                f,
                "the database's schema is version {found}, newer than this binary's {known}: \
                 run a newer Switchboard"
            ),
            MigrateError::Database {
                version,
                sqlstate,
                connection_lost,
            } => {
                match version {
                    Some(version) => write!(f, "applying schema version {version} failed")?,
                    None => f.write_str("reading the schema version failed")?,
                }
                if *connection_lost {
                    f.write_str(": the connection was lost")?;
                }
                match sqlstate {
                    Some(code) => write!(f, " (SQLSTATE {code})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for MigrateError {}

/// The version the database is at, 0 for one never migrated.
pub fn schema_version(client: &mut Client) -> Result<i64, MigrateError> {
    let row = client
        .query_opt("SELECT version FROM schema_version", &[])
        .or_else(|error| match error.code() {
            Some(&postgres::error::SqlState::UNDEFINED_TABLE) => Ok(None),
            _ => Err(error),
        })
        .map_err(MigrateError::database(None))?;
    Ok(row.map_or(0, |row| i64::from(row.get::<_, i32>(0))))
}

/// Brings the database up to [`latest_version`], one section per transaction. Each
/// transaction takes the lock, then reads the version: a node that waited on another finds
/// the work done and applies nothing twice.
pub fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let sections = migrations();
    let known = latest_version();
    loop {
        let mut tx = client.transaction().map_err(MigrateError::database(None))?;
        let current = lock_and_read(&mut tx)?;
        if current > known {
            return Err(MigrateError::TooNew {
                found: current,
                known,
            });
        }
        let Some((version, sql)) = sections.iter().find(|(version, _)| *version > current) else {
            return tx.commit().map_err(MigrateError::database(None));
        };
        apply(tx, *version, sql)?;
    }
}

fn lock_and_read(tx: &mut Transaction<'_>) -> Result<i64, MigrateError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(MigrateError::database(None))?;
    tx.batch_execute(VERSION_TABLE)
        .map_err(MigrateError::database(None))?;
    let row = tx
        .query_one("SELECT version FROM schema_version", &[])
        .map_err(MigrateError::database(None))?;
    Ok(i64::from(row.get::<_, i32>(0)))
}

fn apply(mut tx: Transaction<'_>, version: i64, sql: &str) -> Result<(), MigrateError> {
    let failed = MigrateError::database(Some(version));
    tx.batch_execute(sql).map_err(&failed)?;
    let stored = i32::try_from(version).unwrap_or(i32::MAX);
    tx.execute("UPDATE schema_version SET version = $1", &[&stored])
        .map_err(&failed)?;
    tx.commit().map_err(&failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_match_the_sqlite_schema_s_versions() {
        let versions: Vec<i64> = migrations().iter().map(|(v, _)| *v).collect();
        assert_eq!(versions.first(), Some(&1));
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "{versions:?}"
        );
        assert_eq!(latest_version(), crate::store::migrate::latest_version());
    }

    #[test]
    fn errors_name_the_step_and_code_only() {
        let error = MigrateError::Database {
            version: Some(3),
            sqlstate: Some("42P07".to_owned()),
            connection_lost: false,
        };
        assert_eq!(
            error.to_string(),
            "applying schema version 3 failed (SQLSTATE 42P07)"
        );
    }
}
