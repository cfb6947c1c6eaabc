//! A throwaway PostgreSQL cluster: initdb and pg_ctl on a temporary directory and a free port,
//! stopped and removed on drop. PostgreSQL refuses to run as root, so as root the cluster runs
//! as `nobody`, which then owns the directory.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The superuser initdb creates; every connection is trusted, the cluster being private.
pub const SUPERUSER: &str = "postgres";

/// The unprivileged account a root test run starts the cluster as.
const RUN_AS: &str = "nobody";

pub struct Cluster {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    dir: tempfile::TempDir,
}

/// Certificate and key, in PEM, the server presents when TLS is on.
pub struct ServerTls<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with(None)
    }

    pub fn start_with_tls(tls: &ServerTls<'_>) -> Cluster {
        Cluster::start_with(Some(tls))
    }

    fn start_with(tls: Option<&ServerTls<'_>>) -> Cluster {
        let bin = bindir();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        let cluster = Cluster {
            port: free_port(),
            bin,
            data,
            dir,
        };
        hand_over(cluster.dir.path());
        cluster.initdb();
        cluster.configure(tls);
        cluster.pg_ctl_start();
        cluster
    }

    /// One cluster for the whole test process. A static is never dropped, so a watcher process
    /// stops the cluster and removes its directory once the test process has ended (its end of
    /// the watcher's stdin closes then, however the process ends).
    pub fn for_this_process() -> &'static Cluster {
        static SHARED: OnceLock<(Cluster, Mutex<Child>)> = OnceLock::new();
        let (cluster, _watcher) = SHARED.get_or_init(|| {
            let cluster = Cluster::start();
            let watcher = cluster.watch();
            (cluster, Mutex::new(watcher))
        });
        cluster
    }

    /// A URL for a new, empty database with a name of its own, for one test's server.
    pub fn fresh_database_url(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("suite_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.create_database(&name);
        self.url("127.0.0.1", &name, "sslmode=disable")
    }

    /// The watcher outlives this process by design: it is never waited for.
    fn watch(&self) -> Child {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let mut watcher = Command::new("sh");
        watcher
            .arg("-c")
            .arg(r#"cat >/dev/null; "$@" >/dev/null 2>&1; rm -rf "$CLUSTER_DIR""#)
            .arg("sh")
            .arg(stop.get_program())
            .args(stop.get_args())
            .env("CLUSTER_DIR", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        watcher.spawn().expect("start the cluster's watcher")
    }

    /// A postgres:// URL for `dbname` over TCP, without TLS unless `query` asks for it.
    pub fn url(&self, host: &str, dbname: &str, query: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@{host}:{}/{dbname}?{query}",
            self.port
        )
    }

    /// A new, empty database: each test gets its own.
    pub fn create_database(&self, name: &str) {
        let mut client = postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user={SUPERUSER} dbname=postgres",
                self.port
            ),
            postgres::NoTls,
        )
        .expect("connect to the test cluster");
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create a test database");
    }

    /// Stops the server, closing every connection. Fast rather than immediate: the cluster
    /// runs without fsync and synchronous commit, so a crash would lose what the test wrote.
    #[allow(dead_code)]
    pub fn stop(&self) {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]);
        run(&mut command, "pg_ctl stop");
    }

    /// Starts a stopped server again on the same port and data.
    #[allow(dead_code)]
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A file in the cluster's directory, readable by the server's account.
    pub fn write_file(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, contents).expect("write a file for the cluster");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        hand_over(&path);
        path
    }

    fn initdb(&self) {
        // An ICU default collation that is not byte order, so the schema's COLLATE "C" is what
        // the ordering tests see rather than a happy default.
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"])
            .args([
                "--locale=C.UTF-8",
                "--locale-provider=icu",
                "--icu-locale=en-US",
            ]);
        run(&mut command, "initdb");
    }

    fn configure(&self, tls: Option<&ServerTls<'_>>) {
        let socket_dir = self.dir.path().display().to_string();
        let mut conf = format!(
            "listen_addresses = 'localhost'\nport = {}\nunix_socket_directories = '{socket_dir}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            self.port
        );
        if let Some(tls) = tls {
            let cert = self.write_file("server.crt", tls.cert_pem, 0o644);
            let key = self.write_file("server.key", tls.key_pem, 0o600);
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                cert.display(),
                key.display()
            ));
        }
        let path = self.data.join("postgresql.conf");
        let mut existing = fs::read_to_string(&path).expect("read postgresql.conf");
        existing.push_str(&conf);
        fs::write(&path, existing).expect("write postgresql.conf");
    }

    fn pg_ctl_start(&self) {
        let log = self.dir.path().join("server.log");
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "30", "start"]);
        let output = command.output().expect("run pg_ctl");
        if !output.status.success() {
            let server_log = fs::read_to_string(&log).unwrap_or_default();
            panic!("pg_ctl start failed: {}\n{server_log}", describe(&output));
        }
    }

    /// The PostgreSQL program `name`, as the account the cluster runs as.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", RUN_AS, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        // Nothing to do about a failure while dropping; the directory goes either way.
        let _ = command.output();
    }
}

/// The directory of initdb and pg_ctl: pg_config's, else the newest of Debian's.
fn bindir() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let debian = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .max_by_key(|bin| major_version(bin));
    from_pg_config
        .into_iter()
        .chain(debian)
        .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed (no initdb under `pg_config --bindir` or \
                 /usr/lib/postgresql/*/bin): run tests/run, which installs it"
            )
        })
}

fn major_version(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or(0)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// As root, gives `path` to the account the cluster runs as; otherwise it is ours already.
fn hand_over(path: &Path) {
    if !is_root() {
        return;
    }
    let status = Command::new("chown")
        .arg(format!("{RUN_AS}:"))
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {RUN_AS} {}", path.display());
}

/// A port nothing listens on now; the cluster binds it a moment later.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("run {what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        describe(&output)
    );
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
