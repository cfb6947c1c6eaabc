//! The PostgreSQL store: every read and write runs on tokio's blocking pool with a pooled
//! connection, so a wait on the network never holds an HTTP worker.
//!
//! Writes are serialized across every node: each write transaction starts by bumping the
//! `data_version` row of `installation`, whose row lock it then holds until COMMIT. Every
//! later statement of the job therefore sees all that any node committed before, and no other
//! node's write can interleave: the rules run exactly as on SQLite's single writer, at READ
//! COMMITTED, with no serialization failures to retry in the normal course. The same counter
//! is the data version: it is committed atomically with the writes it counts, so a node that
//! reads an unchanged counter knows that nothing was committed in between.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::connect::connect;
use super::failures::PostgresCounts;
use super::open::off_runtime;
use super::sql::{is_broken, is_retryable, store_error, Conn, Session, Trouble};
use super::url::Settings;
use crate::domain::error::DomainError;
use crate::domain::store::{
    AccountWrite, DataVersion, ReadJob, Reading, Store, StoreError, WriteJob, WriteReply, Written,
};
use crate::domain::throttle::{FailureCounts, ThrottleLimits};

/// How often a write job runs again after a serialization failure or a deadlock before the
/// client is told to retry later.
const ATTEMPTS: usize = 5;

/// The statement that takes the cluster-wide write lock and counts the commit.
const BUMP_VERSION: &str = "INSERT INTO installation (name, value) VALUES ('data_version', '1')
     ON CONFLICT (name) DO UPDATE SET value = (installation.value::bigint + 1)::text";

const READ_VERSION: &str = "SELECT value FROM installation WHERE name = 'data_version'";

pub struct PostgresStore {
    pool: Arc<Pool>,
    /// Writes queued or running; beyond the limit a write is refused as busy at once.
    writes: Arc<AtomicUsize>,
    write_limit: usize,
    closed: Arc<AtomicBool>,
}

impl PostgresStore {
    pub fn new(settings: Settings, size: usize, wait: Duration, first: Conn) -> PostgresStore {
        let pool = Pool::new(settings, size.max(2), wait);
        pool.put(first);
        PostgresStore {
            pool: Arc::new(pool),
            writes: Arc::new(AtomicUsize::new(0)),
            write_limit: size.max(2) * 64,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Store for PostgresStore {
    fn read(&self, mut job: Box<dyn ReadJob>) -> Reading {
        let pool = Arc::clone(&self.pool);
        let run = move || {
            pool.with(|conn| {
                let session = Session::new(conn);
                job.run(&session);
                (Ok(()), session.trouble())
            })
            .map(|()| job)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = runtime.spawn_blocking(run);
                Reading::Pending(Box::pin(async move {
                    task.await.unwrap_or_else(|_| {
                        Err(StoreError::Failed("a read task stopped".to_owned()))
                    })
                }))
            }
            Err(_) => Reading::Done(run()),
        }
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
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => run(),
        }
        Ok(answer)
    }

    /// In the database, so that a guess counts the same whichever node it reaches.
    fn failure_counts(&self, limits: &ThrottleLimits) -> Arc<dyn FailureCounts> {
        Arc::new(PostgresCounts::new(Arc::clone(&self.pool), limits))
    }

    /// Called on an HTTP worker, so the query runs off the async thread (see [`off_runtime`]).
    fn data_version(&self) -> Result<DataVersion, StoreError> {
        let value = off_runtime(|| read_version(&self.pool))?;
        Ok(DataVersion::counter(value))
    }

    /// Waits, up to a bound, for the writes in flight: each answers only after its COMMIT,
    /// so nothing answered is lost; the connections close as the pool goes.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.writes.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.pool.drain();
    }
}

fn read_version(pool: &Pool) -> Result<u64, StoreError> {
    pool.with(|conn| match conn.client.query(READ_VERSION, &[]) {
        Ok(rows) => {
            let text: Option<String> = rows.first().and_then(|row| row.try_get(0).ok());
            // No row yet: no write was ever committed through this counter.
            let value = text.and_then(|text| text.parse::<u64>().ok()).unwrap_or(0);
            (Ok(value), Trouble::default())
        }
        Err(error) => (Err(store_error(&error)), trouble(&error)),
    })
}

/// Runs the job in its own transaction, again after a serialization failure or deadlock.
fn write(pool: &Pool, job: &WriteJob) -> Result<Written, DomainError> {
    let mut outcome = Err(StoreError::Busy.into());
    for _ in 0..ATTEMPTS {
        let mut retry = false;
        let answer = pool.with(|conn| {
            let (answer, trouble) = attempt(conn, job);
            retry = trouble.retry;
            (answer, trouble)
        });
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

/// One run of the job: BEGIN, take the write lock, the job, then COMMIT, or ROLLBACK when the
/// job refused. The outer result is the transaction's, the inner one the job's answer.
fn attempt(
    conn: &mut Conn,
    job: &WriteJob,
) -> (Result<Result<Written, DomainError>, StoreError>, Trouble) {
    if let Err(error) = conn.client.batch_execute("BEGIN") {
        return (Err(store_error(&error)), trouble(&error));
    }
    if let Err(error) = conn.client.batch_execute(BUMP_VERSION) {
        let _ = conn.client.batch_execute("ROLLBACK");
        return (Err(store_error(&error)), trouble(&error));
    }
    let (outcome, seen) = {
        let mut session = Session::new(conn);
        let outcome = job(&mut session as &mut dyn AccountWrite);
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
