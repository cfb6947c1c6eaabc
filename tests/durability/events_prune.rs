//! `switchboard events prune --before DATE`, beside a running server: old events go, newer
//! ones stay, and the pruning is itself recorded.

use serde_json::Value;

use crate::process::*;

fn events(server: &Server, admin: &str) -> Vec<Value> {
    let url = format!("http://{}/restcomm/v1/Events?PageSize=1000", server.address);
    let (status, body) = server.get_absolute(&url, admin);
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["events"].as_array().unwrap().clone()
}

#[test]
fn pruning_deletes_what_is_older_and_records_itself() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, token) = server.admin();
    let admin = basic(&sid, &token);
    for n in 0..3 {
        let created = server.post(
            "/Accounts.json",
            &admin,
            &[("FriendlyName", &format!("Bot {n}"))],
        );
        assert_eq!(created.map(|(status, _)| status), Some(201));
    }
    assert_eq!(events(&server, &admin).len(), 4);

    let mut keep = switchboard(&db);
    keep.args(["events", "prune", "--before", "2000-01-01"]);
    let output = run(keep, None);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("deleted 0 events"));

    let mut prune = switchboard(&db);
    prune.args(["events", "prune", "--before", "2999-01-01T00:00:00Z"]);
    let output = run(prune, None);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("deleted 5 events"), "{said}");

    let left = events(&server, &admin);
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["event_type"], "events.pruned");
    assert_eq!(left[0]["actor_type"], "system");
    assert_eq!(left[0]["source"], "cli");
    assert_eq!(left[0]["account_sid"], sid.as_str());
    assert_eq!(left[0]["event_data"]["deleted"], 5);

    let mut bad = switchboard(&db);
    bad.args(["events", "prune", "--before", "last tuesday"]);
    let output = run(bad, None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(events(&server, &admin).len(), 1);
    assert!(server.stop().success());
}
