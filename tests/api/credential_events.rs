//! Section 13 for sections 11 and 12: rotating an AuthToken and managing API keys leave their
//! events, and a change made with a key names the key as its actor.

use serde_json::{json, Value};

use super::events::{events, one};
use crate::helpers::{spawn_app, Auth, TestApp};

const SECONDARY: &str = "/restcomm/v1/AuthTokens/Secondary";
const PROMOTE: &str = "/restcomm/v1/AuthTokens/Promote";

fn keys_of(sid: &str) -> String {
    format!("/Accounts/{sid}/Keys.json")
}

fn key_path(sid: &str, key: &str) -> String {
    format!("/Accounts/{sid}/Keys/{key}.json")
}

/// A key made for `sid` by `auth`: its Sid and its secret.
fn make_key(app: &TestApp, auth: &Auth, sid: &str, form: &[(&str, &str)]) -> (String, String) {
    let reply = app.post(&keys_of(sid), auth, form);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    (
        body["sid"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

fn of_type(all: &[Value], kind: &str) -> Vec<Value> {
    all.iter()
        .filter(|event| event["event_type"] == kind)
        .cloned()
        .collect()
}

#[test]
fn rotating_an_auth_token_leaves_an_event_at_each_step() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "rotor@example.com", &[]);
    let own = member.token_auth();
    let first = app.post(SECONDARY, &own, &[]);
    assert_eq!(first.status, 201, "{}", first.body);
    let promoted = app.post(PROMOTE, &own, &[]);
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let token = promoted.json()["auth_token"].as_str().unwrap().to_owned();
    let own = Auth::basic(&member.sid, &token);
    assert_eq!(app.post(SECONDARY, &own, &[]).status, 201);
    let deleted = app.request("DELETE", SECONDARY, &own, &[], None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // The account sees its own, and its Administrator sees them too.
    for auth in [&own, &app.admin_auth()] {
        let all = events(&app, auth, &format!("ResourceSid={}", member.sid));
        let kinds: Vec<&str> = all
            .iter()
            .filter(|event| event["resource_type"] == "auth-token")
            .map(|event| event["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "auth-token.secondary-deleted",
                "auth-token.secondary-created",
                "auth-token.promoted",
                "auth-token.secondary-created",
            ],
            "newest first"
        );
    }
    let all = events(&app, &app.admin_auth(), "EventType=auth-token.promoted");
    let event = one(&all, "auth-token.promoted", &member.sid);
    assert_eq!(event["resource_sid"], member.sid.as_str());
    assert_eq!(event["actor_type"], "account");
    assert_eq!(event["actor_sid"], member.sid.as_str());
    assert_eq!(event["event_data"], json!({}));
    assert_eq!(
        event["description"],
        "Secondary AuthToken promoted to AuthToken"
    );

    // Refused: nothing to promote, and a delete of no token. Neither leaves an event.
    let before = events(&app, &app.admin_auth(), "").len();
    assert_eq!(app.post(PROMOTE, &own, &[]).status, 400);
    let again = app.request("DELETE", SECONDARY, &own, &[], None);
    assert_eq!(again.status, 404, "{}", again.body);
    assert_eq!(events(&app, &app.admin_auth(), "").len(), before);
}

#[test]
fn a_key_is_created_renamed_and_deleted_with_its_events() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "keyed@example.com", &[]);
    let admin = app.admin_auth();
    let (key, _) = make_key(&app, &admin, &member.sid, &[("FriendlyName", "Billing")]);
    let path = key_path(&member.sid, &key);
    assert_eq!(
        app.post(&path, &admin, &[("FriendlyName", "Invoices")])
            .status,
        200
    );
    // The same name again changes nothing, and records nothing.
    assert_eq!(
        app.post(&path, &admin, &[("FriendlyName", "Invoices")])
            .status,
        200
    );
    let deleted = app.request("DELETE", &path, &admin, &[], None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    let all = events(&app, &member.token_auth(), &format!("ResourceSid={key}"));
    let kinds: Vec<&str> = all
        .iter()
        .map(|event| event["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["api-key.deleted", "api-key.updated", "api-key.created"]
    );
    for event in &all {
        assert_eq!(event["resource_type"], "api-key");
        assert_eq!(event["resource_sid"], key.as_str());
        assert_eq!(event["account_sid"], member.sid.as_str());
        assert_eq!(event["actor_type"], "account");
        assert_eq!(event["actor_sid"], app.admin.sid.as_str());
        assert_eq!(event["source"], "api");
    }
    assert_eq!(all[2]["event_data"], json!({"friendly_name": "Billing"}));
    assert_eq!(
        all[1]["event_data"],
        json!({"friendly_name": {"old": "Billing", "new": "Invoices"}})
    );
    assert_eq!(all[0]["event_data"], json!({"friendly_name": "Invoices"}));
    assert_eq!(all[0]["description"], "API key deleted");

    // A key without a name: its events carry no name.
    let (bare, _) = make_key(&app, &admin, &member.sid, &[]);
    let created = events(&app, &admin, &format!("ResourceSid={bare}"));
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["event_data"], json!({}));
}

#[test]
fn a_change_made_with_a_key_names_the_key_as_its_actor() {
    let app = spawn_app();
    let admin = app.admin_auth();
    let (key, secret) = make_key(&app, &admin, &app.admin.sid, &[]);
    let with_key = Auth::basic(&key, &secret);
    let member = app.create_member(&with_key, "made-by-key@example.com", &[]);
    let renamed = app.post(
        &format!("/Accounts/{}.json", member.sid),
        &with_key,
        &[("FriendlyName", "Renamed by a key")],
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);

    let by_key = events(&app, &admin, &format!("ActorSid={key}"));
    let kinds: Vec<&str> = by_key
        .iter()
        .map(|event| event["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["account.updated", "account.created"]);
    for event in &by_key {
        assert_eq!(event["actor_type"], "api-key");
        assert_eq!(event["actor_sid"], key.as_str());
        assert_eq!(event["account_sid"], member.sid.as_str());
    }
    // The key's own creation was made with the account's token, and says so.
    let made = events(&app, &admin, "EventType=api-key.created");
    assert_eq!(made[0]["actor_type"], "account");
    assert_eq!(made[0]["actor_sid"], app.admin.sid.as_str());

    // A key may not manage keys: refused, and no event.
    let refused = app.post(&keys_of(&app.admin.sid), &with_key, &[]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(events(&app, &admin, "EventType=api-key.created").len(), 1);
}

#[test]
fn closing_an_account_records_the_deletion_of_its_keys_and_those_below() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let admin = app.admin_auth();
    let (parent_key, _) = make_key(&app, &admin, &parent.sid, &[("FriendlyName", "P")]);
    let (child_key, _) = make_key(&app, &admin, &child.sid, &[]);
    let closed = app.post(
        &format!("/Accounts/{}.json", parent.sid),
        &admin,
        &[("Status", "closed")],
    );
    assert_eq!(closed.status, 200, "{}", closed.body);

    let all = events(&app, &admin, "EventType=api-key.deleted");
    assert_eq!(all.len(), 2, "{all:#?}");
    let parent_gone = one(&all, "api-key.deleted", &parent.sid);
    assert_eq!(parent_gone["resource_sid"], parent_key.as_str());
    assert_eq!(
        parent_gone["event_data"],
        json!({"closed_with": parent.sid.as_str(), "friendly_name": "P"})
    );
    let child_gone = one(&all, "api-key.deleted", &child.sid);
    assert_eq!(child_gone["resource_sid"], child_key.as_str());
    assert_eq!(
        child_gone["event_data"],
        json!({"closed_with": parent.sid.as_str()})
    );
    assert_eq!(child_gone["actor_sid"], app.admin.sid.as_str());
    // Recorded with the closing, in the same transaction.
    let closing = one(
        &of_type(&events(&app, &admin, ""), "account.closed"),
        "account.closed",
        &parent.sid,
    )
    .clone();
    assert_eq!(child_gone["event_date"], closing["event_date"]);
}
