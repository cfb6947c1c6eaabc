//! The rules of the Accounts API: who may do what to whom. No HTTP types and no SQL here;
//! storage is reached through the traits of [`store`].

pub mod account;
pub mod credentials;
pub mod error;
pub mod event;
pub mod paging;
pub mod secret;
pub mod service;
pub mod store;
pub mod throttle;

/// Randomness for Sids, salts and keys, straight from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source is unavailable");
    bytes
}
