//! Bad configuration ends the process at once with one clear line on stderr and a non-zero
//! exit status, and leaves the database file exactly as it was.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::process::*;

/// `switchboard.db.lock` beside `db`.
fn lock_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// Runs `command`, which must be refused; returns its one line of stderr.
fn refused(command: Command, db: &Path, dir: &Path) -> String {
    let before = db.exists().then(|| snapshot(db));
    let output = run(command, None);
    assert!(!output.status.success(), "refused: {output:?}");
    let line = one_clear_line(&output, dir);
    match before {
        Some(before) => assert_eq!(snapshot(db), before, "the database file is untouched"),
        None => assert!(!db.exists(), "no database file was created"),
    }
    line
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn an_unreadable_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    chmod(&db, 0o000);
    let line = refused(serve_command(&db), &db, dir.path());
    chmod(&db, 0o600);
    assert!(line.contains("cannot be read"), "{line}");
}

#[test]
fn a_read_only_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    chmod(&db, 0o444);
    let line = refused(serve_command(&db), &db, dir.path());
    chmod(&db, 0o600);
    assert!(line.contains("read-only"), "{line}");
}

#[test]
fn a_directory_in_place_of_the_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    std::fs::create_dir(&db).unwrap();
    let output = run(serve_command(&db), None);
    assert!(!output.status.success());
    let line = one_clear_line(&output, dir.path());
    assert!(line.contains("not a regular file"), "{line}");
    assert!(std::fs::read_dir(&db).unwrap().next().is_none());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    std::fs::write(&db, "name,email\nsomeone,someone@example.com\n".repeat(200)).unwrap();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(line.contains("not a SQLite database"), "{line}");
}

#[test]
fn a_database_whose_schema_page_is_damaged_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let mut bytes = std::fs::read(&db).unwrap();
    // The 100-byte header stays intact; the rest of page 1 holds the schema, which every
    // start reads. Damage deeper in the file is for `switchboard check` (see check.rs).
    for (i, byte) in bytes[100..4096].iter_mut().enumerate() {
        *byte = (i * 37 % 251) as u8;
    }
    std::fs::write(&db, &bytes).unwrap();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(line.contains("corrupt"), "{line}");
}

#[test]
fn a_database_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    open_sqlite(&db)
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER);")
        .unwrap();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(line.contains("not of Switchboard"), "{line}");
}

#[test]
fn another_key_file_is_refused_and_the_database_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let key_file = dir.path().join("switchboard.db.key");
    let own_key = std::fs::read_to_string(&key_file).unwrap();
    let stored: String = open_sqlite(&db)
        .query_row(
            "SELECT value FROM installation WHERE name = 'key_check'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(!stored.is_empty() && !own_key.contains(&stored) && !stored.contains(own_key.trim()));

    // A well-formed key of another installation, as a mixed-up restore would bring.
    let other = switchboard::domain::credentials::InstallationKey::generate().to_hex();
    std::fs::write(&key_file, format!("{other}\n")).unwrap();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(
        line.contains("key file does not belong to this database"),
        "{line}"
    );
    assert!(!line.contains(&other) && !line.contains(&stored), "{line}");
    assert!(
        !dir.path().join("switchboard.db-wal").exists(),
        "nothing written"
    );

    let mut reset = switchboard(&db);
    reset.args(["admin", "reset-password", crate::helpers::ADMIN_EMAIL]);
    let output = run(reset, Some("a brand new admin password\n"));
    assert!(one_clear_line(&output, dir.path()).contains("does not belong"));

    std::fs::write(&key_file, own_key).unwrap();
    let server = start(&db);
    server.admin();
    assert!(server.stop().success());
}

#[test]
fn a_backup_started_with_another_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let copy = dir.path().join("copy.db");
    let mut backup = switchboard(&db);
    backup.arg("backup").arg(&copy);
    assert!(run(backup, None).status.success());
    let other = dir.path().join("other.key");
    std::fs::write(
        &other,
        switchboard::domain::credentials::InstallationKey::generate().to_hex(),
    )
    .unwrap();
    let mut command = serve_command(&copy);
    command.arg("--key-file").arg(&other);
    let line = refused(command, &copy, dir.path());
    assert!(line.contains("key file does not belong"), "{line}");
}

#[test]
fn a_missing_key_file_is_refused_while_accounts_exist() {
    let dir = tempfile::tempdir().unwrap();
    // Killed, so its last writes are still in the write-ahead log beside the file: a start
    // that folded them in before refusing would change the file.
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    server.admin();
    server.kill();
    assert!(
        std::fs::metadata(dir.path().join("switchboard.db-wal"))
            .unwrap()
            .len()
            > 0
    );
    let wal = snapshot(&dir.path().join("switchboard.db-wal"));
    std::fs::remove_file(dir.path().join("switchboard.db.key")).unwrap();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(line.contains("key file is missing"), "{line}");
    assert_eq!(snapshot(&dir.path().join("switchboard.db-wal")), wal);
    assert!(
        !dir.path().join("switchboard.db.key").exists(),
        "no new key was made up"
    );
}

#[test]
fn a_listen_address_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut command = switchboard(&db);
    command
        .arg("--listen")
        .arg(taken.local_addr().unwrap().to_string());
    let line = refused(command, &db, dir.path());
    assert!(line.contains("cannot listen"), "{line}");

    let fresh = dir.path().join("fresh.db");
    let mut command = switchboard(&fresh);
    command
        .arg("--listen")
        .arg(taken.local_addr().unwrap().to_string());
    refused(command, &fresh, dir.path());
    assert!(!lock_path(&fresh).exists(), "no lock file is left behind");
}

#[test]
fn a_second_server_on_the_same_database_and_port_is_told_the_database_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let first = start(&db);
    let mut second = switchboard(&db);
    second.arg("--listen").arg(first.address.to_string());
    let line = refused(second, &db, dir.path());
    assert!(line.contains("already serving this database"), "{line}");
    assert!(first.stop().success());
}

#[test]
fn a_second_instance_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let first = start(&db);
    let (_, token) = first.admin();
    let line = refused(serve_command(&db), &db, dir.path());
    assert!(line.contains("already serving this database"), "{line}");
    let (sid, _) = first.admin();
    assert_eq!(
        first
            .get(&format!("/Accounts/{sid}.json"), &basic(&sid, &token))
            .0,
        200,
        "the first server is unharmed"
    );
    assert!(first.stop().success());
    let again = start(&db);
    assert!(
        again.stop().success(),
        "the lock went with the first server"
    );
}

#[test]
fn bad_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = installation(dir.path());
    let cases: [&[&str]; 5] = [
        &["--bogus"],
        &["--sync", "fast"],
        &["--bcrypt-cost", "99"],
        &["--workers", "0"],
        &["--admin-email", "not an address"],
    ];
    for args in cases {
        let mut command = switchboard(&db);
        command.args(args);
        let before = snapshot(&db);
        let output = run(command, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        one_clear_line(&output, dir.path());
        assert_eq!(snapshot(&db), before);
    }
}
