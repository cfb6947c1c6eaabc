use std::time::Duration;

use crate::helpers::*;

fn path(sid: &str) -> String {
    format!("/Accounts/{sid}.json")
}

#[test]
fn an_account_renames_itself_with_post_and_put() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "m@example.com", &[]);
    let reply = app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("FriendlyName", "Renamed by POST")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["friendly_name"], "Renamed by POST");
    assert_eq!(reply.header("cache-control").unwrap(), "no-store");
    let reply = app.send_form(
        "PUT",
        &path(&member.sid),
        &member.token_auth(),
        &[("FriendlyName", "Renamed by PUT")],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        app.fetch(&member.token_auth(), &member.sid)["friendly_name"],
        "Renamed by PUT"
    );
    let by_email = app.post(
        "/Accounts/m%40example.com",
        &member.token_auth(),
        &[("FriendlyName", "By email")],
    );
    assert!(
        by_email
            .body
            .contains("<FriendlyName>By email</FriendlyName>"),
        "{}",
        by_email.body
    );
}

#[test]
fn a_new_password_changes_the_token_even_when_it_is_the_same_password() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "pw@example.com", &[]);
    let same = member.password.clone().unwrap();
    let reply = app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("Password", &same)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let new_token = reply.json()["auth_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, member.token);
    app.get(&path(&member.sid), &member.token_auth())
        .assert_error(401, 20003);
    assert_eq!(
        app.get(&path(&member.sid), &Auth::basic(&member.sid, &new_token))
            .status,
        200
    );

    let reply = app.post(
        &path(&member.sid),
        &Auth::basic(&member.sid, &new_token),
        &[("Password", "a different password")],
    );
    let newest = reply.json()["auth_token"].as_str().unwrap().to_owned();
    app.get(&path(&member.sid), &member.password_auth())
        .assert_error(401, 20003);
    assert_eq!(
        app.get(
            &path(&member.sid),
            &Auth::basic("pw@example.com", "a different password")
        )
        .status,
        200
    );
    // Without a password change the token stays the same.
    let reply = app.post(
        &path(&member.sid),
        &Auth::basic(&member.sid, &newest),
        &[("FriendlyName", "still")],
    );
    assert_eq!(reply.json()["auth_token"], newest.as_str());
}

#[test]
fn two_accounts_with_the_same_password_have_different_tokens() {
    let app = spawn_app();
    let shared = "the very same password";
    let a = app
        .post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("EmailAddress", "a@example.com"), ("Password", shared)],
        )
        .json();
    let b = app
        .post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("EmailAddress", "b@example.com"), ("Password", shared)],
        )
        .json();
    assert_ne!(a["auth_token"], b["auth_token"]);
}

#[test]
fn date_updated_moves_only_when_something_changed() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "dates@example.com", &[]);
    let before = app.fetch(&member.token_auth(), &member.sid);
    std::thread::sleep(Duration::from_millis(1100));
    let echo = app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[
            ("FriendlyName", before["friendly_name"].as_str().unwrap()),
            ("Status", "active"),
            ("Role", "Developer"),
            ("EmailAddress", "DATES@example.com"),
            ("AuthToken", "00000000000000000000000000000000"),
            ("Sid", "AC00000000000000000000000000000000"),
        ],
    );
    assert_eq!(echo.status, 200, "{}", echo.body);
    assert_eq!(
        echo.json(),
        before,
        "an echo of the current values changes nothing"
    );
    let empty = app.post(&path(&member.sid), &member.token_auth(), &[]);
    assert_eq!(empty.json(), before);
    let changed = app
        .post(
            &path(&member.sid),
            &member.token_auth(),
            &[("FriendlyName", "new name")],
        )
        .json();
    assert_ne!(changed["date_updated"], before["date_updated"]);
    assert_eq!(changed["date_created"], before["date_created"]);
}

#[test]
fn an_account_may_not_change_its_own_role_or_status() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "self@example.com", &[]);
    let before = app.fetch(&app.admin_auth(), &member.sid);
    app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("Role", "Administrator")],
    )
    .assert_error(403, 20403);
    app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("Status", "closed")],
    )
    .assert_error(403, 20403);
    app.post(
        &path(&app.admin.sid),
        &app.admin_auth(),
        &[("Status", "suspended")],
    )
    .assert_error(403, 20403);
    app.post(
        &path(&app.admin.sid),
        &app.admin_auth(),
        &[("Role", "Developer")],
    )
    .assert_error(403, 20403);
    let mixed = app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("FriendlyName", "sneaky"), ("Role", "Administrator")],
    );
    mixed.assert_error(403, 20403);
    assert_eq!(
        app.fetch(&app.admin_auth(), &member.sid),
        before,
        "nothing changed"
    );
}

#[test]
fn an_administrator_sets_role_and_status_of_descendants() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "managed@example.com", &[]);
    let reply = app.post(
        &path(&member.sid),
        &app.admin_auth(),
        &[("Role", "ProvisioningAgent"), ("Status", "suspended")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["role"], "ProvisioningAgent");
    assert_eq!(reply.json()["status"], "suspended");
    app.get(&path(&member.sid), &member.token_auth())
        .assert_error(403, 20005);
    let back = app.post(
        &path(&member.sid),
        &app.admin_auth(),
        &[("Status", "active")],
    );
    assert_eq!(back.json()["status"], "active");
    assert_eq!(
        app.get(&path(&member.sid), &member.token_auth()).status,
        200
    );
}

#[test]
fn invalid_updates_are_400_and_change_nothing() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "inv@example.com", &[]);
    let before = app.fetch(&app.admin_auth(), &member.sid);
    let long = "x".repeat(65);
    let cases: [&[(&str, &str)]; 8] = [
        &[("FriendlyName", "")],
        &[("FriendlyName", long.as_str())],
        &[("FriendlyName", "tab\there")],
        &[("Role", "Superuser")],
        &[("Status", "deleted")],
        &[("Password", "short")],
        &[("Password", "inv@example.com!!")],
        &[("EmailAddress", "other@example.com")],
    ];
    for form in cases {
        let reply = app.post(&path(&member.sid), &app.admin_auth(), form);
        reply.assert_error(400, 20001);
        // A valid change in the same request is not applied either.
        let mut with_valid: Vec<(&str, &str)> = form.to_vec();
        with_valid.push(("Role", "Administrator"));
        if form[0].0 != "Role" {
            app.post(&path(&member.sid), &app.admin_auth(), &with_valid)
                .assert_error(400, 20001);
        }
    }
    assert_eq!(app.fetch(&app.admin_auth(), &member.sid), before);
    assert_eq!(
        app.get(&path(&member.sid), &member.password_auth()).status,
        200,
        "password unchanged"
    );
}

#[test]
fn updating_a_missing_or_invisible_account_is_404() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "look@example.com", &[]);
    app.post(
        &path("AC0123456789abcdef0123456789abcdef"),
        &app.admin_auth(),
        &[("FriendlyName", "x")],
    )
    .assert_error(404, 20404);
    app.post(
        &path(&app.admin.sid),
        &member.token_auth(),
        &[("FriendlyName", "x")],
    )
    .assert_error(404, 20404);
    assert_eq!(
        app.fetch(&app.admin_auth(), &app.admin.sid)["friendly_name"],
        "Default Administrator Account"
    );
}
