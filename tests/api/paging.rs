//! Keyset paging over a listing larger than a page: following next_page_uri visits every
//! account exactly once, in creation order (date created, then Sid), however deep it goes.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Sat, 28 Nov 2026 02:24:45 +0000` as a key that sorts in time order.
fn time_key(date: &str) -> String {
    let parts: Vec<&str> = date.split(' ').collect();
    let month = MONTHS.iter().position(|m| *m == parts[2]).unwrap();
    format!("{}-{month:02}-{}T{}", parts[3], parts[1], parts[4])
}

fn order_key(account: &Value) -> (String, String) {
    (
        time_key(account["date_created"].as_str().unwrap()),
        account["sid"].as_str().unwrap().to_owned(),
    )
}

/// Follows next_page_uri from `first` to the end; returns every listed account in order.
fn walk(app: &TestApp, first: &str) -> (Vec<Value>, usize) {
    let (mut listed, mut pages) = (Vec::new(), 0);
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let page = app.get(&path, &app.admin_auth());
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        listed.extend(page["accounts"].as_array().unwrap().iter().cloned());
        pages += 1;
        next = page["next_page_uri"]
            .as_str()
            .map(|uri| format!("/restcomm{uri}"));
    }
    (listed, pages)
}

#[test]
fn next_page_uri_visits_each_account_once_in_creation_order() {
    let app = spawn_app();
    let mut created = vec![app.fetch(&app.admin_auth(), &app.admin.sid)];
    for n in 0..230 {
        let name = format!("Paged {n}");
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", &name)],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        created.push(reply.json());
    }
    // Accounts made in the same second are ordered by Sid.
    let mut expected: Vec<(String, String)> = created.iter().map(order_key).collect();
    expected.sort();

    let (listed, pages) = walk(&app, "/Accounts.json?PageSize=7");
    let listed_keys: Vec<(String, String)> = listed.iter().map(order_key).collect();
    assert_eq!(listed_keys, expected);
    assert_eq!(pages, 231_usize.div_ceil(7));
    let distinct: HashSet<&str> = listed.iter().map(|a| a["sid"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 231);
}

#[test]
fn a_filtered_listing_pages_through_its_matches_only() {
    let app = spawn_app();
    let mut wanted = HashSet::new();
    for n in 0..40 {
        let name = if n % 3 == 0 { "Wanted" } else { "Other" };
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", name)],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        if name == "Wanted" {
            wanted.insert(reply.json()["sid"].as_str().unwrap().to_owned());
        }
    }
    let (listed, pages) = walk(&app, "/Accounts.json?FriendlyName=Wanted&PageSize=4");
    let sids: Vec<String> = listed
        .iter()
        .map(|a| a["sid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sids.iter().cloned().collect::<HashSet<_>>(), wanted);
    assert_eq!(sids.len(), wanted.len());
    assert_eq!(pages, wanted.len().div_ceil(4));
}

#[test]
fn a_suspended_ancestor_shows_in_listings_and_their_status_filter() {
    let app = spawn_app();
    let create = |auth: &Auth, form: &[(&str, &str)]| {
        let reply = app.post("/Accounts.json", auth, form);
        assert_eq!(reply.status, 201, "{}", reply.body);
        let body = reply.json();
        let sid = body["sid"].as_str().unwrap().to_owned();
        let token = body["auth_token"].as_str().unwrap().to_owned();
        (sid, token)
    };
    let branch = create(
        &app.admin_auth(),
        &[("FriendlyName", "Branch"), ("Role", "Administrator")],
    );
    let leaf = create(
        &Auth::basic(&branch.0, &branch.1),
        &[("FriendlyName", "Leaf")],
    );
    let suspend = app.post(
        &format!("/Accounts/{}.json", branch.0),
        &app.admin_auth(),
        &[("Status", "suspended")],
    );
    assert_eq!(suspend.status, 200, "{}", suspend.body);

    let (listed, _) = walk(&app, "/Accounts.json?PageSize=2");
    let status_of = |sid: &str| {
        let account = listed.iter().find(|a| a["sid"] == sid).unwrap();
        account["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of(&leaf.0), "suspended");
    assert_eq!(status_of(&app.admin.sid), "active");

    let (suspended, _) = walk(&app, "/Accounts.json?Status=suspended&PageSize=1");
    let sids: HashSet<&str> = suspended
        .iter()
        .map(|a| a["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, HashSet::from([branch.0.as_str(), leaf.0.as_str()]));
}
