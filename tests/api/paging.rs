//! Keyset paging over a listing larger than a page: following next_page_uri visits every
//! account exactly once, in creation order (accounts made within one second included), however
//! deep it goes.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

#[test]
fn next_page_uri_visits_each_account_once_in_creation_order() {
    let app = spawn_app();
    let created = administrator_and_children(&app, "Paged", 230);
    let (listed, pages) = app.walk("/Accounts.json?PageSize=7");
    assert_eq!(sids(&listed), sids(&created));
    assert_eq!(pages, 231_usize.div_ceil(7));
    let distinct: HashSet<&str> = listed.iter().map(|a| a["sid"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 231);
}

/// The administrator, then `count` API-only children named `{prefix} {n}`, as created.
fn administrator_and_children(app: &TestApp, prefix: &str, count: usize) -> Vec<Value> {
    let mut created = vec![app.fetch(&app.admin_auth(), &app.admin.sid)];
    for n in 0..count {
        let name = format!("{prefix} {n}");
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", &name)],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        created.push(reply.json());
    }
    created
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
    let created = administrator_and_children(&app, "Quick", 12);
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
    let (paged, pages) = app.walk("/Accounts.json?PageSize=5");
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
    let (listed, pages) = app.walk("/Accounts.json?FriendlyName=Wanted&PageSize=4");
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

    let (listed, _) = app.walk("/Accounts.json?PageSize=2");
    let status_of = |sid: &str| {
        let account = listed.iter().find(|a| a["sid"] == sid).unwrap();
        account["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of(&leaf.0), "suspended");
    assert_eq!(status_of(&app.admin.sid), "active");

    let (suspended, _) = app.walk("/Accounts.json?Status=suspended&PageSize=1");
    let sids: HashSet<&str> = suspended
        .iter()
        .map(|a| a["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, HashSet::from([branch.0.as_str(), leaf.0.as_str()]));
}

/// The query of a page URI as (key, value) pairs, in order.
fn query_of(uri: &str) -> Vec<(String, String)> {
    let (_, query) = uri.split_once('?').unwrap();
    query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn with_query(pairs: &[(String, String)]) -> String {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("/Accounts.json?{}", query.join("&"))
}

#[test]
fn the_page_number_comes_from_the_page_token() {
    let app = spawn_app();
    for n in 0..6 {
        let name = format!("Token {n}");
        let reply = app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", &name)],
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let first = app
        .get("/Accounts.json?PageSize=2", &app.admin_auth())
        .json();
    let next = query_of(first["next_page_uri"].as_str().unwrap());
    assert!(next.contains(&("Page".into(), "1".into())), "{next:?}");

    // The token alone opens page 1, and its page after that is page 2.
    let token_only: Vec<_> = next.iter().filter(|(k, _)| k != "Page").cloned().collect();
    let second = app.get(&with_query(&token_only), &app.admin_auth()).json();
    assert_eq!(
        (second["page"].as_u64(), second["start"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(second["end"], 3);
    let third = query_of(second["next_page_uri"].as_str().unwrap());
    assert!(third.contains(&("Page".into(), "2".into())), "{third:?}");

    // A Page beside the token that says otherwise is refused, naming Page.
    for forged in ["0", "2", "99", "18446744073709551615"] {
        let pairs: Vec<_> = next
            .iter()
            .map(|(k, v)| match k.as_str() {
                "Page" => (k.clone(), forged.to_owned()),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        let reply = app.get(&with_query(&pairs), &app.admin_auth());
        reply.assert_error(400, 20001);
        assert!(
            reply.json()["message"].as_str().unwrap().contains("Page "),
            "{}",
            reply.body
        );
    }
}

#[test]
fn a_page_too_far_for_its_page_size_is_400_naming_page_and_nothing_overflows() {
    let app = spawn_app();
    let last = i64::MAX as u64 / 1000 - 1;
    let reply = app.get(
        &format!("/Accounts.json?PageSize=1000&Page={last}"),
        &app.admin_auth(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["start"].as_u64(), Some(last * 1000));
    assert_eq!(body["end"].as_i64(), Some((last * 1000) as i64 - 1));
    assert!(body["accounts"].as_array().unwrap().is_empty());
    assert!(body["next_page_uri"].is_null());
    for (size, page) in [
        (1000, last + 1),
        (2, i64::MAX as u64 / 2),
        (1, u64::MAX),
        (50, u64::MAX / 50 + 1),
    ] {
        let reply = app.get(
            &format!("/Accounts.json?PageSize={size}&Page={page}"),
            &app.admin_auth(),
        );
        reply.assert_error(400, 20001);
        assert!(
            reply.json()["message"].as_str().unwrap().contains("Page "),
            "{}",
            reply.body
        );
    }
    // A token whose page cannot be reached at this size is refused too, naming PageToken.
    let reply = app.get(
        "/Accounts.json?PageSize=1000&PageToken=PA18446744073709551615_0_1",
        &app.admin_auth(),
    );
    reply.assert_error(400, 20001);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("PageToken"));
    assert_eq!(app.get("/health", &Auth::None).status, 200);
}
