//! Runs the real `switchboard` executable, as an operator would, and speaks HTTP to it. The
//! processes themselves are started by the shared harness, `tests/support/binary.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::binary::{self, Running};
pub use crate::binary::{file_names, run, PROCESS_DEADLINE};
use crate::helpers::{encode_form, ADMIN_EMAIL, ADMIN_PASSWORD, BASE};

/// The binary with test settings and a clean environment, on the database `db`.
pub fn switchboard(db: &Path) -> Command {
    let mut command = binary::command();
    command.arg("--db").arg(db);
    command
}

/// The serve command on port 0, with the first administrator's password configured.
pub fn serve_command(db: &Path) -> Command {
    let mut command = switchboard(db);
    command
        .args(["--listen", "127.0.0.1:0", "--workers", "2"])
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD);
    command
}

pub struct Server {
    process: Running,
    pub address: SocketAddr,
    pub db: PathBuf,
    /// Everything the server wrote to stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    client: reqwest::blocking::Client,
}

pub fn start(db: &Path) -> Server {
    start_with(serve_command(db), db)
}

/// Spawns `command` and waits for the start-up log line, which names the listen address.
pub fn start_with(command: Command, db: &Path) -> Server {
    let process = binary::spawn(command);
    Server {
        address: process.address,
        log: Arc::clone(&process.log),
        process,
        db: db.to_owned(),
        client: client(),
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub use crate::helpers::basic;

impl Server {
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{BASE}{path}", self.address)
    }

    /// (status, body) of a GET of an absolute URL (one the server handed out).
    pub fn get_absolute(&self, url: &str, authorization: &str) -> (u16, String) {
        send(self.client.get(url).header("Authorization", authorization))
            .expect("the server answers")
    }

    /// (status, body) of a GET as `authorization`.
    pub fn get(&self, path: &str, authorization: &str) -> (u16, String) {
        send(
            self.client
                .get(self.url(path))
                .header("Authorization", authorization),
        )
        .expect("the server answers")
    }

    /// (status, body) of a form POST, or `None` when no answer came (the server died).
    pub fn post(
        &self,
        path: &str,
        authorization: &str,
        form: &[(&str, &str)],
    ) -> Option<(u16, String)> {
        send(
            self.client
                .post(self.url(path))
                .header("Authorization", authorization)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encode_form(form)),
        )
    }

    /// Signs the first administrator in with its password; returns its Sid and token.
    pub fn admin(&self) -> (String, String) {
        let (status, body) = self.get(
            &format!("/Accounts/{ADMIN_EMAIL}.json"),
            &basic(ADMIN_EMAIL, ADMIN_PASSWORD),
        );
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        (
            body["sid"].as_str().unwrap().to_owned(),
            body["auth_token"].as_str().unwrap().to_owned(),
        )
    }

    pub fn signal(&self, signal: i32) {
        self.process.signal(signal);
    }

    /// Waits for the process to end on its own.
    pub fn wait(mut self) -> ExitStatus {
        self.process.wait()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    /// SIGKILL: no chance to clean up, as with a power cut for the process.
    pub fn kill(mut self) {
        self.process.kill();
    }
}

fn send(request: reqwest::blocking::RequestBuilder) -> Option<(u16, String)> {
    let response = request.send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().ok()?))
}

/// The stderr of a refused start or command: exactly one line, prefixed, naming no path of
/// the test's directory.
pub fn one_clear_line(output: &Output, dir: &Path) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr:?}");
    assert!(lines[0].starts_with("switchboard: "), "{stderr:?}");
    assert!(
        !lines[0].contains(&*dir.to_string_lossy()),
        "no path in {stderr:?}"
    );
    lines[0].to_owned()
}

/// The bytes and modification time of a file, to show that a refused start left it alone.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    bytes: Vec<u8>,
    modified: SystemTime,
}

pub fn snapshot(path: &Path) -> Snapshot {
    Snapshot {
        bytes: std::fs::read(path).unwrap(),
        modified: std::fs::metadata(path).unwrap().modified().unwrap(),
    }
}

/// A stopped installation with its first administrator: the database and its key file.
pub fn installation(dir: &Path) -> PathBuf {
    let db = dir.join("switchboard.db");
    let server = start(&db);
    server.admin();
    assert!(server.stop().success());
    db
}

/// Opens the database file directly, as SQLite's own tools would.
pub fn open_sqlite(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

pub fn integrity(db: &Path) -> String {
    open_sqlite(db)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}
