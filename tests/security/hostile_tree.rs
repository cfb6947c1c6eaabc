//! Reaching across the account tree, climbing roles, and smuggling fields that only the server
//! may set. Invisible accounts are 404 (20404), exactly like missing ones.

use crate::helpers::*;
use crate::support::*;

#[test]
fn a_sibling_cannot_read_its_sibling() {
    let w = world();
    let before = w.snapshot();
    w.app
        .get(&w.account_path(&w.a), &w.b.token_auth())
        .assert_error(404, 20404);
    w.app
        .get("/Accounts/a1@example.com.json", &w.b.token_auth())
        .assert_error(404, 20404);
    w.assert_intact(&before);
}

#[test]
fn a_sibling_cannot_write_its_sibling() {
    let w = world();
    let before = w.snapshot();
    let form = [("FriendlyName", "hijacked"), ("Status", "suspended")];
    w.app
        .post(&w.account_path(&w.a), &w.b.token_auth(), &form)
        .assert_error(404, 20404);
    w.app
        .send_form("PUT", &w.account_path(&w.a1), &w.b.token_auth(), &form)
        .assert_error(404, 20404);
    w.assert_intact(&before);
}

#[test]
fn a_child_cannot_read_its_parent() {
    let w = world();
    let before = w.snapshot();
    w.app
        .get(&w.account_path(&w.a), &w.a1.token_auth())
        .assert_error(404, 20404);
    w.app
        .get(
            &format!("/Accounts/{}.json", w.app.admin.sid),
            &w.a.token_auth(),
        )
        .assert_error(404, 20404);
    w.assert_intact(&before);
}

#[test]
fn a_child_cannot_suspend_or_close_its_parent() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a1.token_auth(),
            &[("Status", "suspended")],
        )
        .assert_error(404, 20404);
    let root = format!("/Accounts/{}.json", w.app.admin.sid);
    w.app
        .post(&root, &w.a.token_auth(), &[("Status", "closed")])
        .assert_error(404, 20404);
    w.app
        .post(
            &root,
            &w.a.token_auth(),
            &[("Password", "a brand new password")],
        )
        .assert_error(404, 20404);
    w.assert_intact(&before);
}

#[test]
fn a_parent_cannot_reach_its_siblings_subtree() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a1),
            &w.b.token_auth(),
            &[("Role", "Administrator")],
        )
        .assert_error(404, 20404);
    w.assert_intact(&before);
}

#[test]
fn a_listing_shows_nothing_outside_the_callers_tree() {
    let w = world();
    let before = w.snapshot();
    let reply = w.app.get("/Accounts.json?PageSize=1000", &w.b.token_auth());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sids: Vec<_> = reply.json()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["sid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sids, vec![w.b.sid.clone()]);
    w.assert_intact(&before);
}

#[test]
fn a_developer_cannot_promote_itself() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a1),
            &w.a1.token_auth(),
            &[("Role", "Administrator")],
        )
        .assert_error(403, 20403);
    w.assert_intact(&before);
}

#[test]
fn an_administrator_cannot_change_its_own_status_or_role() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[("Status", "closed")],
        )
        .assert_error(403, 20403);
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[("Role", "Developer")],
        )
        .assert_error(403, 20403);
    w.assert_intact(&before);
}

#[test]
fn a_developer_cannot_create_accounts() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            "/Accounts.json",
            &w.a1.token_auth(),
            &[("FriendlyName", "mine")],
        )
        .assert_error(403, 20403);
    w.assert_intact(&before);
}

#[test]
fn a_suspended_administrator_cannot_act() {
    let w = world();
    let suspend = w.app.post(
        &w.account_path(&w.b),
        &w.app.admin_auth(),
        &[("Status", "suspended")],
    );
    assert_eq!(suspend.status, 200, "{}", suspend.body);
    let before = w.snapshot();
    w.app
        .post(
            "/Accounts.json",
            &w.b.token_auth(),
            &[("FriendlyName", "x")],
        )
        .assert_error(403, 20005);
    w.app
        .post(
            &w.account_path(&w.b),
            &w.b.token_auth(),
            &[("Status", "active")],
        )
        .assert_error(403, 20005);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.app.get("/health", &Auth::None).status, 200);
}

#[test]
fn an_uninitialized_account_may_only_set_its_password() {
    let w = world();
    let fresh = w.app.create_member(
        &w.a.token_auth(),
        "fresh@example.com",
        &[("Status", "uninitialized")],
    );
    let before = w.snapshot();
    w.app
        .get("/Accounts.json", &fresh.password_auth())
        .assert_error(403, 20005);
    w.app
        .post(
            "/Accounts.json",
            &fresh.password_auth(),
            &[("FriendlyName", "x")],
        )
        .assert_error(403, 20005);
    w.assert_intact(&before);
}

/// Every server-owned field in a form is ignored: the account is exactly as before.
#[test]
fn server_owned_fields_in_an_update_are_ignored() {
    let w = world();
    let before = w.snapshot();
    let reply = w.app.post(
        &w.account_path(&w.a1),
        &w.a1.token_auth(),
        &[
            ("Sid", "AC00000000000000000000000000000000"),
            ("AuthToken", "00000000000000000000000000000000"),
            ("OwnerAccountSid", w.app.admin.sid.as_str()),
            ("DateCreated", "Tue, 24 Apr 2012 22:51:29 +0000"),
            ("DateUpdated", "Tue, 24 Apr 2012 22:51:29 +0000"),
            ("Type", "Trial"),
            ("Uri", "/elsewhere"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        before[2],
        "nothing moved, not even date_updated"
    );
    w.assert_intact(&before);
}

#[test]
fn server_owned_fields_in_a_create_are_ignored() {
    let w = world();
    let before = w.snapshot();
    let forged_sid = "AC11111111111111111111111111111111";
    let forged_token = "11111111111111111111111111111111";
    let reply = w.app.post(
        "/Accounts.json",
        &w.a.token_auth(),
        &[
            ("FriendlyName", "new one"),
            ("Sid", forged_sid),
            ("AuthToken", forged_token),
            ("OwnerAccountSid", w.app.admin.sid.as_str()),
            ("DateCreated", "Tue, 24 Apr 2012 22:51:29 +0000"),
        ],
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let created = reply.json();
    assert_ne!(created["sid"], forged_sid);
    assert_ne!(created["auth_token"], forged_token);
    assert_eq!(
        created["owner_account_sid"],
        w.a.sid.as_str(),
        "the caller is the parent"
    );
    assert_ne!(created["date_created"], "Tue, 24 Apr 2012 22:51:29 +0000");
    w.assert_intact(&before);
}

#[test]
fn the_email_address_cannot_be_changed() {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[("EmailAddress", "root@company.com")],
        )
        .assert_error(400, 20001);
    w.assert_intact(&before);
}
