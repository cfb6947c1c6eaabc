//! The server's own log after a run full of sentinel secrets holds none of them: no password,
//! no token, no Authorization header, no bcrypt hash; and no client value can forge a line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::helpers::{encode, encode_form, BASE};
use crate::support::basic;

const ADMIN: &str = "administrator@company.com";
const ADMIN_PASSWORD: &str = "Sentinel-Admin-Pw-7f3a9c";
const MEMBER: &str = "sentinel.member@example.com";
const MEMBER_PASSWORD: &str = "Sentinel-Member-Pw-51e2";
const CHANGED_PASSWORD: &str = "Sentinel-Changed-Pw-88b1";

struct Server {
    child: Child,
    output: Arc<Mutex<String>>,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a pipe into the shared output; tells `started` the address once it is announced.
fn collect(
    pipe: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    started: mpsc::Sender<String>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on http://".len()..];
                let address = rest.split(',').next().unwrap_or("").to_owned();
                let _ = started.send(address);
            }
            let mut all = output.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

fn start_server(dir: &tempfile::TempDir) -> Server {
    start_server_with(dir, &[])
}

fn start_server_with(dir: &tempfile::TempDir, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(extra)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--bcrypt-cost",
            "4",
            "--workers",
            "2",
            "--db",
        ])
        .arg(dir.path().join("logs.db"))
        .env("RUST_LOG", "debug")
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let (started, address) = mpsc::channel();
    collect(
        child.stdout.take().unwrap(),
        output.clone(),
        started.clone(),
    );
    collect(child.stderr.take().unwrap(), output.clone(), started);
    let address = address
        .recv_timeout(Duration::from_secs(60))
        .expect("the server starts");
    Server {
        child,
        output,
        base: format!("http://{address}{BASE}"),
    }
}

struct Run {
    client: reqwest::blocking::Client,
    base: String,
    requests: usize,
}

impl Run {
    fn send(
        &mut self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<String>,
    ) -> (u16, String) {
        self.requests += 1;
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.text().unwrap())
    }

    fn json(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        body: Option<String>,
    ) -> serde_json::Value {
        let (status, text) = self.send(method, path, Some(auth), body);
        assert!(status == 200 || status == 201, "{status}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

#[test]
fn the_log_holds_no_secret_and_no_forged_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&dir);
    let mut run = Run {
        client: reqwest::blocking::Client::new(),
        base: server.base.clone(),
        requests: 0,
    };
    let mut secrets: Vec<String> = [ADMIN_PASSWORD, MEMBER_PASSWORD, CHANGED_PASSWORD]
        .map(String::from)
        .to_vec();

    let admin_by_password = basic(ADMIN, ADMIN_PASSWORD);
    let admin = run.json(
        "GET",
        &format!("/Accounts/{ADMIN}.json"),
        &admin_by_password,
        None,
    );
    let admin_token = admin["auth_token"].as_str().unwrap().to_owned();
    let admin_by_token = basic(admin["sid"].as_str().unwrap(), &admin_token);
    let form = encode_form(&[("EmailAddress", MEMBER), ("Password", MEMBER_PASSWORD)]);
    let member = run.json("POST", "/Accounts.json", &admin_by_token, Some(form));
    let member_sid = member["sid"].as_str().unwrap().to_owned();
    let first_token = member["auth_token"].as_str().unwrap().to_owned();
    run.json(
        "GET",
        "/Accounts.json",
        &basic(MEMBER, MEMBER_PASSWORD),
        None,
    );
    let form = encode_form(&[("Password", CHANGED_PASSWORD)]);
    let path = format!("/Accounts/{member_sid}.json");
    let changed = run.json("POST", &path, &basic(&member_sid, &first_token), Some(form));
    let second_token = changed["auth_token"].as_str().unwrap().to_owned();

    for guess in 0..5 {
        let wrong = format!("Sentinel-Wrong-Pw-{guess}");
        let (status, _) = run.send("GET", &path, Some(&basic(MEMBER, &wrong)), None);
        assert_eq!(status, 401);
        secrets.push(wrong);
    }
    // A secret typed into the user field, and user names that try to forge a log line.
    for user in [
        "Sentinel-User-As-Secret",
        "x\r\nFORGED failed authentication",
        "forged@example.com\nFORGED",
    ] {
        let (status, _) = run.send("GET", &path, Some(&basic(user, "Sentinel-Forged-Pw")), None);
        assert_eq!(status, 401);
    }
    secrets.push("Sentinel-User-As-Secret".into());
    secrets.push("Sentinel-Forged-Pw".into());
    // Credentials where they do not belong: the query string and the body.
    let query = format!(
        "{path}?AuthToken={second_token}&Password={}",
        encode("Sentinel-Query-Pw")
    );
    assert_eq!(run.send("GET", &query, None, None).0, 401);
    secrets.push("Sentinel-Query-Pw".into());
    let body = encode_form(&[
        ("Password", "Sentinel-Body-Pw-1234"),
        ("AuthToken", &admin_token),
    ]);
    assert_eq!(run.send("POST", &path, None, Some(body)).0, 401);
    secrets.push("Sentinel-Body-Pw-1234".into());
    let body = encode_form(&[
        ("Password", "Sentinel-Refused-Pw-is-long-enough"),
        ("Password", "x"),
    ]);
    let (status, _) = run.send(
        "POST",
        &path,
        Some(&basic(&member_sid, &second_token)),
        Some(body),
    );
    assert_eq!(status, 400);
    secrets.push("Sentinel-Refused-Pw-is-long-enough".into());
    let (status, _) = run.send(
        "GET",
        "/Accounts/x%0D%0AFORGED.json",
        Some(&admin_by_token),
        None,
    );
    assert_eq!(status, 404);

    // An API key: made, used, guessed at, deleted, and used again.
    let keys = format!("/Accounts/{member_sid}/Keys.json");
    let key = run.json("POST", &keys, &basic(MEMBER, CHANGED_PASSWORD), None);
    let key_sid = key["sid"].as_str().unwrap().to_owned();
    let key_secret = key["secret"].as_str().unwrap().to_owned();
    run.json("GET", &path, &basic(&key_sid, &key_secret), None);
    let wrong_key = basic(&key_sid, "Sentinel-Wrong-Key-Secret");
    assert_eq!(run.send("GET", &path, Some(&wrong_key), None).0, 401);
    let key_path = format!("/Accounts/{member_sid}/Keys/{key_sid}.json");
    let by_key = basic(&key_sid, &key_secret);
    assert_eq!(run.send("DELETE", &key_path, Some(&by_key), None).0, 403);
    let (status, _) = run.send(
        "DELETE",
        &key_path,
        Some(&basic(MEMBER, CHANGED_PASSWORD)),
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(run.send("GET", &path, Some(&by_key), None).0, 401);
    secrets.extend([key_secret, "Sentinel-Wrong-Key-Secret".into(), by_key]);
    // A secondary AuthToken: made, used, and promoted.
    let v1 = run.base.replace(BASE, "/restcomm/v1");
    let api = std::mem::replace(&mut run.base, v1);
    let member_token = basic(&member_sid, &second_token);
    let secondary = run.json("POST", "/AuthTokens/Secondary", &member_token, None);
    let secondary = secondary["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_secondary = basic(&member_sid, &secondary);
    run.json("POST", "/AuthTokens/Promote", &by_secondary, None);
    run.base = api;
    assert_eq!(run.send("GET", &path, Some(&member_token), None).0, 401);
    run.json("GET", &path, &by_secondary, None);
    secrets.extend([secondary, by_secondary]);

    secrets.extend([admin_token.clone(), first_token, second_token]);
    secrets.extend([admin_by_password, admin_by_token]);
    std::thread::sleep(Duration::from_millis(500));
    let log = server.output.lock().unwrap().clone();
    drop(server);

    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret: {secret}\n{log}"
        );
        let encoded = secret.trim_start_matches("Basic ");
        assert!(
            !log.contains(encoded),
            "the log holds an Authorization value\n{log}"
        );
    }
    assert!(!log.contains("$2"), "the log holds a bcrypt hash\n{log}");
    assert!(
        !log.to_ascii_lowercase().contains("authorization:"),
        "{log}"
    );
    assert!(
        log.lines().all(|line| !line.starts_with("FORGED")),
        "a client value started a line of its own\n{log}"
    );
    let access_lines = log.matches("switchboard::access").count();
    assert!(
        access_lines >= run.requests,
        "{access_lines} access lines for {} requests\n{log}",
        run.requests
    );
    // Access lines take their own way into the log, in the layout of every other line.
    for line in log.lines().filter(|line| line.contains("switchboard::")) {
        let (stamp, rest) = line
            .strip_prefix('[')
            .and_then(|line| line.split_once(' '))
            .unwrap_or_else(|| panic!("{line}"));
        assert!(
            stamp.len() == 20 && stamp.as_bytes()[10] == b'T' && stamp.ends_with('Z'),
            "{line}"
        );
        let level = &rest[..6];
        assert!(["INFO  ", "WARN  "].contains(&level), "{line}");
        if line.contains("switchboard::access]") {
            assert!(rest.starts_with("INFO  switchboard::access] "), "{line}");
        }
    }
    assert!(
        log.contains(&format!(
            "failed authentication: user \"{MEMBER}\" from 127.0.0.1"
        )),
        "failures are logged with the account and the address\n{log}"
    );
}

#[test]
fn behind_a_trusted_proxy_the_log_names_the_forwarded_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(&dir, &["--trusted-proxy", "127.0.0.1/32"]);
    let client = reqwest::blocking::Client::new();
    let path = format!("{}/Accounts/{MEMBER}.json", server.base);
    let send = |forwarded: &str| {
        let response = client
            .get(&path)
            .header("Authorization", basic(MEMBER, "Sentinel-Wrong-Pw"))
            .header("X-Forwarded-For", forwarded)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    };
    send("1.2.3.4, 5.6.7.8");
    send("Sentinel-Forwarded-Text, 203.0.113.9:80");
    std::thread::sleep(Duration::from_millis(500));
    let log = server.output.lock().unwrap().clone();
    drop(server);

    let access = |address: &str| format!("switchboard::access] {address} \"GET ");
    assert!(log.contains(&access("5.6.7.8")), "{log}");
    assert!(
        log.contains(&format!(
            "failed authentication: user \"{MEMBER}\" from 5.6.7.8"
        )),
        "{log}"
    );
    // Text that is not an address is attributed to the proxy, and never written down.
    assert!(log.contains(&access("127.0.0.1")), "{log}");
    assert!(!log.contains("1.2.3.4"), "{log}");
    assert!(!log.contains("Sentinel-Forwarded-Text"), "{log}");
    assert!(!log.contains("203.0.113.9"), "{log}");
}
