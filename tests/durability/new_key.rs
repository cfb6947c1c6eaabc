//! `switchboard admin new-key`: the way back from a lost key file.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::binary::{mode, with_usual_umask};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::process::*;

const NEW_PASSWORD: &str = "a brand new admin password";

fn new_key(db: &Path) -> Command {
    let mut command = switchboard(db);
    command.args(["admin", "new-key"]);
    command
}

fn reset(db: &Path) -> Command {
    let mut command = switchboard(db);
    command.args(["admin", "reset-password", ADMIN_EMAIL]);
    command
}

/// The Sid and AuthToken in an account's JSON.
fn sid_and_token(body: &str) -> (String, String) {
    let body: Value = serde_json::from_str(body).unwrap();
    (
        body["sid"].as_str().unwrap().to_owned(),
        body["auth_token"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_lost_key_file_is_replaced_and_every_account_is_reached_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let key_file = dir.path().join("switchboard.db.key");
    let server = start(&db);
    let (admin_sid, admin_token) = server.admin();
    let admin = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
    let (status, body) = server
        .post(
            "/Accounts.json",
            &admin,
            &[("FriendlyName", "Billing robot")],
        )
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let (child_sid, child_token) = sid_and_token(&body);
    assert!(server.stop().success());

    std::fs::remove_file(&key_file).unwrap();
    let output = run(serve_command(&db), None);
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("key file is missing"));

    let mut command = new_key(&db);
    with_usual_umask(&mut command);
    let output = run(command, None);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    for words in [
        "AuthToken has changed",
        "no password works",
        "reset-password",
    ] {
        assert!(said.contains(words), "{said}");
    }
    assert_eq!(mode(&key_file), 0o600, "the new key file");

    let server = start(&db);
    let me = format!("/Accounts/{admin_sid}.json");
    assert_eq!(server.get(&me, &admin).0, 401, "the old password");
    assert_eq!(
        server.get(&me, &basic(&admin_sid, &admin_token)).0,
        401,
        "the old token"
    );

    let output = run(reset(&db), Some(&format!("{NEW_PASSWORD}\n")));
    assert!(output.status.success(), "{output:?}");
    let admin = basic(ADMIN_EMAIL, NEW_PASSWORD);
    let (status, body) = server.get(&me, &admin);
    assert_eq!(status, 200, "{body}");
    let (_, new_admin_token) = sid_and_token(&body);
    assert_ne!(new_admin_token, admin_token);

    let child = format!("/Accounts/{child_sid}.json");
    let (status, body) = server.get(&child, &admin);
    assert_eq!(status, 200, "{body}");
    let (sid, new_child_token) = sid_and_token(&body);
    assert_eq!(sid, child_sid, "the same account");
    assert_ne!(new_child_token, child_token);
    assert_eq!(server.get(&child, &basic(&child_sid, &child_token)).0, 401);
    assert_eq!(
        server.get(&child, &basic(&child_sid, &new_child_token)).0,
        200
    );
    assert!(server.stop().success());
}

#[test]
fn a_key_file_that_is_there_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let key_file = dir.path().join("switchboard.db.key");
    let (key_before, db_before) = (snapshot(&key_file), snapshot(&db));
    let output = run(new_key(&db), None);
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("never replaces a key file"));
    assert_eq!(snapshot(&key_file), key_before);
    assert_eq!(snapshot(&db), db_before);
    let server = start(&db);
    server.admin();
    assert!(server.stop().success());
}

#[test]
fn a_database_without_accounts_has_nothing_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    std::fs::write(&db, b"").unwrap();
    let output = run(new_key(&db), None);
    assert!(one_clear_line(&output, dir.path()).contains("nothing to recover"));
    assert!(!dir.path().join("switchboard.db.key").exists());

    let output = run(new_key(&dir.path().join("missing.db")), None);
    assert!(one_clear_line(&output, dir.path()).contains("does not exist"));
    assert!(!dir.path().join("missing.db.key").exists());
}

#[test]
fn a_running_server_keeps_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let key_file = dir.path().join("switchboard.db.key");
    let server = start(&db);
    server.admin();
    std::fs::remove_file(&key_file).unwrap();
    let output = run(new_key(&db), None);
    assert!(one_clear_line(&output, dir.path()).contains("another Switchboard"));
    assert!(!key_file.exists());
    server.admin();
    assert!(server.stop().success());
}

#[test]
fn a_database_that_cannot_take_the_new_check_value_keeps_no_new_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let key_file = dir.path().join("switchboard.db.key");
    std::fs::remove_file(&key_file).unwrap();
    // Another program holds the database's write lock past the command's wait.
    let mut holder = open_sqlite(&db);
    let writing = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let output = run(new_key(&db), None);
    drop(writing);
    let line = one_clear_line(&output, dir.path());
    assert!(line.contains("taken away again"), "{line}");
    assert!(!key_file.exists());
    let output = run(serve_command(&db), None);
    assert!(one_clear_line(&output, dir.path()).contains("key file is missing"));
}
