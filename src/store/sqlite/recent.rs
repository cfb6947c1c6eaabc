//! Accounts and keys as the readers last found them, kept until the next commit.
//!
//! Every authenticated request reads its caller (and a key's request its key too), and between
//! two commits those rows cannot change. `PRAGMA data_version` says whether anything was
//! committed since, by this server's writer or by another process: reading that one number
//! costs less than the read transaction, statement and parsing of every column it spares.
//! Rows are filed under the version read *before* them, so a row can only be newer than its
//! version, never older; the first commit after retires them all.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::domain::account::{Account, AccountSid};
use crate::domain::keys::{ApiKey, KeySid};

/// Enough for every caller of a busy server; past it the map starts again, which costs one
/// read per row and bounds the memory at a few MiB.
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(super) struct Recent {
    rows: Mutex<Rows>,
}

#[derive(Default)]
struct Rows {
    version: u64,
    accounts: HashMap<AccountSid, Account>,
    keys: HashMap<KeySid, ApiKey>,
}

impl Rows {
    /// The rows of `version`, emptied first if they were filed under an older one; `None` for
    /// a reader that read its version before the last commit seen here.
    fn at(&mut self, version: u64) -> Option<&mut Rows> {
        if version < self.version {
            return None;
        }
        if version > self.version {
            self.version = version;
            self.accounts.clear();
            self.keys.clear();
        }
        Some(self)
    }
}

impl Recent {
    pub fn account(&self, version: u64, sid: &AccountSid) -> Option<Account> {
        let rows = self.lock();
        (rows.version == version)
            .then(|| rows.accounts.get(sid).cloned())
            .flatten()
    }

    pub fn keep_account(&self, version: u64, account: &Account) {
        if let Some(rows) = self.lock().at(version) {
            keep(&mut rows.accounts, account.sid.clone(), account);
        }
    }

    pub fn key(&self, version: u64, sid: &KeySid) -> Option<ApiKey> {
        let rows = self.lock();
        (rows.version == version)
            .then(|| rows.keys.get(sid).cloned())
            .flatten()
    }

    pub fn keep_key(&self, version: u64, key: &ApiKey) {
        if let Some(rows) = self.lock().at(version) {
            keep(&mut rows.keys, key.sid.clone(), key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rows> {
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn keep<K: Hash + Eq, V: Clone>(map: &mut HashMap<K, V>, key: K, value: &V) {
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(key, value.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::FriendlyName;

    fn account(name: &str) -> Account {
        Account {
            friendly_name: FriendlyName::parse(name).unwrap(),
            ..Account::sample(None)
        }
    }

    #[test]
    fn a_row_is_answered_only_under_the_version_it_was_read_at() {
        let recent = Recent::default();
        let kept = account("kept");
        recent.keep_account(7, &kept);
        assert_eq!(
            recent.account(7, &kept.sid).unwrap().friendly_name,
            kept.friendly_name
        );
        assert!(recent.account(8, &kept.sid).is_none());
        assert!(recent.account(6, &kept.sid).is_none());
    }

    #[test]
    fn a_newer_version_retires_every_row_and_an_older_one_files_nothing() {
        let recent = Recent::default();
        let (first, second) = (account("first"), account("second"));
        recent.keep_account(7, &first);
        recent.keep_account(8, &second);
        assert!(recent.account(8, &first.sid).is_none());
        assert!(recent.account(8, &second.sid).is_some());
        // A reader that read version 7 may hold a row older than a commit seen since.
        recent.keep_account(7, &first);
        assert!(recent.account(7, &first.sid).is_none());
        assert!(recent.account(8, &first.sid).is_none());
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity() {
        let recent = Recent::default();
        for index in 0..CAPACITY + 10 {
            recent.keep_account(1, &account(&format!("account {index}")));
        }
        assert!(recent.lock().accounts.len() <= CAPACITY);
    }
}
