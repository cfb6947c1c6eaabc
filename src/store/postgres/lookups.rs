//! Account lookups, many requests to one query: every request reads its caller, and on
//! PostgreSQL the round trip costs far more than the row it brings back. While one query is
//! out, the lookups that arrive wait together and go in the next (`WHERE sid = ANY($1)`), as
//! writes do in a group commit. The query runs on the asynchronous client, on the runtime of
//! the HTTP worker that asked, so a lookup costs no hop to another thread and back.
//!
//! Nothing is answered from memory: each lookup's query is sent after the lookup arrived, so it
//! sees every commit made before it, on any node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use tokio_postgres::{Client, Statement};

use super::connect::connect_async;
use super::sql::{account_from_row, store_error, Session, FIND_ALL_BY_EMAIL, FIND_ALL_BY_SID};
use super::store::Pool;
use super::url::Settings;
use crate::domain::account::Account;
use crate::domain::store::{AccountKey, AccountRead, Answer, StoreError};

/// The most keys one query carries; more wait for the next.
const MOST_PER_QUERY: usize = 256;

type Found = Result<Option<Account>, StoreError>;

struct Waiting {
    key: AccountKey,
    reply: oneshot::Sender<Found>,
}

#[derive(Default)]
struct Lane {
    /// A task is answering lookups; it takes the waiting ones before it stops.
    running: bool,
    waiting: Vec<Waiting>,
    /// Kept between batches; the running task holds it while a query is out.
    reader: Option<Reader>,
    /// The store closed: a connection is no longer kept.
    closed: bool,
}

/// A connection for lookups and its two statements.
struct Reader {
    client: Client,
    by_sid: Statement,
    by_email: Statement,
}

pub(super) struct Lookups {
    settings: Settings,
    /// For a lookup made outside an async runtime (a command), with the synchronous client.
    pool: Arc<Pool>,
    lane: Arc<Mutex<Lane>>,
}

impl Lookups {
    pub(super) fn new(settings: Settings, pool: Arc<Pool>) -> Lookups {
        Lookups {
            settings,
            pool,
            lane: Arc::default(),
        }
    }

    pub(super) fn find(&self, key: AccountKey) -> Answer<Option<Account>> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Answer::Done(find_one(&self.pool, &key));
        }
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut lane = lock(&self.lane);
            lane.waiting.push(Waiting { key, reply });
            !std::mem::replace(&mut lane.running, true)
        };
        if start {
            tokio::spawn(answer_waiting(
                self.settings.clone(),
                Arc::clone(&self.lane),
            ));
        }
        Answer::Pending(Box::pin(async move {
            answer
                .await
                .unwrap_or_else(|_| Err(StoreError::Failed("a database task stopped".to_owned())))
        }))
    }

    /// Closes the kept connection (a running task closes its own when it ends).
    pub(super) fn close(&self) {
        let mut lane = lock(&self.lane);
        lane.closed = true;
        lane.reader = None;
    }
}

fn lock(lane: &Mutex<Lane>) -> MutexGuard<'_, Lane> {
    lane.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn find_one(pool: &Pool, key: &AccountKey) -> Found {
    pool.with(|conn| {
        let session = Session::reading(conn);
        let found = session.find(key);
        (found, session.trouble())
    })
}

/// Answers batch after batch until nobody waits.
async fn answer_waiting(settings: Settings, lane: Arc<Mutex<Lane>>) {
    loop {
        let (batch, kept) = {
            let mut lane = lock(&lane);
            if lane.waiting.is_empty() {
                lane.running = false;
                return;
            }
            let taken = lane.waiting.len().min(MOST_PER_QUERY);
            let batch: Vec<Waiting> = lane.waiting.drain(..taken).collect();
            (batch, lane.reader.take())
        };
        let reader = match kept {
            Some(reader) if !reader.client.is_closed() => Ok(reader),
            _ => open(&settings).await,
        };
        let found = match &reader {
            Ok(reader) => find_all(reader, &batch).await,
            Err(error) => Err(error.clone()),
        };
        // After a failed query the connection may be broken before the client can tell:
        // the next batch opens a fresh one.
        if let (Ok(reader), Ok(_)) = (reader, &found) {
            let mut lane = lock(&lane);
            if !lane.closed {
                lane.reader = Some(reader);
            }
        }
        answer(batch, found);
    }
}

async fn open(settings: &Settings) -> Result<Reader, StoreError> {
    let (client, driver) = connect_async(settings).await.map_err(|error| {
        log::warn!("cannot reach the database: {error}");
        StoreError::Busy
    })?;
    tokio::spawn(driver);
    let failed = |error: tokio_postgres::Error| store_error(&error);
    // This connection asks nothing but its two lookups, each by a unique index: without
    // statistics (a database just filled) the planner would scan the table instead. And for
    // `= ANY($1)` it would plan every execution afresh (it deems a plan made for the array it
    // is given cheaper than one for any array): 0.12 ms each time, to run a lookup of 0.02 ms.
    client
        .batch_execute(
            "SET statement_timeout = '30s'; SET enable_seqscan = off; \
             SET plan_cache_mode = force_generic_plan",
        )
        .await
        .map_err(failed)?;
    Ok(Reader {
        by_sid: client.prepare(FIND_ALL_BY_SID).await.map_err(failed)?,
        by_email: client.prepare(FIND_ALL_BY_EMAIL).await.map_err(failed)?,
        client,
    })
}

/// The accounts with any of the batch's keys, in no particular order.
async fn find_all(reader: &Reader, batch: &[Waiting]) -> Result<Vec<Account>, StoreError> {
    let mut sids = Vec::new();
    let mut emails = Vec::new();
    for waiting in batch {
        match &waiting.key {
            AccountKey::Sid(sid) => sids.push(sid.as_str()),
            AccountKey::Email(email) => emails.push(email.as_str()),
        }
    }
    let mut accounts = Vec::new();
    for (statement, values) in [(&reader.by_sid, sids), (&reader.by_email, emails)] {
        if values.is_empty() {
            continue;
        }
        let rows = reader
            .client
            .query(statement, &[&values])
            .await
            .map_err(|error| store_error(&error))?;
        for row in rows {
            accounts.push(account_from_row(&row)?);
        }
    }
    Ok(accounts)
}

fn answer(batch: Vec<Waiting>, found: Result<Vec<Account>, StoreError>) {
    match found {
        Ok(accounts) => {
            let found = Index::of(&accounts);
            for waiting in batch {
                let account = found.get(&waiting.key).cloned();
                let _ = waiting.reply.send(Ok(account));
            }
        }
        Err(error) => {
            for waiting in batch {
                let _ = waiting.reply.send(Err(error.clone()));
            }
        }
    }
}

/// The accounts a query brought back, by Sid and by email address.
struct Index<'a> {
    by_sid: HashMap<&'a str, &'a Account>,
    by_email: HashMap<&'a str, &'a Account>,
}

impl<'a> Index<'a> {
    fn of(accounts: &'a [Account]) -> Index<'a> {
        let by_sid = accounts.iter().map(|a| (a.sid.as_str(), a)).collect();
        let by_email = accounts
            .iter()
            .filter_map(|a| Some((a.email.as_ref()?.as_str(), a)))
            .collect();
        Index { by_sid, by_email }
    }

    fn get(&self, key: &AccountKey) -> Option<&'a Account> {
        match key {
            AccountKey::Sid(sid) => self.by_sid.get(sid.as_str()).copied(),
            AccountKey::Email(email) => self.by_email.get(email.as_str()).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::{AccountSid, Email};

    #[test]
    fn each_key_finds_the_account_it_names_or_none() {
        let mut first = Account::sample(None);
        first.email = Some(Email::parse("first@example.com").unwrap());
        let second = Account::sample(None);
        let accounts = [first.clone(), second.clone()];
        let index = Index::of(&accounts);
        let sid_of = |key: AccountKey| index.get(&key).map(|a| a.sid.as_str().to_owned());
        assert_eq!(
            sid_of(AccountKey::Sid(second.sid.clone())).as_deref(),
            Some(second.sid.as_str())
        );
        assert_eq!(
            sid_of(AccountKey::Email(
                Email::parse("first@example.com").unwrap()
            ))
            .as_deref(),
            Some(first.sid.as_str())
        );
        assert_eq!(sid_of(AccountKey::Sid(AccountSid::random())), None);
        assert_eq!(
            sid_of(AccountKey::Email(
                Email::parse("other@example.com").unwrap()
            )),
            None
        );
    }
}
