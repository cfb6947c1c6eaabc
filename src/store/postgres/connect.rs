//! Opens one connection, with the synchronous `postgres` client or the asynchronous one under
//! it, over rustls where the URL asks for TLS (ring, the provider the HTTPS listener already
//! uses).

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use postgres::config::SslMode as PgSslMode;
use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{AsyncMessage, Config, Connection};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::{Settings, SslMode};

/// How long a node waits for the server before reporting it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum ConnectError {
    /// `sslrootcert` could not be read, or holds no certificate.
    RootCert { path: PathBuf, problem: String },
    /// rustls refused the configuration (no protocol version in common with the provider).
    Tls(String),
    /// The server could not be reached, refused TLS or the login, or the handshake failed.
    Postgres(postgres::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::RootCert { path, problem } => {
                write!(f, "sslrootcert {}: {problem}", path.display())
            }
            ConnectError::Tls(problem) => write!(f, "TLS set-up: {problem}"),
            // The client's own message leaves out the cause (which certificate check failed,
            // what the server said); neither ever holds the password.
            ConnectError::Postgres(error) => match std::error::Error::source(error) {
                Some(cause) if !error.to_string().contains(&cause.to_string()) => {
                    write!(f, "{error}: {cause}")
                }
                _ => write!(f, "{error}"),
            },
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<postgres::Error> for ConnectError {
    fn from(error: postgres::Error) -> ConnectError {
        ConnectError::Postgres(error)
    }
}

pub fn connect(settings: &Settings) -> Result<Client, ConnectError> {
    let mut config = postgres::Config::from(client_config(settings));
    // The server's notices ("relation already exists, skipping" from an idempotent migration
    // step) are not for the operator's log; their text may quote SQL, so only the code goes,
    // and only at debug.
    config.notice_callback(|notice| log::debug!("database notice {}", notice.code().code()));
    match settings.sslmode {
        SslMode::Disable => Ok(config.connect(NoTls)?),
        SslMode::Require => Ok(config.connect(tls(unverified()?))?),
        SslMode::VerifyFull => Ok(config.connect(tls(verified(root_cert(settings))?))?),
    }
}

/// Talks to the server for an asynchronous client: spawn it on the runtime the client is used
/// on. It ends when the client is dropped or the connection breaks.
pub type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The same connection for the asynchronous client, whose waits cost no thread.
pub async fn connect_async(
    settings: &Settings,
) -> Result<(tokio_postgres::Client, Driver), ConnectError> {
    let config = client_config(settings);
    match settings.sslmode {
        SslMode::Disable => {
            let (client, connection) = config.connect(NoTls).await?;
            Ok((client, Box::pin(Drive(connection))))
        }
        SslMode::Require => {
            let (client, connection) = config.connect(tls(unverified()?)).await?;
            Ok((client, Box::pin(Drive(connection))))
        }
        SslMode::VerifyFull => {
            let tls = tls(verified(root_cert(settings))?);
            let (client, connection) = config.connect(tls).await?;
            Ok((client, Box::pin(Drive(connection))))
        }
    }
}

fn root_cert(settings: &Settings) -> &Path {
    settings.sslrootcert.as_deref().unwrap_or(Path::new(""))
}

/// Polls a connection as tokio-postgres's own future does, but logs a notice by its code only,
/// as [`connect`] does.
struct Drive<S, T>(Connection<S, T>);

impl<S, T> Future for Drive<S, T>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin + TlsStream,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match ready!(self.0.poll_message(cx)) {
                Some(Ok(AsyncMessage::Notice(notice))) => {
                    log::debug!("database notice {}", notice.code().code());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    log::warn!("a database connection broke: {}", ConnectError::from(error));
                    return Poll::Ready(());
                }
                None => return Poll::Ready(()),
            }
        }
    }
}

fn client_config(settings: &Settings) -> Config {
    let mut config = Config::new();
    config
        .user(&settings.user)
        .host(&settings.host)
        .port(settings.port)
        .dbname(&settings.dbname)
        .application_name("switchboard")
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(match settings.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Require | SslMode::VerifyFull => PgSslMode::Require,
        });
    if let Some(password) = &settings.password {
        config.password(password.expose());
    }
    config
}

fn tls(config: ClientConfig) -> MakeRustlsConnect {
    MakeRustlsConnect::new(config)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// verify-full: the chain must end at a certificate of `sslrootcert`, and name the URL's host.
fn verified(path: &Path) -> Result<ClientConfig, ConnectError> {
    let roots = root_store(path)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::Tls(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn root_store(path: &Path) -> Result<RootCertStore, ConnectError> {
    let problem = |problem: String| ConnectError::RootCert {
        path: path.to_owned(),
        problem,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| problem(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| problem(error.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(problem("holds no usable PEM certificate".to_owned()));
    }
    Ok(roots)
}

/// require: encrypted like libpq's `sslmode=require`, which does not check the certificate.
fn unverified() -> Result<ClientConfig, ConnectError> {
    let provider = provider();
    Ok(ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::Tls(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth())
}

/// Accepts any certificate, but still checks that the server holds its key, so the session
/// keys are at least agreed with whoever presented it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
