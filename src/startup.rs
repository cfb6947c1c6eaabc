//! Builds the whole application from a [`Config`]: the tests and `main` start the same thing.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::Server;
use actix_web::middleware::{self, Next};
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::domain::credentials::{Credentials, InstallationKey, Password};
use crate::domain::error::{DomainError, Invalid};
use crate::domain::secret::Secret;
use crate::domain::service::{AccountService, FirstAdministrator};
use crate::domain::store::Store;
use crate::http::{observe, routes, security, PageCache};
use crate::key_file::{self, KeyFileError};
use crate::store::{self, InstanceLock, OpenError, Opened, StoreOptions};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why the server could not start; each is one line for the operator, naming no file path
/// beyond the file's role, except for a missing folder of the operator's own configuration.
#[derive(Debug)]
pub enum StartupError {
    Listen(std::io::Error),
    /// The `--metrics-listen` address could not be bound.
    MetricsListen(std::io::Error),
    Database(OpenError),
    /// The folder the database file is to be in does not exist.
    Folder(PathBuf),
    Key(KeyFileError),
    FirstAdministrator(String),
    Tls(String),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Listen(error) => {
                write!(f, "cannot listen on the configured address: {error}")
            }
            StartupError::MetricsListen(error) => {
                write!(f, "cannot listen on the metrics address: {error}")
            }
            StartupError::Database(error) => write!(f, "{error}"),
            StartupError::Folder(folder) => write!(
                f,
                "the database folder {} does not exist: create it, or correct --db",
                folder.display()
            ),
            StartupError::Key(error) => write!(f, "{error}"),
            StartupError::FirstAdministrator(message) => {
                write!(f, "cannot create the first administrator: {message}")
            }
            StartupError::Tls(message) => f.write_str(message),
        }
    }
}

impl From<OpenError> for StartupError {
    fn from(error: OpenError) -> StartupError {
        StartupError::Database(error)
    }
}

impl From<KeyFileError> for StartupError {
    fn from(error: KeyFileError) -> StartupError {
        StartupError::Key(error)
    }
}

impl From<DomainError> for StartupError {
    fn from(error: DomainError) -> StartupError {
        match error {
            DomainError::Invalid(invalid) if invalid.parameter == "Password" => {
                first_password_refused(&invalid)
            }
            other => StartupError::FirstAdministrator(other.to_string()),
        }
    }
}

fn first_password_refused(invalid: &Invalid) -> StartupError {
    StartupError::FirstAdministrator(format!("SWITCHBOARD_ADMIN_PASSWORD {}", invalid.reason))
}

pub struct Application {
    address: SocketAddr,
    server: Server,
    /// The Prometheus listener, when one is configured.
    metrics: Option<(SocketAddr, Server)>,
    first_administrator: Option<FirstAdministrator>,
    config: Config,
    store: Arc<dyn Store>,
    /// Held for the life of the server; see [`InstanceLock`].
    _lock: Option<InstanceLock>,
}

impl Application {
    /// Every check that can refuse the start runs before the first write to the database,
    /// and a refused start takes away the files it created (see [`Leftovers`]).
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let tls = tls_config(&config)?;
        check_before_creating(&config)?;
        let (mut leftovers, listener) = lock_and_bind(&config)?;
        let address = listener.local_addr().map_err(StartupError::Listen)?;
        let metrics_listener = match &config.metrics_listen {
            Some(listen) => Some(TcpListener::bind(listen).map_err(StartupError::MetricsListen)?),
            None => None,
        };
        let checked = check_store(&config, &mut leftovers)?;
        let key = start_key(&checked, &config, &mut leftovers)?;
        let store = checked.start(&key.check_value())?;
        let service = account_service(store.clone(), key, &config);
        let first_administrator = first_administrator(&service, &config).await?;
        let server = http_server(service, &config, listener, tls).map_err(StartupError::Listen)?;
        let metrics = match metrics_listener {
            Some(listener) => {
                let address = listener.local_addr().map_err(StartupError::MetricsListen)?;
                let server = crate::http::metrics::server(listener, Arc::clone(&store))
                    .map_err(StartupError::MetricsListen)?;
                Some((address, server))
            }
            None => None,
        };
        Ok(Application {
            address,
            server,
            metrics,
            first_administrator,
            config,
            store,
            _lock: leftovers.keep(),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops the server from elsewhere; [`Application::run`] then closes the store.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    pub fn first_administrator(&self) -> Option<&FirstAdministrator> {
        self.first_administrator.as_ref()
    }

    /// The start-up log line, and on a first start the administrator's one-time password,
    /// printed to the terminal and never to the log.
    pub fn announce(&self) {
        let database = database_name(&self.config.db_path);
        // SQLite's sync mode is Switchboard's to set; on PostgreSQL the server's own settings
        // (synchronous_commit) decide, so the line names none.
        let sync = if store::is_url(&self.config.db_path) {
            String::new()
        } else {
            format!(", sync {}", self.config.sync.as_str())
        };
        log::info!(
            "Switchboard {VERSION} listening on {}://{}, database {database}{sync}",
            if self.config.tls.is_some() {
                "https"
            } else {
                "http"
            },
            self.address,
        );
        if let Some(address) = self.metrics_address() {
            log::info!("Prometheus metrics at http://{address}/metrics");
        }
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
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        let outcome = self.server.await;
        if let Some(metrics) = metrics {
            metrics.stop(false).await;
        }
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

/// The operator's own path, resolved, so that the line says which file this is; a URL without
/// its password.
fn database_name(db: &Path) -> String {
    match store::postgres_url(db) {
        Ok(Some(settings)) => settings.to_string(),
        Ok(None) => db
            .canonicalize()
            .unwrap_or_else(|_| db.to_owned())
            .display()
            .to_string(),
        Err(_) => "(an invalid URL)".to_owned(),
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

fn http_server(
    service: AccountService,
    config: &Config,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<Server> {
    let service = web::Data::new(service);
    let pages = web::Data::new(PageCache::default());
    let proxies = config.trusted_proxies.clone();
    let metered = config.metrics_listen.is_some();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(service.clone())
            .app_data(pages.clone())
            .app_data(proxies.clone())
            .wrap(security::default_headers())
            .wrap(middleware::from_fn(move |req, next: Next<BoxBody>| {
                observe::observe(req, next, metered)
            }))
            .configure(routes::configure)
    })
    .workers(config.workers)
    .disable_signals()
    .client_request_timeout(security::HEAD_TIMEOUT)
    .client_disconnect_timeout(security::DISCONNECT_TIMEOUT);
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// Read before any file is touched: a bad certificate creates nothing.
fn tls_config(config: &Config) -> Result<Option<rustls::ServerConfig>, StartupError> {
    match &config.tls {
        Some(files) => crate::tls::server_config(files)
            .map(Some)
            .map_err(StartupError::Tls),
        None => Ok(None),
    }
}

/// What must hold before a database is made: the configured first password passes the
/// policy, and the database's folder exists.
fn check_before_creating(config: &Config) -> Result<(), StartupError> {
    if store::is_url(&config.db_path) {
        // Checked as the administrator is made: an existing database may already have one.
        return Ok(());
    }
    if !config.db_path.exists() {
        if let Some(password) = &config.admin_password {
            let name = FirstAdministrator::name();
            Password::parse(password.expose(), Some(&config.admin_email), Some(&name))
                .map_err(|invalid| first_password_refused(&invalid))?;
        }
    }
    require_folder(&config.db_path)
}

/// The instance lock, then the port: a second server on the same database and port is told
/// that the database is taken, which is the real conflict. From here on, a refused start
/// takes away what it made (see [`Leftovers`]).
fn lock_and_bind(config: &Config) -> Result<(Leftovers, TcpListener), StartupError> {
    // PostgreSQL is made to be shared: several nodes may serve one database.
    let lock = match store::is_url(&config.db_path) {
        true => None,
        false => Some(InstanceLock::acquire(&config.db_path)?),
    };
    let leftovers = Leftovers::new(lock);
    let listener = TcpListener::bind(&config.listen).map_err(StartupError::Listen)?;
    Ok((leftovers, listener))
}

/// Opens (or creates) the database file and checks it, writing nothing yet.
fn check_store(config: &Config, leftovers: &mut Leftovers) -> Result<Opened, StartupError> {
    let readers = u32::try_from(config.workers)
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    let options = StoreOptions {
        readers,
        busy_wait: config.busy_wait,
        storage_limit: config.storage_limit.clone(),
        ..StoreOptions::new(config.db_path.clone(), config.sync)
    };
    let checked = store::open(&options)?;
    if checked.created() {
        leftovers.database(&config.db_path);
    }
    Ok(checked)
}

/// The database's own key, made for a first start.
fn start_key(
    checked: &Opened,
    config: &Config,
    leftovers: &mut Leftovers,
) -> Result<InstallationKey, StartupError> {
    let (key, created) = installation_key(checked, &config.key_file)?;
    // A key kept for a database that already existed may be recorded in it by now.
    if created && checked.created() {
        leftovers.file(config.key_file.clone());
    }
    Ok(key)
}

fn account_service(store: Arc<dyn Store>, key: InstallationKey, config: &Config) -> AccountService {
    AccountService::new(
        store,
        Credentials::new(key, config.bcrypt_cost),
        config.throttle.clone(),
    )
}

/// Made on a first start (an empty database) only.
async fn first_administrator(
    service: &AccountService,
    config: &Config,
) -> Result<Option<FirstAdministrator>, StartupError> {
    let first = service
        .bootstrap(
            config.admin_email.clone(),
            config.admin_password.as_ref().map(Secret::expose),
        )
        .await?;
    Ok(first)
}

/// SQLite would only say that it cannot open the file; the operator needs to know which
/// folder is missing.
pub fn require_folder(db_path: &Path) -> Result<(), StartupError> {
    if store::is_url(db_path) {
        return Ok(());
    }
    let folder = match db_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => return Ok(()),
    };
    if folder.is_dir() {
        return Ok(());
    }
    Err(StartupError::Folder(
        std::path::absolute(folder).unwrap_or_else(|_| folder.to_owned()),
    ))
}

/// The key of an existing installation, checked against the database; never creates a key
/// file. For the commands run beside the server.
pub fn existing_installation(
    options: &StoreOptions,
    key_file: &Path,
) -> Result<(Arc<dyn Store>, InstallationKey), StartupError> {
    require_folder(&options.path)?;
    let checked = store::open_existing(options)?;
    let key = key_file::load(key_file)?;
    require_own_key(&checked, &key)?;
    let store = checked.start(&key.check_value())?;
    Ok((store, key))
}

/// Loads the key file, or creates it for a database that has never had one, and refuses a
/// key that is not the database's own. True when the key file was created.
fn installation_key(
    checked: &Opened,
    path: &Path,
) -> Result<(InstallationKey, bool), StartupError> {
    let stored = checked.key_check()?;
    let new_installation = stored.is_none() && !checked.holds_accounts()?;
    let (key, created) = key_file::load_or_create(path, new_installation)?;
    require_own_key(checked, &key)?;
    Ok((key, created))
}

/// Refuses a key that is not the one the database recorded.
fn require_own_key(checked: &Opened, key: &InstallationKey) -> Result<(), StartupError> {
    match checked.key_check()? {
        Some(stored) if stored != key.check_value() => {
            Err(StartupError::Database(OpenError::KeyMismatch))
        }
        _ => Ok(()),
    }
}

/// What a start created, taken away again if the start fails, so that a refused start leaves
/// the folder as it found it. Only files this start made are listed: nothing that existed
/// before is ever removed.
struct Leftovers {
    lock: Option<InstanceLock>,
    files: Vec<PathBuf>,
}

impl Leftovers {
    fn new(lock: Option<InstanceLock>) -> Leftovers {
        Leftovers {
            lock,
            files: Vec::new(),
        }
    }

    fn file(&mut self, path: PathBuf) {
        self.files.push(path);
    }

    /// A new database, and the files its store makes beside it.
    fn database(&mut self, path: &Path) {
        self.files.extend(store::database_files(path));
    }

    /// The start succeeded: everything stays, and the lock is held from now on.
    fn keep(mut self) -> Option<InstanceLock> {
        self.files.clear();
        self.lock.take()
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for path in &self.files {
            let _ = std::fs::remove_file(path);
        }
        // Last, so that no other start can have taken the database in the meantime.
        if let Some(lock) = self.lock.take() {
            lock.release_removing_file();
        }
    }
}
