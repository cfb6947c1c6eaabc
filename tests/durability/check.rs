//! `switchboard check`: the full integrity check that the start no longer runs, with the
//! server stopped or running. A start reads only what it needs, whatever the file's size.

use std::path::Path;
use std::process::Output;

use crate::process::*;

fn check(db: &Path) -> Output {
    let mut command = switchboard(db);
    command.arg("check");
    run(command, None)
}

/// Overwrites the page of the index `accounts_by_branch`: nothing a start reads, and nothing
/// the first administrator's sign-in reads.
fn damage_an_index_page(db: &Path) {
    let (page, page_size): (i64, i64) = {
        let conn = open_sqlite(db);
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'accounts_by_branch'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        (
            root,
            conn.query_row("PRAGMA page_size", [], |row| row.get(0))
                .unwrap(),
        )
    };
    let mut bytes = std::fs::read(db).unwrap();
    let start = usize::try_from((page - 1) * page_size).unwrap();
    let end = start + usize::try_from(page_size).unwrap();
    for (i, byte) in bytes[start..end].iter_mut().enumerate() {
        *byte = (i * 37 % 251) as u8;
    }
    std::fs::write(db, &bytes).unwrap();
}

#[test]
fn an_intact_database_passes_with_the_server_stopped_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let before = (snapshot(&db), file_names(dir.path()));
    let output = check(&db);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("intact") && said.contains("1 account,"),
        "{said}"
    );
    assert_eq!((snapshot(&db), file_names(dir.path())), before);
}

#[test]
fn an_intact_database_passes_while_the_server_runs_and_takes_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, token) = server.admin();
    let form = [
        ("EmailAddress", "checked@example.com"),
        ("Password", "a password to check"),
    ];
    let (status, body) = server
        .post("/Accounts.json", &basic(&sid, &token), &form)
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let output = check(&db);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 accounts"));
    assert!(server.stop().success());
}

#[test]
fn deep_damage_is_left_to_check_which_reports_it_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    damage_an_index_page(&db);
    // The start does not read the whole file: it serves, and its sign-ins still work.
    let server = start(&db);
    server.admin();
    assert!(server.stop().success());

    let output = check(&db);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let line = one_clear_line(&output, dir.path());
    assert!(
        line.contains("damaged") && line.contains("restore it from a backup"),
        "{line}"
    );
}

#[test]
fn check_refuses_a_missing_database_or_folder_and_creates_neither() {
    let dir = tempfile::tempdir().unwrap();
    let output = check(&dir.path().join("missing.db"));
    assert!(!output.status.success());
    assert!(one_clear_line(&output, dir.path()).contains("does not exist"));
    let output = check(&dir.path().join("nowhere").join("missing.db"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the database folder") && stderr.contains("nowhere"),
        "{stderr}"
    );
    assert_eq!(file_names(dir.path()), Vec::<String>::new());
}
