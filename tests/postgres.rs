//! The PostgreSQL store against a real server: the schema's migrations, the byte order of Sids
//! and emails, TLS, and the whole Accounts API served from it by one node or several. Each test
//! gets its own database in a throwaway cluster.

#[allow(dead_code)]
#[path = "support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::sync::{Arc, Barrier, Mutex, Weak};
use std::thread;

use helpers::cluster::{Cluster, ServerTls};
use switchboard::store::postgres::{
    connect, latest_version, migrate, schema_version, MigrateError, Settings,
};

/// One plain cluster for the tests that run at the same time; the last one to finish stops it.
fn shared_cluster() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(Cluster::start());
    *shared = Arc::downgrade(&cluster);
    cluster
}

fn fresh_database(cluster: &Cluster, name: &str) -> Settings {
    cluster.create_database(name);
    Settings::parse(&cluster.url("127.0.0.1", name, "sslmode=disable")).unwrap()
}

fn names(client: &mut postgres::Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn migrations_build_the_schema_once() {
    let cluster = shared_cluster();
    let settings = fresh_database(&cluster, "fresh");
    let mut client = connect(&settings).unwrap();
    assert_eq!(schema_version(&mut client).unwrap(), 0);

    migrate(&mut client).unwrap();
    assert_eq!(schema_version(&mut client).unwrap(), latest_version());
    let tables = names(
        &mut client,
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    assert_eq!(
        tables,
        [
            "accounts",
            "api_keys",
            "events",
            "failed_logins",
            "installation",
            "schema_version"
        ]
    );
    let indexes = names(
        &mut client,
        "SELECT indexname || ' ' || regexp_replace(indexdef, '^.* USING ', '')
         FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
    );
    assert_eq!(
        indexes,
        [
            "accounts_by_branch btree (branch_sid, date_created, seq)",
            "accounts_by_root btree (root_sid, date_created, seq)",
            "accounts_by_seq btree (seq)",
            "accounts_email_key btree (email)",
            "accounts_pkey btree (sid)",
            "accounts_suspended btree (sid, status) WHERE (status = 'suspended'::text)",
            "api_keys_by_account btree (account_sid, date_created, seq)",
            "api_keys_pkey btree (sid)",
            "api_keys_seq_key btree (seq)",
            "events_by_account btree (account_sid, event_date, seq)",
            "events_by_branch btree (branch_sid, event_date, seq)",
            "events_by_date btree (event_date)",
            "events_by_root btree (root_sid, event_date, seq)",
            "events_by_seq btree (seq)",
            "events_pkey btree (sid)",
            "failed_logins_by_start btree (window_start)",
            "failed_logins_pkey btree (key)",
            "installation_pkey btree (name)",
            "schema_version_pkey btree (only_row)",
        ]
    );

    migrate(&mut client).unwrap();
    assert_eq!(schema_version(&mut client).unwrap(), latest_version());
}

#[test]
fn nodes_migrating_together_apply_each_version_once() {
    let cluster = shared_cluster();
    let settings = fresh_database(&cluster, "together");
    let start = Arc::new(Barrier::new(3));
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let settings = settings.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let mut client = connect(&settings).unwrap();
                start.wait();
                migrate(&mut client).map_err(|error| error.to_string())
            })
        })
        .collect();
    // A version applied twice would fail (its tables, column and indexes exist already), so
    // three successes are three nodes that each found the others' work done.
    for node in nodes {
        assert_eq!(node.join().unwrap(), Ok(()));
    }
    let mut client = connect(&settings).unwrap();
    assert_eq!(schema_version(&mut client).unwrap(), latest_version());
    let rows: i64 = client
        .query_one("SELECT count(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let cluster = shared_cluster();
    let settings = fresh_database(&cluster, "newer");
    let mut client = connect(&settings).unwrap();
    migrate(&mut client).unwrap();
    let newer = i32::try_from(latest_version() + 1).unwrap();
    client
        .execute("UPDATE schema_version SET version = $1", &[&newer])
        .unwrap();

    let error = migrate(&mut client).unwrap_err();
    assert!(
        matches!(error, MigrateError::TooNew { found, known }
            if found == latest_version() + 1 && known == latest_version()),
        "{error:?}"
    );
    assert!(!error.to_string().contains("SELECT"), "{error}");
    assert_eq!(schema_version(&mut client).unwrap(), latest_version() + 1);
}

fn insert(client: &mut postgres::Client, sid: &str, email: &str, created: i64) {
    client
        .execute(
            "INSERT INTO accounts (sid, level, owner_sid, root_sid, email, friendly_name, role,
                 status, token_salt, date_created, date_updated)
             VALUES ($1, 1, $1, $1, $2, 'n', 'Developer', 'active', 's', $3, $3)",
            &[&sid, &email, &created],
        )
        .unwrap();
}

#[test]
fn listings_follow_creation_order_and_byte_order() {
    let cluster = shared_cluster();
    let settings = fresh_database(&cluster, "order");
    let mut client = connect(&settings).unwrap();
    migrate(&mut client).unwrap();
    // The cluster's own collation puts lowercase first; the schema must not follow it.
    let default_order: bool = client
        .query_one("SELECT 'ACa' < 'ACZ'", &[])
        .unwrap()
        .get(0);
    assert!(default_order, "the test cluster should not sort by bytes");

    insert(&mut client, "ACa", "b_x@example.com", 200);
    insert(&mut client, "ACZ", "a@example.com", 100);
    insert(&mut client, "AC_", "bx@example.com", 200);
    insert(&mut client, "ACA", "b.x@example.com", 100);

    let by_creation = names(
        &mut client,
        "SELECT sid FROM accounts ORDER BY date_created, seq",
    );
    assert_eq!(by_creation, ["ACZ", "ACA", "ACa", "AC_"]);
    let page: Vec<String> = client
        .query(
            "SELECT sid FROM accounts WHERE (date_created, seq) > ($1, $2)
             ORDER BY date_created, seq",
            &[&100_i64, &4_i64],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(page, ["ACa", "AC_"]);

    let by_sid = names(&mut client, "SELECT sid FROM accounts ORDER BY sid");
    assert_eq!(by_sid, ["ACA", "ACZ", "AC_", "ACa"]);
    let after_z = names(
        &mut client,
        "SELECT sid FROM accounts WHERE sid > 'ACZ' ORDER BY sid",
    );
    assert_eq!(after_z, ["AC_", "ACa"]);
    let by_email = names(&mut client, "SELECT email FROM accounts ORDER BY email");
    assert_eq!(
        by_email,
        [
            "a@example.com",
            "b.x@example.com",
            "b_x@example.com",
            "bx@example.com"
        ]
    );
}

/// A certificate authority and a server certificate it signed for `localhost`.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn authority() -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    (params.self_signed(&key).unwrap(), key)
}

fn pki() -> Pki {
    let (ca, ca_key) = authority();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn encrypted(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn tls_require_encrypts_and_verify_full_checks_root_and_host() {
    let pki = pki();
    let cluster = Cluster::start_with_tls(&ServerTls {
        cert_pem: &pki.cert_pem,
        key_pem: &pki.key_pem,
    });
    let right_root = cluster.write_file("root.crt", &pki.ca_pem, 0o644);
    // Another authority with the same name: only its key tells it apart.
    let wrong_root = cluster.write_file("other.crt", &authority().0.pem(), 0o644);
    let url = |host: &str, query: &str| {
        // The password is ignored by the trusting cluster; it is there to be kept out of errors.
        let url = cluster.url(host, "postgres", query);
        Settings::parse(&url.replacen("postgres@", "postgres:hunter2@", 1)).unwrap()
    };

    let mut client = connect(&url("127.0.0.1", "sslmode=require")).unwrap();
    assert!(encrypted(&mut client));
    let mut client = connect(&url("127.0.0.1", "sslmode=disable")).unwrap();
    assert!(!encrypted(&mut client));

    let verify = |host: &str, root: &std::path::Path| {
        connect(&url(
            host,
            &format!("sslmode=verify-full&sslrootcert={}", root.display()),
        ))
    };
    let mut client = verify("localhost", &right_root).unwrap();
    assert!(encrypted(&mut client));
    for (host, root) in [("localhost", &wrong_root), ("127.0.0.1", &right_root)] {
        let error = verify(host, root)
            .err()
            .expect("an unverifiable server is refused");
        let shown = format!("{error} {error:?}");
        assert!(error.to_string().contains("certificate"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

// ---- The Accounts API served from PostgreSQL ----

use helpers::{spawn_app_with, Auth, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::Value;
use switchboard::config::Config;

/// A URL for a new database of its own on the shared cluster.
fn database_url(cluster: &Cluster, name: &str) -> String {
    cluster.create_database(name);
    cluster.url("127.0.0.1", name, "sslmode=disable")
}

fn on_postgres(url: &str) -> impl FnOnce(&mut Config) + '_ {
    move |config| config.db_path = url.into()
}

/// A second node on the database of `first`, with the same key file.
fn another_node(first: &TestApp, url: &str) -> TestApp {
    let key_file = first.dir.path().join("switchboard.db.key");
    spawn_app_with(move |config| {
        config.db_path = url.into();
        config.key_file = key_file;
    })
}

fn accounts_on(url: &str) -> i64 {
    let mut client = connect(&Settings::parse(url).unwrap()).unwrap();
    client
        .query_one("SELECT count(*) FROM accounts", &[])
        .unwrap()
        .get(0)
}

/// A body with what must differ between two stores (Sids, tokens, dates, addresses) masked.
fn masked(body: &str) -> Value {
    fn mask(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let varies = matches!(
                        key.as_str(),
                        "sid"
                            | "owner_account_sid"
                            | "auth_token"
                            | "date_created"
                            | "date_updated"
                            | "uri"
                            | "next_page_uri"
                            | "previous_page_uri"
                            | "first_page_uri"
                            | "subresource_uris"
                            | "page_token"
                            | "secret"
                            | "secondary_auth_token"
                            | "account_sid"
                    );
                    if varies && !value.is_null() {
                        *value = Value::String("*".into());
                    } else {
                        mask(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_str(body).unwrap_or(Value::String(body.into()));
    mask(&mut value);
    value
}

/// The same requests, in the same order, with what each answered.
fn exercise(app: &TestApp) -> Vec<(u16, Value)> {
    let admin = app.admin_auth();
    let mut answers = Vec::new();
    let mut record = |reply: helpers::Reply| {
        answers.push((reply.status, masked(&reply.body)));
        reply
    };
    let mut sids = Vec::new();
    for n in 0..5 {
        let email = format!("user{n}@example.com");
        let name = if n % 2 == 0 { "Even" } else { "Odd" };
        let reply = record(app.post(
            "/Accounts.json",
            &admin,
            &[
                ("EmailAddress", email.as_str()),
                ("Password", "correct horse battery staple"),
                ("FriendlyName", name),
            ],
        ));
        sids.push(reply.json()["sid"].as_str().unwrap_or_default().to_owned());
    }
    record(app.post(
        "/Accounts.json",
        &admin,
        &[
            ("EmailAddress", "user0@example.com"),
            ("Password", "another good password 9"),
        ],
    ));
    record(app.get(&format!("/Accounts/{}.json", sids[1]), &admin));
    record(app.get("/Accounts/user3@example.com.json", &admin));
    record(app.post(
        &format!("/Accounts/{}.json", sids[2]),
        &admin,
        &[("FriendlyName", "Renamed"), ("Status", "suspended")],
    ));
    for query in [
        "",
        "?PageSize=2",
        "?PageSize=2&Page=1",
        "?FriendlyName=Odd",
        "?Status=suspended",
        "?EmailAddress=user4@example.com",
    ] {
        let first = record(app.get(&format!("/Accounts.json{query}"), &admin));
        if let Some(next) = first.json()["next_page_uri"].as_str() {
            record(app.get(next, &admin));
        }
    }
    let keys = format!("/Accounts/{}/Keys.json", sids[0]);
    let mut made = Vec::new();
    for name in ["one", "two", "three"] {
        let reply = record(app.post(&keys, &admin, &[("FriendlyName", name)]));
        made.push(reply.json()["sid"].as_str().unwrap_or_default().to_owned());
    }
    let first = record(app.get(&format!("{keys}?PageSize=2"), &admin));
    if let Some(next) = first.json()["next_page_uri"].as_str() {
        record(app.get(&format!("/restcomm{next}"), &admin));
    }
    let key = format!("/Accounts/{}/Keys/{}.json", sids[0], made[1]);
    record(app.post(&key, &admin, &[("FriendlyName", "renamed")]));
    record(app.get(&key, &admin));
    record(app.request("DELETE", &key, &admin, &[], None));
    record(app.get(&key, &admin));
    record(app.get(&keys, &admin));
    let secondary = "/restcomm/v1/AuthTokens/Secondary";
    record(app.post(secondary, &admin, &[]));
    record(app.request("DELETE", secondary, &admin, &[], None));
    record(app.request("DELETE", secondary, &admin, &[], None));
    record(app.post("/restcomm/v1/AuthTokens/Promote", &admin, &[]));
    answers
}

#[test]
fn the_api_answers_as_it_does_on_sqlite() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "same_answers");
    let postgres = spawn_app_with(on_postgres(&url));
    let sqlite = spawn_app_with(|_| {});
    assert_eq!(
        accounts_on(&url),
        1,
        "the first start made the administrator"
    );
    let on_postgres = exercise(&postgres);
    let on_sqlite = exercise(&sqlite);
    assert_eq!(on_postgres.len(), on_sqlite.len());
    for (index, (pg, lite)) in on_postgres.iter().zip(&on_sqlite).enumerate() {
        assert_eq!(pg, lite, "answer {index} differs");
    }
    assert!(on_postgres.iter().any(|(status, _)| *status == 409));
}

#[test]
fn a_change_on_one_node_is_seen_on_the_other_at_once() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "two_nodes");
    let a = spawn_app_with(on_postgres(&url));
    let b = another_node(&a, &url);
    let listing = b.get("/Accounts.json?PageSize=5", &b.admin_auth());
    assert_eq!(listing.status, 200, "{}", listing.body);

    let renamed = a.post(
        &format!("/Accounts/{}.json", a.admin.sid),
        &a.admin_auth(),
        &[("FriendlyName", "Renamed on A")],
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let listing = b.get("/Accounts.json?PageSize=5", &b.admin_auth());
    assert_eq!(
        listing.json()["accounts"][0]["friendly_name"],
        "Renamed on A"
    );

    let old_token = b.admin_auth();
    let changed = a.post(
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        &Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD),
        &[("Password", "a brand new password 42")],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let me = format!("/Accounts/{ADMIN_EMAIL}.json");
    assert_eq!(
        b.get(&me, &Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD)).status,
        401
    );
    assert_eq!(b.get(&me, &old_token).status, 401);
    let fresh = b.get(&me, &Auth::basic(ADMIN_EMAIL, "a brand new password 42"));
    assert_eq!(fresh.status, 200, "{}", fresh.body);
}

/// Every event `auth` sees on `node` with `query`, following `next_page_url`.
fn events_on(node: &TestApp, auth: &Auth, query: &str) -> Vec<Value> {
    let mut listed = Vec::new();
    let mut next = Some(format!("/restcomm/v1/Events?{query}"));
    while let Some(path) = next {
        let page = node.get(&path, auth);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        listed.extend(page["events"].as_array().unwrap().iter().cloned());
        next = page["meta"]["next_page_url"].as_str().map(|url| {
            url.split_once(&node.address.to_string())
                .unwrap()
                .1
                .to_owned()
        });
    }
    listed
}

#[test]
fn events_written_on_one_node_are_listed_on_the_other() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "events_two_nodes");
    let a = spawn_app_with(|config| {
        config.db_path = url.as_str().into();
        config.metrics_listen = Some("127.0.0.1:0".into());
    });
    let b = another_node(&a, &url);
    let (parent, child) = a.create_family();
    let renamed = b.post(
        &format!("/Accounts/{}.json", child.sid),
        &b.admin_auth(),
        &[("FriendlyName", "Renamed on B"), ("Status", "suspended")],
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    for node in [&a, &b] {
        let all = events_on(node, &node.admin_auth(), "PageSize=2");
        let kinds: Vec<&str> = all
            .iter()
            .map(|e| e["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "account.suspended",
                "account.updated",
                "account.created",
                "account.created",
                "account.created"
            ]
        );
        assert_eq!(all[0]["account_sid"], child.sid.as_str());
        let fetched = node.get(
            &format!("/restcomm/v1/Events/{}", all[0]["sid"].as_str().unwrap()),
            &parent.token_auth(),
        );
        assert_eq!(fetched.status, 200, "{}", fetched.body);
        let by_actor = events_on(
            node,
            &node.admin_auth(),
            &format!("ActorSid={}", parent.sid),
        );
        assert_eq!(by_actor.len(), 1);
        let filtered = events_on(
            node,
            &node.admin_auth(),
            "EventType=account.created&SourceIpAddress=127.0.0.1&StartDate=2000-01-01",
        );
        assert_eq!(filtered.len(), 2);
        assert_eq!(events_on(node, &parent.token_auth(), "").len(), 4);
    }
    // The metrics read the database's size from PostgreSQL.
    let metrics = reqwest::blocking::get(format!("http://{}/metrics", a.metrics.unwrap()))
        .unwrap()
        .text()
        .unwrap();
    let size = metrics
        .lines()
        .find_map(|line| line.strip_prefix("switchboard_database_size_bytes "))
        .unwrap();
    assert!(size.parse::<f64>().unwrap() > 0.0, "{metrics}");
}

#[test]
fn a_deleted_key_and_a_retired_token_stop_working_on_every_node_at_once() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "two_nodes_keys");
    let a = spawn_app_with(on_postgres(&url));
    let b = another_node(&a, &url);
    let sid = a.admin.sid.clone();
    let me = format!("/Accounts/{sid}.json");
    let made = a.post(&format!("/Accounts/{sid}/Keys.json"), &a.admin_auth(), &[]);
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.json()["sid"].as_str().unwrap().to_owned();
    let as_key = Auth::basic(&key, made.json()["secret"].as_str().unwrap());
    assert_eq!(
        b.get(&me, &as_key).status,
        200,
        "a new key works on B at once"
    );

    // Suspension on A refuses the key on B, and reactivation lets it in again.
    let child = a.create_member(&a.admin_auth(), "keyed@example.com", &[]);
    let child_key = a.post(
        &format!("/Accounts/{}/Keys.json", child.sid),
        &a.admin_auth(),
        &[],
    );
    let child_auth = Auth::basic(
        child_key.json()["sid"].as_str().unwrap(),
        child_key.json()["secret"].as_str().unwrap(),
    );
    let child_path = format!("/Accounts/{}.json", child.sid);
    assert_eq!(b.get(&child_path, &child_auth).status, 200);
    let suspended = a.post(&child_path, &a.admin_auth(), &[("Status", "suspended")]);
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    b.get(&child_path, &child_auth).assert_error(403, 20005);

    let deleted = a.request(
        "DELETE",
        &format!("/Accounts/{sid}/Keys/{key}.json"),
        &a.admin_auth(),
        &[],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    b.get(&me, &as_key).assert_error(401, 20003);

    let old = a.admin_auth();
    let secondary = a.post("/restcomm/v1/AuthTokens/Secondary", &old, &[]);
    assert_eq!(secondary.status, 201, "{}", secondary.body);
    let second = secondary.json()["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b.get(&me, &Auth::basic(&sid, &second)).status, 200);
    let promoted = a.post("/restcomm/v1/AuthTokens/Promote", &old, &[]);
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    b.get(&me, &old).assert_error(401, 20003);
    assert_eq!(b.get(&me, &Auth::basic(&sid, &second)).status, 200);
    let listed = b.get("/Accounts.json", &Auth::basic(&sid, &second));
    assert_eq!(listed.json()["accounts"][0]["auth_token"], second.as_str());

    let third = a.post(
        "/restcomm/v1/AuthTokens/Secondary",
        &Auth::basic(&sid, &second),
        &[],
    );
    let third = third.json()["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = a.request(
        "DELETE",
        "/restcomm/v1/AuthTokens/Secondary",
        &Auth::basic(&sid, &second),
        &[],
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    b.get(&me, &Auth::basic(&sid, &third))
        .assert_error(401, 20003);
}

#[test]
fn concurrent_writes_on_two_nodes_keep_every_rule() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "concurrent");
    let a = Arc::new(spawn_app_with(on_postgres(&url)));
    let b = Arc::new(another_node(&a, &url));
    let rounds = 8;
    let mut created = 0;
    for round in 0..rounds {
        let email = format!("race{round}@example.com");
        let answers: Vec<u16> = [Arc::clone(&a), Arc::clone(&b)]
            .into_iter()
            .map(|node| {
                let email = email.clone();
                thread::spawn(move || {
                    let form = [
                        ("EmailAddress", email.as_str()),
                        ("Password", "correct horse battery staple"),
                    ];
                    node.post("/Accounts.json", &node.admin_auth(), &form)
                        .status
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|answer| answer.join().unwrap())
            .collect();
        let mut sorted = answers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [201, 409], "round {round}");
        created += 1;
    }
    assert_eq!(accounts_on(&url), 1 + created);

    // Two nodes changing different fields of one account: both changes stay.
    for round in 0..RACES {
        let target = format!("/Accounts/race{}@example.com.json", round % rounds);
        let name = format!("Both {round}");
        let status = if round % 2 == 0 {
            "suspended"
        } else {
            "active"
        };
        let answers = race(vec![
            (
                Arc::clone(&a),
                target.clone(),
                vec![("FriendlyName", name.clone())],
            ),
            (
                Arc::clone(&b),
                target.clone(),
                vec![("Status", status.to_owned())],
            ),
        ]);
        assert_eq!(answers, [200, 200], "round {round}");
        let account = a.get(&target, &a.admin_auth()).json();
        assert_eq!(account["friendly_name"], name.as_str(), "round {round}");
        assert_eq!(account["status"], status, "round {round}");
    }
}

/// How many times each race of section 10 runs.
const RACES: usize = 20;

/// A POST of a form to a path, sent to one node as its administrator.
type Racer = (Arc<TestApp>, String, Vec<(&'static str, String)>);

/// Sends every request at one moment; returns the statuses in the same order.
fn race(requests: Vec<Racer>) -> Vec<u16> {
    let start = Arc::new(Barrier::new(requests.len()));
    let racers: Vec<_> = requests
        .into_iter()
        .map(|(node, path, form)| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                start.wait();
                node.post(&path, &node.admin_auth(), &form).status
            })
        })
        .collect();
    racers.into_iter().map(|r| r.join().unwrap()).collect()
}

#[test]
fn closing_an_account_while_another_node_writes_below_it_leaves_nothing_open_below_it() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "close_race");
    let a = Arc::new(spawn_app_with(on_postgres(&url)));
    let b = Arc::new(another_node(&a, &url));
    for round in 0..RACES {
        let parent = a.create_member(
            &a.admin_auth(),
            &format!("parent{round}@example.com"),
            &[("Role", "Administrator")],
        );
        // An account below the parent, made by the parent on the other node, then suspended.
        let below = b
            .create_member(
                &parent.token_auth(),
                &format!("below{round}@example.com"),
                &[],
            )
            .sid;
        assert_eq!(
            a.post(
                &format!("/Accounts/{below}.json"),
                &a.admin_auth(),
                &[("Status", "suspended")]
            )
            .status,
            200
        );

        let close = (
            Arc::clone(&a),
            format!("/Accounts/{}.json", parent.sid),
            vec![("Status", "closed".to_owned())],
        );
        let reactivate = (
            Arc::clone(&b),
            format!("/Accounts/{below}.json"),
            vec![("Status", "active".to_owned())],
        );
        let start = Arc::new(Barrier::new(2));
        let creator = {
            let (b, start, token) = (Arc::clone(&b), Arc::clone(&start), parent.token_auth());
            thread::spawn(move || {
                start.wait();
                let form = [
                    ("EmailAddress", format!("late{round}@example.com")),
                    ("Password", "a late but long password".to_owned()),
                ];
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                b.post("/Accounts.json", &token, &form)
            })
        };
        start.wait();
        let answers = race(vec![close, reactivate]);
        let created = creator.join().unwrap();
        assert_eq!(
            answers[0], 200,
            "round {round}: the close is always answered"
        );
        assert!(
            matches!(answers[1], 200 | 400),
            "round {round}: {answers:?}"
        );
        assert!(
            matches!(created.status, 201 | 403),
            "round {round}: {}",
            created.body
        );

        let mut below_parent = vec![below];
        if created.status == 201 {
            below_parent.push(created.json()["sid"].as_str().unwrap().to_owned());
        }
        for sid in below_parent {
            let account = a
                .get(&format!("/Accounts/{sid}.json"), &a.admin_auth())
                .json();
            assert_eq!(account["status"], "closed", "round {round}: {account}");
        }
    }
}

#[test]
fn an_account_changing_itself_from_many_connections_on_two_nodes_never_fails() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "self_updates");
    let a = Arc::new(spawn_app_with(on_postgres(&url)));
    let b = Arc::new(another_node(&a, &url));
    let me = format!("/Accounts/{}.json", a.admin.sid);
    let start = Arc::new(Barrier::new(16));
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let node = Arc::clone(if writer % 2 == 0 { &a } else { &b });
            let (me, start) = (me.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                (0..RACES)
                    .map(|round| {
                        let name = format!("writer {writer} round {round}");
                        node.post(&me, &node.admin_auth(), &[("FriendlyName", &name)])
                            .status
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for writer in writers {
        assert!(writer.join().unwrap().iter().all(|&status| status == 200));
    }
}

/// Lookups that arrive together go to the database in one query: each caller must still be
/// answered with its own account, whether named by Sid or by email address, and one that does
/// not exist with a refusal.
#[test]
fn callers_asking_at_once_each_get_their_own_account() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "lookups_at_once");
    let app = Arc::new(spawn_app_with(on_postgres(&url)));
    let members: Vec<_> = (0..8)
        .map(|n| app.create_member(&app.admin_auth(), &format!("caller{n}@example.com"), &[]))
        .collect();
    let start = Arc::new(Barrier::new(members.len() * 2 + 1));
    let mut askers = Vec::new();
    for member in &members {
        for by_email in [false, true] {
            let (app, member, start) = (Arc::clone(&app), member.clone(), Arc::clone(&start));
            askers.push(thread::spawn(move || {
                let auth = if by_email {
                    member.password_auth()
                } else {
                    member.token_auth()
                };
                start.wait();
                for _ in 0..RACES {
                    let reply = app.get(&format!("/Accounts/{}.json", member.sid), &auth);
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    assert_eq!(reply.json()["sid"], member.sid.as_str());
                }
            }));
        }
    }
    let stranger = helpers::Auth::basic(&format!("AC{}", "0".repeat(32)), &"1".repeat(32));
    start.wait();
    for _ in 0..RACES {
        let reply = app.get(&format!("/Accounts/{}.json", members[0].sid), &stranger);
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    for asker in askers {
        asker.join().unwrap();
    }
}

#[test]
fn nodes_starting_together_make_one_administrator() {
    let cluster = shared_cluster();
    // The nodes share one key file, as an operator would deploy them: a first node on a
    // scratch database makes it.
    let maker = spawn_app_with(on_postgres(&database_url(&cluster, "key_maker")));
    let key_file = maker.dir.path().join("switchboard.db.key");
    let url = database_url(&cluster, "together_api");
    let start = Arc::new(Barrier::new(3));
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let (start, url, key_file) = (Arc::clone(&start), url.clone(), key_file.clone());
            thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let mut config = helpers::test_config(&dir);
                config.db_path = url.into();
                config.key_file = key_file;
                start.wait();
                helpers::start(config);
                dir
            })
        })
        .collect();
    for node in nodes {
        node.join().expect("every node starts");
    }
    assert_eq!(accounts_on(&url), 1);
}

#[test]
fn another_key_file_is_refused_and_writes_nothing() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "other_key");
    let first = spawn_app_with(on_postgres(&url));
    let version = |url: &str| -> String {
        let mut client = connect(&Settings::parse(url).unwrap()).unwrap();
        let rows = client
            .query(
                "SELECT name || '=' || value FROM installation ORDER BY name",
                &[],
            )
            .unwrap();
        rows.iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join(",")
    };
    let before = (version(&url), accounts_on(&url));
    let dir = tempfile::tempdir().unwrap();
    let other_key = dir.path().join("other.key");
    // A key of the right form, but not this database's: the first key with one digit changed.
    let mut bytes = std::fs::read(first.dir.path().join("switchboard.db.key")).unwrap();
    bytes[0] = if bytes[0] == b'a' { b'b' } else { b'a' };
    std::fs::write(&other_key, bytes).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut config = helpers::test_config(&dir);
    config.db_path = url.clone().into();
    config.key_file = other_key;
    thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let outcome = switchboard::startup::Application::build(config).await;
            sender
                .send(outcome.err().map(|error| error.to_string()))
                .unwrap();
        })
    });
    let refusal = receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap()
        .expect("the start is refused");
    assert!(
        refusal.contains("does not belong to this database"),
        "{refusal}"
    );
    assert_eq!((version(&url), accounts_on(&url)), before);
}

#[test]
fn a_stopped_database_answers_503_and_the_node_recovers() {
    let cluster = Cluster::start();
    let url = database_url(&cluster, "outage");
    let app = spawn_app_with(on_postgres(&url));
    let me = format!("/Accounts/{}.json", app.admin.sid);
    assert_eq!(app.get(&me, &app.admin_auth()).status, 200);

    cluster.stop();
    for _ in 0..2 {
        let reply = app.get(&me, &app.admin_auth());
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(reply.header("Retry-After").is_some());
        let write = app.post(&me, &app.admin_auth(), &[("FriendlyName", "During outage")]);
        assert_eq!(write.status, 503, "{}", write.body);
    }

    cluster.restart();
    let reply = app.get(&me, &app.admin_auth());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let renamed = app.post(&me, &app.admin_auth(), &[("FriendlyName", "After outage")]);
    assert_eq!(renamed.status, 200, "{}", renamed.body);
}

#[test]
fn the_binary_takes_a_url_with_a_key_file_and_never_shows_its_password() {
    let cluster = shared_cluster();
    cluster.create_database("binary");
    let url = cluster
        .url("127.0.0.1", "binary", "sslmode=disable")
        .replacen("postgres@", "postgres:hunter2@", 1);
    let dir = tempfile::tempdir().unwrap();

    let refused = binary::command().args(["--db", &url]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--key-file is required"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let backup = binary::command()
        .args(["--db", &url, "backup"])
        .arg(dir.path().join("copy.db"))
        .output()
        .unwrap();
    assert!(!backup.status.success());
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(
        stderr.contains("pg_dump") && !stderr.contains("hunter2"),
        "{stderr}"
    );

    let mut command = binary::command();
    command
        .args(["--db", &url, "--listen", "127.0.0.1:0", "--key-file"])
        .arg(dir.path().join("switchboard.key"));
    let server = binary::spawn(command);
    let line = &server.log_line;
    assert!(
        line.contains("database postgres://postgres@127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
    assert!(server.stdout_when_quiet().contains("First start"));
    assert_eq!(accounts_on(&url), 1);
}

// ---- Failed authentications, counted across nodes ----

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use switchboard::domain::service::ThrottleLimits;

/// Two nodes on one database, both counting under `limits`.
struct Throttled {
    a: TestApp,
    b: TestApp,
    url: String,
    /// Kept running while the nodes use it.
    _cluster: Arc<Cluster>,
}

fn two_throttled_nodes(name: &str, limits: ThrottleLimits) -> Throttled {
    let cluster = shared_cluster();
    let url = database_url(&cluster, name);
    let first_limits = limits.clone();
    let a = spawn_app_with(|config| {
        config.db_path = url.as_str().into();
        config.throttle = first_limits;
    });
    let key_file = a.dir.path().join("switchboard.db.key");
    let b = spawn_app_with(|config| {
        config.db_path = url.as_str().into();
        config.key_file = key_file;
        config.throttle = limits;
    });
    Throttled {
        a,
        b,
        url,
        _cluster: cluster,
    }
}

fn limits(per_address: u32, per_account: u32) -> ThrottleLimits {
    ThrottleLimits {
        per_address,
        per_account,
        window: Duration::from_secs(3600),
    }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn admin_from(node: &TestApp, from: IpAddr, auth: &Auth) -> helpers::Reply {
    node.get_from(from, &format!("/Accounts/{ADMIN_EMAIL}.json"), auth)
}

/// The Retry-After of a 429, in seconds.
fn throttled_for(reply: &helpers::Reply) -> u64 {
    reply.assert_error(429, 20429);
    reply
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap()
}

fn query_i64(url: &str, sql: &str) -> i64 {
    let mut client = connect(&Settings::parse(url).unwrap()).unwrap();
    client.query_one(sql, &[]).unwrap().get(0)
}

fn execute(url: &str, sql: &str) {
    let mut client = connect(&Settings::parse(url).unwrap()).unwrap();
    client.batch_execute(sql).unwrap();
}

#[test]
fn failures_from_one_address_count_on_every_node_together() {
    let Throttled { a, b, _cluster, .. } = two_throttled_nodes("throttle_address", limits(4, 100));
    let attacker = loopback(3);
    // Each guess names another user, so only the address's count can reach its limit.
    for guess in 0..4 {
        let node = if guess % 2 == 0 { &a } else { &b };
        let user = format!("nobody{guess}@example.com");
        let reply = node.get_from(
            attacker,
            "/Accounts.json",
            &Auth::basic(&user, "a wrong guess"),
        );
        reply.assert_error(401, 20003);
    }
    for node in [&a, &b] {
        let right = Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD);
        let retry_after = throttled_for(&admin_from(node, attacker, &right));
        assert!((3590..=3600).contains(&retry_after), "{retry_after}");
        let token = admin_from(node, attacker, &node.admin_auth());
        assert_eq!(token.status, 200, "a valid token gets in: {}", token.body);
        let elsewhere = admin_from(node, loopback(4), &right);
        assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    }
}

#[test]
fn failures_for_one_name_count_on_every_node_together() {
    let Throttled { a, b, _cluster, .. } = two_throttled_nodes("throttle_name", limits(100, 3));
    // Each guess comes from another address, so only the name's count can reach its limit.
    for guess in 0..3u8 {
        let node = if guess % 2 == 0 { &a } else { &b };
        let wrong = Auth::basic(ADMIN_EMAIL, "a wrong guess");
        admin_from(node, loopback(10 + guess), &wrong).assert_error(401, 20003);
    }
    for node in [&a, &b] {
        let right = Auth::basic(ADMIN_EMAIL, ADMIN_PASSWORD);
        throttled_for(&admin_from(node, loopback(20), &right));
        let token = admin_from(node, loopback(20), &node.admin_auth());
        assert_eq!(token.status, 200, "a valid token gets in: {}", token.body);
    }
    let unknown = Auth::basic("somebody@example.com", "a wrong guess");
    admin_from(&b, loopback(20), &unknown).assert_error(401, 20003);
}

#[test]
fn the_window_is_timed_by_the_database_and_expired_rows_go() {
    let Throttled {
        a,
        b,
        url,
        _cluster,
    } = two_throttled_nodes("throttle_window", limits(2, 100));
    let attacker = loopback(5);
    let wrong = Auth::basic(ADMIN_EMAIL, "a wrong guess");
    admin_from(&a, attacker, &wrong).assert_error(401, 20003);
    admin_from(&b, attacker, &wrong).assert_error(401, 20003);
    throttled_for(&admin_from(&a, attacker, &wrong));

    // The wait left is counted from the row's start by the database's clock.
    execute(
        &url,
        "UPDATE failed_logins SET window_start = now() - interval '3590 seconds'",
    );
    let retry_after = throttled_for(&admin_from(&b, attacker, &wrong));
    assert!((1..=10).contains(&retry_after), "{retry_after}");

    // Once the window is over, counting starts again from one, and the failure that starts it
    // deletes windows that ran out.
    execute(
        &url,
        "UPDATE failed_logins SET window_start = now() - interval '3601 seconds';
         INSERT INTO failed_logins (key, window_start, failures)
         SELECT decode(lpad(to_hex(n), 8, '0'), 'hex'), now() - interval '2 hours', 7
         FROM generate_series(1, 5) AS n",
    );
    admin_from(&a, attacker, &wrong).assert_error(401, 20003);
    assert_eq!(
        query_i64(&url, "SELECT max(failures)::bigint FROM failed_logins"),
        1
    );
    assert_eq!(
        query_i64(
            &url,
            "SELECT count(*) FROM failed_logins
             WHERE window_start <= now() - interval '3600 seconds'"
        ),
        0,
        "expired windows are deleted"
    );
    admin_from(&b, attacker, &wrong).assert_error(401, 20003);
    throttled_for(&admin_from(&a, attacker, &wrong));

    // A short window runs out by itself.
    drop((a, b, _cluster));
    let short = ThrottleLimits {
        window: Duration::from_secs(2),
        ..limits(1, 100)
    };
    let Throttled { a, b, _cluster, .. } = two_throttled_nodes("throttle_short", short);
    admin_from(&a, attacker, &wrong).assert_error(401, 20003);
    throttled_for(&admin_from(&b, attacker, &wrong));
    std::thread::sleep(Duration::from_millis(2200));
    admin_from(&b, attacker, &wrong).assert_error(401, 20003);
    throttled_for(&admin_from(&a, attacker, &wrong));
}

/// Key writes for one account lock that account while they count its keys, so creates racing
/// on two nodes never take it past the limit of 100.
#[test]
fn keys_created_at_once_on_two_nodes_never_pass_the_limit() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "key_limit_race");
    let a = Arc::new(spawn_app_with(on_postgres(&url)));
    let b = Arc::new(another_node(&a, &url));
    let keys = format!("/Accounts/{}/Keys.json", a.admin.sid);
    for _ in 0..90 {
        assert_eq!(a.post(&keys, &a.admin_auth(), &[]).status, 201);
    }
    let start = Arc::new(Barrier::new(8));
    let creators: Vec<_> = (0..8)
        .map(|creator| {
            let node = Arc::clone(if creator % 2 == 0 { &a } else { &b });
            let (keys, start) = (keys.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                (0..4)
                    .map(|_| node.post(&keys, &node.admin_auth(), &[]).status)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let answers: Vec<u16> = creators
        .into_iter()
        .flat_map(|creator| creator.join().unwrap())
        .collect();
    assert!(answers.iter().all(|status| matches!(status, 201 | 400)));
    assert_eq!(answers.iter().filter(|&&status| status == 201).count(), 10);
    let held = query_i64(&url, "SELECT count(*) FROM api_keys");
    assert_eq!(held, 100);
    let page = b.get(&format!("{keys}?PageSize=1000"), &b.admin_auth());
    assert_eq!(page.json()["keys"].as_array().unwrap().len(), 100);
}

/// A secondary token made on one node while the account is renamed on both: the token write
/// reads the account for update, so it never puts back a name read before a rename.
#[test]
fn a_secondary_token_and_renames_at_once_all_hold() {
    let cluster = shared_cluster();
    let url = database_url(&cluster, "token_rename_race");
    let a = Arc::new(spawn_app_with(on_postgres(&url)));
    let b = Arc::new(another_node(&a, &url));
    let sid = a.admin.sid.clone();
    let me = format!("/Accounts/{sid}.json");
    for round in 0..RACES {
        let start = Arc::new(Barrier::new(5));
        let token = {
            let (a, start) = (Arc::clone(&a), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                a.post("/restcomm/v1/AuthTokens/Secondary", &a.admin_auth(), &[])
            })
        };
        let renamers: Vec<_> = (0..4)
            .map(|renamer| {
                let node = Arc::clone(if renamer % 2 == 0 { &b } else { &a });
                let (me, start) = (me.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    let name = format!("Renamed {round}-{renamer}");
                    start.wait();
                    node.post(&me, &node.admin_auth(), &[("FriendlyName", name.as_str())])
                        .status
                })
            })
            .collect();
        let token = token.join().unwrap();
        assert_eq!(token.status, 201, "round {round}: {}", token.body);
        for renamer in renamers {
            assert_eq!(renamer.join().unwrap(), 200, "round {round}");
        }
        let secondary = token.json()["secondary_auth_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let seen = b.get(&me, &Auth::basic(&sid, &secondary));
        assert_eq!(seen.status, 200, "round {round}: the token was kept");
        let name = seen.json()["friendly_name"].as_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!("Renamed {round}-")),
            "round {round}: a rename was undone, the name is {name}"
        );
    }
}
