//! The checks before a PostgreSQL store starts: the database is reachable, its schema is not
//! newer than this build, and the key file is the one it was set up with. Nothing is written
//! until [`CheckedPostgres::start`].

use std::time::Duration;

use postgres::Client;

use super::connect::connect;
use super::migrate::{latest_version, migrate, schema_version, MigrateError};
use super::store::{prepare_session, PostgresStore};
use super::url::Settings;
use crate::store::OpenError;

/// The key of the advisory lock that start-up takes to record the key check, so that nodes
/// starting together on a new database agree on one key.
pub(super) const KEY_CHECK_LOCK: i64 = i64::from_be_bytes(*b"sb-keych");

/// Holds no connection: the synchronous client may be neither used nor dropped on an async
/// thread, so each step connects on a thread of its own (see [`off_runtime`]).
pub struct CheckedPostgres {
    settings: Settings,
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
        let checked = CheckedPostgres {
            settings,
            connections,
            wait,
        };
        let found = checked.with_client(|client| schema_version(client).map_err(migrate_error))?;
        let known = latest_version();
        if found > known {
            return Err(OpenError::TooNew { found, known });
        }
        Ok(checked)
    }

    pub fn holds_accounts(&self) -> Result<bool, OpenError> {
        self.with_client(|client| {
            if !has_table(client, "accounts")? {
                return Ok(false);
            }
            let row = client
                .query_one("SELECT EXISTS (SELECT 1 FROM accounts)", &[])
                .map_err(database_error)?;
            row.try_get(0).map_err(database_error)
        })
    }

    pub fn key_check(&self) -> Result<Option<String>, OpenError> {
        self.with_client(|client| {
            if !has_table(client, "installation")? {
                return Ok(None);
            }
            read_key_check(client)
        })
    }

    /// Migrates, records `key_check` unless the database holds one (then they must agree),
    /// and starts the pool with the connection that did it.
    pub fn start(self, key_check: &str) -> Result<PostgresStore, OpenError> {
        off_runtime(move || {
            let mut client = self.connect()?;
            migrate(&mut client).map_err(migrate_error)?;
            record_key_check(&mut client, key_check)?;
            let first = prepare_session(client)
                .map_err(|error| OpenError::Other(format!("PostgreSQL: {error}")))?;
            Ok(PostgresStore::new(
                self.settings,
                self.connections,
                self.wait,
                first,
            ))
        })
    }

    fn connect(&self) -> Result<Client, OpenError> {
        connect(&self.settings)
            .map_err(|error| OpenError::Other(format!("cannot connect to PostgreSQL: {error}")))
    }

    fn with_client<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, OpenError> + Send,
    ) -> Result<T, OpenError> {
        off_runtime(|| f(&mut self.connect()?))
    }
}

/// Runs `f` where the synchronous client may block: on this thread outside a runtime, else on
/// a thread of its own (the client drives a runtime of its own, which tokio forbids inside
/// another).
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn has_table(client: &mut Client, name: &str) -> Result<bool, OpenError> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .map_err(database_error)?;
    row.try_get(0).map_err(database_error)
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

pub(super) fn migrate_error(error: MigrateError) -> OpenError {
    match error {
        MigrateError::TooNew { found, known } => OpenError::TooNew { found, known },
        other => OpenError::Other(format!("PostgreSQL: {other}")),
    }
}

/// The SQLSTATE only: the statement and its values stay out of the message.
pub(super) fn database_error(error: postgres::Error) -> OpenError {
    match error.code() {
        Some(code) => OpenError::Other(format!("PostgreSQL error SQLSTATE {}", code.code())),
        None => OpenError::Other(format!("PostgreSQL: {error}")),
    }
}
