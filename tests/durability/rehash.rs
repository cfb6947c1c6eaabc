//! Raising `--bcrypt-cost` makes old hashes cheaper to check than the dummy hash of an unknown
//! user, which timing would betray; so the next password login makes the hash again at the
//! configured cost, and the AuthToken stays as it was.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::process::{basic, open_sqlite, start, start_with, Server};

fn stored(db: &std::path::Path) -> (String, String) {
    open_sqlite(db)
        .query_row(
            "SELECT password_hash, token_salt FROM accounts WHERE email = ?1",
            [ADMIN_EMAIL],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
}

/// As `serve_command`, at another cost than the tests' usual 4.
fn start_at_cost(db: &std::path::Path, cost: &str) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SWITCHBOARD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .arg("--db")
        .arg(db)
        .args([
            "--bcrypt-cost",
            cost,
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "2",
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null());
    start_with(command, db)
}

fn me(server: &Server, authorization: &str) -> Value {
    let (status, body) = server.get(&format!("/Accounts/{ADMIN_EMAIL}.json"), authorization);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_password_login_after_raising_the_cost_rehashes_and_keeps_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, token) = server.admin();
    assert!(server.stop().success());
    let (old_hash, _) = stored(&db);
    assert!(old_hash.starts_with("$2b$04$"), "{old_hash}");

    let server = start_at_cost(&db, "5");
    let password = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
    let before = me(&server, &basic(&sid, &token));
    let signed_in = me(&server, &password);
    assert_eq!(
        signed_in["auth_token"],
        token.as_str(),
        "the token did not change"
    );
    assert_eq!(signed_in["date_updated"], before["date_updated"]);
    let (new_hash, _) = stored(&db);
    assert!(new_hash.starts_with("$2b$05$"), "{new_hash}");
    assert_eq!(
        me(&server, &basic(&sid, &token))["auth_token"],
        token.as_str()
    );
    me(&server, &password);
    assert!(server.stop().success());

    // Stored, not only remembered: a new process agrees, and a second rehash keeps it too.
    let server = start_at_cost(&db, "6");
    assert_eq!(
        me(&server, &basic(&sid, &token))["auth_token"],
        token.as_str()
    );
    assert_eq!(me(&server, &password)["auth_token"], token.as_str());
    assert!(stored(&db).0.starts_with("$2b$06$"));
    assert_eq!(
        me(&server, &basic(&sid, &token))["auth_token"],
        token.as_str()
    );
    let (status, _) = server.get(
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        &basic(ADMIN_EMAIL, "not the right password"),
    );
    assert_eq!(status, 401);
}

#[test]
fn setting_a_password_after_a_rehash_changes_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, token) = server.admin();
    assert!(server.stop().success());
    let server = start_at_cost(&db, "5");
    me(&server, &basic(ADMIN_EMAIL, ADMIN_PASSWORD));
    let (status, body) = server
        .post(
            &format!("/Accounts/{sid}.json"),
            &basic(&sid, &token),
            &[("Password", "a brand new passphrase for the administrator")],
        )
        .expect("the server answers");
    assert_eq!(status, 200, "{body}");
    let changed: Value = serde_json::from_str(&body).unwrap();
    assert_ne!(changed["auth_token"], token.as_str());
    assert!(!stored(&db).1.contains('.'), "a fresh, plain salt");
}
