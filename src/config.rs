//! The validated settings the server starts from.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::account::Email;
use crate::domain::secret::Secret;
use crate::domain::service::ThrottleLimits;
use crate::http::client::TrustedProxies;
use crate::store::{StorageLimit, StoreOptions, SyncMode};

#[derive(Clone, Debug)]
pub struct Config {
    pub db_path: PathBuf,
    /// `ADDR:PORT`; port 0 picks a free port (the tests use it).
    pub listen: String,
    pub key_file: PathBuf,
    /// Used only on the first start, when the database is empty.
    pub admin_email: Email,
    /// Used only on the first start; `None` generates one and prints it once. Never printed,
    /// `{:?}` of a Config included.
    pub admin_password: Option<Secret>,
    pub bcrypt_cost: u32,
    pub workers: usize,
    pub sync: SyncMode,
    pub throttle: ThrottleLimits,
    /// How long a write waits for a database lock held by another process before it is
    /// answered 503. Not a flag: the default suits every installation; tests shorten it.
    pub busy_wait: Duration,
    /// A cap on the database's size. Not a flag: the tests use it to fill the "disk".
    pub storage_limit: Option<StorageLimit>,
    /// PEM files to serve HTTPS with; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Peers whose `X-Forwarded-For` names the client; none by default.
    pub trusted_proxies: TrustedProxies,
    /// `ADDR:PORT` of the Prometheus listener; `None` (the default) serves no metrics.
    pub metrics_listen: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    pub const DEFAULT_ADMIN_EMAIL: &'static str = "administrator@company.com";
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_BCRYPT_COST: u32 = 12;

    /// The defaults of the command line for a database at `db_path`.
    pub fn new(db_path: PathBuf) -> Config {
        Config {
            key_file: default_key_file(&db_path),
            db_path,
            listen: Self::DEFAULT_LISTEN.into(),
            admin_email: Email::parse(Self::DEFAULT_ADMIN_EMAIL)
                .expect("the default email is valid"),
            admin_password: None,
            bcrypt_cost: Self::DEFAULT_BCRYPT_COST,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            sync: SyncMode::Full,
            throttle: ThrottleLimits::default(),
            busy_wait: StoreOptions::DEFAULT_BUSY_WAIT,
            storage_limit: None,
            tls: None,
            trusted_proxies: TrustedProxies::default(),
            metrics_listen: None,
        }
    }
}

/// The database path with `.key` appended.
pub fn default_key_file(db_path: &std::path::Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_printed_for_debugging_shows_no_password() {
        let sentinel = "sentinel-password-7f3a9c";
        let mut config = Config::new(PathBuf::from("/srv/switchboard.db"));
        config.admin_password = Some(Secret::new(sentinel));
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!shown.contains(sentinel), "{shown}");
            assert!(shown.contains("[secret]"), "{shown}");
        }
    }
}
