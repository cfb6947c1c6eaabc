//! `switchboard admin reset-password EMAIL`, with the server running and stopped.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::process::*;

const NEW_PASSWORD: &str = "a brand new admin password";

fn reset(db: &std::path::Path, email: &str) -> Command {
    let mut command = switchboard(db);
    command.args(["admin", "reset-password", email]);
    command
}

#[test]
fn a_running_server_takes_the_new_password_and_forgets_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, old_token) = server.admin();
    let old = basic(ADMIN_EMAIL, ADMIN_PASSWORD);
    let me = format!("/Accounts/{sid}.json");
    // Twice, so that the second sign-in is answered from the server's password cache.
    assert_eq!(server.get(&me, &old).0, 200);
    assert_eq!(server.get(&me, &old).0, 200);

    let output = run(reset(&db, ADMIN_EMAIL), Some(&format!("{NEW_PASSWORD}\n")));
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(!said.contains(NEW_PASSWORD), "{said}");
    assert!(said.contains("read from standard input"), "{said}");

    assert_eq!(server.get(&me, &old).0, 401, "the old password is refused");
    assert_eq!(
        server.get(&me, &basic(&sid, &old_token)).0,
        401,
        "so is the old token"
    );
    let (status, body) = server.get(&me, &basic(ADMIN_EMAIL, NEW_PASSWORD));
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_ne!(body["auth_token"], old_token);
    let token = body["auth_token"].as_str().unwrap();
    let events = format!(
        "http://{}/restcomm/v1/Events?EventType=account.password-reset",
        server.address
    );
    let (status, body) = server.get_absolute(&events, &basic(&sid, token));
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let reset = &body["events"][0];
    assert_eq!(reset["account_sid"], sid.as_str());
    assert_eq!(reset["actor_type"], "system");
    assert_eq!(reset["actor_sid"], Value::Null);
    assert_eq!(reset["source"], "cli");
    assert!(!body.to_string().contains(NEW_PASSWORD));
    assert!(server.stop().success());
}

#[test]
fn a_stopped_installation_lets_a_locked_out_administrator_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    // No configured password: the administrator starts uninitialized with a generated one,
    // printed once, and here lost.
    let mut first = serve_command(&db);
    first.env_remove("SWITCHBOARD_ADMIN_PASSWORD");
    assert!(start_with(first, &db).stop().success());

    let mut command = reset(&db, "Administrator@Company.com");
    command.env("SWITCHBOARD_RESET_PASSWORD", NEW_PASSWORD);
    let output = run(command, None);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("active"), "{said}");
    assert!(said.contains("from SWITCHBOARD_RESET_PASSWORD"), "{said}");

    let server = start(&db);
    let (status, body) = server.get(
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        &basic(ADMIN_EMAIL, NEW_PASSWORD),
    );
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "active");
    assert!(server.stop().success());
}

#[test]
fn the_password_policy_applies_and_nothing_changes_on_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let cases = [
        (
            "short pw",
            "the new password is too short: use at least 12 characters",
        ),
        (
            "1qaz2wsx3edc",
            "the new password is a commonly used password",
        ),
        (
            "my administrator@company.com!",
            "the new password must not contain the account's email address",
        ),
    ];
    for (password, reason) in cases {
        let before = snapshot(&db);
        let output = run(reset(&db, ADMIN_EMAIL), Some(&format!("{password}\n")));
        assert!(!output.status.success());
        let line = one_clear_line(&output, dir.path());
        assert!(line.contains(reason), "{line}");
        assert!(!line.contains(password), "{line}");
        assert_eq!(snapshot(&db), before);
    }
    let output = run(
        reset(&db, "nobody@company.com"),
        Some(&format!("{NEW_PASSWORD}\n")),
    );
    assert!(one_clear_line(&output, dir.path()).contains("no account"));
    let server = start(&db);
    server.admin();
    assert!(server.stop().success());
}

#[test]
fn the_password_is_never_taken_from_the_command_line_and_the_key_file_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let mut command = reset(&db, ADMIN_EMAIL);
    command.arg(NEW_PASSWORD);
    let output = run(command, Some(&format!("{NEW_PASSWORD}\n")));
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    let output = run(reset(&db, ADMIN_EMAIL), Some(""));
    assert!(one_clear_line(&output, dir.path()).contains("no new password"));

    std::fs::rename(
        dir.path().join("switchboard.db.key"),
        dir.path().join("elsewhere.key"),
    )
    .unwrap();
    let output = run(reset(&db, ADMIN_EMAIL), Some(&format!("{NEW_PASSWORD}\n")));
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("key file"));
}

#[test]
fn the_first_start_password_variable_is_never_taken_for_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    // A service's environment keeps the first start's password; an operator who types or
    // pipes a new one must get that one.
    let mut command = reset(&db, ADMIN_EMAIL);
    command.env("SWITCHBOARD_ADMIN_PASSWORD", "the first start password");
    let output = run(command, Some(&format!("{NEW_PASSWORD}\n")));
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("read from standard input"));

    let mut command = reset(&db, ADMIN_EMAIL);
    command.env("SWITCHBOARD_ADMIN_PASSWORD", "the first start password");
    let output = run(command, Some(""));
    assert!(one_clear_line(&output, dir.path()).contains("no new password"));

    let server = start(&db);
    let me = format!("/Accounts/{ADMIN_EMAIL}.json");
    assert_eq!(server.get(&me, &basic(ADMIN_EMAIL, NEW_PASSWORD)).0, 200);
    assert_eq!(
        server
            .get(&me, &basic(ADMIN_EMAIL, "the first start password"))
            .0,
        401
    );
    assert!(server.stop().success());
}
