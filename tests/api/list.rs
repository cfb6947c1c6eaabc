use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

const ENVELOPE: [&str; 9] = [
    "accounts",
    "page",
    "page_size",
    "start",
    "end",
    "uri",
    "first_page_uri",
    "previous_page_uri",
    "next_page_uri",
];

fn sids(page: &Value) -> Vec<String> {
    page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sid"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `next_page_uri` from `first` to the end; returns every page.
fn walk(app: &TestApp, auth: &Auth, first: &str) -> Vec<Value> {
    let mut pages = vec![app.get(first, auth).json()];
    while let Some(next) = pages.last().unwrap()["next_page_uri"]
        .as_str()
        .map(str::to_owned)
    {
        assert!(next.starts_with("/2012-04-24/Accounts.json?"), "{next}");
        assert!(next.contains("PageToken="), "{next}");
        let reply = app.get(&format!("/restcomm{next}"), auth);
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages.push(reply.json());
        assert!(pages.len() < 100, "paging never ends");
    }
    pages
}

fn make_many(app: &TestApp, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let reply = app.post(
                "/Accounts.json",
                &app.admin_auth(),
                &[("FriendlyName", &format!("bulk {i}"))],
            );
            reply.json()["sid"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn the_envelope_has_exactly_the_contract_keys() {
    let app = spawn_app();
    let reply = app.get("/Accounts.json", &app.admin_auth());
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control").unwrap(), "no-store");
    let body = reply.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), ENVELOPE.len());
    let mut at = 0;
    for key in ENVELOPE {
        at += reply.body[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} out of order"));
    }
    assert_eq!(body["page"], 0);
    assert_eq!(body["page_size"], 50);
    assert_eq!(body["start"], 0);
    assert_eq!(body["end"], 0);
    assert_eq!(body["uri"], "/2012-04-24/Accounts.json?PageSize=50&Page=0");
    assert_eq!(
        body["first_page_uri"],
        "/2012-04-24/Accounts.json?PageSize=50&Page=0"
    );
    assert!(body["previous_page_uri"].is_null());
    assert!(body["next_page_uri"].is_null());
    assert_eq!(sids(&body), vec![app.admin.sid.clone()]);
}

#[test]
fn next_page_uri_walks_every_account_once_in_creation_order() {
    let app = spawn_app();
    let mut expected = vec![app.admin.sid.clone()];
    expected.extend(make_many(&app, 11));
    let pages = walk(&app, &app.admin_auth(), "/Accounts.json?PageSize=4");
    assert_eq!(
        pages.len(),
        3,
        "12 accounts in pages of 4, no trailing empty page"
    );
    let mut seen = Vec::new();
    for (number, page) in pages.iter().enumerate() {
        assert_eq!(page["page"], number as u64);
        assert_eq!(page["page_size"], 4);
        assert_eq!(page["start"], (number * 4) as u64);
        assert_eq!(page["end"], (number * 4 + sids(page).len() - 1) as u64);
        seen.extend(sids(page));
    }
    let as_set: HashSet<&String> = seen.iter().collect();
    assert_eq!(as_set.len(), seen.len(), "no account twice");
    assert_eq!(seen, expected, "creation order, within a second too");
    assert!(pages[2]["next_page_uri"].is_null());
    assert_eq!(
        pages[1]["previous_page_uri"],
        "/2012-04-24/Accounts.json?PageSize=4&Page=0"
    );
    let back = pages[2]["previous_page_uri"].as_str().unwrap();
    assert!(
        back.contains("Page=1") && back.contains("PageToken="),
        "{back}"
    );
    assert_eq!(
        sids(
            &app.get(&format!("/restcomm{back}"), &app.admin_auth())
                .json()
        ),
        sids(&pages[1])
    );
}

#[test]
fn a_new_account_during_paging_does_not_shift_the_pages() {
    let app = spawn_app();
    make_many(&app, 5);
    let first = app
        .get("/Accounts.json?PageSize=3", &app.admin_auth())
        .json();
    make_many(&app, 1);
    let next = first["next_page_uri"].as_str().unwrap();
    let second = app
        .get(&format!("/restcomm{next}"), &app.admin_auth())
        .json();
    let overlap: Vec<String> = sids(&second)
        .into_iter()
        .filter(|s| sids(&first).contains(s))
        .collect();
    assert!(overlap.is_empty());
    assert_eq!(sids(&second).len(), 3);
}

#[test]
fn page_numbers_without_a_token_are_offsets() {
    let app = spawn_app();
    make_many(&app, 6);
    let all = sids(&app.get("/Accounts.json", &app.admin_auth()).json());
    let page = app
        .get("/Accounts.json?PageSize=2&Page=2", &app.admin_auth())
        .json();
    assert_eq!(sids(&page), all[4..6].to_vec());
    assert_eq!(page["start"], 4);
    assert_eq!(page["end"], 5);
    let past = app
        .get("/Accounts.json?PageSize=2&Page=9", &app.admin_auth())
        .json();
    assert!(sids(&past).is_empty());
    assert!(past["next_page_uri"].is_null());
}

#[test]
fn an_exact_multiple_of_the_page_size_has_no_trailing_empty_page() {
    let app = spawn_app();
    make_many(&app, 3);
    let pages = walk(&app, &app.admin_auth(), "/Accounts.json?PageSize=2");
    assert_eq!(pages.len(), 2);
    assert_eq!(sids(&pages[1]).len(), 2);
}

#[test]
fn filters_match_exactly_and_page_uris_keep_them() {
    let app = spawn_app();
    app.create_member(
        &app.admin_auth(),
        "findme@example.com",
        &[("FriendlyName", "Team A")],
    );
    app.create_member(
        &app.admin_auth(),
        "other@example.com",
        &[("FriendlyName", "Team A")],
    );
    app.create_member(
        &app.admin_auth(),
        "third@example.com",
        &[("FriendlyName", "Team AB")],
    );
    let by_name = app
        .get(
            "/Accounts.json?FriendlyName=Team+A&PageSize=1",
            &app.admin_auth(),
        )
        .json();
    assert_eq!(by_name["accounts"][0]["friendly_name"], "Team A");
    let next = by_name["next_page_uri"].as_str().unwrap();
    assert!(
        next.contains("FriendlyName=Team%20A") && next.contains("PageSize=1"),
        "{next}"
    );
    assert!(by_name["first_page_uri"]
        .as_str()
        .unwrap()
        .contains("FriendlyName=Team%20A"));
    let pages = walk(
        &app,
        &app.admin_auth(),
        "/Accounts.json?FriendlyName=Team%20A&PageSize=1",
    );
    assert_eq!(pages.len(), 2);
    let by_email = app
        .get(
            "/Accounts.json?EmailAddress=FINDME%40example.com",
            &app.admin_auth(),
        )
        .json();
    assert_eq!(by_email["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_email["accounts"][0]["email_address"],
        "findme@example.com"
    );
    let by_status = app
        .get("/Accounts.json?Status=active", &app.admin_auth())
        .json();
    assert_eq!(by_status["accounts"].as_array().unwrap().len(), 4);
    let none = app
        .get("/Accounts.json?Status=closed", &app.admin_auth())
        .json();
    assert!(none["accounts"].as_array().unwrap().is_empty());
    assert_eq!(none["end"], -1, "end = start + 0 - 1 on an empty page");
}

#[test]
fn each_role_lists_what_it_may_fetch() {
    let app = spawn_app();
    let admin2 = app.create_member(
        &app.admin_auth(),
        "a2@example.com",
        &[("Role", "Administrator")],
    );
    let under = app.create_member(&admin2.token_auth(), "under@example.com", &[]);
    let developer = app.create_member(&app.admin_auth(), "d@example.com", &[]);
    let mut mine = sids(&app.get("/Accounts.json", &admin2.token_auth()).json());
    mine.sort();
    let mut expected = vec![admin2.sid.clone(), under.sid.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(
        sids(&app.get("/Accounts.json", &developer.token_auth()).json()),
        vec![developer.sid.clone()]
    );
    assert_eq!(
        sids(&app.get("/Accounts.json", &under.token_auth()).json()),
        vec![under.sid.clone()]
    );
    assert_eq!(
        sids(&app.get("/Accounts.json", &app.admin_auth()).json()).len(),
        4
    );
}

#[test]
fn bad_paging_parameters_are_400_naming_the_parameter() {
    let app = spawn_app();
    for (query, parameter) in [
        ("PageSize=0", "PageSize"),
        ("PageSize=1001", "PageSize"),
        ("PageSize=ten", "PageSize"),
        ("PageSize=-5", "PageSize"),
        ("Page=abc", "Page"),
        ("Page=-1", "Page"),
        ("PageToken=garbage", "PageToken"),
        ("Status=gone", "Status"),
        ("EmailAddress=nope", "EmailAddress"),
        ("PageSize=5&PageSize=6", "PageSize"),
    ] {
        let reply = app.get(&format!("/Accounts.json?{query}"), &app.admin_auth());
        reply.assert_error(400, 20001);
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains(parameter),
            "{query}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/Accounts.json?PageSize=1000", &app.admin_auth())
            .status,
        200
    );
    assert_eq!(
        app.get("/Accounts.json?PageSize=1", &app.admin_auth())
            .status,
        200
    );
}

#[test]
fn the_xml_listing_carries_paging_attributes() {
    let app = spawn_app();
    make_many(&app, 2);
    let reply = app.get("/Accounts?PageSize=2", &app.admin_auth());
    assert_eq!(reply.status, 200);
    let body = &reply.body;
    assert!(
        body.contains(
            "<RestcommResponse><Accounts page=\"0\" pagesize=\"2\" start=\"0\" end=\"1\""
        ),
        "{body}"
    );
    assert!(
        body.contains("uri=\"/2012-04-24/Accounts?PageSize=2&amp;Page=0\""),
        "{body}"
    );
    assert!(body.contains("firstpageuri=\"/2012-04-24/Accounts?PageSize=2&amp;Page=0\""));
    assert!(body.contains("previouspageuri=\"\""));
    assert!(
        body.contains("nextpageuri=\"/2012-04-24/Accounts?PageSize=2&amp;Page=1&amp;PageToken=")
    );
    assert_eq!(body.matches("<Account>").count(), 2);
    assert!(body.ends_with("</Accounts></RestcommResponse>"));
}

/// Pages may be answered again between writes; any commit must retire them.
#[test]
fn a_repeated_listing_always_shows_the_latest_committed_data() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "cached@example.com", &[]);
    let query = "/Accounts.json?PageSize=5";
    let find = |page: &Value| {
        page["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["sid"] == member.sid.as_str())
            .cloned()
            .unwrap()
    };
    let first = app.get(query, &app.admin_auth());
    assert_eq!(
        app.get(query, &app.admin_auth()).body,
        first.body,
        "nothing changed"
    );

    app.post(
        &format!("/Accounts/{}.json", member.sid),
        &app.admin_auth(),
        &[("FriendlyName", "renamed")],
    );
    assert_eq!(
        find(&app.get(query, &app.admin_auth()).json())["friendly_name"],
        "renamed"
    );

    let changed = app.post(
        &format!("/Accounts/{}.json", member.sid),
        &member.token_auth(),
        &[("Password", "another long password")],
    );
    let token = changed.json()["auth_token"].as_str().unwrap().to_owned();
    assert_eq!(
        find(&app.get(query, &app.admin_auth()).json())["auth_token"],
        token.as_str()
    );

    // A commit by another process (here, another connection to the same database) counts too.
    app.commit_elsewhere(&format!(
        "UPDATE accounts SET friendly_name = 'changed elsewhere' WHERE sid = '{}'",
        member.sid
    ));
    assert_eq!(
        find(&app.get(query, &app.admin_auth()).json())["friendly_name"],
        "changed elsewhere"
    );

    // Another caller with the same query gets its own listing, not the administrator's.
    let own = app.get(query, &Auth::basic(&member.sid, &token));
    assert_eq!(sids(&own.json()), vec![member.sid.clone()]);
}
