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
use crate::domain::event::{Event, EventSid};
use crate::domain::keys::{ApiKey, KeySid};
use crate::domain::paging::MAX_PAGE_SIZE;
use crate::domain::store::{
    AccountKey, AccountRead, AccountWrite, Cursor, EventQuery, KeyQuery, ListQuery, Listed,
    ListedEvent, ListedKey, Position, Scope, StoreError,
};
use crate::store::events;
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
    /// Inside a write transaction, whose reads lock what its rules depend on.
    writing: bool,
    /// Inside a write: the lock held on each account so far, by Sid. An account's ancestors
    /// are locked before it, so an account found here has its ancestors locked too.
    locks: RefCell<HashMap<String, Lock>>,
    /// Inside a write: accounts as read or written under those locks. Each lock keeps other
    /// writers from changing what the rules depend on until COMMIT, so reading the same
    /// account again (the caller that is also the target, the account just updated) needs
    /// no round trip while the locks are held.
    seen: RefCell<HashMap<String, Account>>,
    /// Inside a write: an account update not sent yet. It goes with the event that records it
    /// (one round trip for both, while the account's row is locked), or before any other
    /// statement, or at the end of the job.
    deferred: RefCell<Option<Account>>,
}

/// How a read inside a write transaction locks the account it finds; the stronger is later.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lock {
    /// Read by the rules (the caller, a parent): no other transaction may close it, change its
    /// key or delete it until COMMIT, but others may read and update it.
    KeyShare,
    /// About to be changed: other writers of this account, and closers of its tree, wait.
    Update,
}

impl<'a> Session<'a> {
    pub fn reading(conn: &'a mut Conn) -> Session<'a> {
        Session::new(conn, false)
    }

    /// For a write job: run it inside a transaction.
    pub fn writing(conn: &'a mut Conn) -> Session<'a> {
        Session::new(conn, true)
    }

    fn new(conn: &'a mut Conn, writing: bool) -> Session<'a> {
        Session {
            conn: RefCell::new(conn),
            trouble: RefCell::new(Trouble::default()),
            writing,
            locks: RefCell::new(HashMap::new()),
            seen: RefCell::new(HashMap::new()),
            deferred: RefCell::new(None),
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
        self.flush()?;
        let result = self.conn.borrow_mut().query(sql, params);
        result.map_err(|error| self.fail(error))
    }

    fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        self.flush()?;
        let result = self.conn.borrow_mut().execute(sql, params);
        result.map(drop).map_err(|error| self.fail(error))
    }

    /// Sends the deferred update, if any: before another statement, and before COMMIT.
    pub fn flush(&self) -> Result<(), StoreError> {
        let Some(account) = self.deferred.borrow_mut().take() else {
            return Ok(());
        };
        let values = AccountValues::of(&account);
        let result = self
            .conn
            .borrow_mut()
            .execute(UPDATE_ACCOUNT, &values.params());
        result.map(drop).map_err(|error| self.fail(error))
    }
}

impl Session<'_> {
    /// Inside a write, the account's ancestors are locked first, root first, then the account
    /// itself: every writer takes its locks in the same order, from the root down. A
    /// transaction that closes an account holds it [`Lock::Update`], so it waits for every
    /// write under it that is in flight, and those that come later wait for it and then see
    /// the account closed; no account is left active under a closed ancestor.
    fn find_locked(
        &self,
        key: &AccountKey,
        lock: Option<Lock>,
    ) -> Result<Option<Account>, StoreError> {
        let (sql, value) = match (key, lock) {
            (AccountKey::Sid(sid), None) => (FIND_BY_SID, sid.as_str()),
            (AccountKey::Email(email), None) => (FIND_BY_EMAIL, email.as_str()),
            (AccountKey::Sid(sid), Some(lock)) => {
                if let Some(account) = self.held(sid.as_str(), lock) {
                    return Ok(Some(account));
                }
                if !self.locks.borrow().contains_key(sid.as_str()) {
                    self.query(LOCK_ANCESTORS_BY_SID, &[&sid.as_str()])?;
                }
                let sql = match lock {
                    Lock::KeyShare => FIND_BY_SID_KEY_SHARE,
                    Lock::Update => FIND_BY_SID_FOR_UPDATE,
                };
                (sql, sid.as_str())
            }
            (AccountKey::Email(email), Some(lock)) => {
                self.query(LOCK_ANCESTORS_BY_EMAIL, &[&email.as_str()])?;
                let sql = match lock {
                    Lock::KeyShare => FIND_BY_EMAIL_KEY_SHARE,
                    Lock::Update => FIND_BY_EMAIL_FOR_UPDATE,
                };
                (sql, email.as_str())
            }
        };
        let found = match self.query(sql, &[&value])?.first() {
            Some(row) => Some(account_from_row(row)?),
            None => None,
        };
        if let (Some(account), Some(lock)) = (&found, lock) {
            self.remember(account, lock);
        }
        Ok(found)
    }

    /// The account as this transaction last saw it, if it holds at least `lock` on it.
    fn held(&self, sid: &str, lock: Lock) -> Option<Account> {
        let held = self.locks.borrow().get(sid).copied()?;
        if held < lock {
            return None;
        }
        self.seen.borrow().get(sid).cloned()
    }

    fn remember(&self, account: &Account, lock: Lock) {
        let mut locks = self.locks.borrow_mut();
        for ancestor in &account.ancestors {
            locks
                .entry(ancestor.as_str().to_owned())
                .or_insert(Lock::KeyShare);
        }
        let held = locks.entry(account.sid.as_str().to_owned()).or_insert(lock);
        *held = (*held).max(lock);
        self.seen
            .borrow_mut()
            .insert(account.sid.as_str().to_owned(), account.clone());
    }
}

impl AccountRead for Session<'_> {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        let lock = self.writing.then_some(Lock::KeyShare);
        self.find_locked(key, lock)
    }

    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError> {
        list(self, query)
    }

    /// Inside a write, the answer holds until COMMIT: the table is locked against every other
    /// writer, so of nodes that start together on an empty database only one finds it empty.
    fn is_empty(&self) -> Result<bool, StoreError> {
        if self.writing {
            self.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", &[])?;
        }
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

    fn first_root(&self) -> Result<Option<Account>, StoreError> {
        match self.query(FIRST_ROOT, &[])?.first() {
            Some(row) => Ok(Some(account_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn find_event(&self, sid: &EventSid) -> Result<Option<Event>, StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL
            .get_or_init(|| format!("SELECT {} FROM events e WHERE e.sid = $1", events::COLUMNS));
        match self.query(sql, &[&sid.as_str()])?.first() {
            Some(row) => Ok(Some(stored_event(row)?.into_listed()?.0)),
            None => Ok(None),
        }
    }

    fn list_events(&self, query: &EventQuery) -> Result<Vec<ListedEvent>, StoreError> {
        let p = events::Params::of(query);
        let rows = self.query(
            events::list_sql(events::Dialect::Postgres, query),
            &[
                &p.scope,
                &p.actor,
                &p.event_type,
                &p.resource,
                &p.address,
                &p.start,
                &p.end,
                &p.date,
                &p.seq,
                &p.limit,
            ],
        )?;
        let mut listed = Vec::with_capacity(rows.len());
        for row in &rows {
            let (event, cursor) = stored_event(row)?.into_listed()?;
            listed.push(ListedEvent { event, cursor });
        }
        if p.reverse {
            listed.reverse();
        }
        Ok(listed)
    }
}

fn stored_event(row: &Row) -> Result<events::StoredEvent, StoreError> {
    let bad = |_| StoreError::Failed("a stored event has an invalid column".into());
    Ok(events::StoredEvent {
        sid: row.try_get(0).map_err(bad)?,
        account_sid: row.try_get(1).map_err(bad)?,
        root_sid: row.try_get(2).map_err(bad)?,
        branch_sid: row.try_get(3).map_err(bad)?,
        actor_type: row.try_get(4).map_err(bad)?,
        actor_sid: row.try_get(5).map_err(bad)?,
        event_type: row.try_get(6).map_err(bad)?,
        resource_type: row.try_get(7).map_err(bad)?,
        resource_sid: row.try_get(8).map_err(bad)?,
        source: row.try_get(9).map_err(bad)?,
        source_ip: row.try_get(10).map_err(bad)?,
        event_data: row.try_get(11).map_err(bad)?,
        event_date: row.try_get(12).map_err(bad)?,
        seq: row.try_get(13).map_err(bad)?,
    })
}

impl AccountWrite for Session<'_> {
    fn find_for_update(&mut self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        self.find_locked(key, Some(Lock::Update))
    }

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
        // The account is held for update whenever the domain changes it (`find_for_update`),
        // so what it reads back is what was written.
        if let Some(seen) = self.seen.borrow_mut().get_mut(account.sid.as_str()) {
            *seen = account.clone();
        }
        self.flush()?;
        *self.deferred.borrow_mut() = Some(account.clone());
        Ok(())
    }

    fn close_descendants(
        &mut self,
        sid: &AccountSid,
        at: UnixTime,
    ) -> Result<Vec<AccountSid>, StoreError> {
        self.seen.borrow_mut().clear();
        let rows = self.query(
            "UPDATE accounts SET status = 'closed', date_updated = $2
             WHERE (root_sid = $1 OR branch_sid = $1) AND sid <> $1 AND status <> 'closed'
             RETURNING sid",
            &[&sid.as_str(), &at.0],
        )?;
        rows.iter()
            .map(|row| {
                row.try_get::<_, &str>(0)
                    .ok()
                    .and_then(AccountSid::parse)
                    .ok_or_else(|| corrupt("sid"))
            })
            .collect()
    }

    /// `seq` comes from the identity column, as for accounts. An update deferred just before
    /// (the change this event records) goes in the same statement.
    fn record(&mut self, event: &Event) -> Result<(), StoreError> {
        let row = events::NewRow::of(event);
        let values: [&(dyn ToSql + Sync); 13] = [
            &row.sid,
            &row.account_sid,
            &row.root_sid,
            &row.branch_sid,
            &row.actor_type,
            &row.actor_sid,
            &row.event_type,
            &row.resource_type,
            &row.resource_sid,
            &row.source,
            &row.source_ip,
            &row.event_data,
            &row.event_date,
        ];
        let Some(account) = self.deferred.borrow_mut().take() else {
            return self.execute(insert_event_sql(), &values);
        };
        let account = AccountValues::of(&account);
        let mut params = account.params().to_vec();
        params.extend(values);
        self.execute(update_and_insert_event_sql(), &params)
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

    fn delete_keys_in_subtree(&mut self, sid: &AccountSid) -> Result<Vec<ApiKey>, StoreError> {
        let rows = self.query(
            "DELETE FROM api_keys WHERE account_sid IN (
                 SELECT sid FROM accounts WHERE sid = $1 OR root_sid = $1 OR branch_sid = $1)
             RETURNING sid, account_sid, friendly_name, secret_hash, date_created, date_updated,
                 seq",
            &[&sid.as_str()],
        )?;
        rows.iter()
            .map(|row| key_from_row(row).map(|listed| listed.key))
            .collect()
    }

    fn prune_events(&mut self, before: UnixTime) -> Result<u64, StoreError> {
        self.flush()?;
        let result = self
            .conn
            .borrow_mut()
            .execute("DELETE FROM events WHERE event_date < $1", &[&before.0]);
        result.map_err(|error| self.fail(error))
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
pub(super) const FIND_ALL_BY_SID: &str = concat!(select_account!(), " WHERE a.sid = ANY($1)");
pub(super) const FIND_ALL_BY_EMAIL: &str = concat!(select_account!(), " WHERE a.email = ANY($1)");
const FIND_BY_SID_KEY_SHARE: &str =
    concat!(select_account!(), " WHERE a.sid = $1 FOR KEY SHARE OF a");
const FIND_BY_EMAIL_KEY_SHARE: &str =
    concat!(select_account!(), " WHERE a.email = $1 FOR KEY SHARE OF a");
const FIND_BY_SID_FOR_UPDATE: &str =
    concat!(select_account!(), " WHERE a.sid = $1 FOR UPDATE OF a");
const FIND_BY_EMAIL_FOR_UPDATE: &str =
    concat!(select_account!(), " WHERE a.email = $1 FOR UPDATE OF a");

/// The proper ancestors of an account (its root and branch, which never change), locked
/// root first.
macro_rules! lock_ancestors {
    ($column:literal) => {
        concat!(
            "SELECT 1 FROM accounts a JOIN accounts x
                 ON x.sid IN (a.root_sid, a.branch_sid) AND x.sid <> a.sid
             WHERE a.",
            $column,
            " = $1 ORDER BY x.level FOR KEY SHARE OF x"
        )
    };
}

const LOCK_ANCESTORS_BY_SID: &str = lock_ancestors!("sid");
const LOCK_ANCESTORS_BY_EMAIL: &str = lock_ancestors!("email");

/// The parameters of [`UPDATE_ACCOUNT`], borrowed from an account.
struct AccountValues<'a> {
    account: &'a Account,
    sid: &'a str,
    name: &'a str,
    role: &'a str,
    status: &'a str,
    secondary_salt: Option<&'a str>,
    secondary_created: Option<i64>,
}

impl<'a> AccountValues<'a> {
    fn of(account: &'a Account) -> AccountValues<'a> {
        let secondary = account.secondary.as_ref();
        AccountValues {
            account,
            sid: account.sid.as_str(),
            name: account.friendly_name.as_str(),
            role: account.role.as_str(),
            status: account.own_status.as_str(),
            secondary_salt: secondary.map(|secondary| secondary.salt.as_str()),
            secondary_created: secondary.map(|secondary| secondary.created.0),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.sid,
            &self.name,
            &self.role,
            &self.status,
            &self.account.password_hash,
            &self.account.token_salt,
            &self.account.updated.0,
            &self.secondary_salt,
            &self.secondary_created,
        ]
    }
}

const UPDATE_ACCOUNT: &str = "UPDATE accounts SET friendly_name = $2, role = $3, status = $4,
         password_hash = $5, token_salt = $6, date_updated = $7, secondary_salt = $8,
         secondary_created = $9
     WHERE sid = $1";

/// `INSERT INTO events` with its values numbered from `$first`.
fn insert_event(first: usize) -> String {
    let values: Vec<String> = (first..first + 13).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO events ({}) VALUES ({})",
        events::INSERT_COLUMNS,
        values.join(", ")
    )
}

fn insert_event_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_event(1))
}

/// [`UPDATE_ACCOUNT`] and the event that records it, in one statement (one round trip).
fn update_and_insert_event_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| format!("WITH changed AS ({UPDATE_ACCOUNT}) {}", insert_event(10)))
}

const FIRST_ROOT: &str = concat!(
    select_account!(),
    " WHERE a.level = 1 ORDER BY a.seq LIMIT 1"
);

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

pub(super) fn account_from_row(row: &Row) -> Result<Account, StoreError> {
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

    /// The numbers of the `$N` placeholders in `sql`, in order.
    fn placeholders(sql: &str) -> Vec<usize> {
        sql.split('$')
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter_map(|digits| digits.parse().ok())
            .collect()
    }

    #[test]
    fn an_update_and_its_event_number_their_parameters_one_after_the_other() {
        let mut numbers = placeholders(update_and_insert_event_sql());
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers, (1..=22).collect::<Vec<_>>());
        assert_eq!(
            placeholders(insert_event_sql()),
            (1..=13).collect::<Vec<_>>()
        );
    }

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
