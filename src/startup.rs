//! Builds the whole application from a [`Config`]: the tests and `main` start the same thing.

use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};

use crate::config::Config;
use crate::domain::credentials::{Credentials, InstallationKey, Password};
use crate::domain::error::DomainError;
use crate::domain::service::{AccountService, FirstAdministrator};
use crate::http::{routes, security, PageCache};
use crate::store::{InstanceLock, OpenError, SqliteStore, StoreOptions};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why the server could not start; each is one line for the operator, naming no file path
/// beyond the file's role.
#[derive(Debug)]
pub enum StartupError {
    Listen(std::io::Error),
    Database(OpenError),
    Key(String),
    FirstAdministrator(String),
    Tls(String),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Listen(error) => {
                write!(f, "cannot listen on the configured address: {error}")
            }
            StartupError::Database(error) => write!(f, "{error}"),
            StartupError::Key(message) => f.write_str(message),
            StartupError::FirstAdministrator(message) => {
                write!(f, "cannot create the first administrator: {message}")
            }
            StartupError::Tls(message) => f.write_str(message),
        }
    }
}

impl From<DomainError> for StartupError {
    fn from(error: DomainError) -> StartupError {
        StartupError::FirstAdministrator(error.to_string())
    }
}

pub struct Application {
    address: SocketAddr,
    server: Server,
    first_administrator: Option<FirstAdministrator>,
    config: Config,
    store: Arc<SqliteStore>,
    /// Held for the life of the server; see [`InstanceLock`].
    _lock: InstanceLock,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let listener = TcpListener::bind(&config.listen).map_err(StartupError::Listen)?;
        let address = listener.local_addr().map_err(StartupError::Listen)?;
        // Before the database is touched, so a bad certificate leaves no new file behind.
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::server_config(files).map_err(StartupError::Tls)?),
            None => None,
        };
        if let Some(password) = config.admin_password.as_deref() {
            // Refuse a bad first password before a new database file is created for it.
            if !config.db_path.exists() {
                let name = FirstAdministrator::name();
                Password::parse(password, Some(&config.admin_email), Some(&name)).map_err(|e| {
                    StartupError::FirstAdministrator(format!(
                        "SWITCHBOARD_ADMIN_PASSWORD {}",
                        e.reason
                    ))
                })?;
            }
        }
        let lock = InstanceLock::acquire(&config.db_path).map_err(StartupError::Database)?;
        let readers = u32::try_from(config.workers)
            .unwrap_or(u32::MAX)
            .saturating_add(2);
        let options = StoreOptions {
            readers,
            busy_wait: config.busy_wait,
            storage_limit: config.storage_limit.clone(),
            ..StoreOptions::new(config.db_path.clone(), config.sync)
        };
        // Every check that can refuse the start runs before the first write to the file.
        let checked = SqliteStore::check(&options).map_err(StartupError::Database)?;
        let holds_accounts = checked.holds_accounts().map_err(StartupError::Database)?;
        let key = load_or_create_key(&config.key_file, !holds_accounts)?;
        let store = Arc::new(checked.start().map_err(StartupError::Database)?);
        let service = AccountService::new(
            store.clone(),
            Credentials::new(key, config.bcrypt_cost),
            config.throttle.clone(),
        );
        let first_administrator = service
            .bootstrap(config.admin_email.clone(), config.admin_password.as_deref())
            .await?;
        let service = web::Data::new(service);
        let pages = web::Data::new(PageCache::default());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(service.clone())
                .app_data(pages.clone())
                .wrap(security::default_headers())
                .wrap(middleware::from_fn(security::access_log))
                .configure(routes::configure)
        })
        .workers(config.workers)
        .disable_signals()
        .client_request_timeout(security::HEAD_TIMEOUT)
        .client_disconnect_timeout(security::DISCONNECT_TIMEOUT);
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(StartupError::Listen)?
        .run();
        Ok(Application {
            address,
            server,
            first_administrator,
            config,
            store,
            _lock: lock,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn first_administrator(&self) -> Option<&FirstAdministrator> {
        self.first_administrator.as_ref()
    }

    /// The start-up log line, and on a first start the administrator's one-time password,
    /// printed to the terminal and never to the log.
    pub fn announce(&self) {
        let database = self
            .config
            .db_path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        log::info!(
            "Switchboard {VERSION} listening on {}://{}, database {database}, sync {}",
            if self.config.tls.is_some() {
                "https"
            } else {
                "http"
            },
            self.address,
            self.config.sync.as_str()
        );
        if let Some(first) = &self.first_administrator {
            let email = first.account.email.as_ref().map_or("", |e| e.as_str());
            match &first.generated_password {
                Some(password) => println!(
                    "First start: created the administrator {email} with this one-time password:\n\n    {}\n\n\
                     It is shown only this once. Sign in with it at {scheme}://{address}/console/ and choose a \
                     new password, or set one with:\n    \
                     curl -u '{email}:PASSWORD' -X POST {scheme}://{address}/restcomm/2012-04-24/Accounts/{email}.json \
                     --data-urlencode 'Password=NEW PASSWORD'",
                    password.expose(),
                    scheme = self.scheme(),
                    address = self.address
                ),
                None => println!(
                    "First start: created the administrator {email} with the configured password. \
                     The console is at {}://{}/console/",
                    self.scheme(),
                    self.address
                ),
            }
        }
    }

    fn scheme(&self) -> &'static str {
        if self.config.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Serves until stopped, then commits what is queued and folds the log into the file.
    pub async fn run(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        let store = self.store;
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        log::info!("stopped");
        outcome
    }

    /// [`Application::run`], stopped gracefully by SIGTERM or SIGINT: new connections are
    /// refused, requests in flight are answered, then the process may exit 0. A second
    /// signal stops at once (answered writes are durable either way).
    pub async fn run_until_signal(self, mut signals: StopSignals) -> std::io::Result<()> {
        let handle = self.server.handle();
        actix_web::rt::spawn(async move {
            signals.next().await;
            log::info!("stopping: answering the requests in flight");
            tokio::select! {
                _ = handle.stop(true) => {}
                _ = signals.next() => {
                    log::warn!("second signal: stopping at once");
                    handle.stop(false).await;
                }
            }
        });
        self.run().await
    }
}

/// SIGTERM and SIGINT, caught from the moment this is made (make it before announcing the
/// server, so that a signal sent right after the announcement is not fatal).
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Must run inside the runtime.
    pub fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// The key of an installation that already holds accounts; never creates one.
pub fn load_key(path: &Path) -> Result<InstallationKey, StartupError> {
    load_or_create_key(path, false)
}

/// The key lives outside the database. It is created only for an empty database: for one that
/// holds accounts, a new key would silently change every AuthToken and password check.
fn load_or_create_key(path: &Path, database_empty: bool) -> Result<InstallationKey, StartupError> {
    match std::fs::read_to_string(path) {
        Ok(text) => InstallationKey::from_hex(&text)
            .ok_or_else(|| StartupError::Key("the key file is not a valid Switchboard key".into())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if !database_empty {
                return Err(StartupError::Key(
                    "the database holds accounts but its key file is missing: restore the key file \
                     (see --key-file) from the backup taken with the database"
                        .into(),
                ));
            }
            let key = InstallationKey::generate();
            write_key(path, &key)
                .map_err(|e| StartupError::Key(format!("cannot create the key file: {e}")))?;
            Ok(key)
        }
        Err(error) => Err(StartupError::Key(format!(
            "cannot read the key file: {error}"
        ))),
    }
}

fn write_key(path: &Path, key: &InstallationKey) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", key.to_hex())?;
    file.sync_all()?;
    // The new name must survive a power cut too: the database written next depends on it.
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)?.sync_all()
}
