//! The storage port: what the rules need from a database, and nothing about how it is done.
//! `crate::store` implements it; the domain never names a store.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::account::{Account, AccountSid, Email, FriendlyName, Status, UnixTime};
use super::error::DomainError;
use super::event::{Event, EventSid, EventType, Sid};
use super::keys::{ApiKey, KeySid};
use super::throttle::{FailureCounts, ThrottleLimits};

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

/// Which events a listing may include, newest first.
#[derive(Clone, Debug)]
pub struct EventQuery {
    /// The accounts the events are about: [`Scope::Subtree`] for an Administrator.
    pub scope: Scope,
    pub actor: Option<Sid>,
    pub event_type: Option<EventType>,
    pub resource: Option<Sid>,
    pub address: Option<IpAddr>,
    /// Inclusive bounds on the event's date.
    pub start: Option<UnixTime>,
    pub end: Option<UnixTime>,
    /// `After`: older than the cursor (the next page); `Before`: newer (the previous page,
    /// still returned newest first). `Offset` is never used: events page by cursor only.
    pub position: Option<Position>,
    pub limit: usize,
}

/// An event as a listing found it, with its place in the order (date, then `seq`).
#[derive(Clone, Debug)]
pub struct ListedEvent {
    pub event: Event,
    pub cursor: Cursor,
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

/// Which of an account's keys a listing returns, in creation order.
#[derive(Clone, Debug)]
pub struct KeyQuery {
    pub account: AccountSid,
    pub position: Position,
    pub limit: usize,
}

/// A key as a listing found it, with its place in the creation order.
#[derive(Clone, Debug)]
pub struct ListedKey {
    pub key: ApiKey,
    pub cursor: Cursor,
}

pub trait AccountRead {
    fn find(&self, key: &AccountKey) -> Result<Option<Account>, StoreError>;
    /// In creation order, at most `query.limit` accounts.
    fn list(&self, query: &ListQuery) -> Result<Vec<Listed>, StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError>;
    fn find_key(&self, sid: &KeySid) -> Result<Option<ApiKey>, StoreError>;
    /// In creation order, at most `query.limit` keys.
    fn list_keys(&self, query: &KeyQuery) -> Result<Vec<ListedKey>, StoreError>;
    fn count_keys(&self, account: &AccountSid) -> Result<usize, StoreError>;
    /// The oldest top-level account, if any.
    fn first_root(&self) -> Result<Option<Account>, StoreError>;
    fn find_event(&self, sid: &EventSid) -> Result<Option<Event>, StoreError>;
    /// Newest first, at most `query.limit` events.
    fn list_events(&self, query: &EventQuery) -> Result<Vec<ListedEvent>, StoreError>;
}

/// Inside one write transaction: reads see the writes made before them.
pub trait AccountWrite: AccountRead {
    /// Reads the account this write is about to change. Where writers run at once (several
    /// nodes on one database) the store holds the others off it until the transaction ends;
    /// a single writer needs nothing more than [`AccountRead::find`].
    fn find_for_update(&mut self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        self.find(key)
    }
    /// Places the account after every earlier one in the creation order. Fails with
    /// [`StoreError::Duplicate`] when the email address is taken.
    fn insert(&mut self, account: &Account) -> Result<(), StoreError>;
    /// Saves the mutable fields: friendly name, role, own status, password hash, token salt,
    /// date updated.
    fn update(&mut self, account: &Account) -> Result<(), StoreError>;
    /// Closes every descendant of `sid` that is not closed yet; returns the ones it closed.
    fn close_descendants(
        &mut self,
        sid: &AccountSid,
        at: UnixTime,
    ) -> Result<Vec<AccountSid>, StoreError>;
    /// Places the event after every earlier one in the order of events of its second.
    fn record(&mut self, event: &Event) -> Result<(), StoreError>;
    /// Deletes every event dated before `before`; returns how many.
    fn prune_events(&mut self, before: UnixTime) -> Result<u64, StoreError>;
    /// Places the key after every earlier one in the creation order.
    fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    /// Saves the friendly name and the date updated.
    fn update_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    /// False when there was no such key.
    fn delete_key(&mut self, sid: &KeySid) -> Result<bool, StoreError>;
    /// Deletes the keys of `sid` and of every account below it; returns the keys it deleted.
    fn delete_keys_in_subtree(&mut self, sid: &AccountSid) -> Result<Vec<ApiKey>, StoreError>;
}

/// What a write job answers with once its transaction is durable.
#[derive(Debug)]
pub enum Written {
    Account(Account),
    Key(ApiKey),
    /// A deletion, or a change with nothing to show.
    Done,
}

/// A change that runs inside a transaction and is answered only once that transaction is
/// durable. An error rolls back this job alone.
///
/// A store may roll the transaction back and run the job again (PostgreSQL does, after a
/// serialization failure or a deadlock), so a job must have no effect outside its
/// transaction: it clones what it needs on each run rather than moving it out.
pub type WriteJob = Box<dyn Fn(&mut dyn AccountWrite) -> Result<Written, DomainError> + Send>;

pub type WriteReply = oneshot::Receiver<Result<Written, DomainError>>;

/// What a store's data looked like at one moment: two equal versions mean nothing was
/// committed in between. Each store decides what it holds; nothing else looks inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataVersion(Version);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    Counter(u64),
    Snapshot(Box<str>),
}

impl DataVersion {
    /// A number that changes on every commit (SQLite's count of the commits it saw).
    pub fn counter(value: u64) -> DataVersion {
        DataVersion(Version::Counter(value))
    }

    /// A description of the committed state (PostgreSQL's `pg_current_snapshot()`).
    pub fn snapshot(text: &str) -> DataVersion {
        DataVersion(Version::Snapshot(text.into()))
    }
}

/// A read handed to the store, which keeps its own answer: the store runs it with a reader
/// and hands it back (see [`read`]).
pub trait ReadJob: Send {
    fn run(&mut self, reader: &dyn AccountRead);
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

pub type AnswerFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// A store's answer: at once when it is at hand (in memory, a local file), or later when it
/// comes across a network (never waited for on the caller's thread).
pub enum Answer<T> {
    Done(Result<T, StoreError>),
    Pending(AnswerFuture<T>),
}

impl<T> Answer<T> {
    pub async fn settle(self) -> Result<T, StoreError> {
        match self {
            Answer::Done(done) => done,
            Answer::Pending(pending) => pending.await,
        }
    }
}

pub trait Store: Send + Sync {
    /// Runs the job with a reader. A store whose reads take microseconds runs it inline; one
    /// that waits on a network runs it on a blocking pool, never on the caller's thread.
    fn read(&self, job: Box<dyn ReadJob>) -> Answer<Box<dyn ReadJob>>;
    /// One account, as [`AccountRead::find`] reads it, for the commonest read of all (every
    /// request's caller): a store on a network answers many of these with one query.
    fn find(&self, key: AccountKey) -> Answer<Option<Account>>;
    /// Queues the job for the writer; fails at once with [`StoreError::Busy`] when the queue
    /// is full.
    fn write(&self, job: WriteJob) -> Result<WriteReply, StoreError>;
    /// The failed-authentication counters under `limits`, shared by every process that
    /// serves this database.
    fn failure_counts(&self, limits: &ThrottleLimits) -> Arc<dyn FailureCounts>;
    /// Changes whenever data was committed, by this process or another.
    fn data_version(&self) -> Answer<DataVersion>;
    /// Commits what is queued and stops the writer; later writes fail. Blocks, up to a bound.
    fn close(&self);
    /// Writes queued or running.
    fn queue_depth(&self) -> usize;
    /// The database's size in bytes, if it can be told; may block on a query.
    fn size_bytes(&self) -> Option<u64>;
}

/// Runs `job` with one of the store's readers, wherever the store runs its reads.
pub async fn read<T, F>(store: &dyn Store, job: F) -> Result<T, DomainError>
where
    T: Send + 'static,
    F: FnOnce(&dyn AccountRead) -> Result<T, DomainError> + Send + 'static,
{
    let task = Box::new(Task {
        job: Some(job),
        answer: None,
    });
    let done = store.read(task).settle().await?;
    match done.into_any().downcast::<Task<F, T>>() {
        Ok(task) => task
            .answer
            .unwrap_or_else(|| Err(DomainError::Internal("the store skipped a read".into()))),
        Err(_) => Err(DomainError::Internal("the store swapped a read".into())),
    }
}

struct Task<F, T> {
    job: Option<F>,
    answer: Option<Result<T, DomainError>>,
}

impl<F, T> ReadJob for Task<F, T>
where
    T: Send + 'static,
    F: FnOnce(&dyn AccountRead) -> Result<T, DomainError> + Send + 'static,
{
    fn run(&mut self, reader: &dyn AccountRead) {
        if let Some(job) = self.job.take() {
            self.answer = Some(job(reader));
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
