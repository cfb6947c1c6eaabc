//! HTTPS with a certificate the test makes: a client that trusts it gets in, one that does not
//! is refused, plain HTTP on the TLS port gets nothing, and bad PEM stops the start.

use std::time::Duration;

use switchboard::config::TlsFiles;
use switchboard::startup::Application;

use crate::helpers::*;

const HOST: &str = "switchboard.test";

struct Tls {
    dir: tempfile::TempDir,
    cert_pem: String,
    files: TlsFiles,
}

fn make_certificate() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
    let cert_pem = made.cert.pem();
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, &cert_pem).unwrap();
    std::fs::write(&files.key, made.key_pair.serialize_pem()).unwrap();
    Tls {
        dir,
        cert_pem,
        files,
    }
}

fn client(address: std::net::SocketAddr, trusted: Option<&str>) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder()
        .resolve(HOST, address)
        .timeout(Duration::from_secs(30))
        .tls_built_in_root_certs(false);
    if let Some(pem) = trusted {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

#[test]
fn https_serves_a_client_that_trusts_the_certificate() {
    let tls = make_certificate();
    let mut config = test_config(&tls.dir);
    config.tls = Some(tls.files.clone());
    let (address, _) = start(config);
    let url = |path: &str| format!("https://{HOST}:{}{path}", address.port());

    let trusting = client(address, Some(&tls.cert_pem));
    let health = trusting.get(url("/health")).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let me = trusting
        .get(url(&format!("{BASE}/Accounts/{ADMIN_EMAIL}.json")))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_PASSWORD))
        .send()
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    assert_eq!(me.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = serde_json::from_str(&me.text().unwrap()).unwrap();
    assert_eq!(body["email_address"], ADMIN_EMAIL);

    let untrusting = client(address, None);
    assert!(
        untrusting.get(url("/health")).send().is_err(),
        "an unknown certificate is refused"
    );

    let plain = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let answer = plain.get(format!("http://{address}/health")).send();
    assert!(
        answer.map_or(true, |response| response.status().as_u16() != 200),
        "plain HTTP gets no answer on the TLS port"
    );
}

#[test]
fn a_key_that_is_not_pem_stops_the_start_without_naming_the_file() {
    let tls = make_certificate();
    std::fs::write(&tls.files.key, "not a key at all").unwrap();
    let mut config = test_config(&tls.dir);
    config.tls = Some(tls.files.clone());
    let error = actix_web::rt::System::new()
        .block_on(Application::build(config))
        .err()
        .expect("the start fails");
    let message = error.to_string();
    assert!(message.contains("TLS key"), "{message}");
    assert!(
        !message.contains(tls.dir.path().to_str().unwrap()),
        "{message}"
    );
    assert!(
        !tls.dir.path().join("switchboard.db").exists(),
        "no database is created for a server that cannot start"
    );
}

#[test]
fn a_certificate_file_without_certificates_stops_the_start() {
    let tls = make_certificate();
    std::fs::write(&tls.files.cert, "").unwrap();
    let mut config = test_config(&tls.dir);
    config.tls = Some(tls.files.clone());
    let error = actix_web::rt::System::new()
        .block_on(Application::build(config))
        .err()
        .expect("the start fails");
    assert!(error.to_string().contains("TLS certificate"), "{error}");
}
