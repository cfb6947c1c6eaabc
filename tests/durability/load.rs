//! Many writers at once, a lock held by another process, a full disk: never a 5xx other than
//! the contract's 503, never a lost or half-applied write.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use switchboard::store::StorageLimit;

use crate::helpers::*;
use crate::process::{integrity, open_sqlite};

const WRITERS: usize = 64;

#[test]
fn sixty_four_concurrent_writers_all_succeed() {
    let app = Arc::new(spawn_app());
    let start = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (app, start) = (Arc::clone(&app), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let email = format!("writer{i}@load.test");
                let created = app.post(
                    "/Accounts.json",
                    &app.admin_auth(),
                    &[("EmailAddress", &email), ("Password", "load test password")],
                );
                assert_eq!(created.status, 201, "{}", created.body);
                let sid = created.json()["sid"].as_str().unwrap().to_owned();
                for round in 0..2 {
                    let name = format!("writer {i} round {round}");
                    let renamed = app.post(
                        &format!("/Accounts/{sid}.json"),
                        &app.admin_auth(),
                        &[("FriendlyName", &name)],
                    );
                    assert_eq!(renamed.status, 200, "{}", renamed.body);
                }
                sid
            })
        })
        .collect();
    let sids: Vec<String> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let listed = app.get("/Accounts.json?PageSize=1000", &app.admin_auth());
    assert_eq!(listed.status, 200);
    let accounts = listed.json()["accounts"].as_array().unwrap().clone();
    assert_eq!(accounts.len(), WRITERS + 1);
    for (i, sid) in sids.iter().enumerate() {
        let account = app.fetch(&app.admin_auth(), sid);
        assert_eq!(account["friendly_name"], format!("writer {i} round 1"));
    }
}

#[test]
fn a_lock_held_beyond_the_wait_is_503_with_retry_after_and_then_clears() {
    let app = spawn_app_with(|config| config.busy_wait = Duration::from_millis(200));
    let other = open_sqlite(&app.dir.path().join("switchboard.db"));
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let refused = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "busy@load.test"),
            ("Password", "load test password"),
        ],
    );
    refused.assert_error(503, 20503);
    assert_eq!(refused.header("Retry-After").as_deref(), Some("1"));
    assert_eq!(
        app.fetch(&app.admin_auth(), &app.admin.sid)["sid"],
        app.admin.sid,
        "reads go on while another process holds the write lock"
    );
    other.execute_batch("ROLLBACK").unwrap();
    let created = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "busy@load.test"),
            ("Password", "load test password"),
        ],
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

#[test]
fn a_full_disk_refuses_writes_with_503_corrupts_nothing_and_recovers() {
    let limit = StorageLimit::default();
    let app = spawn_app_with(|config| config.storage_limit = Some(limit.clone()));
    let db = app.dir.path().join("switchboard.db");
    let pages: u32 = open_sqlite(&db)
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .unwrap();
    limit.set_max_pages(pages + 2);
    let mut created = Vec::new();
    let full = (0..400)
        .map(|i| {
            let email = format!("filler{i:03}@{}.test", "x".repeat(40));
            let name = format!("{i:03}{}", "n".repeat(60));
            let reply = app.post(
                "/Accounts.json",
                &app.admin_auth(),
                &[
                    ("EmailAddress", email.as_str()),
                    ("Password", "disk full password"),
                    ("FriendlyName", name.as_str()),
                ],
            );
            (email, reply)
        })
        .find_map(|(email, reply)| match reply.status {
            201 => {
                created.push(email);
                None
            }
            _ => Some((email, reply)),
        });
    let (refused_email, reply) = full.expect("the storage limit was reached");
    reply.assert_error(503, 20503);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("storage"));
    assert!(reply.header("Retry-After").is_some());
    assert!(!created.is_empty());
    assert_eq!(integrity(&db), "ok");
    let missing = app.get(
        &format!("/Accounts/{refused_email}.json"),
        &app.admin_auth(),
    );
    assert_eq!(missing.status, 404, "the refused write left nothing behind");

    limit.set_max_pages(1_000_000_000);
    let again = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", refused_email.as_str()),
            ("Password", "disk full password"),
        ],
    );
    assert_eq!(again.status, 201, "{}", again.body);
    for email in &created {
        app.fetch(&app.admin_auth(), email);
    }
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn readers_never_see_half_of_a_subtree_closed() {
    let app = Arc::new(spawn_app());
    let create = |auth: &Auth, email: &str, role: &str| {
        let reply = app.post(
            "/Accounts.json",
            auth,
            &[
                ("EmailAddress", email),
                ("Password", "load test password"),
                ("Role", role),
            ],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let body = reply.json();
        let sid = body["sid"].as_str().unwrap().to_owned();
        let auth = Auth::basic(&sid, body["auth_token"].as_str().unwrap());
        (sid, auth)
    };
    let (child, branch) = create(&app.admin_auth(), "branch@load.test", "Administrator");
    for i in 0..20 {
        create(&branch, &format!("leaf{i}@load.test"), "Developer");
    }
    let reader = {
        let app = Arc::clone(&app);
        let child = child.clone();
        std::thread::spawn(move || {
            let mut after_close = 0;
            for _ in 0..2000 {
                let listed = app.get("/Accounts.json?PageSize=1000", &app.admin_auth());
                assert_eq!(listed.status, 200);
                let accounts = listed.json()["accounts"].as_array().unwrap().clone();
                let closed: Vec<bool> = accounts
                    .iter()
                    .filter(|a| a["sid"] == child || a["owner_account_sid"] == child)
                    .map(|a| a["status"] == "closed")
                    .collect();
                assert_eq!(closed.len(), 21);
                assert!(
                    closed.iter().all(|c| *c) || closed.iter().all(|c| !*c),
                    "a listing saw part of the subtree closed: {closed:?}"
                );
                if closed[0] {
                    after_close += 1;
                    if after_close == 5 {
                        return;
                    }
                }
            }
            panic!("the close never became visible");
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let closed = app.post(
        &format!("/Accounts/{child}.json"),
        &app.admin_auth(),
        &[("Status", "closed")],
    );
    assert_eq!(closed.status, 200, "{}", closed.body);
    reader.join().unwrap();
}
