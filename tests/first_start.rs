//! The executable itself: flags, environment, first start and start-up refusals.

#[allow(dead_code)] // The shared harness that starts the binary; these tests use a part of it.
#[path = "support/binary.rs"]
mod binary;

use std::path::Path;
use std::process::Command;

use binary::{file_names, mode, with_usual_umask, BIN};

/// A running server process, killed when dropped.
struct Server {
    port: u16,
    /// What the server printed before it went quiet (the first password, if any).
    stdout: String,
    log_line: String,
    _process: binary::Running,
}

/// The binary in `dir`, on port 0, logging at info.
fn command(dir: &Path) -> Command {
    let mut command = binary::command();
    command
        .current_dir(dir)
        .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    command
}

/// Starts the server and waits for its start-up line, which names the address.
fn serve(command: Command) -> Server {
    let process = binary::spawn(command);
    Server {
        port: process.port(),
        stdout: process.stdout_when_quiet(),
        log_line: process.log_line.clone(),
        _process: process,
    }
}

fn get(port: u16, path: &str, user: &str, secret: &str) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let reply = client
        .get(format!("http://127.0.0.1:{port}/restcomm/2012-04-24{path}"))
        .basic_auth(user, Some(secret))
        .send()
        .unwrap();
    let status = reply.status().as_u16();
    (
        status,
        serde_json::from_str(&reply.text().unwrap()).unwrap_or_default(),
    )
}

fn post(port: u16, path: &str, user: &str, secret: &str, form: &str) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let reply = client
        .post(format!("http://127.0.0.1:{port}/restcomm/2012-04-24{path}"))
        .basic_auth(user, Some(secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .unwrap();
    let status = reply.status().as_u16();
    (
        status,
        serde_json::from_str(&reply.text().unwrap()).unwrap_or_default(),
    )
}

#[test]
fn first_start_prints_a_one_time_password_for_an_uninitialized_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(command(dir.path()));
    assert!(
        server.log_line.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        server.log_line
    );
    let full_path = dir.path().canonicalize().unwrap().join("switchboard.db");
    assert!(
        server
            .log_line
            .contains(&format!("database {}, ", full_path.display())),
        "the database by its full path: {}",
        server.log_line
    );
    assert!(server.log_line.contains("sync full"), "{}", server.log_line);
    let password = server
        .stdout
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 24 && !line.contains(' '))
        .unwrap_or_else(|| panic!("no password in {:?}", server.stdout))
        .to_owned();
    let admin = "administrator@company.com";
    let (status, me) = get(
        server.port,
        "/Accounts/administrator@company.com.json",
        admin,
        &password,
    );
    assert_eq!(status, 200);
    assert_eq!(me["status"], "uninitialized");
    assert_eq!(me["friendly_name"], "Default Administrator Account");
    assert_eq!(me["role"], "Administrator");
    let (status, error) = get(server.port, "/Accounts.json", admin, &password);
    assert_eq!((status, error["code"].as_u64()), (403, Some(20005)));
    let (status, me) = post(
        server.port,
        "/Accounts/administrator@company.com.json",
        admin,
        &password,
        "Password=my+real+password",
    );
    assert_eq!(status, 200);
    assert_eq!(me["status"], "active");
    assert_eq!(
        get(server.port, "/Accounts.json", admin, "my real password").0,
        200
    );
    assert!(dir.path().join("switchboard.db").exists());
    assert!(dir.path().join("switchboard.db.key").exists());
}

#[test]
fn a_configured_first_password_and_email_apply_on_the_first_start_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = command(dir.path());
    first
        .env("SWITCHBOARD_ADMIN_PASSWORD", "operator chosen secret")
        .args(["--admin-email", "Ops@Example.com"]);
    let server = serve(first);
    assert!(
        !server.stdout.contains("operator chosen secret"),
        "never printed"
    );
    let (status, me) = get(
        server.port,
        "/Accounts/ops@example.com.json",
        "ops@example.com",
        "operator chosen secret",
    );
    assert_eq!(status, 200);
    assert_eq!(me["status"], "active");
    drop(server);

    let mut second = command(dir.path());
    second
        .env("SWITCHBOARD_ADMIN_PASSWORD", "another configured one")
        .env("SWITCHBOARD_ADMIN_EMAIL", "new@example.com");
    let server = serve(second);
    assert_eq!(
        get(
            server.port,
            "/Accounts.json",
            "ops@example.com",
            "operator chosen secret"
        )
        .0,
        200
    );
    assert_eq!(
        get(
            server.port,
            "/Accounts.json",
            "ops@example.com",
            "another configured one"
        )
        .0,
        401
    );
    assert_eq!(
        get(
            server.port,
            "/Accounts.json",
            "new@example.com",
            "another configured one"
        )
        .0,
        401
    );
}

#[test]
fn flags_and_their_environment_variables_choose_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = command(dir.path());
    flags.args([
        "--db",
        "data.sqlite",
        "--key-file",
        "secret.key",
        "--sync",
        "normal",
        "--workers",
        "1",
    ]);
    flags.env("SWITCHBOARD_ADMIN_PASSWORD", "operator chosen secret");
    let server = serve(flags);
    let full_path = dir.path().canonicalize().unwrap().join("data.sqlite");
    assert!(
        server
            .log_line
            .contains(&format!("database {}, ", full_path.display()))
            && server.log_line.contains("sync normal"),
        "{}",
        server.log_line
    );
    drop(server);
    assert!(dir.path().join("data.sqlite").exists());
    assert!(dir.path().join("secret.key").exists());
    assert!(!dir.path().join("switchboard.db").exists());

    let mut env = command(dir.path());
    env.env("SWITCHBOARD_DB", "data.sqlite")
        .env("SWITCHBOARD_KEY_FILE", "secret.key");
    let server = serve(env);
    assert_eq!(
        get(
            server.port,
            "/Accounts.json",
            "administrator@company.com",
            "operator chosen secret"
        )
        .0,
        200
    );
}

#[test]
fn a_database_with_accounts_but_no_key_file_refuses_to_start_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = command(dir.path());
    first.env("SWITCHBOARD_ADMIN_PASSWORD", "operator chosen secret");
    drop(serve(first));
    std::fs::remove_file(dir.path().join("switchboard.db.key")).unwrap();
    let before = std::fs::read(dir.path().join("switchboard.db")).unwrap();
    let output = command(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("key file is missing"), "{stderr}");
    assert!(
        !dir.path().join("switchboard.db.key").exists(),
        "no new key was made"
    );
    assert_eq!(
        std::fs::read(dir.path().join("switchboard.db")).unwrap(),
        before
    );
}

#[test]
fn help_lists_every_flag_and_environment_variable() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "--db",
        "SWITCHBOARD_DB",
        "--listen",
        "SWITCHBOARD_LISTEN",
        "--key-file",
        "SWITCHBOARD_KEY_FILE",
        "--admin-email",
        "SWITCHBOARD_ADMIN_EMAIL",
        "SWITCHBOARD_ADMIN_PASSWORD",
        "--bcrypt-cost",
        "SWITCHBOARD_BCRYPT_COST",
        "--workers",
        "SWITCHBOARD_WORKERS",
        "--sync",
        "SWITCHBOARD_SYNC",
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

#[test]
fn bad_flags_end_the_process_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--bogus"][..],
        &["--bcrypt-cost", "3"],
        &["--sync", "sometimes"],
        &["--admin-email", "nope"],
        &["--workers", "0"],
    ] {
        let output = command(dir.path()).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.lines().filter(|l| !l.trim().is_empty()).count(),
            1,
            "{args:?}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("switchboard.db").exists(),
        "nothing was created"
    );
}

#[test]
fn a_busy_port_ends_the_process_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = command(dir.path())
        .args(["--listen", &address])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot listen"), "{stderr}");
}

#[test]
fn a_corrupt_database_ends_the_process_with_one_line_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let junk = b"this is not a SQLite database, just some bytes that must stay exactly as they are"
        .repeat(64);
    std::fs::write(dir.path().join("switchboard.db"), &junk).unwrap();
    let output = command(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a SQLite database"), "{stderr}");
    assert!(
        !stderr.contains(&dir.path().display().to_string()),
        "no path in the message"
    );
    assert_eq!(
        std::fs::read(dir.path().join("switchboard.db")).unwrap(),
        junk
    );
    assert!(!dir.path().join("switchboard.db.key").exists());
}

#[test]
fn every_file_of_the_installation_is_readable_and_writable_by_its_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = command(dir.path());
    with_usual_umask(&mut first);
    let server = serve(first);
    let (status, _) = get(server.port, "/Accounts.json", "nobody@example.com", "x");
    assert_eq!(status, 401, "the server answers");
    for name in [
        "switchboard.db",
        "switchboard.db-wal",
        "switchboard.db-shm",
        "switchboard.db.key",
        "switchboard.db.lock",
    ] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    drop(server);

    let mut backup = command(dir.path());
    with_usual_umask(&mut backup);
    let output = backup.args(["backup", "copy.db"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(mode(&dir.path().join("copy.db")), 0o600, "the backup");
}

/// Runs a start that must be refused; returns its one line of stderr.
fn refused(mut command: Command) -> String {
    let output = command.output().unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_owned()
}

#[test]
fn a_refused_first_start_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut busy = command(dir.path());
    busy.env(
        "SWITCHBOARD_LISTEN",
        taken.local_addr().unwrap().to_string(),
    );
    assert!(refused(busy).contains("cannot listen"));
    assert_eq!(file_names(dir.path()), Vec::<String>::new(), "busy port");

    let mut short = command(dir.path());
    short.env("SWITCHBOARD_ADMIN_PASSWORD", "short one");
    let line = refused(short);
    assert!(
        line.contains("SWITCHBOARD_ADMIN_PASSWORD is too short: use at least 12 characters"),
        "{line}"
    );
    assert!(!line.contains("short one"), "{line}");
    assert_eq!(
        file_names(dir.path()),
        Vec::<String>::new(),
        "bad first password"
    );

    std::fs::write(dir.path().join("switchboard.db.key"), "not a key\n").unwrap();
    assert!(refused(command(dir.path())).contains("not a valid Switchboard key"));
    assert_eq!(
        file_names(dir.path()),
        ["switchboard.db.key"],
        "bad key file"
    );
}

#[test]
fn a_database_in_a_missing_folder_is_refused_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut start = command(dir.path());
    start.args(["--db", "no/such/folder/switchboard.db"]);
    let line = refused(start);
    let folder = dir.path().join("no/such/folder");
    assert!(
        line.contains(&format!(
            "the database folder {} does not exist",
            folder.display()
        )),
        "{line}"
    );
    assert_eq!(file_names(dir.path()), Vec::<String>::new());
}

#[test]
fn a_listen_value_without_an_address_or_a_port_is_refused_naming_the_expected_form() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["8080", ":8082", "127.0.0.1"] {
        let mut start = command(dir.path());
        start.args(["--listen", value]);
        let output = start.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let line = refused(start);
        assert!(
            line.contains(&format!("'{value}'"))
                && line.contains("ADDR:PORT")
                && line.contains("127.0.0.1:8080"),
            "{line}"
        );
    }
    assert_eq!(file_names(dir.path()), Vec::<String>::new());
}

#[test]
fn a_trusted_proxy_that_is_not_an_address_range_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (value, named) in [
        ("10.0.0.0/8,proxy.local", "'proxy.local'"),
        ("10.0.0.1/8", "'10.0.0.1/8'"),
        ("2001:db8::/200", "'2001:db8::/200'"),
    ] {
        let mut start = command(dir.path());
        start.args(["--trusted-proxy", value]);
        let output = start.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let line = refused(start);
        assert!(
            line.contains("--trusted-proxy") && line.contains(named),
            "{line}"
        );
    }
    assert_eq!(file_names(dir.path()), Vec::<String>::new());
}

#[test]
fn each_command_lists_only_its_own_flags() {
    let help = |args: &[&str]| {
        let output = Command::new(BIN).args(args).arg("--help").output().unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let serve = help(&["serve"]);
    for word in [
        "--listen",
        "SWITCHBOARD_LISTEN",
        "--tls-cert",
        "--workers",
        "--sync",
    ] {
        assert!(serve.contains(word), "serve --help lacks {word}");
    }
    let backup = help(&["backup"]);
    let reset = help(&["admin", "reset-password"]);
    let check = help(&["check"]);
    for word in [
        "--listen",
        "--workers",
        "--tls-cert",
        "--tls-key",
        "--admin-email",
        "--sync",
        "SWITCHBOARD_ADMIN_PASSWORD",
    ] {
        assert!(!backup.contains(word), "backup --help lists {word}");
        assert!(!reset.contains(word), "reset-password --help lists {word}");
        assert!(!check.contains(word), "check --help lists {word}");
    }
    assert!(backup.contains("--db") && check.contains("--db"));
    assert!(reset.contains("--key-file") && reset.contains("SWITCHBOARD_RESET_PASSWORD"));
}
