//! The executable on a PostgreSQL URL, as an operator runs it: the first start's one-time
//! password, a configured first password that applies once, and `admin reset-password`
//! against a database that running nodes serve.

#[allow(dead_code)]
#[path = "support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::path::Path;
use std::process::Command;

use helpers::cluster::Cluster;
use helpers::{basic, ADMIN_EMAIL};
use serde_json::Value;

/// The binary serving `url` with `key_file`, on port 0.
fn node(url: &str, key_file: &Path) -> Command {
    let mut command = binary::command();
    command
        .args(["--db", url, "--listen", "127.0.0.1:0", "--key-file"])
        .arg(key_file);
    command
}

fn request(
    server: &binary::Running,
    method: &str,
    path: &str,
    auth: &str,
    form: &str,
) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let url = format!("http://{}/restcomm/2012-04-24{path}", server.address);
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let reply = client
        .request(method, url)
        .header("Authorization", auth)
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

fn me(server: &binary::Running, auth: &str) -> (u16, Value) {
    request(
        server,
        "GET",
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        auth,
        "",
    )
}

#[test]
fn the_first_node_prints_a_one_time_password_and_later_nodes_print_none() {
    let url = Cluster::for_this_process().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let first = binary::spawn(node(&url, &key_file));
    assert!(
        !first.log_line.contains("sync"),
        "PostgreSQL's own settings decide how commits reach the disk: {}",
        first.log_line
    );
    let printed = first.stdout_when_quiet();
    let password = printed
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 24 && !line.contains(' '))
        .unwrap_or_else(|| panic!("no password in {printed:?}"))
        .to_owned();
    let (status, account) = me(&first, &basic(ADMIN_EMAIL, &password));
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["status"], "uninitialized");

    let second = binary::spawn(node(&url, &key_file));
    assert!(
        !second.stdout_when_quiet().contains("First start"),
        "only the node that made the administrator prints its password"
    );
    // Set on one node, the real password works on the other at once.
    let (status, _) = request(
        &first,
        "POST",
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        &basic(ADMIN_EMAIL, &password),
        "Password=my+real+password",
    );
    assert_eq!(status, 200);
    assert_eq!(me(&second, &basic(ADMIN_EMAIL, "my real password")).0, 200);
    assert_eq!(me(&second, &basic(ADMIN_EMAIL, &password)).0, 401);
}

#[test]
fn a_configured_first_password_applies_on_the_first_start_only() {
    let url = Cluster::for_this_process().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let mut first = node(&url, &key_file);
    first.env(
        "SWITCHBOARD_ADMIN_PASSWORD",
        "the configured first password",
    );
    let first = binary::spawn(first);
    assert!(first
        .stdout_when_quiet()
        .contains("with the configured password"));
    let mut second = node(&url, &key_file);
    second.env("SWITCHBOARD_ADMIN_PASSWORD", "another configured password");
    let second = binary::spawn(second);
    assert!(!second.stdout_when_quiet().contains("First start"));
    for server in [&first, &second] {
        let auth = basic(ADMIN_EMAIL, "the configured first password");
        let (status, account) = me(server, &auth);
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["status"], "active");
        assert_eq!(
            me(server, &basic(ADMIN_EMAIL, "another configured password")).0,
            401
        );
    }
}

#[test]
fn reset_password_on_a_url_reaches_every_running_node_at_once() {
    let url = Cluster::for_this_process().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let mut command = node(&url, &key_file);
    command.env("SWITCHBOARD_ADMIN_PASSWORD", "the first admin password");
    let a = binary::spawn(command);
    let b = binary::spawn(node(&url, &key_file));
    let old = basic(ADMIN_EMAIL, "the first admin password");
    let (status, account) = me(&b, &old);
    assert_eq!(status, 200, "{account}");
    let old_token = basic(
        account["sid"].as_str().unwrap(),
        account["auth_token"].as_str().unwrap(),
    );

    let mut reset = binary::command();
    reset
        .args([
            "--db",
            &url,
            "admin",
            "reset-password",
            ADMIN_EMAIL,
            "--key-file",
        ])
        .arg(&key_file);
    let output = binary::run(reset, Some("a brand new admin password\n"));
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(!said.contains("a brand new admin password"), "{said}");

    for server in [&a, &b] {
        assert_eq!(me(server, &old).0, 401, "the old password is refused");
        assert_eq!(me(server, &old_token).0, 401, "so is the old token");
        let new = basic(ADMIN_EMAIL, "a brand new admin password");
        assert_eq!(me(server, &new).0, 200);
    }
}

#[test]
fn reset_password_with_another_key_file_is_refused_and_changes_nothing() {
    let url = Cluster::for_this_process().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let mut command = node(&url, &key_file);
    command.env("SWITCHBOARD_ADMIN_PASSWORD", "the first admin password");
    let server = binary::spawn(command);

    // A key file of another installation, made by a node on a database of its own.
    let other_url = Cluster::for_this_process().fresh_database_url();
    let other_key = dir.path().join("other.key");
    drop(binary::spawn(node(&other_url, &other_key)));

    let mut reset = binary::command();
    reset
        .args([
            "--db",
            &url,
            "admin",
            "reset-password",
            ADMIN_EMAIL,
            "--key-file",
        ])
        .arg(&other_key);
    let output = binary::run(reset, Some("a brand new admin password\n"));
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(said.contains("key file"), "{said}");
    assert!(!said.contains("postgres://"), "{said}");
    let old = basic(ADMIN_EMAIL, "the first admin password");
    assert_eq!(me(&server, &old).0, 200, "the password is unchanged");
}
