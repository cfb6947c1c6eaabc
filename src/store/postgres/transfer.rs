//! A whole installation read from or written into PostgreSQL, for `switchboard copy`.

use postgres::{Client, IsolationLevel, Transaction};

use super::connect::connect;
use super::migrate::{latest_version, migrate, schema_version};
use super::open::{database_error, migrate_error, off_runtime, KEY_CHECK_LOCK};
use super::url::Settings;
use crate::store::transfer::{
    carried_rows, require_latest, AccountRow, CopyError, EventRow, Installation, KeyRow,
    EVENT_COLUMNS, EVENT_TEXTS,
};
use crate::store::OpenError;

/// The columns in the order both statements below name them.
const ACCOUNT_COLUMNS: &str = "sid, level, owner_sid, root_sid, branch_sid, email, friendly_name, \
     role, status, password_hash, token_salt, date_created, date_updated, seq, secondary_salt, \
     secondary_created";

const KEY_COLUMNS: &str =
    "sid, account_sid, friendly_name, secret_hash, date_created, date_updated, seq";

/// One REPEATABLE READ transaction: every row as of one moment, while nodes keep writing.
pub fn read_installation(settings: &Settings) -> Result<Installation, CopyError> {
    off_runtime(|| {
        let source = CopyError::Source;
        let mut client = open(settings).map_err(source)?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|error| source(database_error(error)))?;
        let found = version_in(&mut tx).map_err(source)?;
        require_latest(found, latest_version())?;
        read_rows(&mut tx).map_err(|error| source(database_error(error)))
    })
}

/// Migrates the target first (as a start would), then fills it in one transaction that holds
/// the lock a starting node takes to record its key, and checks again inside it that the
/// database is still empty: a node started on it meanwhile makes the copy fail, not mix.
pub fn write_installation(
    settings: &Settings,
    installation: &Installation,
) -> Result<(), CopyError> {
    off_runtime(|| {
        let target = CopyError::Target;
        let mut client = open(settings).map_err(target)?;
        let found = schema_version(&mut client)
            .map_err(migrate_error)
            .map_err(target)?;
        if found > latest_version() {
            return Err(target(OpenError::TooNew {
                found,
                known: latest_version(),
            }));
        }
        if found > 0 {
            refuse_filled(&mut client)?;
        }
        migrate(&mut client)
            .map_err(migrate_error)
            .map_err(target)?;
        let mut tx = client
            .transaction()
            .map_err(|error| target(database_error(error)))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_CHECK_LOCK])
            .map_err(|error| target(database_error(error)))?;
        tx.batch_execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE")
            .map_err(|error| target(database_error(error)))?;
        refuse_filled(&mut tx)?;
        fill(&mut tx, installation).map_err(|error| target(database_error(error)))?;
        tx.commit().map_err(|error| target(database_error(error)))?;
        // Statistics for the planner, and the visibility map and hint bits of every new row,
        // now rather than whenever autovacuum comes by: until then the planner plans for tables
        // it believes empty, and the first read of each row writes its page again.
        client
            .batch_execute("VACUUM (ANALYZE)")
            .map_err(|error| target(database_error(error)))
    })
}

fn open(settings: &Settings) -> Result<Client, OpenError> {
    connect(settings)
        .map_err(|error| OpenError::Other(format!("cannot connect to PostgreSQL: {error}")))
}

/// The schema version as the transaction sees it; 0 when never migrated.
fn version_in(tx: &mut Transaction<'_>) -> Result<i64, OpenError> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .and_then(|row| row.try_get(0))
        .map_err(database_error)?;
    if !exists {
        return Ok(0);
    }
    let row = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .map_err(database_error)?;
    row.map_or(Ok(0), |row| row.try_get::<_, i32>(0).map(i64::from))
        .map_err(database_error)
}

fn read_rows(tx: &mut Transaction<'_>) -> Result<Installation, postgres::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY seq");
    let accounts = tx
        .query(&sql, &[])?
        .iter()
        .map(account_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY seq");
    let keys = tx
        .query(&sql, &[])?
        .iter()
        .map(|row| {
            Ok(KeyRow {
                sid: row.try_get(0)?,
                account_sid: row.try_get(1)?,
                friendly_name: row.try_get(2)?,
                secret_hash: row.try_get(3)?,
                date_created: row.try_get(4)?,
                date_updated: row.try_get(5)?,
                seq: row.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, postgres::Error>>()?;
    let rows = tx
        .query("SELECT name, value FROM installation ORDER BY name", &[])?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<Vec<(String, String)>, postgres::Error>>()?;
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq");
    let events = tx
        .query(&sql, &[])?
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Installation {
        accounts,
        keys,
        events,
        rows,
    })
}

fn event_from_row(row: &postgres::Row) -> Result<EventRow, postgres::Error> {
    let mut texts: [Option<String>; EVENT_TEXTS] = Default::default();
    for (index, text) in texts.iter_mut().enumerate() {
        *text = row.try_get(index)?;
    }
    Ok(EventRow {
        texts,
        event_date: row.try_get(EVENT_TEXTS)?,
        seq: row.try_get(EVENT_TEXTS + 1)?,
    })
}

fn account_from_row(row: &postgres::Row) -> Result<AccountRow, postgres::Error> {
    Ok(AccountRow {
        sid: row.try_get(0)?,
        level: i64::from(row.try_get::<_, i32>(1)?),
        owner_sid: row.try_get(2)?,
        root_sid: row.try_get(3)?,
        branch_sid: row.try_get(4)?,
        email: row.try_get(5)?,
        friendly_name: row.try_get(6)?,
        role: row.try_get(7)?,
        status: row.try_get(8)?,
        password_hash: row.try_get(9)?,
        token_salt: row.try_get(10)?,
        date_created: row.try_get(11)?,
        date_updated: row.try_get(12)?,
        seq: row.try_get(13)?,
        secondary_salt: row.try_get(14)?,
        secondary_created: row.try_get(15)?,
    })
}

/// Empty means no account and no recorded key check (a node that started here recorded one).
/// Tables an older schema lacks hold nothing yet.
fn refuse_filled(client: &mut impl postgres::GenericClient) -> Result<(), CopyError> {
    let accounts =
        has_table(client, "accounts")? && exists(client, "SELECT EXISTS (SELECT 1 FROM accounts)")?;
    let key_check = has_table(client, "installation")?
        && exists(
            client,
            "SELECT EXISTS (SELECT 1 FROM installation WHERE name = 'key_check')",
        )?;
    if accounts || key_check {
        return Err(CopyError::TargetNotEmpty { accounts });
    }
    Ok(())
}

fn has_table(client: &mut impl postgres::GenericClient, name: &str) -> Result<bool, CopyError> {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .and_then(|row| row.try_get(0))
        .map_err(|error| CopyError::Target(database_error(error)))
}

fn exists(client: &mut impl postgres::GenericClient, sql: &str) -> Result<bool, CopyError> {
    client
        .query_one(sql, &[])
        .and_then(|row| row.try_get(0))
        .map_err(|error| CopyError::Target(database_error(error)))
}

/// Column arrays unnested, one statement per chunk of rows: a few round trips for any number
/// of accounts, keys and events, and no message too large for the server. Each identity sequence
/// then moves past the copied numbers, so new accounts and events list after them.
fn fill(tx: &mut Transaction<'_>, installation: &Installation) -> Result<(), postgres::Error> {
    for rows in installation.accounts.chunks(FILL_CHUNK) {
        fill_accounts(tx, rows)?;
    }
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('accounts', 'seq'), coalesce(max(seq), 0) + 1, false)
         FROM accounts",
        &[],
    )?;
    for keys in installation.keys.chunks(FILL_CHUNK) {
        fill_keys(tx, keys)?;
    }
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('api_keys', 'seq'), coalesce(max(seq), 0) + 1, false)
         FROM api_keys",
        &[],
    )?;
    for events in installation.events.chunks(FILL_CHUNK) {
        fill_events(tx, events)?;
    }
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'seq'), coalesce(max(seq), 0) + 1, false)
         FROM events",
        &[],
    )?;
    for (name, value) in carried_rows(installation) {
        tx.execute(
            "INSERT INTO installation (name, value) VALUES ($1, $2)",
            &[&name, &value],
        )?;
    }
    Ok(())
}

/// Accounts per INSERT: each statement's arrays stay a few megabytes.
const FILL_CHUNK: usize = 10_000;

fn fill_accounts(tx: &mut Transaction<'_>, rows: &[AccountRow]) -> Result<(), postgres::Error> {
    let text = |f: fn(&AccountRow) -> &String| rows.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&AccountRow) -> &Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&AccountRow) -> i64| rows.iter().map(f).collect::<Vec<_>>();
    let secondary_created: Vec<Option<i64>> =
        rows.iter().map(|row| row.secondary_created).collect();
    let levels: Vec<i32> = rows
        .iter()
        .map(|row| i32::try_from(row.level).unwrap_or(i32::MAX))
        .collect();
    let sql = format!(
        "INSERT INTO accounts ({ACCOUNT_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::text[], $12::bigint[], $13::bigint[], $14::bigint[],
                              $15::text[], $16::bigint[])"
    );
    tx.execute(
        &sql,
        &[
            &text(|row| &row.sid),
            &levels,
            &text(|row| &row.owner_sid),
            &text(|row| &row.root_sid),
            &optional(|row| &row.branch_sid),
            &optional(|row| &row.email),
            &text(|row| &row.friendly_name),
            &text(|row| &row.role),
            &text(|row| &row.status),
            &optional(|row| &row.password_hash),
            &text(|row| &row.token_salt),
            &number(|row| row.date_created),
            &number(|row| row.date_updated),
            &number(|row| row.seq),
            &optional(|row| &row.secondary_salt),
            &secondary_created,
        ],
    )?;
    Ok(())
}

/// As for accounts: one statement of column arrays per chunk.
fn fill_keys(tx: &mut Transaction<'_>, keys: &[KeyRow]) -> Result<(), postgres::Error> {
    let text = |f: fn(&KeyRow) -> &String| keys.iter().map(f).cloned().collect::<Vec<_>>();
    let number = |f: fn(&KeyRow) -> i64| keys.iter().map(f).collect::<Vec<_>>();
    let names: Vec<Option<String>> = keys.iter().map(|key| key.friendly_name.clone()).collect();
    let sql = format!(
        "INSERT INTO api_keys ({KEY_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                              $6::bigint[], $7::bigint[])"
    );
    tx.execute(
        &sql,
        &[
            &text(|key| &key.sid),
            &text(|key| &key.account_sid),
            &names,
            &text(|key| &key.secret_hash),
            &number(|key| key.date_created),
            &number(|key| key.date_updated),
            &number(|key| key.seq),
        ],
    )?;
    Ok(())
}

/// As for accounts: one statement of column arrays per chunk.
fn fill_events(tx: &mut Transaction<'_>, events: &[EventRow]) -> Result<(), postgres::Error> {
    let column = |index: usize| -> Vec<Option<&String>> {
        events.iter().map(|row| row.texts[index].as_ref()).collect()
    };
    let texts: Vec<Vec<Option<&String>>> = (0..EVENT_TEXTS).map(column).collect();
    let dates: Vec<i64> = events.iter().map(|row| row.event_date).collect();
    let seqs: Vec<i64> = events.iter().map(|row| row.seq).collect();
    let arrays = (1..=EVENT_TEXTS)
        .map(|n| format!("${n}::text[]"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO events ({EVENT_COLUMNS})
         SELECT * FROM unnest({arrays}, ${}::bigint[], ${}::bigint[])",
        EVENT_TEXTS + 1,
        EVENT_TEXTS + 2
    );
    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = texts
        .iter()
        .map(|column| column as &(dyn postgres::types::ToSql + Sync))
        .collect();
    params.push(&dates);
    params.push(&seqs);
    tx.execute(&sql, &params)?;
    Ok(())
}
