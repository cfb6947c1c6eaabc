//! The single writer. Requests queue up while a commit is in flight; the writer then runs all
//! of them in one transaction, commits once, and only then answers each. One fsync serves many
//! writes, and no write is answered before it is durable. When a job fails, the batch runs
//! again with each job in its own savepoint, so that one failure rolls back only itself.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{
    channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::sqlite::{InTransaction, StorageLimit};
use crate::domain::error::DomainError;
use crate::domain::store::{StoreError, WriteJob, WriteReply, Written};
use crate::metrics::metrics;

/// Writes waiting beyond this are refused as busy rather than queued without bound.
const QUEUE_CAPACITY: usize = 4096;
/// The most writes one transaction commits; bounds the latency of the first in line.
const MAX_BATCH: usize = 512;

/// How long the writer waits with nothing to do before it empties the write-ahead log.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(500);

/// How long closing waits for the queue to drain and the log to be folded in.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

struct Queued {
    job: WriteJob,
    reply: oneshot::Sender<Result<Written, DomainError>>,
}

enum Message {
    Write(Queued),
    /// Sent after the last request: everything queued before it is committed first.
    Close(Sender<()>),
}

pub struct Writer {
    queue: SyncSender<Message>,
    /// Writes queued or running, for the metrics.
    depth: Arc<AtomicUsize>,
}

impl Writer {
    pub fn start(conn: Connection, limit: Option<StorageLimit>) -> Writer {
        let (queue, incoming) = sync_channel(QUEUE_CAPACITY);
        let depth = Arc::new(AtomicUsize::new(0));
        let running = Arc::clone(&depth);
        std::thread::Builder::new()
            .name("switchboard-writer".into())
            .spawn(move || run(conn, incoming, limit, &running))
            .expect("cannot start the writer thread");
        Writer { queue, depth }
    }

    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn submit(&self, job: WriteJob) -> Result<WriteReply, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.queue.try_send(Message::Write(Queued { job, reply })) {
            Ok(()) => Ok(answer),
            Err(refused) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                refused_write(refused)
            }
        }
    }
}

fn refused_write(refused: TrySendError<Message>) -> Result<WriteReply, StoreError> {
    match refused {
        TrySendError::Full(_) => Err(StoreError::Busy),
        TrySendError::Disconnected(_) => Err(StoreError::Failed("the writer has stopped".into())),
    }
}

impl Writer {
    /// Returns once the writer has committed everything queued and stopped; later writes
    /// fail. Waits at most [`CLOSE_WAIT`]: a stuck disk must not hold the process forever.
    pub fn close(&self) {
        let (done, closed) = channel();
        if self.queue.send(Message::Close(done)).is_ok() {
            let _ = closed.recv_timeout(CLOSE_WAIT);
        }
    }
}

fn run(
    mut conn: Connection,
    incoming: Receiver<Message>,
    limit: Option<StorageLimit>,
    depth: &AtomicUsize,
) {
    let mut applied_limit = 0;
    let mut closed = None;
    let mut written = false;
    while let Some(first) = next_message(&incoming, &conn, &mut written) {
        let mut batch = Vec::new();
        let mut close = None;
        match first {
            Message::Write(queued) => batch.push(queued),
            Message::Close(done) => close = Some(done),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(Message::Write(next)) => batch.push(next),
                Ok(Message::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if let Some(limit) = &limit {
            applied_limit = apply_limit(&conn, limit, applied_limit);
        }
        if !batch.is_empty() {
            let writes = batch.len();
            commit_batch(&mut conn, batch);
            depth.fetch_sub(writes, Ordering::Relaxed);
            written = true;
        }
        if let Some(done) = close {
            checkpoint(&conn);
            closed = Some(done);
            break;
        }
    }
    // Refuse later writes before saying the writer is closed.
    drop(incoming);
    drop(conn);
    if let Some(done) = closed {
        let _ = done.send(());
    }
}

/// The next message; `None` once every sender is gone. After a burst of writes, a quiet
/// moment empties the write-ahead log: every read looks its pages up in the log's index
/// first, and a log of a thousand frames made fetches markedly slower until it was emptied.
fn next_message(
    incoming: &Receiver<Message>,
    conn: &Connection,
    written: &mut bool,
) -> Option<Message> {
    loop {
        if !*written {
            return incoming.recv().ok();
        }
        match incoming.recv_timeout(IDLE_CHECKPOINT_AFTER) {
            Ok(message) => return Some(message),
            Err(RecvTimeoutError::Timeout) => *written = !checkpoint_when_idle(conn),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Copies the log's pages into the database file without waiting for anyone (PASSIVE), and
/// says whether every page was copied. Once it was, new reads skip the log altogether. A
/// reader still on an old snapshot (a running backup, say) keeps some pages in the log: then
/// the next quiet moment tries again.
fn checkpoint_when_idle(conn: &Connection) -> bool {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    matches!(outcome, Ok((in_log, copied)) if in_log == copied)
}

/// Moves SQLite's page cap when the limit changed; returns the cap now in force.
fn apply_limit(conn: &Connection, limit: &StorageLimit, applied: u32) -> u32 {
    let wanted = limit.max_pages();
    if wanted == applied || wanted == 0 {
        return applied;
    }
    match conn.pragma_update(None, "max_page_count", wanted) {
        Ok(()) => wanted,
        Err(error) => {
            log::warn!(
                "cannot apply the storage limit: {}",
                StoreError::from(error)
            );
            applied
        }
    }
}

/// Folds the write-ahead log into the database file and empties it.
fn checkpoint(conn: &Connection) {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    });
    match outcome {
        Ok(0) => {}
        Ok(_) => log::warn!("the write-ahead log stays: a reader was still open at shutdown"),
        Err(error) => log::warn!(
            "cannot fold the write-ahead log in at shutdown: {}",
            StoreError::from(error)
        ),
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Queued>) {
    let started = Instant::now();
    let writes = batch.len();
    let outcomes = match run_whole(conn, &batch) {
        Some(Ok(outcomes)) => Ok(outcomes),
        Some(Err(error)) => return answer_all_failed(batch, error),
        None => run_one_by_one(conn, &batch),
    };
    let (committed, outcomes) = match outcomes {
        Ok(outcomes) => (Ok(()), outcomes),
        Err((error, outcomes)) => (Err(error), outcomes),
    };
    if committed.is_ok() {
        metrics().transaction(writes, started.elapsed());
    }
    for (Queued { reply, .. }, outcome) in batch.into_iter().zip(outcomes) {
        let outcome = match (&committed, outcome) {
            (Err(error), Ok(_)) => Err(DomainError::Store(error.clone())),
            (_, outcome) => outcome,
        };
        // The client may have gone away; its write stands all the same.
        let _ = reply.send(outcome);
    }
}

type Outcome = Result<Written, DomainError>;

/// Every job of the batch in one transaction with no savepoints: a savepoint costs two
/// statements and a copy of each page the job touches, about as much as the job's own writes.
/// `None` when a job failed: the transaction is rolled back, so that the batch can run again
/// job by job. Jobs may run again (see [`WriteJob`]).
fn run_whole(conn: &mut Connection, batch: &[Queued]) -> Option<Result<Vec<Outcome>, StoreError>> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return Some(Err(StoreError::from(error))),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for Queued { job, .. } in batch {
        match guarded(job, &tx) {
            Ok(written) => outcomes.push(Ok(written)),
            // Dropping the transaction rolls it back.
            Err(_) => return None,
        }
    }
    Some(tx.commit().map(|()| outcomes).map_err(StoreError::from))
}

/// Each job in its own savepoint, so that a failure rolls back only itself; the outcomes
/// come back with the commit's error when the commit failed.
fn run_one_by_one(
    conn: &mut Connection,
    batch: &[Queued],
) -> Result<Vec<Outcome>, (StoreError, Vec<Outcome>)> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => {
            let error = StoreError::from(error);
            let failed = batch
                .iter()
                .map(|_| Err(DomainError::Store(error.clone())))
                .collect();
            return Err((error, failed));
        }
    };
    let outcomes: Vec<Outcome> = batch
        .iter()
        .map(|queued| run_job(&mut tx, &queued.job))
        .collect();
    match tx.commit() {
        Ok(()) => Ok(outcomes),
        Err(error) => Err((StoreError::from(error), outcomes)),
    }
}

fn run_job(tx: &mut Transaction<'_>, job: &WriteJob) -> Outcome {
    let savepoint = tx.savepoint().map_err(StoreError::from)?;
    let outcome = guarded(job, &savepoint);
    if outcome.is_ok() {
        savepoint.commit().map_err(StoreError::from)?;
    }
    // Dropping an uncommitted savepoint rolls it back.
    outcome
}

/// A job's panic is its failure alone, not the writer's.
fn guarded(job: &WriteJob, conn: &Connection) -> Outcome {
    catch_unwind(AssertUnwindSafe(|| job(&mut InTransaction(conn))))
        .unwrap_or_else(|_| Err(DomainError::Internal("a write job panicked".into())))
}

fn answer_all_failed(batch: Vec<Queued>, error: StoreError) {
    for Queued { reply, .. } in batch {
        let _ = reply.send(Err(DomainError::Store(error.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_runs_every_queued_write_first_and_then_refuses_more() {
        let writer = Writer::start(Connection::open_in_memory().unwrap(), None);
        let ran = Arc::new(AtomicUsize::new(0));
        let replies: Vec<_> = (0..50)
            .map(|_| {
                let ran = Arc::clone(&ran);
                writer
                    .submit(Box::new(move |_| {
                        ran.fetch_add(1, Ordering::SeqCst);
                        Ok(Written::Done)
                    }))
                    .unwrap()
            })
            .collect();
        writer.close();
        assert_eq!(ran.load(Ordering::SeqCst), 50);
        for reply in replies {
            assert!(matches!(reply.blocking_recv(), Ok(Ok(Written::Done))));
        }
        assert!(matches!(
            writer.submit(Box::new(|_| Err(DomainError::NotFound))),
            Err(StoreError::Failed(_))
        ));
    }

    /// Whichever batches the writes fall into, a failed job leaves nothing behind and every
    /// other job's write stands.
    #[test]
    fn a_failed_job_rolls_back_alone() {
        use crate::domain::account::Account;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.db");
        let mut conn = Connection::open(&path).unwrap();
        crate::store::migrate::migrate(&mut conn).unwrap();
        let writer = Writer::start(conn, None);
        let accounts: Vec<Account> = (0..30).map(|_| Account::sample(None)).collect();
        let replies: Vec<_> = accounts
            .iter()
            .enumerate()
            .map(|(index, account)| {
                let account = account.clone();
                let job: WriteJob = Box::new(move |tx| {
                    tx.insert(&account)?;
                    match index % 3 {
                        1 => Err(DomainError::NotFound),
                        _ => Ok(Written::Done),
                    }
                });
                writer.submit(job).unwrap()
            })
            .collect();
        writer.close();
        for (index, reply) in replies.into_iter().enumerate() {
            let outcome = reply.blocking_recv().unwrap();
            assert_eq!(outcome.is_ok(), index % 3 != 1, "job {index}");
        }
        let conn = Connection::open(&path).unwrap();
        for (index, account) in accounts.iter().enumerate() {
            let stored: i64 = conn
                .query_row(
                    "SELECT count(*) FROM accounts WHERE sid = ?1",
                    [account.sid.as_str()],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(stored == 1, index % 3 != 1, "account {index}");
        }
    }
}
