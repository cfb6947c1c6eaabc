//! Rendered list pages, answered again while nothing has been committed since they were made.
//!
//! Consoles and SDKs ask for the same pages over and over between writes; rendering a page of
//! fifty accounts costs far more than checking that the database has not changed. Any commit,
//! by this server or by another process (an `admin reset-password`, say), changes the store's
//! data version and so retires every page at once. Pages hold AuthTokens, like every account
//! answer: they live in this process's memory only, within a fixed budget.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use actix_web::web::Bytes;

use super::format::Format;
use crate::domain::store::DataVersion;

/// About sixty pages of fifty accounts; the largest page (1000 accounts, 1.4 MiB) still fits.
const BUDGET_BYTES: usize = 4 * 1024 * 1024;

pub struct PageCache {
    budget: usize,
    pages: Mutex<Pages>,
}

#[derive(Default)]
struct Pages {
    by_key: HashMap<String, Page>,
    bytes: usize,
}

struct Page {
    version: DataVersion,
    body: Bytes,
}

impl Default for PageCache {
    fn default() -> PageCache {
        PageCache::with_budget(BUDGET_BYTES)
    }
}

impl PageCache {
    pub fn with_budget(budget: usize) -> PageCache {
        PageCache {
            budget,
            pages: Mutex::new(Pages::default()),
        }
    }

    /// The same caller asking the same query in the same format gets the same bytes.
    pub fn key(caller: &str, format: Format, query: &str) -> String {
        let format = match format {
            Format::Json => "json",
            Format::Xml => "xml",
        };
        format!("{caller} {format} {query}")
    }

    fn pages(&self) -> MutexGuard<'_, Pages> {
        // A panic while holding the lock cannot leave a half-made entry behind.
        self.pages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &str, version: &DataVersion) -> Option<Bytes> {
        let pages = self.pages();
        let page = pages.by_key.get(key)?;
        (page.version == *version).then(|| page.body.clone())
    }

    pub fn put(&self, key: String, version: DataVersion, body: Bytes) {
        if body.len() > self.budget {
            return;
        }
        let mut pages = self.pages();
        if let Some(old) = pages.by_key.remove(&key) {
            pages.bytes -= old.body.len();
        }
        if pages.bytes + body.len() > self.budget {
            // Pages of older versions can never be answered again; drop them first.
            let Pages { by_key, bytes } = &mut *pages;
            by_key.retain(|_, page| {
                page.version == version || {
                    *bytes -= page.body.len();
                    false
                }
            });
        }
        while pages.bytes + body.len() > self.budget {
            let Some(victim) = pages.by_key.keys().next().cloned() else {
                break;
            };
            if let Some(old) = pages.by_key.remove(&victim) {
                pages.bytes -= old.body.len();
            }
        }
        pages.bytes += body.len();
        pages.by_key.insert(key, Page { version, body });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(counter: u64) -> DataVersion {
        DataVersion::counter(counter)
    }

    fn body(size: usize) -> Bytes {
        Bytes::from(vec![b'x'; size])
    }

    #[test]
    fn answers_only_at_the_version_it_was_made_at() {
        let cache = PageCache::default();
        let key = PageCache::key("AC1", Format::Json, "PageSize=2");
        cache.put(key.clone(), v(7), body(3));
        assert_eq!(cache.get(&key, &v(7)).unwrap().len(), 3);
        assert!(cache.get(&key, &v(8)).is_none());
        assert!(cache
            .get(&PageCache::key("AC2", Format::Json, "PageSize=2"), &v(7))
            .is_none());
        assert!(cache
            .get(&PageCache::key("AC1", Format::Xml, "PageSize=2"), &v(7))
            .is_none());
    }

    #[test]
    fn stays_within_its_budget_dropping_old_versions_first() {
        let cache = PageCache::with_budget(10);
        cache.put("old".into(), v(1), body(4));
        cache.put("a".into(), v(2), body(4));
        cache.put("b".into(), v(2), body(4));
        assert!(
            cache.get("old", &v(1)).is_none(),
            "the old version went first"
        );
        assert!(cache.get("a", &v(2)).is_some() && cache.get("b", &v(2)).is_some());
        cache.put("c".into(), v(2), body(4));
        assert_eq!(cache.pages().bytes, 8);
        assert_eq!(cache.pages().by_key.len(), 2);
        cache.put("huge".into(), v(2), body(11));
        assert!(
            cache.get("huge", &v(2)).is_none(),
            "a page over the budget is not kept"
        );
        cache.put("c".into(), v(2), body(2));
        assert!(cache.pages().bytes <= 10);
    }
}
