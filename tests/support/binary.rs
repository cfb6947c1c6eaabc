//! Starts the real `switchboard` executable, as an operator would: the one harness of the
//! suites that run the binary (tests/first_start.rs, tests/durability).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every test waits at most this long for a process.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(60);

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// The binary with a clean environment (no `SWITCHBOARD_*` variable or `RUST_LOG` of the
/// machine running the tests leaks in) and the cheapest bcrypt cost. The cost is a variable,
/// not a flag: it applies to serving and to the commands alike, and a flag of one command is
/// refused by another.
pub fn command() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SWITCHBOARD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("SWITCHBOARD_BCRYPT_COST", "4")
        .stdin(Stdio::null());
    command
}

/// A server process that has announced its address; killed when dropped.
pub struct Running {
    pub child: Child,
    pub address: SocketAddr,
    /// The start-up log line.
    pub log_line: String,
    /// Every line the server wrote to stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<String>>,
}

/// Spawns `command` and waits for the start-up log line, which names the listen address.
/// Both output streams are drained for the life of the process, so it never blocks on a
/// full pipe.
pub fn spawn(mut command: Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (found, started) = mpsc::channel();
    let lines = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = listen_address(&line) {
                let _ = found.send((address, line.clone()));
            }
            lines.lock().unwrap().push(line);
        }
    });
    let stdout = Arc::new(Mutex::new(String::new()));
    let printed = Arc::clone(&stdout);
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = out.read(&mut buffer) {
            if n == 0 {
                break;
            }
            printed
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    let Ok((address, log_line)) = started.recv_timeout(PROCESS_DEADLINE) else {
        let _ = child.kill();
        panic!("the server did not start: {:?}", log.lock().unwrap());
    };
    Running {
        child,
        address,
        log_line,
        log,
        stdout,
    }
}

/// `... listening on http://127.0.0.1:PORT, database ...`
fn listen_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split(',').next()?.trim().parse().ok()
}

impl Running {
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// What the server printed to stdout (the first password, if any), once nothing more
    /// has come for a moment: it may print just after its log line.
    pub fn stdout_when_quiet(&self) -> String {
        let quiet = Duration::from_millis(300);
        let deadline = Instant::now() + PROCESS_DEADLINE;
        let mut seen = self.stdout.lock().unwrap().len();
        let mut since = Instant::now();
        while since.elapsed() < quiet && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.stdout.lock().unwrap().len();
            if now != seen {
                seen = now;
                since = Instant::now();
            }
        }
        self.stdout.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
        let sent = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(sent, 0, "the signal was delivered");
    }

    /// Waits for the process to end on its own.
    pub fn wait(&mut self) -> ExitStatus {
        wait_bounded(&mut self.child)
    }

    /// SIGKILL: no chance to clean up, as with a power cut for the process.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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

/// Under the usual umask (022), which would leave new files readable by everyone.
pub fn with_usual_umask(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask(2) is async-signal-safe and touches only the child's own state.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
}

/// The mode bits of a file, without its type.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The names of the files in `dir`, sorted: what a command left behind.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
