use sha2::{Digest, Sha256};

use crate::helpers::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn the_database_holds_no_password_no_token_and_no_unkeyed_hash() {
    let app = spawn_app();
    let password = "sentinel password 4242";
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("EmailAddress", "s@example.com"), ("Password", password)],
    );
    assert_eq!(reply.status, 201);
    let token = reply.json()["auth_token"].as_str().unwrap().to_owned();
    let bytes = app.stored_bytes();
    assert!(
        contains(&bytes, b"s@example.com"),
        "the account was written"
    );
    let sha256 = hex::encode(Sha256::digest(password.as_bytes()));
    for needle in [
        password,
        token.as_str(),
        ADMIN_PASSWORD,
        app.admin.token.as_str(),
        sha256.as_str(),
    ] {
        assert!(
            !contains(&bytes, needle.as_bytes()),
            "{needle} is in the database"
        );
    }
    assert!(
        !contains(&bytes, &Sha256::digest(password.as_bytes())),
        "raw SHA-256 is in the database"
    );
}

#[test]
fn the_key_file_is_private_and_tokens_depend_on_it() {
    let app = spawn_app();
    let key = app.key_file();
    let metadata = std::fs::metadata(&key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert!(!text.contains(&app.admin.token));
}
