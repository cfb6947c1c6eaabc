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
use crate::domain::store::Store;
use crate::http::{routes, security};
use crate::store::{OpenError, SqliteStore, StoreOptions};

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
                Password::parse(password, Some(&config.admin_email)).map_err(|e| {
                    StartupError::FirstAdministrator(format!(
                        "SWITCHBOARD_ADMIN_PASSWORD {}",
                        e.reason
                    ))
                })?;
            }
        }
        let readers = u32::try_from(config.workers)
            .unwrap_or(u32::MAX)
            .saturating_add(2);
        let options = StoreOptions {
            path: config.db_path.clone(),
            sync: config.sync,
            readers,
        };
        let store = Arc::new(SqliteStore::open(&options).map_err(StartupError::Database)?);
        let empty = store
            .reader()
            .and_then(|reader| reader.is_empty())
            .map_err(|e| StartupError::Key(e.to_string()))?;
        let key = load_or_create_key(&config.key_file, empty)?;
        let service = AccountService::new(
            store,
            Credentials::new(key, config.bcrypt_cost),
            config.throttle.clone(),
        );
        let first_administrator = service
            .bootstrap(config.admin_email.clone(), config.admin_password.as_deref())
            .await?;
        let service = web::Data::new(service);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(service.clone())
                .wrap(security::default_headers())
                .wrap(middleware::from_fn(security::access_log))
                .configure(routes::configure)
        })
        .workers(config.workers)
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
                     It is shown only this once. Sign in with it and set a new password:\n    \
                     curl -u '{email}:PASSWORD' -X POST {}://{}/restcomm/2012-04-24/Accounts/{email}.json \
                     --data-urlencode 'Password=NEW PASSWORD'",
                    password.expose(),
                    self.scheme(),
                    self.address
                ),
                None => println!("First start: created the administrator {email} with the configured password."),
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

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
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
    file.sync_all()
}
