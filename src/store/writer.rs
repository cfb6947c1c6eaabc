//! The single writer. Requests queue up while a commit is in flight; the writer then runs all
//! of them in one transaction (each in its own savepoint, so one failure rolls back only
//! itself), commits once, and only then answers each. One fsync serves many writes, and no
//! write is answered before it is durable.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::sqlite::InTransaction;
use crate::domain::account::Account;
use crate::domain::error::DomainError;
use crate::domain::store::{StoreError, WriteJob, WriteReply};

/// Writes waiting beyond this are refused as busy rather than queued without bound.
const QUEUE_CAPACITY: usize = 4096;
/// The most writes one transaction commits; bounds the latency of the first in line.
const MAX_BATCH: usize = 512;

struct Queued {
    job: WriteJob,
    reply: oneshot::Sender<Result<Account, DomainError>>,
}

pub struct Writer {
    queue: SyncSender<Queued>,
}

impl Writer {
    pub fn start(conn: Connection) -> Writer {
        let (queue, incoming) = sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("switchboard-writer".into())
            .spawn(move || run(conn, incoming))
            .expect("cannot start the writer thread");
        Writer { queue }
    }

    pub fn submit(&self, job: WriteJob) -> Result<WriteReply, StoreError> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Queued { job, reply }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => Err(StoreError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                Err(StoreError::Failed("the writer has stopped".into()))
            }
        }
    }
}

fn run(mut conn: Connection, incoming: Receiver<Queued>) {
    while let Ok(first) = incoming.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch);
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Queued>) {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return answer_all_failed(batch, StoreError::from(error)),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for Queued { job, reply } in batch {
        outcomes.push((reply, run_job(&mut tx, job)));
    }
    let committed = tx.commit().map_err(StoreError::from);
    for (reply, outcome) in outcomes {
        let outcome = match (&committed, outcome) {
            (Err(error), Ok(_)) => Err(DomainError::Store(error.clone())),
            (_, outcome) => outcome,
        };
        // The client may have gone away; its write stands all the same.
        let _ = reply.send(outcome);
    }
}

fn run_job(tx: &mut Transaction<'_>, job: WriteJob) -> Result<Account, DomainError> {
    let savepoint = tx.savepoint().map_err(StoreError::from)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| job(&mut InTransaction(&savepoint))))
        .unwrap_or_else(|_| Err(DomainError::Internal("a write job panicked".into())));
    if outcome.is_ok() {
        savepoint.commit().map_err(StoreError::from)?;
    }
    // Dropping an uncommitted savepoint rolls it back.
    outcome
}

fn answer_all_failed(batch: Vec<Queued>, error: StoreError) {
    for Queued { reply, .. } in batch {
        let _ = reply.send(Err(DomainError::Store(error.clone())));
    }
}
