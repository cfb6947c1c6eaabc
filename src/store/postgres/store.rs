//! The PostgreSQL store: every read and write runs on tokio's blocking pool with a pooled
//! connection, so a wait on the network never holds an HTTP worker.
//!
//! Writes from every node run at once, at READ COMMITTED, each keeping its rules true with row
//! locks on the accounts those rules read (see `Session::find_locked`): writes in different
//! trees never wait for each other. A deadlock or serialization failure rolls the job back
//! and runs it again. The data version is `pg_current_snapshot()`: it changes whenever any
//! transaction commits, on any node and from any client, so a page cached under one snapshot
//! is served again only while nothing has committed since.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::connect::connect;
use super::executor::Executor;
use super::failures::PostgresCounts;
use super::lookups::Lookups;
use super::open::off_runtime;
use super::sql::{is_broken, is_retryable, store_error, Conn, Session, Trouble};
use super::url::Settings;
use crate::domain::account::Account;
use crate::domain::error::DomainError;
use crate::domain::store::{
    AccountKey, AccountWrite, Answer, DataVersion, ReadJob, Store, StoreError, WriteJob,
    WriteReply, Written,
};
use crate::domain::throttle::{FailureCounts, ThrottleLimits};
use crate::metrics::metrics;

/// How often a write job runs again after a serialization failure or a deadlock before the
/// client is told to retry later.
const ATTEMPTS: usize = 5;

const READ_VERSION: &str = "SELECT pg_current_snapshot()::text";

pub struct PostgresStore {
    pool: Arc<Pool>,
    /// One thread per connection the pool may open.
    executor: Arc<Executor>,
    lookups: Lookups,
    /// Writes queued or running; beyond the limit a write is refused as busy at once.
    writes: Arc<AtomicUsize>,
    write_limit: usize,
    closed: Arc<AtomicBool>,
}

impl PostgresStore {
    pub fn new(settings: Settings, size: usize, wait: Duration, first: Conn) -> PostgresStore {
        let pool = Pool::new(settings.clone(), size.max(2), wait);
        pool.put(first);
        let pool = Arc::new(pool);
        let executor = Arc::new(Executor::new(size.max(2)));
        PostgresStore {
            lookups: Lookups::new(settings, Arc::clone(&pool)),
            pool,
            executor,
            writes: Arc::new(AtomicUsize::new(0)),
            write_limit: size.max(2) * 64,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Store for PostgresStore {
    fn read(&self, mut job: Box<dyn ReadJob>) -> Answer<Box<dyn ReadJob>> {
        let pool = Arc::clone(&self.pool);
        self.executor.run(move || {
            pool.with(|conn| {
                let session = Session::reading(conn);
                job.run(&session);
                (Ok(()), session.trouble())
            })
            .map(|()| job)
        })
    }

    fn find(&self, key: AccountKey) -> Answer<Option<Account>> {
        self.lookups.find(key)
    }

    fn write(&self, job: WriteJob) -> Result<WriteReply, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Busy);
        }
        if self.writes.fetch_add(1, Ordering::AcqRel) >= self.write_limit {
            self.writes.fetch_sub(1, Ordering::AcqRel);
            return Err(StoreError::Busy);
        }
        let (reply, answer) = oneshot::channel();
        let pool = Arc::clone(&self.pool);
        let writes = Arc::clone(&self.writes);
        let run = move || {
            let outcome = write(&pool, &job);
            writes.fetch_sub(1, Ordering::AcqRel);
            let _ = reply.send(outcome);
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            self.executor.spawn(run);
        } else {
            run();
        }
        Ok(answer)
    }

    /// In the database, so that a guess counts the same whichever node it reaches.
    fn failure_counts(&self, limits: &ThrottleLimits) -> Arc<dyn FailureCounts> {
        Arc::new(PostgresCounts::new(
            Arc::clone(&self.pool),
            Arc::clone(&self.executor),
            limits,
        ))
    }

    fn data_version(&self) -> Answer<DataVersion> {
        let pool = Arc::clone(&self.pool);
        self.executor
            .run(move || read_version(&pool).map(|snapshot| DataVersion::snapshot(&snapshot)))
    }

    /// Waits, up to a bound, for the writes in flight: each answers only after its COMMIT,
    /// so nothing answered is lost; the connections close as the pool goes.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.writes.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.lookups.close();
        self.pool.drain();
    }

    fn queue_depth(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    fn size_bytes(&self) -> Option<u64> {
        self.pool
            .with(|conn| {
                match conn
                    .client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                {
                    Ok(row) => (Ok(row.try_get::<_, i64>(0).ok()), Trouble::default()),
                    Err(error) => (Err(store_error(&error)), trouble(&error)),
                }
            })
            .ok()
            .flatten()
            .and_then(|size| u64::try_from(size).ok())
    }
}

fn read_version(pool: &Pool) -> Result<String, StoreError> {
    pool.with(|conn| match conn.client.query_one(READ_VERSION, &[]) {
        Ok(row) => match row.try_get(0) {
            Ok(snapshot) => (Ok(snapshot), Trouble::default()),
            Err(error) => (Err(store_error(&error)), trouble(&error)),
        },
        Err(error) => (Err(store_error(&error)), trouble(&error)),
    })
}

/// Runs the job in its own transaction, again after a serialization failure or deadlock.
fn write(pool: &Pool, job: &WriteJob) -> Result<Written, DomainError> {
    let mut outcome = Err(StoreError::Busy.into());
    for _ in 0..ATTEMPTS {
        let mut retry = false;
        let started = Instant::now();
        let answer = pool.with(|conn| {
            let (answer, trouble) = attempt(conn, job);
            retry = trouble.retry;
            (answer, trouble)
        });
        if matches!(answer, Ok(Ok(_))) {
            metrics().transaction(1, started.elapsed());
        }
        outcome = answer.unwrap_or_else(|error| Err(error.into()));
        if !retry {
            break;
        }
    }
    outcome
}

pub(super) fn trouble(error: &postgres::Error) -> Trouble {
    Trouble {
        retry: is_retryable(error),
        broken: is_broken(error),
    }
}

/// One run of the job: BEGIN, the job, then COMMIT, or ROLLBACK when the job refused. The outer result is the transaction's, the inner one the job's answer.
fn attempt(
    conn: &mut Conn,
    job: &WriteJob,
) -> (Result<Result<Written, DomainError>, StoreError>, Trouble) {
    if let Err(error) = conn.client.batch_execute("BEGIN") {
        // A connection kept idle through a restart of the server fails here, before the job
        // ran: the next attempt takes a fresh one.
        let trouble = trouble(&error);
        let retry = trouble.retry || trouble.broken;
        return (Err(store_error(&error)), Trouble { retry, ..trouble });
    }
    let (outcome, seen) = {
        let mut session = Session::writing(conn);
        let outcome = job(&mut session as &mut dyn AccountWrite);
        let outcome = match (outcome, session.flush()) {
            (Ok(_), Err(error)) => Err(error.into()),
            (outcome, _) => outcome,
        };
        (outcome, session.trouble())
    };
    if outcome.is_err() || seen.retry || seen.broken {
        let _ = conn.client.batch_execute("ROLLBACK");
        return (Ok(outcome), seen);
    }
    match conn.client.batch_execute("COMMIT") {
        Ok(()) => (Ok(outcome), seen),
        Err(error) => (Err(store_error(&error)), trouble(&error)),
    }
}

/// Connections to the database, opened as needed up to `size`, kept while they work.
pub(super) struct Pool {
    settings: Settings,
    size: usize,
    wait: Duration,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Pool {
    fn new(settings: Settings, size: usize, wait: Duration) -> Pool {
        Pool {
            settings,
            size,
            wait,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a connection opened elsewhere (the one that migrated the database).
    fn put(&self, conn: Conn) {
        let mut state = self.lock();
        state.open += 1;
        state.idle.push(conn);
    }

    /// Runs `f` with a connection; a connection that `f` reports broken is closed rather than
    /// kept, so the next use opens a fresh one (after the server came back, say).
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> (Result<T, StoreError>, Trouble),
    ) -> Result<T, StoreError> {
        let mut conn = self.checkout()?;
        let (result, trouble) = f(&mut conn);
        if trouble.broken || conn.client.is_closed() {
            // The server went away or restarted: the idle connections are as dead as this one,
            // and the next request should not be the one to find out.
            self.forget();
            self.drain();
        } else {
            self.give_back(conn);
        }
        result
    }

    fn checkout(&self) -> Result<Conn, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return self.open().inspect_err(|_| self.forget());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    fn open(&self) -> Result<Conn, StoreError> {
        match connect(&self.settings) {
            Ok(client) => prepare_session(client),
            Err(error) => {
                log::warn!("cannot reach the database: {error}");
                Err(StoreError::Busy)
            }
        }
    }

    fn give_back(&self, conn: Conn) {
        self.lock().idle.push(conn);
        self.freed.notify_one();
    }

    fn forget(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.freed.notify_one();
    }

    fn drain(&self) {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.open = state.open.saturating_sub(idle.len());
        drop(state);
        close_off_runtime(idle);
    }
}

/// The store may be dropped on an HTTP worker, where closing a client would panic.
impl Drop for Pool {
    fn drop(&mut self) {
        let state = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        close_off_runtime(std::mem::take(&mut state.idle));
    }
}

fn close_off_runtime(connections: Vec<Conn>) {
    if !connections.is_empty() {
        off_runtime(move || drop(connections));
    }
}

/// Bounds every wait on the server: a write queued behind a stuck lock is answered 503 rather
/// than holding its client until the proxy gives up.
pub fn prepare_session(mut client: postgres::Client) -> Result<Conn, StoreError> {
    client
        .batch_execute("SET lock_timeout = '5s'; SET statement_timeout = '30s'")
        .map_err(|error| store_error(&error))?;
    Ok(Conn::new(client))
}
