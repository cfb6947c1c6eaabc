//! Nodes on PostgreSQL under faults: a node killed with SIGKILL in the middle of 64 concurrent
//! writers, and the database stopped under load. Whatever a node answered with 2xx is there
//! afterwards, read through another node; no request ever gets a 5xx other than the
//! contract's 503.

#[allow(dead_code)]
#[path = "support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use helpers::cluster::Cluster;
use helpers::{spawn_app_with, Reply, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

const WRITERS: usize = 64;

/// One writer's account and how far its renames were answered.
#[derive(Debug)]
struct Written {
    sid: String,
    /// The last round answered 200 (0 is the name it was created with).
    answered: usize,
}

fn name(writer: usize, round: usize) -> String {
    format!("writer {writer} round {round}")
}

/// Sends a POST of a form to a path as the administrator; `None` once the node is gone.
type Post<'a> = &'a dyn Fn(&str, &[(&str, &str)]) -> Option<Reply>;

/// Creates an API-only account, then renames it round after round until `stop` is set or the
/// node stops answering; returns what was answered.
fn write_until_stopped(node: Post<'_>, writer: usize, stop: &AtomicBool) -> Option<Written> {
    let created = node("/Accounts.json", &[("FriendlyName", &name(writer, 0))])?;
    assert!(matches!(created.status, 201 | 503), "{}", created.body);
    if created.status != 201 {
        return None;
    }
    let sid = created.json()["sid"].as_str().unwrap().to_owned();
    let mut written = Written { sid, answered: 0 };
    for round in 1.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let path = format!("/Accounts/{}.json", written.sid);
        let Some(reply) = node(&path, &[("FriendlyName", &name(writer, round))]) else {
            break;
        };
        assert!(matches!(reply.status, 200 | 503), "{}", reply.body);
        if reply.status == 200 {
            written.answered = round;
        }
    }
    Some(written)
}

/// Every answered write is there: the account exists, and its name is the last one answered
/// or the one that was in flight when the answers stopped.
fn check_answered(reader: &TestApp, written: &[(usize, Written)]) {
    for (writer, account) in written {
        let fetched = reader.fetch(&reader.admin_auth(), &account.sid);
        let shown = fetched["friendly_name"].as_str().unwrap();
        let expected = [
            name(*writer, account.answered),
            name(*writer, account.answered + 1),
        ];
        assert!(expected.contains(&shown.to_owned()), "{account:?}: {shown}");
    }
}

/// The admin's token, asked of the node at `port` with the first password.
fn admin_token(port: u16) -> String {
    let client = reqwest::blocking::Client::new();
    let reply = client
        .get(format!(
            "http://127.0.0.1:{port}/restcomm/2012-04-24/Accounts/{ADMIN_EMAIL}.json"
        ))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_PASSWORD))
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&reply.text().unwrap()).unwrap();
    body["auth_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_node_killed_during_writes_loses_nothing_it_answered() {
    let url = Cluster::for_this_process().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let mut command = binary::command();
    command
        .args(["--db", &url, "--listen", "127.0.0.1:0", "--key-file"])
        .arg(&key_file)
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let mut victim = binary::spawn(command);
    let survivor = spawn_app_with(|config| {
        config.db_path = url.clone().into();
        config.key_file = key_file.clone();
    });
    let (port, token) = (victim.port(), admin_token(victim.port()));
    let sid = survivor.admin.sid.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(WRITERS + 1));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (stop, start, token, sid) = (
                Arc::clone(&stop),
                Arc::clone(&start),
                token.clone(),
                sid.clone(),
            );
            thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let post = |path: &str, form: &[(&str, &str)]| {
                    let url = format!("http://127.0.0.1:{port}/restcomm/2012-04-24{path}");
                    let reply = client
                        .post(url)
                        .basic_auth(&sid, Some(&token))
                        .form(form)
                        .send()
                        .ok()?;
                    let status = reply.status().as_u16();
                    let headers = reply.headers().clone();
                    let body = reply.text().ok()?;
                    Some(Reply {
                        status,
                        headers,
                        body,
                    })
                };
                start.wait();
                write_until_stopped(&post, writer, &stop).map(|written| (writer, written))
            })
        })
        .collect();
    start.wait();
    thread::sleep(Duration::from_millis(1500));
    victim.kill();
    stop.store(true, Ordering::Relaxed);
    let written: Vec<(usize, Written)> = writers
        .into_iter()
        .filter_map(|writer| writer.join().unwrap())
        .collect();
    assert!(
        written.len() >= WRITERS / 2,
        "most writers had their account created before the kill: {}",
        written.len()
    );
    assert!(written.iter().any(|(_, w)| w.answered > 0));
    check_answered(&survivor, &written);
}

#[test]
fn a_database_stopped_under_load_gives_503s_and_the_nodes_recover_with_nothing_lost() {
    let cluster = Cluster::start();
    cluster.create_database("outage");
    let url = cluster.url("127.0.0.1", "outage", "sslmode=disable");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("switchboard.key");
    let on_url = |config: &mut switchboard::config::Config| {
        config.db_path = url.clone().into();
        config.key_file = key_file.clone();
        config.busy_wait = Duration::from_millis(500);
    };
    let nodes = [
        Arc::new(spawn_app_with(on_url)),
        Arc::new(spawn_app_with(on_url)),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let node = Arc::clone(&nodes[writer % 2]);
            let (stop, statuses) = (Arc::clone(&stop), Arc::clone(&statuses));
            thread::spawn(move || {
                let auth = node.admin_auth();
                let post = |path: &str, form: &[(&str, &str)]| {
                    let reply = node.post(path, &auth, form);
                    statuses.lock().unwrap().push(reply.status);
                    if reply.status == 503 {
                        reply.assert_error(503, 20503);
                        assert!(reply.header("Retry-After").is_some());
                    }
                    Some(reply)
                };
                // Until the outage is over the account may not even be created: try again.
                loop {
                    if let Some(written) = write_until_stopped(&post, writer, &stop) {
                        return Some((writer, written));
                    }
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    let readers: Vec<_> = nodes
        .iter()
        .map(|node| {
            let (node, stop, statuses) =
                (Arc::clone(node), Arc::clone(&stop), Arc::clone(&statuses));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let reply = node.get("/Accounts.json?PageSize=5", &node.admin_auth());
                    statuses.lock().unwrap().push(reply.status);
                    assert!(matches!(reply.status, 200 | 503), "{}", reply.body);
                }
            })
        })
        .collect();

    thread::sleep(Duration::from_millis(700));
    cluster.stop();
    thread::sleep(Duration::from_millis(1500));
    cluster.restart();
    // The nodes recover by themselves: both answer again within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    for node in &nodes {
        while node.get("/Accounts.json", &node.admin_auth()).status != 200 {
            assert!(Instant::now() < deadline, "a node did not recover");
            thread::sleep(Duration::from_millis(100));
        }
    }
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let written: Vec<(usize, Written)> = writers
        .into_iter()
        .filter_map(|writer| writer.join().unwrap())
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    assert!(statuses.contains(&503), "the outage was seen");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 201 | 503)));
    check_answered(&nodes[1], &written);
}
