//! A database file made by the first schema version opens with this build, migrates to the
//! latest version, and keeps every account, its password and its place in the tree.

use std::path::Path;

use serde_json::Value;
use switchboard::domain::credentials::{Credentials, InstallationKey, Password};

use crate::helpers::{start, test_config, BASE};
use crate::process::{basic, client, open_sqlite};

const SCHEMA_V1: &str = include_str!("../fixtures/schema-v1.sql");
const CURRENT_SCHEMA: &str = include_str!("../../schema.sql");
const ROOT_PASSWORD: &str = "root of the v1 fixture";
const ROOT: &str = "AC00000000000000000000000000000001";
const CHILD: &str = "AC00000000000000000000000000000002";
const GRANDCHILD: &str = "AC00000000000000000000000000000003";
/// Made after CHILD within the same second, with a smaller Sid.
const SIBLING: &str = "AC00000000000000000000000000000000";

/// Three accounts, one per level: an active Administrator with a password, a suspended
/// Developer, and a closed API-only account; and a sibling of the Developer made in the same
/// second after it.
fn write_v1_database(db: &Path, key: &InstallationKey) {
    let conn = open_sqlite(db);
    conn.execute_batch(SCHEMA_V1).unwrap();
    let hash = Credentials::new(key.clone(), 4)
        .hash_password(&Password::parse(ROOT_PASSWORD, None, None).unwrap())
        .unwrap();
    // As version 1 stored them: level, owner, root and branch spelled out for each row.
    conn.execute_batch(&format!(
        "INSERT INTO accounts (sid, level, owner_sid, root_sid, branch_sid, email,
             friendly_name, role, status, password_hash, token_salt, date_created, date_updated)
         VALUES
         ('{ROOT}', 1, '{ROOT}', '{ROOT}', NULL, 'root@v1.test', 'Root', 'Administrator',
          'active', '{hash}', 'salt1', 1335307889, 1335307889),
         ('{CHILD}', 2, '{ROOT}', '{ROOT}', '{CHILD}', 'child@v1.test', 'Child', 'Developer',
          'suspended', NULL, 'salt2', 1335307890, 1335307890),
         ('{GRANDCHILD}', 3, '{CHILD}', '{ROOT}', '{CHILD}', NULL, 'Grandchild', 'Developer',
          'closed', NULL, 'salt3', 1335307891, 1335307891),
         ('{SIBLING}', 2, '{ROOT}', '{ROOT}', '{SIBLING}', NULL, 'Sibling', 'Developer',
          'active', NULL, 'salt4', 1335307890, 1335307890);"
    ))
    .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
}

#[test]
fn a_version_1_database_migrates_and_keeps_every_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.admin_password = None;
    let key = InstallationKey::generate();
    std::fs::write(&config.key_file, key.to_hex()).unwrap();
    write_v1_database(&config.db_path, &key);
    let db = config.db_path.clone();

    let (address, generated) = start(config);
    assert!(
        generated.is_none(),
        "no first administrator is made for a database with accounts"
    );
    let get = |path: &str| -> Value {
        let response = client()
            .get(format!("http://{address}{BASE}{path}"))
            .header("Authorization", basic("root@v1.test", ROOT_PASSWORD))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().unwrap()).unwrap()
    };
    let accounts: Vec<Value> = get("/Accounts.json")["accounts"]
        .as_array()
        .unwrap()
        .clone();
    let shown: Vec<(&str, &str, &str)> = accounts
        .iter()
        .map(|a| {
            (
                a["sid"].as_str().unwrap(),
                a["status"].as_str().unwrap(),
                a["owner_account_sid"].as_str().unwrap(),
            )
        })
        .collect();
    // In creation order: the sibling, made after the child in the same second, follows it.
    assert_eq!(
        shown,
        [
            (ROOT, "active", ROOT),
            (CHILD, "suspended", ROOT),
            (SIBLING, "active", ROOT),
            (GRANDCHILD, "closed", CHILD)
        ]
    );
    assert_eq!(get("/Accounts/child@v1.test.json")["role"], "Developer");

    let latest = CURRENT_SCHEMA
        .lines()
        .filter_map(|line| line.strip_prefix("-- version "))
        .filter_map(|version| version.trim().parse::<i64>().ok())
        .max()
        .unwrap();
    let version: i64 = open_sqlite(&db)
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, latest);
}

#[test]
fn the_first_start_after_an_upgrade_records_the_key_and_later_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let key_file = dir.path().join("switchboard.db.key");
    let key = InstallationKey::generate();
    std::fs::write(&key_file, key.to_hex()).unwrap();
    write_v1_database(&db, &key);

    let server = crate::process::start(&db);
    let (status, _) = server.get(
        "/Accounts/root@v1.test.json",
        &basic("root@v1.test", ROOT_PASSWORD),
    );
    assert_eq!(status, 200);
    assert!(server.stop().success());
    let stored: String = open_sqlite(&db)
        .query_row(
            "SELECT value FROM installation WHERE name = 'key_check'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, key.check_value());

    std::fs::write(&key_file, InstallationKey::generate().to_hex()).unwrap();
    let output = crate::process::run(crate::process::serve_command(&db), None);
    assert!(!output.status.success());
    let line = crate::process::one_clear_line(&output, dir.path());
    assert!(line.contains("does not belong to this database"), "{line}");
}
