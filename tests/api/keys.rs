//! Section 12: API keys under `/Accounts/{id}/Keys`, and what a key may do.

use serde_json::Value;

use crate::helpers::*;

fn keys_of(sid: &str) -> String {
    format!("/Accounts/{sid}/Keys.json")
}

fn key_path(sid: &str, key: &str) -> String {
    format!("/Accounts/{sid}/Keys/{key}.json")
}

/// A key made for `sid` by `auth`: its Sid and its secret.
fn make_key(app: &TestApp, auth: &Auth, sid: &str, name: Option<&str>) -> (String, String) {
    let form: Vec<(&str, &str)> = name.map(|n| ("FriendlyName", n)).into_iter().collect();
    let reply = app.post(&keys_of(sid), auth, &form);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    (
        body["sid"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

fn listed(app: &TestApp, auth: &Auth, sid: &str) -> Vec<Value> {
    let reply = app.get(&format!("{}?PageSize=1000", keys_of(sid)), auth);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["keys"].as_array().unwrap().clone()
}

fn field_names(body: &Value) -> Vec<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn a_key_is_made_shown_once_renamed_and_deleted() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    let reply = app.post(
        &keys_of(&sid),
        &app.admin_auth(),
        &[("FriendlyName", "ci runner")],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    let made = reply.json();
    reply.assert_fields(&[
        "sid",
        "friendly_name",
        "date_created",
        "date_updated",
        "secret",
    ]);
    let key = made["sid"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("SK") && key.len() == 34, "{key}");
    assert!(key[2..]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(secret.len(), 32);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(made["friendly_name"], "ci runner");
    assert!(made["date_created"].as_str().unwrap().ends_with(" +0000"));
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/restcomm/2012-04-24/Accounts/{sid}/Keys/{key}.json")
    );

    let fetched = app.get(&key_path(&sid, &key), &app.admin_auth());
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    fetched.assert_fields(&["sid", "friendly_name", "date_created", "date_updated"]);
    assert!(!fetched.body.contains(&secret));

    // The key acts as its account.
    let as_key = Auth::basic(&key, &secret);
    assert_eq!(app.fetch(&as_key, &sid)["sid"], sid.as_str());
    assert_eq!(app.get("/Accounts.json", &as_key).status, 200);
    app.get(
        &format!("/Accounts/{sid}.json"),
        &Auth::basic(&key, "x".repeat(32).as_str()),
    )
    .assert_error(401, 20003);

    let renamed = app.post(
        &key_path(&sid, &key),
        &app.admin_auth(),
        &[("FriendlyName", "deploys")],
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json()["friendly_name"], "deploys");
    assert!(!renamed.body.contains(&secret));
    let unchanged = app.post(&key_path(&sid, &key), &app.admin_auth(), &[]);
    assert_eq!(unchanged.json()["friendly_name"], "deploys");

    let deleted = app.request(
        "DELETE",
        &key_path(&sid, &key),
        &app.admin_auth(),
        &[],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.body.is_empty());
    app.get(&format!("/Accounts/{sid}.json"), &as_key)
        .assert_error(401, 20003);
    app.get(&key_path(&sid, &key), &app.admin_auth())
        .assert_error(404, 20404);
    app.request(
        "DELETE",
        &key_path(&sid, &key),
        &app.admin_auth(),
        &[],
        None,
    )
    .assert_error(404, 20404);
    assert!(listed(&app, &app.admin_auth(), &sid).is_empty());
}

#[test]
fn a_key_without_a_name_has_a_null_one_and_the_email_names_the_account() {
    let app = spawn_app();
    let reply = app.post(
        &format!("/Accounts/{ADMIN_EMAIL}/Keys.json"),
        &app.admin_auth(),
        &[],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["friendly_name"], Value::Null);
    assert_eq!(listed(&app, &app.admin_auth(), &app.admin.sid).len(), 1);
}

#[test]
fn keys_speak_xml_too() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    let made = app.post(
        &format!("/Accounts/{sid}/Keys"),
        &app.admin_auth(),
        &[("FriendlyName", "a <b>")],
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    let body = &made.body;
    assert!(body.contains("<RestcommResponse><Key><Sid>SK"), "{body}");
    assert!(
        body.contains("<FriendlyName>a &lt;b&gt;</FriendlyName>"),
        "{body}"
    );
    assert!(
        body.contains("<DateCreated>") && body.contains("<DateUpdated>"),
        "{body}"
    );
    let secret_at = body.find("<Secret>").unwrap() + "<Secret>".len();
    let secret = &body[secret_at..secret_at + 32];
    let key = &body[body.find("<Sid>").unwrap() + 5..][..34];
    assert_eq!(
        made.header("location").unwrap(),
        format!("/restcomm/2012-04-24/Accounts/{sid}/Keys/{key}")
    );
    let fetched = app.get(&format!("/Accounts/{sid}/Keys/{key}"), &app.admin_auth());
    assert_eq!(fetched.status, 200);
    assert!(
        fetched.body.contains(&format!("<Key><Sid>{key}</Sid>")),
        "{}",
        fetched.body
    );
    assert!(!fetched.body.contains("<Secret>") && !fetched.body.contains(secret));
    let list = app.get(&format!("/Accounts/{sid}/Keys"), &app.admin_auth());
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!(
            "<Keys page=\"0\" pagesize=\"50\" start=\"0\" end=\"0\" \
             uri=\"/2012-04-24/Accounts/{sid}/Keys?PageSize=50&amp;Page=0\""
        )),
        "{}",
        list.body
    );
    assert!(list.body.contains("nextpageuri=\"\"") && !list.body.contains(secret));
    let bad = app.post(
        &format!("/Accounts/{sid}/Keys"),
        &app.admin_auth(),
        &[("FriendlyName", "")],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("<Code>20001</Code>"), "{}", bad.body);
    let missing = app.get(
        &format!("/Accounts/{sid}/Keys/SK{}", "0".repeat(32)),
        &app.admin_auth(),
    );
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<Code>20404</Code>"),
        "{}",
        missing.body
    );
    assert_eq!(
        listed(&app, &app.admin_auth(), &sid).len(),
        1,
        "the bad one made nothing"
    );
}

#[test]
fn keys_list_in_pages_in_creation_order_without_secrets() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    let made: Vec<(String, String)> = (0..5)
        .map(|n| make_key(&app, &app.admin_auth(), &sid, Some(&format!("key {n}"))))
        .collect();
    let first = app.get(&format!("{}?PageSize=2", keys_of(&sid)), &app.admin_auth());
    assert_eq!(first.status, 200, "{}", first.body);
    first.assert_fields(&[
        "keys",
        "page",
        "page_size",
        "start",
        "end",
        "uri",
        "first_page_uri",
        "previous_page_uri",
        "next_page_uri",
    ]);
    let (mut seen, mut pages) = (Vec::new(), 0);
    let mut next = Some(format!("{}?PageSize=2", keys_of(&sid)));
    while let Some(path) = next {
        let page = app.get(&path, &app.admin_auth());
        assert_eq!(page.status, 200, "{}", page.body);
        for (_, secret) in &made {
            assert!(!page.body.contains(secret.as_str()));
        }
        let body = page.json();
        assert_eq!(body["page"], pages);
        for key in body["keys"].as_array().unwrap() {
            assert_eq!(
                field_names(key),
                ["date_created", "date_updated", "friendly_name", "sid"]
            );
            seen.push(key["sid"].as_str().unwrap().to_owned());
        }
        pages += 1;
        next = body["next_page_uri"]
            .as_str()
            .map(|uri| format!("/restcomm{uri}"));
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = made.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(seen, expected);
    app.get(&format!("{}?PageSize=0", keys_of(&sid)), &app.admin_auth())
        .assert_error(400, 20001);
}

#[test]
fn who_may_manage_which_keys() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let other = app.create_member(&app.admin_auth(), "other@example.com", &[]);
    let (child_key, _) = make_key(&app, &child.token_auth(), &child.sid, None);
    // An Administrator ancestor manages a descendant's keys.
    assert_eq!(listed(&app, &parent.token_auth(), &child.sid).len(), 1);
    let (by_parent, parent_made_secret) = make_key(&app, &parent.token_auth(), &child.sid, None);
    assert_eq!(listed(&app, &child.token_auth(), &child.sid).len(), 2);
    // That key acts as the child: it sees the child, not the parent.
    let as_child_key = Auth::basic(&by_parent, &parent_made_secret);
    assert_eq!(
        app.fetch(&as_child_key, &child.sid)["sid"],
        child.sid.as_str()
    );
    app.get(&format!("/Accounts/{}.json", parent.sid), &as_child_key)
        .assert_error(404, 20404);
    // Outside one's tree, keys are the 404 of an invisible account.
    for (auth, path) in [
        (other.token_auth(), keys_of(&child.sid)),
        (other.token_auth(), key_path(&child.sid, &child_key)),
        (child.token_auth(), keys_of(&parent.sid)),
        (other.token_auth(), key_path(&other.sid, &child_key)),
        (parent.token_auth(), key_path(&parent.sid, &child_key)),
    ] {
        app.get(&path, &auth).assert_error(404, 20404);
        app.post(&path, &auth, &[("FriendlyName", "mine now")])
            .assert_error(404, 20404);
    }
    app.request(
        "DELETE",
        &key_path(&other.sid, &child_key),
        &other.token_auth(),
        &[],
        None,
    )
    .assert_error(404, 20404);
    assert_eq!(
        listed(&app, &child.token_auth(), &child.sid).len(),
        2,
        "nothing changed"
    );
    // A Developer does not manage its descendants' keys, nor does anyone a key Sid of nonsense.
    app.get(&key_path(&child.sid, "SKnot-a-key"), &child.token_auth())
        .assert_error(404, 20404);
}

#[test]
fn a_key_may_not_manage_keys_tokens_or_passwords() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "keyholder@example.com", &[]);
    let (key, secret) = make_key(&app, &member.token_auth(), &member.sid, Some("k"));
    let as_key = Auth::basic(&key, &secret);
    app.post(&keys_of(&member.sid), &as_key, &[])
        .assert_error(403, 20403);
    app.get(&keys_of(&member.sid), &as_key)
        .assert_error(403, 20403);
    app.get(&key_path(&member.sid, &key), &as_key)
        .assert_error(403, 20403);
    app.post(
        &key_path(&member.sid, &key),
        &as_key,
        &[("FriendlyName", "x")],
    )
    .assert_error(403, 20403);
    app.request("DELETE", &key_path(&member.sid, &key), &as_key, &[], None)
        .assert_error(403, 20403);
    let me = format!("/Accounts/{}.json", member.sid);
    let refused = app.post(&me, &as_key, &[("Password", "a key's own new password")]);
    refused.assert_error(403, 20403);
    assert!(!refused.body.contains(&secret));
    // Nothing changed: the password and the token still work, one key, its name kept.
    assert_eq!(app.get(&me, &member.password_auth()).status, 200);
    assert_eq!(app.get(&me, &member.token_auth()).status, 200);
    let keys = listed(&app, &member.token_auth(), &member.sid);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["friendly_name"], "k");
    // Anything else the account may do, its key may do.
    let renamed = app.post(&me, &as_key, &[("FriendlyName", "renamed by key")]);
    assert_eq!(renamed.status, 200, "{}", renamed.body);
}

#[test]
fn a_suspended_accounts_keys_are_refused_and_a_closed_ones_are_gone() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let (key, secret) = make_key(&app, &child.token_auth(), &child.sid, None);
    let as_key = Auth::basic(&key, &secret);
    let me = format!("/Accounts/{}.json", child.sid);
    let parent_path = format!("/Accounts/{}.json", parent.sid);
    let set = |path: &str, status: &str| {
        let reply = app.post(path, &app.admin_auth(), &[("Status", status)]);
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    set(&me, "suspended");
    app.get(&me, &as_key).assert_error(403, 20005);
    set(&me, "active");
    assert_eq!(app.get(&me, &as_key).status, 200);
    // Suspending an ancestor suspends the key too.
    set(&parent_path, "suspended");
    app.get(&me, &as_key).assert_error(403, 20005);
    set(&parent_path, "active");
    assert_eq!(app.get(&me, &as_key).status, 200);
    // Closing the parent closes the child, and deletes its keys.
    set(&parent_path, "closed");
    app.get(&me, &as_key).assert_error(401, 20003);
    assert!(listed(&app, &app.admin_auth(), &child.sid).is_empty());
    app.post(&keys_of(&child.sid), &app.admin_auth(), &[])
        .assert_error(400, 21479);
    assert!(listed(&app, &app.admin_auth(), &child.sid).is_empty());
}

#[test]
fn an_uninitialized_caller_may_not_manage_keys() {
    let app = spawn_app();
    let fresh = app.create_member(
        &app.admin_auth(),
        "new@example.com",
        &[("Status", "uninitialized")],
    );
    app.post(&keys_of(&fresh.sid), &fresh.password_auth(), &[])
        .assert_error(403, 20005);
    app.get(&keys_of(&fresh.sid), &fresh.token_auth())
        .assert_error(403, 20005);
}

#[test]
fn at_most_100_keys_per_account() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    for _ in 0..100 {
        make_key(&app, &app.admin_auth(), &sid, None);
    }
    let refused = app.post(
        &keys_of(&sid),
        &app.admin_auth(),
        &[("FriendlyName", "one too many")],
    );
    refused.assert_error(400, 20001);
    assert!(refused.json()["message"].as_str().unwrap().contains("100"));
    assert_eq!(listed(&app, &app.admin_auth(), &sid).len(), 100);
    // Another account has its own hundred.
    let member = app.create_member(&app.admin_auth(), "more@example.com", &[]);
    make_key(&app, &app.admin_auth(), &member.sid, None);
}

#[test]
fn bad_input_changes_nothing_and_wrong_methods_are_405() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    let (key, secret) = make_key(&app, &app.admin_auth(), &sid, Some("kept"));
    for bad in ["", &"x".repeat(65), "line\nbreak"] {
        app.post(&keys_of(&sid), &app.admin_auth(), &[("FriendlyName", bad)])
            .assert_error(400, 20001);
        let reply = app.post(
            &key_path(&sid, &key),
            &app.admin_auth(),
            &[("FriendlyName", bad)],
        );
        reply.assert_error(400, 20001);
        assert!(!reply.body.contains(&secret));
    }
    let keys = listed(&app, &app.admin_auth(), &sid);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["friendly_name"], "kept");
    let put = app.send_form("PUT", &keys_of(&sid), &app.admin_auth(), &[]);
    put.assert_error(405, 20405);
    assert_eq!(put.header("allow").as_deref(), Some("GET, HEAD, POST"));
    let put = app.send_form("PUT", &key_path(&sid, &key), &app.admin_auth(), &[]);
    put.assert_error(405, 20405);
    assert_eq!(
        put.header("allow").as_deref(),
        Some("GET, HEAD, POST, DELETE")
    );
    app.get(&keys_of(&sid), &Auth::None)
        .assert_error(401, 20003);
    let head = app.request("HEAD", &key_path(&sid, &key), &app.admin_auth(), &[], None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn wrong_key_secrets_count_toward_the_throttle_but_a_right_one_gets_in() {
    use std::time::Duration;
    use switchboard::domain::service::ThrottleLimits;
    let app = spawn_app_with(|config| {
        config.throttle = ThrottleLimits {
            per_address: 3,
            per_account: 1000,
            window: Duration::from_secs(3600),
        };
    });
    let sid = app.admin.sid.clone();
    let (key, secret) = make_key(&app, &app.admin_auth(), &sid, None);
    let me = format!("/Accounts/{sid}.json");
    for _ in 0..3 {
        app.get(&me, &Auth::basic(&key, "wrong secret"))
            .assert_error(401, 20003);
    }
    app.get(&me, &Auth::basic(&key, "wrong secret"))
        .assert_error(429, 20429);
    app.get(&me, &Auth::basic(&format!("SK{}", "0".repeat(32)), "x"))
        .assert_error(429, 20429);
    assert_eq!(app.get(&me, &Auth::basic(&key, &secret)).status, 200);
}
