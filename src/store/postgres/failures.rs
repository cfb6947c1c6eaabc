//! The failed-authentication counters on PostgreSQL, one row per key in `failed_logins`, so
//! that every node serving the database counts together. Windows are timed by the database's
//! `now()`, not by each node's clock: nodes whose clocks disagree still agree on when a window
//! began and ends.
//!
//! Each failure is one UPSERT, then a bounded clean-up of expired rows; each check is one
//! SELECT. Both run on the store's database threads, as reads do, never on an HTTP worker.

use std::sync::Arc;

use super::executor::Executor;
use super::sql::{store_error, Conn, Trouble};
use super::store::{trouble, Pool};
use crate::domain::store::{Answer, StoreError};
use crate::domain::throttle::{FailureCounts, FailureKey, ThrottleLimits};

/// Expired rows removed after each failure: more than one, so the table shrinks whenever
/// failures come, and few, so a failure never pays for a large delete.
const CLEAN_UP: i64 = 16;

/// A window that has run out starts again at 1; otherwise the failure adds to it.
const RECORD: &str = "
    INSERT INTO failed_logins AS f (key, window_start, failures)
    SELECT key, now(), 1 FROM unnest($1::bytea[]) WITH ORDINALITY AS k(key, n) ORDER BY n
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN f.window_start + $2::float8 * interval '1 millisecond' <= now()
                            THEN now() ELSE f.window_start END,
        failures = CASE WHEN f.window_start + $2::float8 * interval '1 millisecond' <= now()
                        THEN 1 ELSE least(f.failures, 2147483646) + 1 END";

/// Only rows nobody is counting in right now: a locked row is a live one, or another node's
/// clean-up already has it.
const FORGET_EXPIRED: &str = "
    DELETE FROM failed_logins WHERE key IN (
        SELECT key FROM failed_logins
        WHERE window_start + $1::float8 * interval '1 millisecond' <= now()
        ORDER BY window_start LIMIT $2
        FOR UPDATE SKIP LOCKED)";

/// Whole seconds left, as the in-memory counters round them, for each key past its limit.
const RETRY_AFTER: &str = "
    SELECT floor(extract(epoch FROM
               f.window_start + $3::float8 * interval '1 millisecond' - now()))::bigint
    FROM failed_logins AS f
    JOIN unnest($1::bytea[], $2::bigint[]) AS k(key, most) ON f.key = k.key
    WHERE f.failures >= k.most
      AND f.window_start + $3::float8 * interval '1 millisecond' > now()";

pub struct PostgresCounts {
    pool: Arc<Pool>,
    executor: Arc<Executor>,
    per_address: i64,
    per_account: i64,
    window_ms: f64,
}

impl PostgresCounts {
    pub(super) fn new(
        pool: Arc<Pool>,
        executor: Arc<Executor>,
        limits: &ThrottleLimits,
    ) -> PostgresCounts {
        PostgresCounts {
            pool,
            executor,
            per_address: i64::from(limits.per_address),
            per_account: i64::from(limits.per_account),
            window_ms: limits.window.as_secs_f64() * 1000.0,
        }
    }

    fn limit(&self, key: &FailureKey) -> i64 {
        match key {
            FailureKey::Client(_) => self.per_address,
            FailureKey::Name(_) => self.per_account,
        }
    }
}

impl FailureCounts for PostgresCounts {
    fn retry_after(&self, keys: &[FailureKey]) -> Answer<Option<u64>> {
        let pool = Arc::clone(&self.pool);
        let bytes: Vec<Vec<u8>> = keys.iter().map(FailureKey::to_bytes).collect();
        let limits: Vec<i64> = keys.iter().map(|key| self.limit(key)).collect();
        let window_ms = self.window_ms;
        self.executor
            .run(move || pool.with(|conn| answered(retry_after(conn, &bytes, &limits, window_ms))))
    }

    fn record(&self, keys: &[FailureKey]) -> Answer<()> {
        let pool = Arc::clone(&self.pool);
        let bytes: Vec<Vec<u8>> = keys.iter().map(FailureKey::to_bytes).collect();
        let window_ms = self.window_ms;
        self.executor
            .run(move || pool.with(|conn| answered(record(conn, &bytes, window_ms))))
    }
}

fn retry_after(
    conn: &mut Conn,
    keys: &[Vec<u8>],
    limits: &[i64],
    window_ms: f64,
) -> Result<Option<u64>, postgres::Error> {
    let rows = conn.query(RETRY_AFTER, &[&keys, &limits, &window_ms])?;
    let mut longest = None;
    for row in rows {
        let seconds: i64 = row.try_get(0)?;
        let seconds = u64::try_from(seconds).unwrap_or(0).max(1);
        longest = longest.max(Some(seconds));
    }
    Ok(longest)
}

fn record(conn: &mut Conn, keys: &[Vec<u8>], window_ms: f64) -> Result<(), postgres::Error> {
    conn.execute(RECORD, &[&keys, &window_ms])?;
    conn.execute(FORGET_EXPIRED, &[&window_ms, &CLEAN_UP])?;
    Ok(())
}

/// As the pool wants it: the answer, and whether the connection may be kept.
fn answered<T>(result: Result<T, postgres::Error>) -> (Result<T, StoreError>, Trouble) {
    match result {
        Ok(value) => (Ok(value), Trouble::default()),
        Err(error) => (Err(store_error(&error)), trouble(&error)),
    }
}
