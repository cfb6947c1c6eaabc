//! Section 11: rotating an AuthToken through `/v1/AuthTokens/Secondary` and `/Promote`.

use serde_json::Value;

use crate::helpers::*;

const SECONDARY: &str = "/restcomm/v1/AuthTokens/Secondary";
const PROMOTE: &str = "/restcomm/v1/AuthTokens/Promote";

fn me(sid: &str) -> String {
    format!("/Accounts/{sid}.json")
}

fn create_secondary(app: &TestApp, auth: &Auth) -> String {
    let reply = app.post(SECONDARY, auth, &[]);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["secondary_auth_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn is_iso8601(value: &Value) -> bool {
    let text = value.as_str().unwrap_or("");
    let bytes = text.as_bytes();
    text.len() == 20
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && text.ends_with('Z')
        && text[..4].bytes().all(|b| b.is_ascii_digit())
}

fn status_with(app: &TestApp, sid: &str, token: &str) -> u16 {
    app.get(&me(sid), &Auth::basic(sid, token)).status
}

#[test]
fn both_tokens_work_until_promotion_retires_the_old_one() {
    let app = spawn_app();
    let (sid, first) = (app.admin.sid.clone(), app.admin.token.clone());
    let reply = app.post(
        SECONDARY,
        &app.admin_auth(),
        &[("SuppressEmailNotification", "true")],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    let body = reply.json();
    reply.assert_fields(&[
        "account_sid",
        "date_created",
        "date_updated",
        "secondary_auth_token",
        "url",
    ]);
    assert_eq!(body["account_sid"], sid.as_str());
    assert_eq!(body["url"], "/v1/AuthTokens/Secondary");
    assert!(is_iso8601(&body["date_created"]), "{body}");
    assert!(is_iso8601(&body["date_updated"]), "{body}");
    let second = body["secondary_auth_token"].as_str().unwrap().to_owned();
    assert_eq!(second.len(), 32);
    assert!(second
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_ne!(second, first);

    assert_eq!(status_with(&app, &sid, &first), 200);
    assert_eq!(status_with(&app, &sid, &second), 200);
    let shown = app.get(&me(&sid), &app.admin_auth());
    assert_eq!(shown.json()["auth_token"], first.as_str());
    assert!(
        !shown.body.contains(&second),
        "the secondary is never shown"
    );

    let promoted = app.post(PROMOTE, &Auth::basic(&sid, &second), &[]);
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let body = promoted.json();
    promoted.assert_fields(&[
        "account_sid",
        "auth_token",
        "date_created",
        "date_updated",
        "url",
    ]);
    assert_eq!(body["auth_token"], second.as_str());
    assert_eq!(body["url"], "/v1/AuthTokens");
    assert!(is_iso8601(&body["date_updated"]), "{body}");

    app.get(&me(&sid), &Auth::basic(&sid, &first))
        .assert_error(401, 20003);
    assert_eq!(status_with(&app, &sid, &second), 200);
    let shown = app.fetch(&Auth::basic(&sid, &second), &sid);
    assert_eq!(shown["auth_token"], second.as_str());
    // No secondary remains.
    app.post(PROMOTE, &Auth::basic(&sid, &second), &[])
        .assert_error(400, 20001);
    app.request("DELETE", SECONDARY, &Auth::basic(&sid, &second), &[], None)
        .assert_error(404, 20404);
}

#[test]
fn a_new_secondary_replaces_the_earlier_one_and_delete_revokes_it() {
    let app = spawn_app();
    let sid = app.admin.sid.clone();
    let earlier = create_secondary(&app, &app.admin_auth());
    let later = create_secondary(&app, &app.admin_auth());
    assert_ne!(earlier, later);
    assert_eq!(status_with(&app, &sid, &earlier), 401);
    assert_eq!(status_with(&app, &sid, &later), 200);

    let deleted = app.request("DELETE", SECONDARY, &app.admin_auth(), &[], None);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.body.is_empty());
    assert_eq!(status_with(&app, &sid, &later), 401);
    assert_eq!(status_with(&app, &sid, &app.admin.token), 200);
    app.request("DELETE", SECONDARY, &app.admin_auth(), &[], None)
        .assert_error(404, 20404);
    app.post(PROMOTE, &app.admin_auth(), &[])
        .assert_error(400, 20001);
    assert_eq!(
        status_with(&app, &sid, &app.admin.token),
        200,
        "nothing changed"
    );
}

#[test]
fn the_password_and_the_secondary_token_may_rotate_too() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "rotor@example.com", &[]);
    let second = create_secondary(&app, &member.password_auth());
    // The secondary token itself may make the next one.
    let third = create_secondary(&app, &Auth::basic(&member.sid, &second));
    assert_eq!(status_with(&app, &member.sid, &second), 401);
    assert_eq!(status_with(&app, &member.sid, &third), 200);
}

#[test]
fn setting_a_password_removes_the_secondary_token() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "reset@example.com", &[]);
    let second = create_secondary(&app, &member.token_auth());
    let updated = app.post(
        &me(&member.sid),
        &member.token_auth(),
        &[("Password", "a brand new password here")],
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    let new_token = updated.json()["auth_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, member.token);
    assert_eq!(status_with(&app, &member.sid, &second), 401);
    assert_eq!(status_with(&app, &member.sid, &member.token), 401);
    assert_eq!(status_with(&app, &member.sid, &new_token), 200);
    app.post(PROMOTE, &Auth::basic(&member.sid, &new_token), &[])
        .assert_error(400, 20001);
}

#[test]
fn an_api_only_account_rotates_its_token_without_a_password() {
    let app = spawn_app();
    let made = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("FriendlyName", "bot")],
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let sid = made.json()["sid"].as_str().unwrap().to_owned();
    let first = made.json()["auth_token"].as_str().unwrap().to_owned();
    let second = create_secondary(&app, &Auth::basic(&sid, &first));
    let promoted = app.post(PROMOTE, &Auth::basic(&sid, &first), &[]);
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(status_with(&app, &sid, &first), 401);
    assert_eq!(status_with(&app, &sid, &second), 200);
    // The administrator sees the promoted token in the account, as in a listing.
    let seen = app.fetch(&app.admin_auth(), &sid);
    assert_eq!(seen["auth_token"], second.as_str());
}

#[test]
fn a_key_may_not_rotate_tokens() {
    let app = spawn_app();
    let key = app.post(
        &format!("/Accounts/{}/Keys.json", app.admin.sid),
        &app.admin_auth(),
        &[],
    );
    assert_eq!(key.status, 201, "{}", key.body);
    let key_auth = Auth::basic(
        key.json()["sid"].as_str().unwrap(),
        key.json()["secret"].as_str().unwrap(),
    );
    app.post(SECONDARY, &key_auth, &[]).assert_error(403, 20403);
    app.post(PROMOTE, &key_auth, &[]).assert_error(403, 20403);
    app.request("DELETE", SECONDARY, &key_auth, &[], None)
        .assert_error(403, 20403);
    // Nothing was made: there is no secondary to promote or delete.
    app.post(PROMOTE, &app.admin_auth(), &[])
        .assert_error(400, 20001);
    app.request("DELETE", SECONDARY, &app.admin_auth(), &[], None)
        .assert_error(404, 20404);
}

#[test]
fn an_uninitialized_caller_may_not_rotate() {
    let app = spawn_app();
    let fresh = app.create_member(
        &app.admin_auth(),
        "fresh@example.com",
        &[("Status", "uninitialized")],
    );
    for auth in [fresh.password_auth(), fresh.token_auth()] {
        app.post(SECONDARY, &auth, &[]).assert_error(403, 20005);
        app.post(PROMOTE, &auth, &[]).assert_error(403, 20005);
        app.request("DELETE", SECONDARY, &auth, &[], None)
            .assert_error(403, 20005);
    }
}

#[test]
fn a_suspended_accounts_secondary_token_is_refused() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "paused@example.com", &[]);
    let second = create_secondary(&app, &member.token_auth());
    let suspend = app.post(
        &me(&member.sid),
        &app.admin_auth(),
        &[("Status", "suspended")],
    );
    assert_eq!(suspend.status, 200, "{}", suspend.body);
    app.get(&me(&member.sid), &Auth::basic(&member.sid, &second))
        .assert_error(403, 20005);
    app.post(SECONDARY, &Auth::basic(&member.sid, &second), &[])
        .assert_error(403, 20005);
    let resume = app.post(&me(&member.sid), &app.admin_auth(), &[("Status", "active")]);
    assert_eq!(resume.status, 200, "{}", resume.body);
    assert_eq!(status_with(&app, &member.sid, &second), 200);
}

#[test]
fn failures_and_wrong_methods_answer_in_json() {
    let app = spawn_app();
    app.post(SECONDARY, &Auth::None, &[])
        .assert_error(401, 20003);
    app.post(
        PROMOTE,
        &Auth::basic(&app.admin.sid, "0".repeat(32).as_str()),
        &[],
    )
    .assert_error(401, 20003);
    let get = app.get(SECONDARY, &app.admin_auth());
    get.assert_error(405, 20405);
    assert_eq!(get.header("allow").as_deref(), Some("POST, DELETE"));
    let get = app.get(PROMOTE, &app.admin_auth());
    get.assert_error(405, 20405);
    assert_eq!(get.header("allow").as_deref(), Some("POST"));
    let json_body = app.request(
        "POST",
        SECONDARY,
        &app.admin_auth(),
        &[("Content-Type", "application/json")],
        Some("{}".into()),
    );
    json_body.assert_error(415, 20415);
    app.request("DELETE", SECONDARY, &app.admin_auth(), &[], None)
        .assert_error(404, 20404);
}
