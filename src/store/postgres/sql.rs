//! The accounts' SQL on PostgreSQL: the same questions as `sqlite.rs` asks, with the same
//! answers, for a reader outside a transaction and for a write job inside one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use crate::domain::account::{
    Account, AccountSid, Email, FriendlyName, Role, SecondaryToken, Status, UnixTime,
};
use crate::domain::keys::{ApiKey, KeySid};
use crate::domain::paging::MAX_PAGE_SIZE;
use crate::domain::store::{
    AccountKey, AccountRead, AccountWrite, Cursor, KeyQuery, ListQuery, Listed, ListedKey,
    Position, Scope, StoreError,
};
use crate::store::sqlite::ListShape;

/// A connection and the statements it has prepared: each statement is parsed and planned once
/// per connection rather than on every request.
pub struct Conn {
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    pub fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }

    pub(super) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    pub(super) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// How a statement failed, as far as the caller must act on it.
#[derive(Clone, Copy, Default)]
pub struct Trouble {
    /// A serialization failure or deadlock: roll back and run the job again.
    pub retry: bool,
    /// The connection is gone: never hand it out again.
    pub broken: bool,
}

/// Runs the account questions on a connection, keeping what went wrong for the caller: the
/// domain sees only a [`StoreError`], the store needs to know whether to retry.
pub struct Session<'a> {
    conn: RefCell<&'a mut Conn>,
    trouble: RefCell<Trouble>,
}

impl<'a> Session<'a> {
    pub fn new(conn: &'a mut Conn) -> Session<'a> {
        Session {
            conn: RefCell::new(conn),
            trouble: RefCell::new(Trouble::default()),
        }
    }

    pub fn trouble(&self) -> Trouble {
        *self.trouble.borrow()
    }

    fn fail(&self, error: postgres::Error) -> StoreError {
        let mut trouble = self.trouble.borrow_mut();
        trouble.retry |= is_retryable(&error);
        trouble.broken |= is_broken(&error);
        store_error(&error)
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let result = self.conn.borrow_mut().query(sql, params);
        result.map_err(|error| self.fail(error))
    }

    fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        let result = self.conn.borrow_mut().execute(sql, params);
        result.map(drop).map_err(|error| self.fail(error))
    }
}

impl AccountRead for Session<'_> {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        let (sql, value) = match key {
            AccountKey::Sid(sid) => (FIND_BY_SID, sid.as_str()),
            AccountKey::Email(email) => (FIND_BY_EMAIL, email.as_str()),
        };
        match self.query(sql, &[&value])?.first() {
            Some(row) => Ok(Some(account_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
        list(self, query)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        let rows = self.query("SELECT EXISTS (SELECT 1 FROM accounts)", &[])?;
        let any: bool = rows
            .first()
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(|error| self.fail(error))?
            .unwrap_or(false);
        Ok(!any)
    }

    fn find_key(&self, sid: &KeySid) -> Result<Option<ApiKey>, StoreError> {
        match self.query(FIND_KEY, &[&sid.as_str()])?.first() {
            Some(row) => Ok(Some(key_from_row(row)?.key)),
            None => Ok(None),
        }
    }

    fn list_keys(&self, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError> {
        list_keys(self, query)
    }

    fn count_keys(&self, account: &AccountSid) -> Result<usize, StoreError> {
        let rows = self.query(
            "SELECT count(*) FROM api_keys WHERE account_sid = $1",
            &[&account.as_str()],
        )?;
        let count: i64 = rows
            .first()
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(|error| self.fail(error))?
            .unwrap_or(0);
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }
}

impl AccountWrite for Session<'_> {
    /// `seq` comes from the identity column: nodes insert at once, and a sequence hands out
    /// each number once, larger than the ones before, without a lock of its own.
    fn insert(&mut self, account: &Account) -> Result<(), StoreError> {
        let level = account.level() as i32;
        let root = account.ancestors.first().unwrap_or(&account.sid);
        let branch = match level {
            1 => None,
            2 => Some(&account.sid),
            _ => account.ancestors.get(1),
        };
        self.execute(
            "INSERT INTO accounts (sid, level, owner_sid, root_sid, branch_sid, email,
                 friendly_name, role, status, password_hash, token_salt, date_created, date_updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &account.sid.as_str(),
                &level,
                &account.owner().as_str(),
                &root.as_str(),
                &branch.map(AccountSid::as_str),
                &account.email.as_ref().map(Email::as_str),
                &account.friendly_name.as_str(),
                &account.role.as_str(),
                &account.own_status.as_str(),
                &account.password_hash,
                &account.token_salt,
                &account.created.0,
                &account.updated.0,
            ],
        )
    }

    fn update(&mut self, account: &Account) -> Result<(), StoreError> {
        self.execute(
            "UPDATE accounts SET friendly_name = $2, role = $3, status = $4, password_hash = $5,
                 token_salt = $6, date_updated = $7, secondary_salt = $8, secondary_created = $9
             WHERE sid = $1",
            &[
                &account.sid.as_str(),
                &account.friendly_name.as_str(),
                &account.role.as_str(),
                &account.own_status.as_str(),
                &account.password_hash,
                &account.token_salt,
                &account.updated.0,
                &account
                    .secondary
                    .as_ref()
                    .map(|secondary| secondary.salt.as_str()),
                &account
                    .secondary
                    .as_ref()
                    .map(|secondary| secondary.created.0),
            ],
        )
    }

    fn close_descendants(&mut self, sid: &AccountSid, at: UnixTime) -> Result<(), StoreError> {
        self.execute(
            "UPDATE accounts SET status = 'closed', date_updated = $2
             WHERE (root_sid = $1 OR branch_sid = $1) AND sid <> $1 AND status <> 'closed'",
            &[&sid.as_str(), &at.0],
        )
    }

    /// `seq` comes from the identity column, as for accounts.
    fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, date_created,
                 date_updated)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &key.sid.as_str(),
                &key.account.as_str(),
                &key.friendly_name.as_ref().map(FriendlyName::as_str),
                &key.secret_hash,
                &key.created.0,
                &key.updated.0,
            ],
        )
    }

    fn update_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        self.execute(
            "UPDATE api_keys SET friendly_name = $2, date_updated = $3 WHERE sid = $1",
            &[
                &key.sid.as_str(),
                &key.friendly_name.as_ref().map(FriendlyName::as_str),
                &key.updated.0,
            ],
        )
    }

    fn delete_key(&mut self, sid: &KeySid) -> Result<bool, StoreError> {
        let rows = self.query(
            "DELETE FROM api_keys WHERE sid = $1 RETURNING sid",
            &[&sid.as_str()],
        )?;
        Ok(!rows.is_empty())
    }

    fn delete_keys_in_subtree(&mut self, sid: &AccountSid) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM api_keys WHERE account_sid IN (
                 SELECT sid FROM accounts WHERE sid = $1 OR root_sid = $1 OR branch_sid = $1)",
            &[&sid.as_str()],
        )
    }
}

/// True when a proper ancestor is suspended: the root from level 2, the branch at level 3.
macro_rules! ancestor_suspended {
    () => {
        "((a.level > 1 AND EXISTS (SELECT 1 FROM accounts x
              WHERE x.sid = a.root_sid AND x.status = 'suspended'))
          OR (a.level > 2 AND EXISTS (SELECT 1 FROM accounts x
              WHERE x.sid = a.branch_sid AND x.status = 'suspended')))"
    };
}

macro_rules! select_account {
    () => {
        concat!(
            "SELECT a.sid, a.level, a.root_sid, a.branch_sid, a.email, a.friendly_name, a.role,
                    a.status, a.password_hash, a.token_salt, a.date_created, a.date_updated, a.seq, ",
            ancestor_suspended!(),
            ", a.secondary_salt, a.secondary_created FROM accounts a"
        )
    };
}

const FIND_BY_SID: &str = concat!(select_account!(), " WHERE a.sid = $1");
const FIND_BY_EMAIL: &str = concat!(select_account!(), " WHERE a.email = $1");

/// The status as shown (see `Account::status`), for the list filter.
const SHOWN_STATUS: &str = concat!(
    "(CASE WHEN a.status = 'closed' THEN 'closed' WHEN ",
    ancestor_suspended!(),
    " THEN 'suspended' ELSE a.status END)"
);

/// The statement of one listing shape, with its parameters numbered in this order: scope,
/// friendly name, email, status, cursor, limit, offset.
fn shape_sql(shape: ListShape) -> String {
    let mut sql = String::from(select_account!());
    let mut next = 0;
    let mut param = || {
        next += 1;
        format!("${next}")
    };
    let column = ["a.sid", "a.root_sid", "a.branch_sid"][shape.scope];
    sql.push_str(&format!(" WHERE {column} = {}", param()));
    if shape.friendly_name {
        sql.push_str(&format!(" AND a.friendly_name = {}", param()));
    }
    if shape.email {
        sql.push_str(&format!(" AND a.email = {}", param()));
    }
    if shape.status {
        sql.push_str(&format!(" AND {SHOWN_STATUS} = {}", param()));
    }
    let direction = match shape.position {
        1 | 2 => {
            let operator = if shape.position == 1 { ">" } else { "<" };
            let (created, seq) = (param(), param());
            sql.push_str(&format!(
                " AND (a.date_created, a.seq) {operator} ({created}, {seq})"
            ));
            if shape.position == 1 {
                "ASC"
            } else {
                "DESC"
            }
        }
        _ => "ASC",
    };
    sql.push_str(&format!(
        " ORDER BY a.date_created {direction}, a.seq {direction} LIMIT {}",
        param()
    ));
    if shape.position == 0 {
        sql.push_str(&format!(" OFFSET {}", param()));
    }
    sql
}

/// Every shape's SQL, built once: it lives as long as the process, so each connection can key
/// its prepared statements by it.
fn list_sql(shape: ListShape) -> &'static str {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..ListShape::COUNT)
            .map(|index| shape_sql(ListShape::from_index(index)))
            .collect()
    });
    &all[shape.index()]
}

fn list(session: &Session<'_>, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
    let shape = ListShape::of(query);
    let scope = match &query.scope {
        Scope::Itself(sid) | Scope::Subtree { sid, .. } => sid.as_str(),
    };
    let friendly_name = query.friendly_name.as_ref().map(FriendlyName::as_str);
    let email = query.email.as_ref().map(Email::as_str);
    let status = query.status.map(Status::as_str);
    let cursor = match &query.position {
        Position::After(cursor) | Position::Before(cursor) => Some((cursor.created.0, cursor.seq)),
        Position::Offset(_) => None,
    };
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let offset = match query.position {
        Position::Offset(offset) => i64::try_from(offset).unwrap_or(i64::MAX),
        _ => 0,
    };
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&scope];
    for value in [&friendly_name, &email, &status].into_iter().flatten() {
        params.push(value);
    }
    if let Some((created, seq)) = &cursor {
        params.push(created);
        params.push(seq);
    }
    params.push(&limit);
    if shape.position == 0 {
        params.push(&offset);
    }
    let rows = session.query(list_sql(shape), &params)?;
    let mut accounts = Vec::with_capacity(rows.len().min(MAX_PAGE_SIZE + 1));
    for row in &rows {
        let account = account_from_row(row)?;
        let seq: i64 = row.try_get(12).map_err(|_| corrupt("seq"))?;
        let cursor = Cursor {
            created: account.created,
            seq,
        };
        accounts.push(Listed { account, cursor });
    }
    if shape.position == 2 {
        accounts.reverse();
    }
    Ok(accounts)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Failed(format!("a stored account has an invalid {what}"))
}

fn account_from_row(row: &Row) -> Result<Account, StoreError> {
    let text = |index: usize| -> Result<&str, StoreError> {
        row.try_get(index).map_err(|_| corrupt("text column"))
    };
    let optional_text = |index: usize| -> Result<Option<&str>, StoreError> {
        row.try_get(index).map_err(|_| corrupt("text column"))
    };
    let number = |index: usize| -> Result<i64, StoreError> {
        row.try_get(index).map_err(|_| corrupt("number column"))
    };
    let parse_sid = |text: &str| AccountSid::parse(text).ok_or_else(|| corrupt("sid"));
    let level: i32 = row.try_get(1).map_err(|_| corrupt("level"))?;
    let ancestors = match (level, optional_text(3)?) {
        (1, _) => Vec::new(),
        (2, _) => vec![parse_sid(text(2)?)?],
        (3, Some(branch)) => vec![parse_sid(text(2)?)?, parse_sid(branch)?],
        _ => return Err(corrupt("level")),
    };
    let email = optional_text(4)?
        .map(Email::parse)
        .transpose()
        .map_err(|_| corrupt("email"))?;
    Ok(Account {
        sid: parse_sid(text(0)?)?,
        ancestors,
        email,
        friendly_name: FriendlyName::from_stored(text(5)?).map_err(|_| corrupt("friendly name"))?,
        role: Role::parse(text(6)?).map_err(|_| corrupt("role"))?,
        own_status: Status::parse(text(7)?).map_err(|_| corrupt("status"))?,
        password_hash: optional_text(8)?.map(str::to_owned),
        token_salt: text(9)?.to_owned(),
        created: UnixTime(number(10)?),
        updated: UnixTime(number(11)?),
        ancestor_suspended: row.try_get(13).map_err(|_| corrupt("flag"))?,
        secondary: match (optional_text(14)?, row.try_get::<_, Option<i64>>(15)) {
            (Some(salt), Ok(Some(created))) => Some(SecondaryToken {
                salt: salt.to_owned(),
                created: UnixTime(created),
            }),
            _ => None,
        },
    })
}

const FIND_KEY: &str = "SELECT sid, account_sid, friendly_name, secret_hash, date_created, \
     date_updated, seq FROM api_keys WHERE sid = $1";
const KEYS_FROM: &str = "SELECT sid, account_sid, friendly_name, secret_hash, date_created, \
     date_updated, seq FROM api_keys WHERE account_sid = $1 \
     ORDER BY date_created, seq LIMIT $2 OFFSET $3";
const KEYS_AFTER: &str = "SELECT sid, account_sid, friendly_name, secret_hash, date_created, \
     date_updated, seq FROM api_keys WHERE account_sid = $1 AND (date_created, seq) > ($3, $4) \
     ORDER BY date_created, seq LIMIT $2";
const KEYS_BEFORE: &str = "SELECT sid, account_sid, friendly_name, secret_hash, date_created, \
     date_updated, seq FROM api_keys WHERE account_sid = $1 AND (date_created, seq) < ($3, $4) \
     ORDER BY date_created DESC, seq DESC LIMIT $2";

fn list_keys(session: &Session<'_>, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError> {
    let account = query.account.as_str();
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = match &query.position {
        Position::Offset(offset) => {
            let offset = i64::try_from(*offset).unwrap_or(i64::MAX);
            session.query(KEYS_FROM, &[&account, &limit, &offset])?
        }
        Position::After(cursor) => session.query(
            KEYS_AFTER,
            &[&account, &limit, &cursor.created.0, &cursor.seq],
        )?,
        Position::Before(cursor) => session.query(
            KEYS_BEFORE,
            &[&account, &limit, &cursor.created.0, &cursor.seq],
        )?,
    };
    let mut keys = rows
        .iter()
        .map(key_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if matches!(query.position, Position::Before(_)) {
        keys.reverse();
    }
    Ok(keys)
}

fn key_from_row(row: &Row) -> Result<ListedKey, StoreError> {
    let corrupt = |what: &str| StoreError::Failed(format!("a stored key has an invalid {what}"));
    let text = |index: usize| -> Result<&str, StoreError> {
        row.try_get(index).map_err(|_| corrupt("text column"))
    };
    let number = |index: usize| -> Result<i64, StoreError> {
        row.try_get(index).map_err(|_| corrupt("number column"))
    };
    let friendly_name = row
        .try_get::<_, Option<&str>>(2)
        .map_err(|_| corrupt("friendly name"))?
        .map(FriendlyName::from_stored)
        .transpose()
        .map_err(|_| corrupt("friendly name"))?;
    let key = ApiKey {
        sid: KeySid::parse(text(0)?).ok_or_else(|| corrupt("sid"))?,
        account: AccountSid::parse(text(1)?).ok_or_else(|| corrupt("account sid"))?,
        friendly_name,
        secret_hash: text(3)?.to_owned(),
        created: UnixTime(number(4)?),
        updated: UnixTime(number(5)?),
    };
    let cursor = Cursor {
        created: key.created,
        seq: number(6)?,
    };
    Ok(ListedKey { key, cursor })
}

pub fn is_retryable(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// No SQLSTATE means the client itself failed: the socket, TLS, or a server that went away.
pub fn is_broken(error: &postgres::Error) -> bool {
    error.is_closed() || error.code().is_none() || is_unavailable(error)
}

/// The server is shutting down, starting, or out of connections: worth trying again soon.
fn is_unavailable(error: &postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        let code = code.code();
        code.starts_with("08") || code.starts_with("57P") || code == "53300"
    })
}

/// A client sees 503 with Retry-After for everything that passes with time: a lost or
/// refused connection, a lock waited on too long, a server restarting. The cause for the log
/// is the SQLSTATE alone, never the statement or its values.
pub fn store_error(error: &postgres::Error) -> StoreError {
    let Some(code) = error.code() else {
        return StoreError::Busy;
    };
    match code {
        &SqlState::UNIQUE_VIOLATION => StoreError::Duplicate,
        &SqlState::DISK_FULL => StoreError::Full,
        &SqlState::T_R_SERIALIZATION_FAILURE
        | &SqlState::T_R_DEADLOCK_DETECTED
        | &SqlState::LOCK_NOT_AVAILABLE
        | &SqlState::QUERY_CANCELED => StoreError::Busy,
        _ if is_unavailable(error) => StoreError::Busy,
        other => StoreError::Failed(format!("postgres error SQLSTATE {}", other.code())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_list_shape_has_its_own_statement_with_numbered_parameters() {
        let statements: HashSet<String> = (0..ListShape::COUNT)
            .map(|index| shape_sql(ListShape::from_index(index)))
            .collect();
        assert_eq!(statements.len(), ListShape::COUNT);
        for sql in &statements {
            assert!(!sql.contains('?'), "{sql}");
            assert!(sql.contains("$1") && sql.contains("LIMIT $"), "{sql}");
        }
    }
}
