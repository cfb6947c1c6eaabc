//! The threads PostgreSQL work runs on: as many as the pool has connections. A request that
//! waits for a connection waits in this queue, not on a thread of its own, so a burst of
//! requests costs no burst of threads (nor their memory), and no HTTP worker ever blocks on
//! the network.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::domain::store::{Answer, StoreError};

type Job = Box<dyn FnOnce() + Send>;

pub(super) struct Executor {
    jobs: Mutex<Sender<Job>>,
}

impl Executor {
    /// The threads end once the executor is dropped and the queue is empty.
    pub(super) fn new(threads: usize) -> Executor {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("postgres-{n}"))
                .spawn(move || work(&queue));
            if let Err(error) = spawned {
                log::error!("cannot start a database thread: {error}");
            }
        }
        Executor {
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `job` on one of the threads and answers later; without an async runtime (a
    /// command, not the server) it runs in place, where blocking harms nobody.
    pub(super) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    ) -> Answer<T> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Answer::Done(job());
        }
        let (reply, answer) = oneshot::channel();
        self.spawn(move || {
            let _ = reply.send(job());
        });
        Answer::Pending(Box::pin(async move {
            answer
                .await
                .unwrap_or_else(|_| Err(StoreError::Failed("a database task stopped".to_owned())))
        }))
    }

    /// Queues `job`; it runs even if nobody waits for it (a write whose client went away).
    pub(super) fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if jobs.send(Box::new(job)).is_err() {
            log::error!("the database threads have stopped");
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .recv();
        match next {
            // A job that panics loses its answer (its waiter sees the task stopped), not the
            // thread.
            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_runtime_a_job_runs_in_place() {
        let executor = Executor::new(1);
        let here = std::thread::current().id();
        match executor.run(move || Ok(std::thread::current().id() == here)) {
            Answer::Done(Ok(in_place)) => assert!(in_place),
            _ => panic!("answered later"),
        }
    }

    #[test]
    fn within_a_runtime_jobs_run_on_the_executor_threads() {
        let executor = Executor::new(2);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let name = runtime.block_on(async {
            executor
                .run(|| Ok(std::thread::current().name().map(str::to_owned)))
                .settle()
                .await
        });
        assert!(name.unwrap().unwrap().starts_with("postgres-"));
    }
}
