//! The PostgreSQL store's foundation against a real server: the schema's migrations, the byte
//! order of Sids and emails, and TLS. Each test gets its own database in a throwaway cluster.

#[path = "support/postgres.rs"]
mod cluster;

use std::sync::{Arc, Barrier, Mutex, Weak};
use std::thread;

use cluster::{Cluster, ServerTls};
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
    assert_eq!(tables, ["accounts", "installation", "schema_version"]);
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
