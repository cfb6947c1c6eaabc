use crate::helpers::*;

fn me(app: &TestApp) -> String {
    format!("/Accounts/{}.json", app.admin.sid)
}

#[test]
fn delete_is_405_with_allow_because_accounts_are_closed_not_deleted() {
    let app = spawn_app();
    let reply = app.request("DELETE", &me(&app), &app.admin_auth(), &[], None);
    reply.assert_error(405, 20405);
    assert_eq!(reply.header("allow").unwrap(), "GET, HEAD, POST, PUT");
    assert_eq!(
        app.fetch(&app.admin_auth(), &app.admin.sid)["status"],
        "active"
    );
    let reply = app.request("DELETE", "/Accounts.json", &app.admin_auth(), &[], None);
    reply.assert_error(405, 20405);
    assert_eq!(reply.header("allow").unwrap(), "GET, HEAD, POST");
    let xml = app.request(
        "PATCH",
        &format!("/Accounts/{}", app.admin.sid),
        &app.admin_auth(),
        &[],
        None,
    );
    assert_eq!(xml.status, 405);
    assert!(xml.body.contains("<Code>20405</Code>"));
}

#[test]
fn unknown_routes_are_404_in_the_requested_format() {
    let app = spawn_app();
    for path in [
        "/restcomm/2012-04-24/Nothing.json",
        "/restcomm/2008-08-01/Accounts.json",
        "/nowhere.json",
    ] {
        app.get(path, &app.admin_auth()).assert_error(404, 20404);
    }
    let xml = app.get("/restcomm/2012-04-24/Calls", &Auth::None);
    assert_eq!(xml.status, 404);
    assert_eq!(
        xml.header("content-type").unwrap(),
        "application/xml; charset=utf-8"
    );
    let body = &xml.body;
    assert!(
        body.contains("<RestcommResponse><RestException><Code>20404</Code><Message>"),
        "{body}"
    );
    assert!(body.contains("<MoreInfo>https://www.twilio.com/docs/errors/20404</MoreInfo><Status>404</Status></RestException></RestcommResponse>"));
}

#[test]
fn other_body_types_are_415_and_change_nothing() {
    let app = spawn_app();
    for content_type in [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let reply = app.request(
            "POST",
            &me(&app),
            &app.admin_auth(),
            &[("Content-Type", content_type)],
            Some("FriendlyName=x".into()),
        );
        reply.assert_error(415, 20415);
    }
    let untyped = app.request(
        "POST",
        &me(&app),
        &app.admin_auth(),
        &[],
        Some("FriendlyName=x".into()),
    );
    untyped.assert_error(415, 20415);
    let charset = app.request(
        "POST",
        &me(&app),
        &app.admin_auth(),
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )],
        Some("FriendlyName=charset+ok".into()),
    );
    assert_eq!(charset.json()["friendly_name"], "charset ok");
}

#[test]
fn malformed_forms_are_400_and_change_nothing() {
    let app = spawn_app();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    for body in [
        "FriendlyName=a&FriendlyName=b",
        "FriendlyName=%zz",
        "FriendlyName=%e2%28%a1",
        "FriendlyName=%",
    ] {
        let reply = app.request(
            "POST",
            &me(&app),
            &app.admin_auth(),
            &form,
            Some(body.into()),
        );
        reply.assert_error(400, 20001);
    }
    let create = app.request(
        "POST",
        "/Accounts.json",
        &app.admin_auth(),
        &form,
        Some("FriendlyName=a&FriendlyName=b".into()),
    );
    create.assert_error(400, 20001);
    assert!(create.json()["message"]
        .as_str()
        .unwrap()
        .contains("FriendlyName"));
    assert_eq!(
        app.fetch(&app.admin_auth(), &app.admin.sid)["friendly_name"],
        "Default Administrator Account"
    );
    let listed = app.get("/Accounts.json", &app.admin_auth()).json();
    assert_eq!(listed["accounts"].as_array().unwrap().len(), 1);
}

#[test]
fn bodies_over_16_kib_are_413() {
    let app = spawn_app();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let big = format!("FriendlyName=x&Pad={}", "a".repeat(16 * 1024));
    app.request("POST", &me(&app), &app.admin_auth(), &form, Some(big))
        .assert_error(413, 20413);
    let just_fits = format!("FriendlyName=fits&Pad={}", "a".repeat(16 * 1024 - 22));
    assert_eq!(just_fits.len(), 16 * 1024);
    assert_eq!(
        app.request("POST", &me(&app), &app.admin_auth(), &form, Some(just_fits))
            .status,
        200
    );
}

#[test]
fn health_answers_without_authentication() {
    let app = spawn_app();
    let reply = app.get("/health", &Auth::None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
}
