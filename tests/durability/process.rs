//! Runs the real `switchboard` executable, as an operator would, and speaks HTTP to it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use serde_json::Value;

use crate::helpers::{encode_form, ADMIN_EMAIL, ADMIN_PASSWORD, BASE};

/// Every test waits at most this long for a process.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(60);

/// The binary with test settings and a clean environment: no `SWITCHBOARD_*` variable of
/// the machine running the tests leaks in.
pub fn switchboard(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SWITCHBOARD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    // The cost as a variable, not a flag: it applies to serving and to reset-password alike,
    // and a flag of one command is refused by another.
    command
        .arg("--db")
        .arg(db)
        .env("SWITCHBOARD_BCRYPT_COST", "4")
        .stdin(Stdio::null());
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
    child: Child,
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
pub fn start_with(mut command: Command, db: &Path) -> Server {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (found, address) = mpsc::channel();
    let lines = Arc::clone(&log);
    std::thread::spawn(move || {
        // Keeps draining stderr for the life of the process, so it never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = listen_address(&line) {
                let _ = found.send(address);
            }
            lines.lock().unwrap().push(line);
        }
    });
    let Ok(address) = address.recv_timeout(PROCESS_DEADLINE) else {
        let _ = child.kill();
        panic!("the server did not start: {:?}", log.lock().unwrap());
    };
    Server {
        child,
        address,
        db: db.to_owned(),
        log,
        client: client(),
    }
}

/// `... listening on http://127.0.0.1:PORT, database ...`
fn listen_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split(',').next()?.trim().parse().ok()
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn basic(user: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {encoded}")
}

impl Server {
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{BASE}{path}", self.address)
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
        // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
        let sent = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(sent, 0, "the signal was delivered");
    }

    /// Waits for the process to end on its own.
    pub fn wait(mut self) -> ExitStatus {
        wait_bounded(&mut self.child)
    }

    /// SIGTERM, then the exit status.
    pub fn stop(self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    /// SIGKILL: no chance to clean up, as with a power cut for the process.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn send(request: reqwest::blocking::RequestBuilder) -> Option<(u16, String)> {
    let response = request.send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().ok()?))
}

pub fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PROCESS_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not end in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to its end (bounded), feeding it `stdin`.
pub fn run(mut command: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // A command refused before it reads its input closes the pipe; that is its answer.
        let _ = pipe.write_all(text.as_bytes());
    }
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    finished
        .recv_timeout(PROCESS_DEADLINE)
        .expect("the process ended in time")
        .unwrap()
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
