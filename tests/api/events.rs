//! The audit trail, `/restcomm/v1/Events`: every change has its event, with who, what, from
//! where; refused requests have none; each account sees what it may see; filters and paging.

use serde_json::Value;
use switchboard::http::client::TrustedProxies;

use crate::helpers::{spawn_app, spawn_app_with, Auth, Member, TestApp};

const EVENTS: &str = "/restcomm/v1/Events";

/// Every event `auth` may see with `query`, newest first, following `next_page_url`.
fn events(app: &TestApp, auth: &Auth, query: &str) -> Vec<Value> {
    let mut listed = Vec::new();
    let mut next = Some(format!("{EVENTS}?{query}"));
    while let Some(path) = next {
        let page = app.get(&path, auth);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        listed.extend(page["events"].as_array().unwrap().iter().cloned());
        next = page["meta"]["next_page_url"].as_str().map(|url| {
            url.split_once(&app.address.to_string())
                .unwrap()
                .1
                .to_owned()
        });
    }
    listed
}

fn one<'a>(events: &'a [Value], kind: &str, about: &str) -> &'a Value {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == kind && e["account_sid"] == about)
        .collect();
    assert_eq!(found.len(), 1, "{kind} about {about}: {events:#?}");
    found[0]
}

#[test]
fn a_created_account_has_its_event_with_actor_source_address_and_data() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "alice@example.com", &[]);
    let all = events(&app, &app.admin_auth(), "");
    let created = one(&all, "account.created", &member.sid);
    assert_eq!(created["actor_sid"], app.admin.sid.as_str());
    assert_eq!(created["actor_type"], "account");
    assert_eq!(created["resource_type"], "account");
    assert_eq!(created["resource_sid"], member.sid.as_str());
    assert_eq!(created["source"], "api");
    assert_eq!(created["source_ip_address"], "127.0.0.1");
    assert_eq!(created["event_data"]["email_address"], "alice@example.com");
    assert_eq!(created["event_data"]["role"], "Developer");
    assert_eq!(created["links"], serde_json::json!({}));
    let sid = created["sid"].as_str().unwrap();
    assert!(sid.starts_with("AE") && sid.len() == 34, "{sid}");
    assert_eq!(
        created["url"],
        format!("http://{}{EVENTS}/{sid}", app.address)
    );
    let date = created["event_date"].as_str().unwrap();
    assert!(date.ends_with('Z') && date.len() == 20, "{date}");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 14, "{keys:?}");

    // The first administrator was made by the server itself on its first start.
    let first = one(&all, "account.created", &app.admin.sid);
    assert_eq!(first["actor_type"], "system");
    assert_eq!(first["actor_sid"], Value::Null);
    assert_eq!(first["source"], "cli");
    assert_eq!(first["source_ip_address"], Value::Null);

    let fetched = app.get(&format!("{EVENTS}/{sid}"), &app.admin_auth());
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(&fetched.json(), created);
    assert_eq!(
        fetched.header("content-type").unwrap(),
        "application/json; charset=utf-8"
    );
}

#[test]
fn every_kind_of_change_has_its_event() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let admin = app.admin_auth();
    let path = format!("/Accounts/{}.json", parent.sid);
    let renamed = app.post(
        &path,
        &admin,
        &[("FriendlyName", "Parent"), ("Role", "Developer")],
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let own = app.post(
        &format!("/Accounts/{}.json", child.sid),
        &child.token_auth(),
        &[("Password", "a brand new pass phrase for the child")],
    );
    assert_eq!(own.status, 200, "{}", own.body);
    for status in ["suspended", "active", "closed"] {
        let reply = app.post(&path, &admin, &[("Status", status)]);
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let all = events(&app, &admin, "");

    let updated = one(&all, "account.updated", &parent.sid);
    assert_eq!(
        updated["event_data"],
        serde_json::json!({
            "friendly_name": {"old": "parent@example.com", "new": "Parent"},
            "role": {"old": "Administrator", "new": "Developer"},
        })
    );
    let changed = one(&all, "account.password-changed", &child.sid);
    assert_eq!(changed["actor_sid"], child.sid.as_str());
    assert_eq!(changed["event_data"], serde_json::json!({}));
    let suspended = one(&all, "account.suspended", &parent.sid);
    assert_eq!(suspended["event_data"]["status"]["new"], "suspended");
    one(&all, "account.reactivated", &parent.sid);
    one(&all, "account.closed", &parent.sid);
    // Closing took the child along: its own event names the account it was closed with.
    let cascade = one(&all, "account.closed", &child.sid);
    assert_eq!(cascade["event_data"]["closed_with"], parent.sid.as_str());

    // Newest first: the closing came last.
    assert_eq!(all[0]["event_type"], "account.closed");
    assert_eq!(all.last().unwrap()["account_sid"], app.admin.sid.as_str());
}

#[test]
fn refused_requests_and_unchanged_updates_leave_no_event() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let before = events(&app, &app.admin_auth(), "").len();
    let child_path = format!("/Accounts/{}.json", child.sid);
    // Too short a password, a role change by the account itself, a duplicate email, an
    // unauthenticated create, and an echo of the current values.
    assert_eq!(
        app.post(&child_path, &child.token_auth(), &[("Password", "short")])
            .status,
        400
    );
    assert_eq!(
        app.post(
            &child_path,
            &child.token_auth(),
            &[("Role", "Administrator")]
        )
        .status,
        403
    );
    let duplicate = [
        ("EmailAddress", "child@example.com"),
        ("Password", "another long password"),
    ];
    assert_eq!(
        app.post("/Accounts.json", &parent.token_auth(), &duplicate)
            .status,
        409
    );
    assert_eq!(
        app.post("/Accounts.json", &Auth::None, &[("FriendlyName", "x")])
            .status,
        401
    );
    let echo = app.post(
        &child_path,
        &child.token_auth(),
        &[("FriendlyName", "child@example.com")],
    );
    assert_eq!(echo.status, 200);
    assert_eq!(events(&app, &app.admin_auth(), "").len(), before);
}

#[test]
fn the_console_header_marks_the_source() {
    let app = spawn_app();
    let reply = app.request(
        "POST",
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Switchboard-Source", "console"),
        ],
        Some("FriendlyName=From+the+console".into()),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let sid = reply.json()["sid"].as_str().unwrap().to_owned();
    let all = events(&app, &app.admin_auth(), "");
    assert_eq!(one(&all, "account.created", &sid)["source"], "console");
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_address_is_recorded() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    });
    let reply = app.request(
        "POST",
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
        Some("FriendlyName=Proxied".into()),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let sid = reply.json()["sid"].as_str().unwrap().to_owned();
    let found = events(&app, &app.admin_auth(), "SourceIpAddress=203.0.113.7");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["account_sid"], sid.as_str());
}

#[test]
fn each_account_sees_the_events_it_may_see() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let other = app.create_member(&app.admin_auth(), "other@example.com", &[]);
    let sids = |auth: &Auth| -> Vec<String> {
        let mut sids: Vec<String> = events(&app, auth, "")
            .iter()
            .map(|e| e["account_sid"].as_str().unwrap().to_owned())
            .collect();
        sids.sort();
        sids.dedup();
        sids
    };
    let mut family = vec![parent.sid.clone(), child.sid.clone()];
    family.sort();
    assert_eq!(sids(&parent.token_auth()), family);
    assert_eq!(sids(&child.token_auth()), vec![child.sid.clone()]);
    assert_eq!(sids(&app.admin_auth()).len(), 4);

    let all = events(&app, &app.admin_auth(), "");
    let about_other = one(&all, "account.created", &other.sid)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let about_child = one(&all, "account.created", &child.sid)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("{EVENTS}/{about_child}"), &parent.token_auth())
            .status,
        200
    );
    for (auth, sid) in [
        (parent.token_auth(), about_other.as_str()),
        (child.token_auth(), about_other.as_str()),
        (app.admin_auth(), "AE00000000000000000000000000000000"),
        (app.admin_auth(), "not-a-sid"),
    ] {
        app.get(&format!("{EVENTS}/{sid}"), &auth)
            .assert_error(404, 20404);
    }
    app.get(EVENTS, &Auth::None).assert_error(401, 20003);
    let reply = app.request(
        "DELETE",
        &format!("{EVENTS}/{about_child}"),
        &app.admin_auth(),
        &[],
        None,
    );
    reply.assert_error(405, 20405);
    assert_eq!(reply.header("allow").unwrap(), "GET, HEAD");
    let head = app.request("HEAD", EVENTS, &app.admin_auth(), &[], None);
    let get = app.get(EVENTS, &app.admin_auth());
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length").unwrap(),
        get.body.len().to_string()
    );
}

#[test]
fn filters_narrow_the_listing_and_bad_ones_are_refused() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let admin = app.admin_auth();
    let by_type = events(&app, &admin, "EventType=account.created");
    assert_eq!(by_type.len(), 3);
    let by_actor = events(&app, &admin, &format!("ActorSid={}", parent.sid));
    assert_eq!(by_actor.len(), 1);
    assert_eq!(by_actor[0]["account_sid"], child.sid.as_str());
    let by_resource = events(&app, &admin, &format!("ResourceSid={}", child.sid));
    assert_eq!(by_resource.len(), 1);
    assert_eq!(events(&app, &admin, "SourceIpAddress=127.0.0.1").len(), 2);
    assert_eq!(events(&app, &admin, "SourceIpAddress=10.0.0.1").len(), 0);
    assert_eq!(
        events(&app, &admin, "StartDate=2000-01-01T00:00:00Z").len(),
        3
    );
    assert_eq!(
        events(&app, &admin, "EndDate=2000-01-01T00:00:00Z").len(),
        0
    );
    assert_eq!(events(&app, &admin, "StartDate=2999-01-01").len(), 0);
    assert_eq!(
        events(
            &app,
            &admin,
            "StartDate=2000-01-01&EndDate=2999-12-31T23:59:59Z"
        )
        .len(),
        3
    );
    for bad in [
        "EventType=account.deleted",
        "ActorSid=nobody",
        "ResourceSid=AC123",
        "SourceIpAddress=localhost",
        "StartDate=yesterday",
        "EndDate=2024-13-01",
        "PageSize=0",
        "PageSize=1001",
        "PageToken=junk",
        "Page=3",
        "EventType=a&EventType=b",
        "StartDate=2012-04-24T22:51:29%2B1%C3%A9",
        "EndDate=%FF",
        "SourceIpAddress=%00",
    ] {
        app.get(&format!("{EVENTS}?{bad}"), &admin)
            .assert_error(400, 20001);
    }
}

#[test]
fn pages_follow_each_other_newest_first_without_gaps() {
    let app = spawn_app();
    let admin = app.admin_auth();
    for n in 0..6 {
        let form = [("FriendlyName", format!("Bot {n}"))];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(app.post("/Accounts.json", &admin, &form).status, 201);
    }
    let everything = events(&app, &admin, "PageSize=1000");
    assert_eq!(everything.len(), 7);
    let paged = events(&app, &admin, "PageSize=2");
    assert_eq!(paged, everything);

    let first = app.get(&format!("{EVENTS}?PageSize=3"), &admin).json();
    let meta = &first["meta"];
    assert_eq!(meta["page"], 0);
    assert_eq!(meta["page_size"], 3);
    assert_eq!(meta["key"], "events");
    assert_eq!(meta["previous_page_url"], Value::Null);
    let base = format!("http://{}{EVENTS}", app.address);
    assert_eq!(meta["first_page_url"], format!("{base}?PageSize=3&Page=0"));
    assert_eq!(meta["url"], format!("{base}?PageSize=3&Page=0"));
    let relative = |url: &Value| {
        url.as_str()
            .unwrap()
            .strip_prefix(&format!("http://{}", app.address))
            .unwrap()
            .to_owned()
    };
    let second = app.get(&relative(&meta["next_page_url"]), &admin).json();
    assert_eq!(second["meta"]["page"], 1);
    let third = app
        .get(&relative(&second["meta"]["next_page_url"]), &admin)
        .json();
    assert_eq!(third["meta"]["page"], 2);
    assert_eq!(third["events"].as_array().unwrap().len(), 1);
    assert_eq!(third["meta"]["next_page_url"], Value::Null);
    // Back from the third page is the second page again, from the second the first.
    let back = app
        .get(&relative(&third["meta"]["previous_page_url"]), &admin)
        .json();
    assert_eq!(back["events"], second["events"]);
    assert_eq!(back["meta"]["page"], 1);
    let front = app
        .get(&relative(&back["meta"]["previous_page_url"]), &admin)
        .json();
    assert_eq!(front["events"], first["events"]);

    // Newer events do not shift a page already reached: its token holds its position.
    assert_eq!(
        app.post("/Accounts.json", &admin, &[("FriendlyName", "Late")])
            .status,
        201
    );
    let again = app.get(&relative(&meta["next_page_url"]), &admin).json();
    assert_eq!(again["events"], second["events"]);
}

#[test]
fn no_event_ever_holds_a_secret() {
    let app = spawn_app();
    let sentinel = "Sentinel-Secret-Passphrase-4711";
    let member: Member = app.create_member(&app.admin_auth(), "secret@example.com", &[]);
    let path = format!("/Accounts/{}.json", member.sid);
    let changed = app.post(&path, &member.token_auth(), &[("Password", sentinel)]);
    assert_eq!(changed.status, 200, "{}", changed.body);
    let new_token = changed.json()["auth_token"].as_str().unwrap().to_owned();
    let api_only = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("FriendlyName", "Bot")],
    );
    let api_token = api_only.json()["auth_token"].as_str().unwrap().to_owned();
    let body = app
        .get(&format!("{EVENTS}?PageSize=1000"), &app.admin_auth())
        .body;
    let mut secrets = vec![
        sentinel.to_owned(),
        member.password.clone().unwrap(),
        member.token.clone(),
        new_token,
        api_token,
        app.admin.token.clone(),
        app.admin.password.clone().unwrap(),
    ];
    // Not even a prefix of a token.
    secrets.extend(
        secrets
            .clone()
            .iter()
            .filter(|s| s.len() == 32)
            .map(|s| s[..8].to_owned()),
    );
    for secret in &secrets {
        assert!(!body.contains(secret.as_str()), "{secret} in {body}");
    }
    assert!(!body.contains("$2"), "a bcrypt hash: {body}");
}
