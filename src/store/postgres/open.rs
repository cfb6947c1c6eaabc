//! The checks before a PostgreSQL store starts: the database is reachable, its schema is not
//! newer than this build, and the key file is the one it was set up with. Nothing is written
//! until [`CheckedPostgres::start`].

use std::time::Duration;

use postgres::Client;

use super::connect::connect;
use super::migrate::{latest_version, migrate, schema_version, MigrateError};
use super::sql::Conn;
use super::store::{prepare_session, PostgresStore};
use super::url::Settings;
use crate::store::OpenError;

/// The key of the advisory lock that start-up takes to record the key check, so that nodes
/// starting together on a new database agree on one key.
const KEY_CHECK_LOCK: i64 = i64::from_be_bytes(*b"sb-keych");

pub struct CheckedPostgres {
    settings: Settings,
    client: Client,
    connections: usize,
    wait: Duration,
}

impl CheckedPostgres {
    /// Connects and reads the schema version, writing nothing.
    pub fn check(
        settings: Settings,
        connections: usize,
        wait: Duration,
    ) -> Result<CheckedPostgres, OpenError> {
        let mut client = connect(&settings)
            .map_err(|error| OpenError::Other(format!("cannot connect to PostgreSQL: {error}")))?;
        let found = schema_version(&mut client).map_err(migrate_error)?;
        let known = latest_version();
        if found > known {
            return Err(OpenError::TooNew { found, known });
        }
        Ok(CheckedPostgres {
            settings,
            client,
            connections,
            wait,
        })
    }

    /// The URL without its password.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn holds_accounts(&mut self) -> Result<bool, OpenError> {
        if !self.has_table("accounts")? {
            return Ok(false);
        }
        self.query_bool("SELECT EXISTS (SELECT 1 FROM accounts)")
    }

    pub fn key_check(&mut self) -> Result<Option<String>, OpenError> {
        if !self.has_table("installation")? {
            return Ok(None);
        }
        read_key_check(&mut self.client)
    }

    /// Migrates, records `key_check` unless the database holds one (then they must agree),
    /// and starts the pool with this connection in it.
    pub fn start(mut self, key_check: &str) -> Result<PostgresStore, OpenError> {
        migrate(&mut self.client).map_err(migrate_error)?;
        record_key_check(&mut self.client, key_check)?;
        let first = prepare_session(self.client)
            .map_err(|error| OpenError::Other(format!("PostgreSQL: {error}")))?;
        let first: Conn = first;
        Ok(PostgresStore::new(
            self.settings,
            self.connections,
            self.wait,
            first,
        ))
    }

    fn has_table(&mut self, name: &str) -> Result<bool, OpenError> {
        let row = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .map_err(database_error)?;
        row.try_get(0).map_err(database_error)
    }

    fn query_bool(&mut self, sql: &str) -> Result<bool, OpenError> {
        let row = self.client.query_one(sql, &[]).map_err(database_error)?;
        row.try_get(0).map_err(database_error)
    }
}

fn read_key_check(client: &mut impl postgres::GenericClient) -> Result<Option<String>, OpenError> {
    let row = client
        .query_opt(
            "SELECT value FROM installation WHERE name = 'key_check'",
            &[],
        )
        .map_err(database_error)?;
    row.map(|row| row.try_get(0))
        .transpose()
        .map_err(database_error)
}

/// Under an advisory lock, so that of nodes starting together on a new database with
/// different key files exactly one key is recorded and the others are refused.
fn record_key_check(client: &mut Client, key_check: &str) -> Result<(), OpenError> {
    let mut tx = client.transaction().map_err(database_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_CHECK_LOCK])
        .map_err(database_error)?;
    match read_key_check(&mut tx)? {
        Some(stored) if stored == key_check => return Ok(()),
        Some(_) => return Err(OpenError::KeyMismatch),
        None => {}
    }
    tx.execute(
        "INSERT INTO installation (name, value) VALUES ('key_check', $1)",
        &[&key_check],
    )
    .map_err(database_error)?;
    tx.commit().map_err(database_error)
}

fn migrate_error(error: MigrateError) -> OpenError {
    match error {
        MigrateError::TooNew { found, known } => OpenError::TooNew { found, known },
        other => OpenError::Other(format!("PostgreSQL: {other}")),
    }
}

/// The SQLSTATE only: the statement and its values stay out of the message.
fn database_error(error: postgres::Error) -> OpenError {
    match error.code() {
        Some(code) => OpenError::Other(format!("PostgreSQL error SQLSTATE {}", code.code())),
        None => OpenError::Other(format!("PostgreSQL: {error}")),
    }
}
