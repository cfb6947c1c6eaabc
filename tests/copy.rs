//! `switchboard copy` between SQLite and PostgreSQL: an installation made through the API is
//! copied to PostgreSQL and from there to a new SQLite file, and each copy, served with the
//! same key file, answers exactly as the original did. A target that is not empty, or a
//! source that is missing, is refused with nothing written.

#[allow(dead_code)]
#[path = "support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::Output;

use helpers::cluster::Cluster;
use helpers::{spawn_app, spawn_app_with, Auth, Member, TestApp};

/// API-only accounts below the administrator; enough for many pages and one copy statement.
const API_ONLY: usize = 2500;

fn copy(from: &str, to: &str) -> Output {
    let mut command = binary::command();
    command.args(["copy", "--from", from, "--to", to]);
    binary::run(command, None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The original: three levels, passwords on a few, some suspended or closed.
struct Original {
    app: TestApp,
    members: Vec<Member>,
    /// An API key's Sid and secret, and an account Sid with its secondary token.
    key: (String, String),
    secondary: (String, String),
}

fn build_original() -> Original {
    let app = spawn_app();
    let admin = app.admin_auth();
    let mut members = Vec::new();
    // Developers may make no accounts: the third level hangs below Administrators.
    for n in 0..4 {
        let parent = app.create_member(
            &admin,
            &format!("parent{n}@example.com"),
            &[("Role", "Administrator")],
        );
        for m in 0..3 {
            let child = app.create_member(
                &parent.token_auth(),
                &format!("child{n}.{m}@example.com"),
                &[],
            );
            members.push(child);
        }
        members.push(parent);
    }
    for n in 0..API_ONLY {
        let name = format!("Api only {n}");
        let reply = app.post("/Accounts.json", &admin, &[("FriendlyName", &name)]);
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // A suspended and a closed account, and a suspended Administrator whose children show
    // its status: every status survives the copy as stored.
    for (index, status) in [(0, "suspended"), (1, "closed"), (7, "suspended")] {
        let path = format!("/Accounts/{}.json", members[index].sid);
        let reply = app.post(&path, &admin, &[("Status", status)]);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let key = app.post(
        &format!("/Accounts/{}/Keys.json", members[2].sid),
        &admin,
        &[("FriendlyName", "copied key")],
    );
    assert_eq!(key.status, 201, "{}", key.body);
    let key = (
        key.json()["sid"].as_str().unwrap().to_owned(),
        key.json()["secret"].as_str().unwrap().to_owned(),
    );
    let secondary = app.post(
        "/restcomm/v1/AuthTokens/Secondary",
        &members[3].token_auth(),
        &[],
    );
    assert_eq!(secondary.status, 201, "{}", secondary.body);
    let secondary = (
        members[3].sid.clone(),
        secondary.json()["secondary_auth_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    Original {
        app,
        members,
        key,
        secondary,
    }
}

/// Every account the administrator lists, a hundred to a page.
const LISTING: &str = "/Accounts.json?PageSize=100";

fn serve_copy(db: &str, key_file: &Path) -> TestApp {
    let (db, key_file) = (PathBuf::from(db), key_file.to_owned());
    spawn_app_with(move |config| {
        config.db_path = db;
        config.key_file = key_file;
    })
}

/// Every secret of the original authenticates on `app` as it did there.
fn secrets_work(app: &TestApp, original: &Original) {
    for member in &original.members {
        let before = original.app.get(
            &format!("/Accounts/{}.json", member.sid),
            &member.token_auth(),
        );
        let after = app.get(
            &format!("/Accounts/{}.json", member.sid),
            &member.token_auth(),
        );
        assert_eq!((after.status, after.body), (before.status, before.body));
        let by_password = app.get(
            &format!("/Accounts/{}.json", member.sid),
            &member.password_auth(),
        );
        let before = original.app.get(
            &format!("/Accounts/{}.json", member.sid),
            &member.password_auth(),
        );
        assert_eq!(by_password.status, before.status, "{}", by_password.body);
    }
    let (key, secret) = &original.key;
    let account = &original.members[2].sid;
    let as_key = Auth::basic(key, secret);
    let fetched = app.get(&format!("/Accounts/{account}.json"), &as_key);
    assert_eq!(
        fetched.status, 200,
        "the key works on the copy: {}",
        fetched.body
    );
    let listed = app.get(&format!("/Accounts/{account}/Keys.json"), &app.admin_auth());
    assert_eq!(listed.json()["keys"][0]["sid"], key.as_str());
    assert!(!listed.body.contains(secret.as_str()));
    let (sid, token) = &original.secondary;
    let by_secondary = app.get(&format!("/Accounts/{sid}.json"), &Auth::basic(sid, token));
    assert_eq!(by_secondary.status, 200, "{}", by_secondary.body);
}

/// A new account lists after every copied one.
fn new_account_comes_last(app: &TestApp) {
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("FriendlyName", "Made on the copy")],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (listed, _) = app.walk(LISTING);
    assert_eq!(listed.last().unwrap()["sid"], reply.json()["sid"]);
}

/// Every audit event the administrator sees, newest first, without the URLs that name the host.
fn event_trail(app: &TestApp) -> Vec<serde_json::Value> {
    let mut trail = Vec::new();
    let mut next = Some("/restcomm/v1/Events?PageSize=1000".to_owned());
    while let Some(path) = next {
        let page = app.get(&path, &app.admin_auth());
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        for event in page["events"].as_array().unwrap() {
            let mut event = event.clone();
            event.as_object_mut().unwrap().remove("url");
            trail.push(event);
        }
        next = page["meta"]["next_page_url"]
            .as_str()
            .map(|url| url.split_once("/restcomm").unwrap().1.to_owned())
            .map(|rest| format!("/restcomm{rest}"));
    }
    trail
}

#[test]
fn an_installation_copied_to_postgres_and_back_answers_the_same() {
    let original = build_original();
    let (expected, pages) = original.app.walk(LISTING);
    let trail = event_trail(&original.app);
    assert!(trail.len() > API_ONLY, "{}", trail.len());
    assert_eq!(expected.len(), 1 + 4 * 4 + API_ONLY);
    let key_file = original.app.dir.path().join("switchboard.db.key");
    let source = original.app.db_path().to_string_lossy().into_owned();

    let cluster = Cluster::start();
    cluster.create_database("copied");
    let url = cluster.url("127.0.0.1", "copied", "sslmode=disable");
    let with_password = url.replace("postgres@", "postgres:not-shown-pw@");
    let out = copy(&source, &with_password);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains(&format!(
            "copied {} accounts, 1 API key and {} audit events ",
            expected.len(),
            trail.len()
        )),
        "{said}"
    );
    assert!(!said.contains("not-shown-pw") && !text(&out.stderr).contains("not-shown-pw"));
    // The planner has statistics and the rows are vacuumed at once, not when autovacuum comes
    // by.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let unanalyzed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_user_tables
             WHERE relname IN ('accounts', 'events')
               AND (last_analyze IS NULL OR last_vacuum IS NULL)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unanalyzed, 0);

    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("back.db").to_string_lossy().into_owned();
    let out = copy(&url, &back);
    assert!(out.status.success(), "{}", text(&out.stderr));

    for db in [url.as_str(), back.as_str()] {
        let app = serve_copy(db, &key_file);
        let (listed, copied_pages) = app.walk(LISTING);
        assert_eq!(copied_pages, pages, "{db}");
        assert_eq!(listed, expected, "{db}");
        secrets_work(&app, &original);
        assert_eq!(event_trail(&app), trail, "{db}");
        new_account_comes_last(&app);
        // New events order after the copied ones.
        let newest = &event_trail(&app)[0];
        assert_eq!(newest["event_type"], "account.created");
        assert_eq!(newest["event_data"]["friendly_name"], "Made on the copy");
    }
}

#[test]
fn a_target_that_holds_accounts_is_refused_and_left_as_it_was() {
    let first = spawn_app();
    let source = first.db_path().to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("filled.db");
    let target = target.to_string_lossy();
    assert!(copy(&source, &target).status.success());
    let contents = std::fs::read(&*target).unwrap();
    let out = copy(&source, &target);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("already holds accounts"), "{said}");
    assert_eq!(std::fs::read(&*target).unwrap(), contents);

    let cluster = Cluster::start();
    cluster.create_database("filled");
    let url = cluster.url("127.0.0.1", "filled", "sslmode=disable");
    let served = serve_copy(&url, &dir.path().join("another.key"));
    let before = served.walk(LISTING).0;
    let out = copy(&source, &url);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("already holds accounts"), "{said}");
    assert_eq!(served.walk(LISTING).0, before);
}

#[test]
fn a_missing_source_is_refused_and_creates_no_target() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let target = dir.path().join("target.db");
    let out = copy(&missing.to_string_lossy(), &target.to_string_lossy());
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("does not exist"), "{said}");
    assert!(binary::file_names(dir.path()).is_empty());
}

#[test]
fn copy_takes_only_from_and_to() {
    for args in [
        &["copy", "--from", "a.db"][..],
        &["copy", "--from", "a.db", "--to", "b.db", "--key-file", "k"],
        &["copy", "--from", "a.db", "--to", "b.db", "--db", "c.db"],
        &[
            "copy",
            "--from",
            "a.db",
            "--to",
            "b.db",
            "--listen",
            "127.0.0.1:9",
        ],
    ] {
        let mut command = binary::command();
        command.args(args);
        let out = binary::run(command, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
