use crate::helpers::*;

const JSON_FIELDS: [&str; 12] = [
    "sid",
    "owner_account_sid",
    "friendly_name",
    "email_address",
    "type",
    "status",
    "role",
    "date_created",
    "date_updated",
    "auth_token",
    "uri",
    "subresource_uris",
];

fn keys_in_order(body: &str, keys: &[&str]) -> bool {
    let mut at = 0;
    for key in keys {
        match body[at..].find(&format!("\"{key}\":")) {
            Some(offset) => at += offset,
            None => return false,
        }
    }
    true
}

fn is_rfc2822(date: &str) -> bool {
    let parts: Vec<&str> = date.split(' ').collect();
    parts.len() == 6
        && ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(&parts[0])
        && parts[1].len() == 2
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[3].len() == 4
        && parts[4].len() == 8
        && parts[5] == "+0000"
}

#[test]
fn an_account_fetches_itself_by_sid_and_by_email() {
    let app = spawn_app();
    let by_sid = app.fetch(&app.admin_auth(), &app.admin.sid);
    assert_eq!(by_sid["email_address"], ADMIN_EMAIL);
    let by_email = app.fetch(&app.admin_auth(), "Administrator@Company.com");
    assert_eq!(by_email["sid"], app.admin.sid);
    let escaped = app.fetch(&app.admin_auth(), "administrator%40company.com");
    assert_eq!(escaped["sid"], app.admin.sid);
}

#[test]
fn json_representation_has_exactly_the_contract_fields_in_order() {
    let app = spawn_app();
    let reply = app.get(
        &format!("/Accounts/{}.json", app.admin.sid),
        &app.admin_auth(),
    );
    assert_eq!(
        reply.header("content-type").unwrap(),
        "application/json; charset=utf-8"
    );
    assert_eq!(reply.header("cache-control").unwrap(), "no-store");
    let body = reply.json();
    let object = body.as_object().unwrap();
    assert_eq!(object.keys().len(), 12);
    assert!(keys_in_order(&reply.body, &JSON_FIELDS), "{}", reply.body);
    let sid = app.admin.sid.as_str();
    assert!(sid.starts_with("AC") && sid.len() == 34);
    assert!(sid[2..]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(
        body["owner_account_sid"], sid,
        "a top-level account owns itself"
    );
    assert_eq!(body["friendly_name"], "Default Administrator Account");
    assert_eq!(body["type"], "Full");
    assert_eq!(body["status"], "active");
    assert_eq!(body["role"], "Administrator");
    assert!(
        is_rfc2822(body["date_created"].as_str().unwrap()),
        "{}",
        body["date_created"]
    );
    assert!(is_rfc2822(body["date_updated"].as_str().unwrap()));
    let token = body["auth_token"].as_str().unwrap();
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(body["uri"], format!("/2012-04-24/Accounts/{sid}.json"));
    let subresources = [
        ("available_phone_numbers", "AvailablePhoneNumbers"),
        ("calls", "Calls"),
        ("conferences", "Conferences"),
        ("incoming_phone_numbers", "IncomingPhoneNumbers"),
        ("notifications", "Notifications"),
        ("outgoing_caller_ids", "OutgoingCallerIds"),
        ("recordings", "Recordings"),
        ("sandbox", "Sandbox"),
        ("sms_messages", "SMS/Messages"),
        ("transcriptions", "Transcriptions"),
    ];
    let uris = body["subresource_uris"].as_object().unwrap();
    assert_eq!(uris.len(), 10);
    let keys: Vec<&str> = subresources.iter().map(|(k, _)| *k).collect();
    let section = &reply.body[reply.body.find("\"subresource_uris\"").unwrap()..];
    assert!(keys_in_order(section, &keys), "{section}");
    for (key, name) in subresources {
        assert_eq!(uris[key], format!("/2012-04-24/Accounts/{sid}/{name}.json"));
    }
    for secret in ["password", "hash", "salt", "key"] {
        assert!(
            !reply.body.to_lowercase().contains(&format!("\"{secret}")),
            "{secret} leaked"
        );
    }
}

#[test]
fn xml_is_the_default_with_pascal_case_fields_in_order() {
    let app = spawn_app();
    let reply = app.get(&format!("/Accounts/{}", app.admin.sid), &app.admin_auth());
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type").unwrap(),
        "application/xml; charset=utf-8"
    );
    assert_eq!(reply.header("cache-control").unwrap(), "no-store");
    let body = &reply.body;
    assert!(body.contains("<RestcommResponse><Account><Sid>"), "{body}");
    let order = [
        "<Sid>",
        "<OwnerAccountSid>",
        "<FriendlyName>",
        "<EmailAddress>",
        "<Type>Full</Type>",
        "<Status>active</Status>",
        "<Role>Administrator</Role>",
        "<DateCreated>",
        "<DateUpdated>",
        "<AuthToken>",
        "<Uri>",
        "<SubresourceUris>",
        "<AvailablePhoneNumbers>",
        "<Calls>",
        "<Conferences>",
        "<IncomingPhoneNumbers>",
        "<Notifications>",
        "<OutgoingCallerIds>",
        "<Recordings>",
        "<Sandbox>",
        "<SMSMessages>",
        "<Transcriptions>",
        "</SubresourceUris></Account></RestcommResponse>",
    ];
    let mut at = 0;
    for tag in order {
        at += body[at..]
            .find(tag)
            .unwrap_or_else(|| panic!("{tag} missing or out of order in {body}"));
    }
    let sid = &app.admin.sid;
    assert!(body.contains(&format!("<Uri>/2012-04-24/Accounts/{sid}</Uri>")));
    assert!(body.contains(&format!(
        "<SMSMessages>/2012-04-24/Accounts/{sid}/SMS/Messages</SMSMessages>"
    )));
    assert!(!body.contains(".json"));
}

#[test]
fn json_suffix_in_any_segment_or_accept_header_selects_json() {
    let app = spawn_app();
    let sid = &app.admin.sid;
    for path in [
        format!("/Accounts/{sid}.json"),
        format!("/Accounts.json/{sid}"),
        format!("/Accounts.json/{sid}.json"),
    ] {
        let reply = app.get(&path, &app.admin_auth());
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.json()["sid"], sid.as_str(), "{path}");
    }
    let reply = app.request(
        "GET",
        &format!("/Accounts/{sid}"),
        &app.admin_auth(),
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(reply.json()["sid"], sid.as_str());
    let reply = app.request(
        "GET",
        &format!("/Accounts/{sid}"),
        &app.admin_auth(),
        &[("Accept", "text/html")],
        None,
    );
    assert!(reply.body.contains("<RestcommResponse>"));
}

#[test]
fn administrators_read_their_whole_subtree_and_nothing_else() {
    let app = spawn_app();
    let (child, grandchild) = app.create_family();
    let sibling = app.create_member(
        &app.admin_auth(),
        "sibling@example.com",
        &[("Role", "Administrator")],
    );

    let seen = app.fetch(&app.admin_auth(), &grandchild.sid);
    assert_eq!(seen["owner_account_sid"], child.sid.as_str());
    assert_eq!(seen["auth_token"], grandchild.token.as_str());
    app.fetch(&child.token_auth(), "child@example.com");

    let missing = app.get(
        "/Accounts/AC00000000000000000000000000000000.json",
        &child.token_auth(),
    );
    missing.assert_error(404, 20404);
    for (auth, target) in [
        (child.token_auth(), app.admin.sid.clone()),
        (child.token_auth(), sibling.sid.clone()),
        (sibling.token_auth(), grandchild.sid.clone()),
        (grandchild.token_auth(), child.sid.clone()),
        (child.token_auth(), ADMIN_EMAIL.to_owned()),
    ] {
        let reply = app.get(&format!("/Accounts/{target}.json"), &auth);
        reply.assert_error(404, 20404);
        assert_eq!(
            reply.body, missing.body,
            "outside the tree looks exactly like missing"
        );
    }
    let not_an_id = app.get("/Accounts/nobody.json", &app.admin_auth());
    not_an_id.assert_error(404, 20404);
}

#[test]
fn a_developer_sees_itself_alone_even_with_descendants() {
    let app = spawn_app();
    let (child, grandchild) = app.create_family();
    let demoted = app.post(
        &format!("/Accounts/{}.json", child.sid),
        &app.admin_auth(),
        &[("Role", "Developer")],
    );
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    app.get(
        &format!("/Accounts/{}.json", grandchild.sid),
        &child.token_auth(),
    )
    .assert_error(404, 20404);
    let listed = app.get("/Accounts.json", &child.token_auth()).json();
    let sids: Vec<&str> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, vec![child.sid.as_str()]);
    let update = app.post(
        &format!("/Accounts/{}.json", grandchild.sid),
        &child.token_auth(),
        &[("FriendlyName", "x")],
    );
    update.assert_error(404, 20404);
    let agent = app.create_member(
        &app.admin_auth(),
        "agent@example.com",
        &[("Role", "ProvisioningAgent")],
    );
    app.post(
        "/Accounts.json",
        &agent.token_auth(),
        &[("FriendlyName", "no")],
    )
    .assert_error(403, 20403);
    app.get(
        &format!("/Accounts/{}.json", app.admin.sid),
        &agent.token_auth(),
    )
    .assert_error(404, 20404);
}
