//! `/restcomm/2010-04-01`, Twilio's API version, serves the very same resources as
//! `/restcomm/2012-04-24`; the URIs in answers keep `/2012-04-24`.

use crate::helpers::*;

const TWILIO_BASE: &str = "/restcomm/2010-04-01";

#[test]
fn twilios_version_serves_the_same_accounts_with_restcomm_uris() {
    let app = spawn_app();
    let admin = app.admin_auth();
    for suffix in [".json", ""] {
        let path = format!("/Accounts/{}{suffix}", app.admin.sid);
        let restcomm = app.get(&format!("{BASE}{path}"), &admin);
        let twilio = app.get(&format!("{TWILIO_BASE}{path}"), &admin);
        assert_eq!(twilio.status, 200, "{}", twilio.body);
        assert_eq!(twilio.body, restcomm.body);
        assert_eq!(
            twilio.header("content-type"),
            restcomm.header("content-type")
        );
    }
    let by_email = app.get(
        &format!("{TWILIO_BASE}/Accounts/{ADMIN_EMAIL}.json"),
        &admin,
    );
    assert_eq!(
        by_email.json()["uri"],
        format!("/2012-04-24/Accounts/{}.json", app.admin.sid)
    );

    let created = app.post(
        &format!("{TWILIO_BASE}/Accounts.json"),
        &admin,
        &[("FriendlyName", "Made through 2010-04-01")],
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let sid = created.json()["sid"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/restcomm/2012-04-24/Accounts/{sid}.json")
    );
    let renamed = app.send_form(
        "PUT",
        &format!("{TWILIO_BASE}/Accounts.json/{sid}"),
        &admin,
        &[("FriendlyName", "Renamed")],
    );
    assert_eq!(renamed.json()["friendly_name"], "Renamed");
    assert_eq!(app.fetch(&admin, &sid)["friendly_name"], "Renamed");

    let page = app.get(&format!("{TWILIO_BASE}/Accounts.json?PageSize=1"), &admin);
    let page = page.json();
    for key in ["uri", "first_page_uri", "next_page_uri"] {
        let uri = page[key].as_str().unwrap();
        assert!(
            uri.starts_with("/2012-04-24/Accounts.json?"),
            "{key}: {uri}"
        );
    }
    let next = app.get(
        &format!("/restcomm{}", page["next_page_uri"].as_str().unwrap()),
        &admin,
    );
    assert_eq!(next.json()["accounts"][0]["sid"], sid.as_str());
}

#[test]
fn twilios_version_refuses_and_allows_the_same_methods() {
    let app = spawn_app();
    let path = format!("{TWILIO_BASE}/Accounts/{}.json", app.admin.sid);
    let reply = app.request("DELETE", &path, &app.admin_auth(), &[], None);
    reply.assert_error(405, 20405);
    assert_eq!(reply.header("allow").unwrap(), "GET, HEAD, POST, PUT");
    app.get(&path, &Auth::None).assert_error(401, 20003);
    app.get(&format!("{TWILIO_BASE}/Calls.json"), &app.admin_auth())
        .assert_error(404, 20404);
    let head = app.request("HEAD", &path, &app.admin_auth(), &[], None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}
