use crate::helpers::*;

/// Every account the administrator can list, as (sid, email) pairs.
fn all_sids(app: &TestApp) -> Vec<String> {
    let listed = app
        .get("/Accounts.json?PageSize=1000", &app.admin_auth())
        .json();
    listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn restcomm_style_create_returns_201_location_and_a_working_account() {
    let app = spawn_app();
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "New.User@Example.com"),
            ("Password", "a fine password"),
        ],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    let sid = body["sid"].as_str().unwrap();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/restcomm/2012-04-24/Accounts/{sid}.json")
    );
    assert_eq!(reply.header("cache-control").unwrap(), "no-store");
    assert_eq!(
        body["email_address"], "new.user@example.com",
        "stored lowercase"
    );
    assert_eq!(
        body["friendly_name"], "new.user@example.com",
        "defaults to the email"
    );
    assert_eq!(body["role"], "Developer");
    assert_eq!(body["status"], "active");
    assert_eq!(body["owner_account_sid"], app.admin.sid.as_str());
    let token = body["auth_token"].as_str().unwrap();
    assert_eq!(app.fetch(&Auth::basic(sid, token), sid)["sid"], sid);
    assert_eq!(
        app.fetch(&Auth::basic("new.user@example.com", "a fine password"), sid)["sid"],
        sid
    );
    assert_eq!(
        app.fetch(&Auth::basic("NEW.USER@example.com", token), sid)["sid"],
        sid,
        "email + token"
    );
    assert_eq!(
        app.fetch(&Auth::basic(sid, "a fine password"), sid)["sid"],
        sid,
        "sid + password"
    );
}

#[test]
fn xml_create_has_a_location_without_json() {
    let app = spawn_app();
    let reply = app.post(
        "/Accounts",
        &app.admin_auth(),
        &[("FriendlyName", "xml one")],
    );
    assert_eq!(reply.status, 201);
    assert!(reply.body.contains("<FriendlyName>xml one</FriendlyName>"));
    let location = reply.header("location").unwrap();
    assert!(
        location.starts_with("/restcomm/2012-04-24/Accounts/AC") && !location.ends_with(".json")
    );
}

#[test]
fn twilio_style_create_makes_an_api_only_account() {
    let app = spawn_app();
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("FriendlyName", "Billing bot")],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    assert!(body["email_address"].is_null());
    assert_eq!(body["friendly_name"], "Billing bot");
    let sid = body["sid"].as_str().unwrap();
    let token = body["auth_token"].as_str().unwrap();
    assert_eq!(app.fetch(&Auth::basic(sid, token), sid)["sid"], sid);
    let unnamed = app.post("/Accounts.json", &app.admin_auth(), &[]).json();
    let name = unnamed["friendly_name"].as_str().unwrap();
    assert!(
        name.starts_with("SubAccount Created at 20") && name.ends_with(" UTC"),
        "{name}"
    );
    assert_ne!(unnamed["auth_token"], body["auth_token"]);
    let set_password = app.post(
        &format!("/Accounts/{sid}.json"),
        &Auth::basic(sid, token),
        &[("Password", "now with a password")],
    );
    set_password.assert_error(400, 20001);
    let uninitialized = app.post(
        &format!("/Accounts/{sid}.json"),
        &app.admin_auth(),
        &[("Status", "uninitialized")],
    );
    uninitialized.assert_error(400, 20001);
    assert_eq!(app.fetch(&app.admin_auth(), sid)["status"], "active");
}

#[test]
fn email_without_password_or_password_without_email_is_400_and_writes_nothing() {
    let app = spawn_app();
    let before = all_sids(&app);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("EmailAddress", "half@example.com")],
    );
    reply.assert_error(400, 20001);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("Password"));
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("Password", "only a password here")],
    );
    reply.assert_error(400, 20001);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("EmailAddress"));
    assert_eq!(all_sids(&app), before);
}

#[test]
fn invalid_parameters_are_400_naming_the_parameter_and_write_nothing() {
    let app = spawn_app();
    let before = all_sids(&app);
    let long_name = "n".repeat(65);
    let cases: [(&[(&str, &str)], &str); 9] = [
        (
            &[
                ("EmailAddress", "not-an-email"),
                ("Password", "a fine password"),
            ],
            "EmailAddress",
        ),
        (&[("FriendlyName", "")], "FriendlyName"),
        (&[("FriendlyName", long_name.as_str())], "FriendlyName"),
        (&[("FriendlyName", "bell\u{7}")], "FriendlyName"),
        (&[("Role", "Root")], "Role"),
        (&[("Status", "suspended")], "Status"),
        (&[("Status", "closed")], "Status"),
        (
            &[("EmailAddress", "p@example.com"), ("Password", "short")],
            "Password",
        ),
        (
            &[
                ("EmailAddress", "p@example.com"),
                ("Password", "1qaz2wsx3edc"),
            ],
            "Password",
        ),
    ];
    for (form, parameter) in cases {
        let reply = app.post("/Accounts.json", &app.admin_auth(), form);
        reply.assert_error(400, 20001);
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains(parameter),
            "{message} should name {parameter}"
        );
    }
    assert_eq!(all_sids(&app), before);
}

#[test]
fn password_rules_explain_the_reason() {
    let app = spawn_app();
    let email = "rules@example.com";
    let cases = [
        ("elevenchars", "too short"),
        (&*"x".repeat(129), "too long"),
        ("LeaveMeAlone", "common"),
        ("my rules@example.com pass", "email"),
    ];
    for (password, reason) in cases {
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("EmailAddress", email), ("Password", password)],
        );
        reply.assert_error(400, 20001);
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(reason), "{message} should say {reason}");
    }
    let twelve = "twelve chars";
    assert_eq!(twelve.chars().count(), 12);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("EmailAddress", email), ("Password", twelve)],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let unicode: String = "über fünf grüne brücken müssen zwölf mutige bären gehen, während \
                           die möwen über dem fjord kreisen und nach süden ziehen, größer als je"
        .chars()
        .take(128)
        .collect();
    assert_eq!(unicode.chars().count(), 128);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[("EmailAddress", "u@example.com"), ("Password", &unicode)],
    );
    assert_eq!(
        reply.status, 201,
        "128 characters of any Unicode: {}",
        reply.body
    );
}

#[test]
fn passwords_sharing_their_first_72_bytes_are_different() {
    let app = spawn_app();
    let prefix = "p".repeat(72);
    let password = format!("{prefix}-first");
    app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "long@example.com"),
            ("Password", &password),
        ],
    );
    let reply = app.get(
        "/Accounts/long@example.com.json",
        &Auth::basic("long@example.com", &password),
    );
    assert_eq!(reply.status, 200);
    let reply = app.get(
        "/Accounts/long@example.com.json",
        &Auth::basic("long@example.com", &format!("{prefix}-second")),
    );
    reply.assert_error(401, 20003);
}

#[test]
fn a_duplicate_email_is_409_whatever_its_case() {
    let app = spawn_app();
    app.create_member(&app.admin_auth(), "dup@example.com", &[]);
    let before = all_sids(&app);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", "DUP@Example.COM"),
            ("Password", "another password"),
        ],
    );
    reply.assert_error(409, 20409);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("EmailAddress", ADMIN_EMAIL),
            ("Password", "another password"),
        ],
    );
    reply.assert_error(409, 20409);
    assert_eq!(all_sids(&app), before);
}

#[test]
fn other_keys_are_ignored_and_the_parent_is_always_the_caller() {
    let app = spawn_app();
    let other = app.create_member(
        &app.admin_auth(),
        "other@example.com",
        &[("Role", "Administrator")],
    );
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("FriendlyName", "assigned"),
            ("Sid", "AC11111111111111111111111111111111"),
            ("AuthToken", "11111111111111111111111111111111"),
            ("OwnerAccountSid", other.sid.as_str()),
            ("DateCreated", "Tue, 24 Apr 2012 22:51:29 +0000"),
        ],
    );
    assert_eq!(reply.status, 201);
    let body = reply.json();
    assert_ne!(body["sid"], "AC11111111111111111111111111111111");
    assert_ne!(body["auth_token"], "11111111111111111111111111111111");
    assert_eq!(body["owner_account_sid"], app.admin.sid.as_str());
    assert_ne!(body["date_created"], "Tue, 24 Apr 2012 22:51:29 +0000");
}

#[test]
fn only_active_administrators_create_and_checks_run_in_order() {
    let app = spawn_app();
    let developer = app.create_member(&app.admin_auth(), "dev@example.com", &[]);
    // A developer with invalid parameters still gets the role error: role comes first.
    app.post(
        "/Accounts.json",
        &developer.token_auth(),
        &[("Role", "Bogus")],
    )
    .assert_error(403, 20403);
    let level2 = app.create_member(
        &app.admin_auth(),
        "l2@example.com",
        &[("Role", "Administrator")],
    );
    let level3 = app.create_member(
        &level2.token_auth(),
        "l3@example.com",
        &[("Role", "Administrator")],
    );
    let depth = app.post("/Accounts.json", &level3.token_auth(), &[("Role", "Bogus")]);
    depth.assert_error(400, 21101);
    let level3_body = app.fetch(&app.admin_auth(), &level3.sid);
    assert_eq!(level3_body["owner_account_sid"], level2.sid.as_str());
    let suspended = app.create_member(
        &app.admin_auth(),
        "susp@example.com",
        &[("Role", "Administrator")],
    );
    app.post(
        &format!("/Accounts/{}.json", suspended.sid),
        &app.admin_auth(),
        &[("Status", "suspended")],
    );
    // Status is checked before role: even an invalid request is refused as not active.
    app.post(
        "/Accounts.json",
        &suspended.token_auth(),
        &[("Role", "Bogus")],
    )
    .assert_error(403, 20005);
    app.post("/Accounts.json", &Auth::None, &[("Role", "Bogus")])
        .assert_error(401, 20003);
}

#[test]
fn an_uninitialized_account_must_set_its_password_first() {
    let app = spawn_app();
    let fresh = app.create_member(
        &app.admin_auth(),
        "fresh@example.com",
        &[("Status", "uninitialized"), ("Role", "Administrator")],
    );
    let me = app.fetch(&fresh.password_auth(), &fresh.sid);
    assert_eq!(me["status"], "uninitialized");
    app.get("/Accounts.json", &fresh.password_auth())
        .assert_error(403, 20005);
    app.post("/Accounts.json", &fresh.password_auth(), &[])
        .assert_error(403, 20005);
    app.get(
        &format!("/Accounts/{}.json", app.admin.sid),
        &fresh.password_auth(),
    )
    .assert_error(403, 20005);
    let own_status = app.post(
        &format!("/Accounts/{}.json", fresh.sid),
        &fresh.password_auth(),
        &[("Status", "active")],
    );
    own_status.assert_error(403, 20005);
    let renamed = app.post(
        &format!("/Accounts/{}.json", fresh.sid),
        &fresh.password_auth(),
        &[("FriendlyName", "Fresh")],
    );
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.json()["status"], "uninitialized");
    let set = app.post(
        &format!("/Accounts/{}.json", fresh.sid),
        &fresh.password_auth(),
        &[("Password", "my own new password")],
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let body = set.json();
    assert_eq!(body["status"], "active");
    assert_eq!(body["friendly_name"], "Fresh");
    let token = body["auth_token"].as_str().unwrap();
    assert_eq!(
        app.get("/Accounts.json", &Auth::basic(&fresh.sid, token))
            .status,
        200
    );
}

#[test]
fn an_api_only_account_cannot_be_created_uninitialized() {
    let app = spawn_app();
    let before = all_sids(&app);
    let reply = app.post(
        "/Accounts.json",
        &app.admin_auth(),
        &[
            ("FriendlyName", "Never usable"),
            ("Status", "uninitialized"),
        ],
    );
    reply.assert_error(400, 20001);
    assert!(reply.json()["message"].as_str().unwrap().contains("Status"));
    assert_eq!(all_sids(&app), before);
}
