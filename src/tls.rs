//! HTTPS without a proxy: a rustls server configuration from PEM files.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::TlsFiles;

/// Reads the certificate chain and key. Errors name the file's role, never its path or contents.
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, String> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the TLS certificate: {}", pem_problem(&e)))?;
    if chain.is_empty() {
        return Err("the TLS certificate file holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("cannot read the TLS key: {}", pem_problem(&e)))?;
    // Only ring is compiled in; naming the provider keeps the choice independent of what
    // other crates in the build enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate and key do not fit together: {e}"))
}

fn pem_problem(error: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(io) => io.kind().to_string(),
        Error::NoItemsFound => "no PEM item of the expected kind".into(),
        _ => "not valid PEM".into(),
    }
}
