//! Accounts and keys as the readers last found them, kept until the next commit.
//!
//! Every authenticated request reads its caller (and a key's request its key too), and between
//! two commits those rows cannot change. The data version (`commits.rs`) says whether anything
//! was committed since, by this server's writer or by another process: reading that one number
//! costs less than the read transaction, statement and parsing of every column it spares.
//! Rows are filed under the version read *before* them, so a row can only be newer than its
//! version, never older; the first commit after retires them all.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Enough for every caller of a busy server; past it the map starts again, which costs one
/// read per row and bounds the memory at a few MiB.
const CAPACITY: usize = 4096;

/// Rows of one kind by Sid, all read under one data version.
pub(super) struct Kept<K, V> {
    rows: Mutex<Rows<K, V>>,
}

struct Rows<K, V> {
    version: u64,
    by_sid: HashMap<K, V>,
}

impl<K: Hash + Eq + Clone, V: Clone> Kept<K, V> {
    pub fn get(&self, version: u64, sid: &K) -> Option<V> {
        let rows = self.lock();
        (rows.version == version)
            .then(|| rows.by_sid.get(sid).cloned())
            .flatten()
    }

    /// Files `row` under `version`, retiring every row of an older version; a reader that
    /// read its version before the last commit seen here files nothing.
    pub fn keep(&self, version: u64, sid: &K, row: &V) {
        let mut rows = self.lock();
        if version < rows.version {
            return;
        }
        if version > rows.version || rows.by_sid.len() >= CAPACITY {
            rows.version = version;
            rows.by_sid.clear();
        }
        rows.by_sid.insert(sid.clone(), row.clone());
    }

    fn lock(&self) -> MutexGuard<'_, Rows<K, V>> {
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Kept {
            rows: Mutex::new(Rows {
                version: 0,
                by_sid: HashMap::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::{Account, AccountSid, FriendlyName};

    type Recent = Kept<AccountSid, Account>;

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
        recent.keep(7, &kept.sid, &kept);
        assert_eq!(
            recent.get(7, &kept.sid).unwrap().friendly_name,
            kept.friendly_name
        );
        assert!(recent.get(8, &kept.sid).is_none());
        assert!(recent.get(6, &kept.sid).is_none());
    }

    #[test]
    fn a_newer_version_retires_every_row_and_an_older_one_files_nothing() {
        let recent = Recent::default();
        let (first, second) = (account("first"), account("second"));
        recent.keep(7, &first.sid, &first);
        recent.keep(8, &second.sid, &second);
        assert!(recent.get(8, &first.sid).is_none());
        assert!(recent.get(8, &second.sid).is_some());
        // A reader that read version 7 may hold a row older than a commit seen since.
        recent.keep(7, &first.sid, &first);
        assert!(recent.get(7, &first.sid).is_none());
        assert!(recent.get(8, &first.sid).is_none());
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity() {
        let recent = Recent::default();
        for index in 0..CAPACITY + 10 {
            let kept = account(&format!("account {index}"));
            recent.keep(1, &kept.sid, &kept);
        }
        assert!(recent.lock().by_sid.len() <= CAPACITY);
    }
}
