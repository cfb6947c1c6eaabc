//! Keyset paging over a listing larger than a page: following next_page_uri visits every
//! account exactly once, in creation order (accounts made within one second included), however
//! deep it goes.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

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
    let (listed, pages) = walk(&app, "/Accounts.json?PageSize=7");
    assert_eq!(sids(&listed), sids(&created));
    assert_eq!(pages, 231_usize.div_ceil(7));
    let distinct: HashSet<&str> = listed.iter().map(|a| a["sid"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 231);
}

fn sids(accounts: &[Value]) -> Vec<&str> {
    accounts
        .iter()
        .map(|a| a["sid"].as_str().unwrap())
        .collect()
}

/// Twelve accounts made in a row share a second or two: they list as they were made, not by
/// their random Sids, on one page and across pages.
#[test]
fn accounts_made_within_one_second_list_in_the_order_they_were_made() {
    let app = spawn_app();
    let mut created = vec![app.fetch(&app.admin_auth(), &app.admin.sid)];
    for n in 0..12 {
        let name = format!("Quick {n}");
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", &name)],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        created.push(reply.json());
    }
    let seconds: HashSet<&str> = created[1..]
        .iter()
        .map(|a| a["date_created"].as_str().unwrap())
        .collect();
    assert!(seconds.len() < 12, "some accounts share a second");
    let one_page = app
        .get("/Accounts.json?PageSize=100", &app.admin_auth())
        .json();
    assert_eq!(
        sids(one_page["accounts"].as_array().unwrap()),
        sids(&created)
    );
    let (paged, pages) = walk(&app, "/Accounts.json?PageSize=5");
    assert_eq!(sids(&paged), sids(&created));
    assert_eq!(pages, 3);
    let xml = app.get("/Accounts?PageSize=100", &app.admin_auth()).body;
    let positions: Vec<usize> = sids(&created)
        .iter()
        .map(|sid| xml.find(&format!("<Sid>{sid}</Sid>")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "XML lists in creation order too");
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
