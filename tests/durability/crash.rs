//! `kill -9` in the middle of concurrent writes, several times over: after each restart every
//! write that was answered is there, and the file passes SQLite's integrity check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::*;

const ROUNDS: usize = 3;
const WRITERS: usize = 6;
/// Kill once this many writes of the round were answered (the writers keep going meanwhile).
const ANSWERED_BEFORE_KILL: usize = 60;

/// What the clients know for sure: accounts whose creation was answered, and for each
/// writer's own account the last name answered and the last one sent.
#[derive(Default)]
struct Ledger {
    created: Vec<String>,
    names: HashMap<String, (u64, u64)>,
}

#[test]
fn answered_writes_survive_kill_9_over_several_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..ROUNDS {
        let server = start(&db);
        let (sid, token) = server.admin();
        let admin = basic(&sid, &token);
        check_ledger(&server, &admin, &ledger.lock().unwrap());
        write_until_killed(server, &admin, round, &ledger);
        assert_eq!(integrity(&db), "ok", "round {round}");
    }
    let server = start(&db);
    let (sid, token) = server.admin();
    let ledger = ledger.lock().unwrap();
    assert!(ledger.created.len() >= ROUNDS * ANSWERED_BEFORE_KILL / 2);
    check_ledger(&server, &basic(&sid, &token), &ledger);
    check_events(&server, &basic(&sid, &token));
    assert!(server.stop().success());
    assert_eq!(integrity(&db), "ok");
}

fn write_until_killed(server: Server, admin: &str, round: usize, ledger: &Arc<Mutex<Ledger>>) {
    let server = Arc::new(server);
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (server, answered, stop, ledger) = (
                Arc::clone(&server),
                Arc::clone(&answered),
                Arc::clone(&stop),
                Arc::clone(ledger),
            );
            let admin = admin.to_owned();
            std::thread::spawn(move || {
                write(
                    &server,
                    &admin,
                    &format!("r{round}w{writer}"),
                    &answered,
                    &stop,
                    &ledger,
                )
            })
        })
        .collect();
    let deadline = Instant::now() + PROCESS_DEADLINE;
    while answered.load(Ordering::SeqCst) < ANSWERED_BEFORE_KILL
        && Instant::now() < deadline
        && !writers.iter().all(|writer| writer.is_finished())
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child, still running.
    unsafe { libc::kill(server.pid(), libc::SIGKILL) };
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(answered.load(Ordering::SeqCst) >= ANSWERED_BEFORE_KILL);
    Arc::into_inner(server).unwrap().kill();
}

/// Alternates between creating accounts and renaming this writer's own account.
fn write(
    server: &Server,
    admin: &str,
    prefix: &str,
    answered: &AtomicUsize,
    stop: &AtomicBool,
    ledger: &Mutex<Ledger>,
) {
    let own = format!("{prefix}@crash.test");
    let Some((201, body)) = server.post(
        "/Accounts.json",
        admin,
        &[("EmailAddress", &own), ("Password", "crash test password")],
    ) else {
        return;
    };
    let sid = serde_json::from_str::<Value>(&body).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let mut ledger = ledger.lock().unwrap();
        ledger.created.push(own.clone());
        ledger.names.insert(sid.clone(), (0, 0));
    }
    answered.fetch_add(1, Ordering::SeqCst);
    for n in 1u64.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let email = format!("{prefix}n{n}@crash.test");
        let name = format!("v{n}");
        let outcome = if n % 2 == 0 {
            server.post(
                "/Accounts.json",
                admin,
                &[
                    ("EmailAddress", &email),
                    ("Password", "crash test password"),
                ],
            )
        } else {
            ledger.lock().unwrap().names.get_mut(&sid).unwrap().1 = n;
            server.post(
                &format!("/Accounts/{sid}.json"),
                admin,
                &[("FriendlyName", &name)],
            )
        };
        match outcome {
            Some((201, _)) => ledger.lock().unwrap().created.push(email),
            Some((200, _)) => ledger.lock().unwrap().names.get_mut(&sid).unwrap().0 = n,
            // No answer: the server was killed; the write may or may not have landed.
            None => return,
            Some((status, body)) => panic!("a write failed with {status}: {body}"),
        }
        answered.fetch_add(1, Ordering::SeqCst);
    }
}

fn check_ledger(server: &Server, admin: &str, ledger: &Ledger) {
    for email in &ledger.created {
        let (status, body) = server.get(&format!("/Accounts/{email}.json"), admin);
        assert_eq!(status, 200, "an answered creation was lost: {body}");
    }
    for (sid, (answered, sent)) in &ledger.names {
        let (status, body) = server.get(&format!("/Accounts/{sid}.json"), admin);
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let name = body["friendly_name"].as_str().unwrap();
        let version = name
            .strip_prefix('v')
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        // The last answered rename, or the one in flight when the server died.
        assert!(
            (*answered..=*sent).contains(&version),
            "name {name}: last answered v{answered}, last sent v{sent}"
        );
    }
}

/// Every change has its event and no event lacks its change: each account has exactly one
/// creation event, every creation event names an account that exists, and each account's
/// renames form one unbroken chain of old and new names ending at the name it has now.
fn check_events(server: &Server, admin: &str) {
    let mut accounts = HashMap::new();
    let mut next = Some(server.url("/Accounts.json?PageSize=1000"));
    while let Some(url) = next {
        let (status, body) = server.get_absolute(&url, admin);
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        for account in page["accounts"].as_array().unwrap() {
            let name = account["friendly_name"].as_str().unwrap().to_owned();
            accounts.insert(account["sid"].as_str().unwrap().to_owned(), name);
        }
        next = page["next_page_uri"]
            .as_str()
            .map(|uri| format!("http://{}/restcomm{uri}", server.address));
    }
    let mut events = Vec::new();
    let mut next = Some(format!(
        "http://{}/restcomm/v1/Events?PageSize=1000",
        server.address
    ));
    while let Some(url) = next {
        let (status, body) = server.get_absolute(&url, admin);
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        next = page["meta"]["next_page_url"].as_str().map(str::to_owned);
    }
    // Oldest first, to follow each chain of renames forwards.
    events.reverse();
    let mut created: HashMap<&str, usize> = HashMap::new();
    let mut names: HashMap<&str, String> = HashMap::new();
    for event in &events {
        let about = event["account_sid"].as_str().unwrap();
        match event["event_type"].as_str().unwrap() {
            "account.created" => {
                *created.entry(about).or_default() += 1;
                let name = event["event_data"]["friendly_name"].as_str().unwrap();
                names.insert(about, name.to_owned());
            }
            "account.updated" if event["event_data"]["friendly_name"].is_object() => {
                let change = &event["event_data"]["friendly_name"];
                let name = names.get_mut(about).expect("an update after its creation");
                assert_eq!(change["old"].as_str().unwrap(), name.as_str(), "{event}");
                *name = change["new"].as_str().unwrap().to_owned();
            }
            _ => {}
        }
    }
    assert_eq!(
        created.len(),
        accounts.len(),
        "one creation event per account"
    );
    for (sid, name) in &accounts {
        assert_eq!(created.get(sid.as_str()), Some(&1), "{sid}");
        assert_eq!(names.get(sid.as_str()), Some(name), "{sid}");
    }
}
