//! Counts failed authentications in fixed windows. Successful requests never write here, and
//! most never look here at all: the service asks only before it would test a password.
//!
//! Why not the `governor` crate: its keyed limiter only offers `check_key`, which consumes a
//! cell whenever it lets one through; there is no way to ask "is this key blocked?" without
//! spending. Checking before the secret would count every successful login as an attempt (an
//! owner could throttle itself, and every request would pay a write); checking after a failure
//! only finds the key exhausted once the 101st guess has already been tested, so refusing it
//! beforehand would need a second "blocked until" map beside governor's store, which then does
//! no more than the counter below. Its keyed store also grows until `retain_recent` is called
//! from a housekeeping task; this one bounds itself.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::store::Answer;

/// How many failed authentications are allowed per window.
#[derive(Clone, Debug)]
pub struct ThrottleLimits {
    /// Per client: an IPv4 address, or an IPv6 /64.
    pub per_address: u32,
    /// Per user name presented (a Sid, or an email address), whether an account has it or not.
    pub per_account: u32,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    /// NIST SP 800-63B: at most 100 failed attempts per account.
    fn default() -> ThrottleLimits {
        ThrottleLimits {
            per_address: 100,
            per_account: 100,
            window: Duration::from_secs(3600),
        }
    }
}

/// One counter an authentication is checked against: its client (see [`client_of`]) or the
/// user name it presented.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKey {
    Client(IpAddr),
    Name(NameKey),
}

impl FailureKey {
    /// A tag, then the address or the name key: the kinds can never collide, and a client
    /// is at most 17 bytes whatever was sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(17);
        match self {
            FailureKey::Client(IpAddr::V4(v4)) => {
                bytes.push(b'4');
                bytes.extend_from_slice(&v4.octets());
            }
            FailureKey::Client(IpAddr::V6(v6)) => {
                bytes.push(b'6');
                bytes.extend_from_slice(&v6.octets());
            }
            FailureKey::Name(NameKey(name)) => {
                bytes.push(b'n');
                bytes.extend_from_slice(name);
            }
        }
        bytes
    }
}

/// The failed-authentication counters, wherever they are kept: each store provides them
/// (see [`super::store::Store::failure_counts`]), so that nodes sharing a database also share
/// its counts.
pub trait FailureCounts: Send + Sync {
    /// Seconds until every one of `keys` may try again (the longest wait), or `None` when
    /// none is past its limit.
    fn retry_after(&self, keys: &[FailureKey]) -> Answer<Option<u64>>;
    /// One more failure for each of `keys`.
    fn record(&self, keys: &[FailureKey]) -> Answer<()>;
}

/// The counts of one process, for a database that only one process serves.
pub struct MemoryCounts {
    by_client: Throttle<IpAddr>,
    by_name: Throttle<NameKey>,
}

impl MemoryCounts {
    pub fn new(limits: &ThrottleLimits) -> MemoryCounts {
        MemoryCounts {
            by_client: Throttle::new(limits.per_address, limits.window),
            by_name: Throttle::new(limits.per_account, limits.window),
        }
    }

    fn retry_after_one(&self, key: &FailureKey) -> Option<u64> {
        match key {
            FailureKey::Client(client) => self.by_client.retry_after(client),
            FailureKey::Name(name) => self.by_name.retry_after(name),
        }
    }
}

impl FailureCounts for MemoryCounts {
    fn retry_after(&self, keys: &[FailureKey]) -> Answer<Option<u64>> {
        let longest = keys
            .iter()
            .filter_map(|key| self.retry_after_one(key))
            .max();
        Answer::Done(Ok(longest))
    }

    fn record(&self, keys: &[FailureKey]) -> Answer<()> {
        for key in keys {
            match key {
                FailureKey::Client(client) => self.by_client.record_failure(client),
                FailureKey::Name(name) => self.by_name.record_failure(name),
            }
        }
        Answer::Done(Ok(()))
    }
}

/// Independent locks, so that concurrent failures (and the reads of other keys) rarely wait
/// on each other.
const SHARDS: usize = 16;

pub struct Throttle<K> {
    limit: u32,
    window: Duration,
    /// Keys per shard; past it, the shard forgets its oldest window.
    capacity: usize,
    shards: Box<[RwLock<Shard<K>>]>,
    pick: RandomState,
}

/// Every key in `windows` has exactly one entry in `started`, and `started` is in the order
/// the windows began. Windows all last as long, so the expired ones are always a prefix of
/// `started` and the oldest live one comes right after them: both are found in O(1).
struct Shard<K> {
    windows: HashMap<K, Window>,
    started: VecDeque<(K, Instant)>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// At most 100 000 keys in all, a few megabytes.
    pub fn new(limit: u32, window: Duration) -> Throttle<K> {
        Throttle::with_capacity(limit, window, 100_000, SHARDS)
    }

    fn with_capacity(limit: u32, window: Duration, max_keys: usize, shards: usize) -> Self {
        let shards = shards.max(1);
        Throttle {
            limit,
            window,
            capacity: max_keys.div_ceil(shards).max(1),
            shards: (0..shards)
                .map(|_| {
                    RwLock::new(Shard {
                        windows: HashMap::new(),
                        started: VecDeque::new(),
                    })
                })
                .collect(),
            pick: RandomState::new(),
        }
    }

    fn shard(&self, key: &K) -> &RwLock<Shard<K>> {
        let index = self.pick.hash_one(key) as usize % self.shards.len();
        &self.shards[index]
    }

    fn read(&self, key: &K) -> RwLockReadGuard<'_, Shard<K>> {
        // A panic while holding the lock cannot leave a shard half-written, so keep going.
        self.shard(key)
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self, key: &K) -> RwLockWriteGuard<'_, Shard<K>> {
        self.shard(key)
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seconds until `key` may try again, or `None` when it may try now.
    pub fn retry_after(&self, key: &K) -> Option<u64> {
        let shard = self.read(key);
        let window = shard.windows.get(key)?;
        let elapsed = window.started.elapsed();
        (window.failures >= self.limit && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, key: &K) {
        let mut shard = self.write(key);
        // Taken under the lock, so that `started` stays in order.
        let now = Instant::now();
        shard.forget_expired(now, self.window);
        if let Some(window) = shard.windows.get_mut(key) {
            window.failures = window.failures.saturating_add(1);
            return;
        }
        if shard.windows.len() >= self.capacity {
            shard.forget_oldest();
        }
        shard.windows.insert(
            key.clone(),
            Window {
                started: now,
                failures: 1,
            },
        );
        shard.started.push_back((key.clone(), now));
    }
}

impl<K: Hash + Eq> Shard<K> {
    fn forget_expired(&mut self, now: Instant, window: Duration) {
        while self
            .started
            .front()
            .is_some_and(|(_, started)| now.duration_since(*started) >= window)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((key, _)) = self.started.pop_front() {
            self.windows.remove(&key);
        }
    }
}

/// What one client is counted as: an IPv4 address, or an IPv6 /64, the smallest network a
/// provider hands to one customer (who can pick any address inside it). An IPv4-mapped IPv6
/// address is the IPv4 client it stands for.
pub fn client_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
    }
}

/// A presented user name as a counter's key: 16 bytes whatever was sent, so a flood of huge
/// names costs no more memory (or rows) than short ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameKey([u8; 16]);

/// Keyed by a secret, so nobody can choose names whose counters collide. Nodes sharing a
/// database share their counters, so the secret is derived from the installation key (see
/// [`super::credentials::InstallationKey::failure_names`]) rather than drawn per process.
pub struct NameKeys {
    keyed: Hmac<Sha256>,
}

impl NameKeys {
    /// Under a random secret of this process alone.
    pub fn new() -> NameKeys {
        NameKeys::with_secret(&super::random_bytes::<32>())
    }

    pub fn with_secret(secret: &[u8]) -> NameKeys {
        NameKeys {
            keyed: Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"),
        }
    }

    /// `name` should already be normalized (a Sid, or a lowercase email address).
    pub fn key(&self, name: &str) -> NameKey {
        let mut mac = self.keyed.clone();
        mac.update(name.as_bytes());
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        NameKey(key)
    }
}

impl Default for NameKeys {
    fn default() -> NameKeys {
        NameKeys::new()
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

    #[test]
    fn a_full_table_forgets_its_oldest_window_and_keeps_counting() {
        let throttle = Throttle::with_capacity(2, Duration::from_secs(3600), 3, 1);
        for key in 0..10u32 {
            throttle.record_failure(&key);
            throttle.record_failure(&key);
            assert!(throttle.retry_after(&key).is_some(), "key {key} is counted");
        }
        let shard = throttle.read(&0);
        assert_eq!(shard.windows.len(), 3);
        assert_eq!(shard.started.len(), 3);
        drop(shard);
        assert_eq!(throttle.retry_after(&0), None, "the oldest was forgotten");
        assert!(throttle.retry_after(&9).is_some());
    }

    #[test]
    fn expired_windows_leave_the_table_as_new_failures_come() {
        let throttle = Throttle::with_capacity(1, Duration::from_millis(50), 100, 1);
        for key in 0..5u32 {
            throttle.record_failure(&key);
        }
        std::thread::sleep(Duration::from_millis(80));
        throttle.record_failure(&7);
        let shard = throttle.read(&7);
        assert_eq!(shard.windows.len(), 1);
        assert_eq!(shard.started.len(), 1);
    }

    #[test]
    fn a_key_whose_window_expired_starts_a_new_one_at_the_back() {
        let throttle = Throttle::with_capacity(2, Duration::from_millis(50), 2, 1);
        throttle.record_failure(&"old");
        std::thread::sleep(Duration::from_millis(80));
        throttle.record_failure(&"old");
        throttle.record_failure(&"new");
        throttle.record_failure(&"new");
        throttle.record_failure(&"old");
        assert!(throttle.retry_after(&"old").is_some());
        assert!(throttle.retry_after(&"new").is_some());
    }

    #[test]
    fn sharded_tables_count_every_key() {
        let throttle = Throttle::with_capacity(1, Duration::from_secs(3600), 1000, 16);
        for key in 0..500u32 {
            throttle.record_failure(&key);
        }
        assert!((0..500u32).all(|key| throttle.retry_after(&key).is_some()));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let next_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_of(one), client_of(same_64));
        assert_ne!(client_of(one), client_of(next_64));
        assert_eq!(client_of(one), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_of(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(client_of(v4), v4);
    }

    #[test]
    fn name_keys_are_fixed_size_and_stable() {
        let keys = NameKeys::new();
        assert!(keys.key("a@example.com") == keys.key("a@example.com"));
        assert!(keys.key("a@example.com") != keys.key("b@example.com"));
        let huge = "x".repeat(100_000);
        assert_eq!(std::mem::size_of_val(&keys.key(&huge)), 16);
    }
}
