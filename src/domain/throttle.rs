//! Counts failed authentications in fixed windows. Successful requests only read one map
//! entry; failures past the limit are refused before any secret is checked, so a blocked
//! guesser cannot learn that a later guess was right.
//!
//! Why not the `governor` crate: its keyed limiter only offers `check_key`, which consumes a
//! cell whenever it lets one through; there is no way to ask "is this key blocked?" without
//! spending. Checking before the secret would count every successful login as an attempt (an
//! owner could throttle itself, and every request would pay a write); checking after a failure
//! only finds the key exhausted once the 101st guess has already been tested, so refusing it
//! beforehand would need a second "blocked until" map beside governor's store, which then does
//! no more than the counter below. Its keyed store also grows until `retain_recent` is called
//! from a housekeeping task; this one bounds itself.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub struct Throttle<K> {
    limit: u32,
    window: Duration,
    /// Bounds memory under a flood of distinct keys.
    max_keys: usize,
    /// Read-locked on every authentication, write-locked only when one fails.
    windows: RwLock<HashMap<K, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(limit: u32, window: Duration) -> Throttle<K> {
        Throttle {
            limit,
            window,
            max_keys: 100_000,
            windows: RwLock::new(HashMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<K, Window>> {
        self.windows
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<K, Window>> {
        self.windows
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seconds until `key` may try again, or `None` when it may try now.
    pub fn retry_after(&self, key: &K) -> Option<u64> {
        let windows = self.read();
        let window = windows.get(key)?;
        let elapsed = window.started.elapsed();
        (window.failures >= self.limit && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, key: &K) {
        let mut windows = self.write();
        if windows.len() >= self.max_keys && !windows.contains_key(key) {
            let window = self.window;
            windows.retain(|_, w| w.started.elapsed() < window);
            if windows.len() >= self.max_keys {
                return;
            }
        }
        let now = Instant::now();
        let window = windows.entry(key.clone()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if window.started.elapsed() >= self.window {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let throttle = Throttle::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            assert_eq!(throttle.retry_after(&"a"), None);
            throttle.record_failure(&"a");
        }
        assert!(throttle.retry_after(&"a").is_some());
        assert_eq!(
            throttle.retry_after(&"b"),
            None,
            "other keys are not affected"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(throttle.retry_after(&"a"), None);
        throttle.record_failure(&"a");
        assert_eq!(
            throttle.retry_after(&"a"),
            None,
            "a new window starts from zero"
        );
    }
}
