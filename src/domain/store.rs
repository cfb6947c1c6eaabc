//! The storage port: what the rules need from a database, and nothing about how it is done.
//! `crate::store::sqlite` implements it; the domain never names a store.

use std::fmt;

use tokio::sync::oneshot;

use super::account::{Account, AccountSid, Email, FriendlyName, Status, UnixTime};
use super::error::DomainError;

#[derive(Clone, Debug)]
pub enum AccountKey {
    Sid(AccountSid),
    Email(Email),
}

/// Which accounts a listing may include.
#[derive(Clone, Debug)]
pub enum Scope {
    /// The account alone.
    Itself(AccountSid),
    /// The account and all its descendants; `level` is the account's own level (1 or 2).
    Subtree { sid: AccountSid, level: usize },
}

/// A position in the creation order: the creation time, then `seq`, a number the store gives
/// each account as it is inserted, larger than every earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created: UnixTime,
    pub seq: i64,
}

/// An account as a listing found it, with its place in the creation order.
#[derive(Clone, Debug)]
pub struct Listed {
    pub account: Account,
    pub cursor: Cursor,
}

#[derive(Clone, Debug)]
pub enum Position {
    /// Skip this many accounts from the start.
    Offset(u64),
    /// Accounts strictly after the cursor.
    After(Cursor),
    /// Accounts strictly before the cursor (the nearest ones, still returned in order).
    Before(Cursor),
}

#[derive(Clone, Debug)]
pub struct ListQuery {
    pub scope: Scope,
    pub friendly_name: Option<FriendlyName>,
    /// Matches the status as shown ([`Account::status`]), not the stored one.
    pub status: Option<Status>,
    pub email: Option<Email>,
    pub position: Position,
    pub limit: usize,
}

#[derive(Clone, Debug)]
pub enum StoreError {
    /// The database stayed locked beyond the wait.
    Busy,
    /// The disk (or the database's size limit) is full.
    Full,
    /// A unique email address is already taken.
    Duplicate,
    /// Anything else: the cause is for the log, never for the client.
    Failed(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Busy => f.write_str("database busy"),
            StoreError::Full => f.write_str("storage full"),
            StoreError::Duplicate => f.write_str("duplicate email address"),
            StoreError::Failed(cause) => f.write_str(cause),
        }
    }
}

pub trait AccountRead {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError>;
    /// In creation order, at most `query.limit` accounts.
    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError>;
}

/// Inside one write transaction: reads see the writes made before them.
pub trait AccountWrite: AccountRead {
    /// Places the account after every earlier one in the creation order. Fails with
    /// [`StoreError::Duplicate`] when the email address is taken.
    fn insert(&mut self, account: &Account) -> Result<(), StoreError>;
    /// Saves the mutable fields: friendly name, role, own status, password hash, token salt,
    /// date updated.
    fn update(&mut self, account: &Account) -> Result<(), StoreError>;
    /// Closes every descendant of `sid` that is not closed yet.
    fn close_descendants(&mut self, sid: &AccountSid, at: UnixTime) -> Result<(), StoreError>;
}

/// A change that runs inside a transaction and is answered only once that transaction is
/// durable. An error rolls back this job alone.
pub type WriteJob = Box<dyn FnOnce(&mut dyn AccountWrite) -> Result<Account, DomainError> + Send>;

pub type WriteReply = oneshot::Receiver<Result<Account, DomainError>>;

pub trait Store: Send + Sync {
    fn reader(&self) -> Result<Box<dyn AccountRead + '_>, StoreError>;
    /// Queues the job for the writer; fails at once with [`StoreError::Busy`] when the queue
    /// is full.
    fn write(&self, job: WriteJob) -> Result<WriteReply, StoreError>;
    /// A number that changes whenever data was committed, by this process or another; two
    /// equal readings mean nothing was committed in between.
    fn data_version(&self) -> Result<u64, StoreError>;
}
