use crate::helpers::*;

fn path(sid: &str) -> String {
    format!("/Accounts/{sid}.json")
}

fn status_of(app: &TestApp, sid: &str) -> String {
    app.fetch(&app.admin_auth(), sid)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn set_status(app: &TestApp, auth: &Auth, sid: &str, status: &str) -> Reply {
    app.post(&path(sid), auth, &[("Status", status)])
}

#[test]
fn closing_is_final_and_closes_the_subtree() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let reply = set_status(&app, &app.admin_auth(), &parent.sid, "closed");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "closed");
    assert_eq!(status_of(&app, &child.sid), "closed");
    // Closed accounts stay readable by their ancestors, and cannot be changed.
    let before = app.fetch(&app.admin_auth(), &child.sid);
    for form in [
        &[("Status", "active")][..],
        &[("FriendlyName", "revived")],
        &[],
    ] {
        app.post(&path(&parent.sid), &app.admin_auth(), form)
            .assert_error(400, 21479);
        app.post(&path(&child.sid), &app.admin_auth(), form)
            .assert_error(400, 21479);
    }
    assert_eq!(app.fetch(&app.admin_auth(), &child.sid), before);
    app.get(&path(&child.sid), &child.token_auth())
        .assert_error(403, 20005);
    app.get(&path(&parent.sid), &parent.password_auth())
        .assert_error(403, 20005);
    // Reopening a child of a closed account is refused too (it is closed itself).
    set_status(&app, &app.admin_auth(), &child.sid, "active").assert_error(400, 21479);
}

#[test]
fn suspension_hides_the_subtree_and_reactivation_gives_each_its_own_status_back() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    let grandchild_sibling = app.create_member(&parent.token_auth(), "own@example.com", &[]);
    set_status(
        &app,
        &parent.token_auth(),
        &grandchild_sibling.sid,
        "suspended",
    );
    set_status(&app, &app.admin_auth(), &parent.sid, "suspended");

    assert_eq!(
        status_of(&app, &child.sid),
        "suspended",
        "hidden by the parent"
    );
    let listed = app
        .get("/Accounts.json?Status=suspended", &app.admin_auth())
        .json();
    let suspended: Vec<&str> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sid"].as_str().unwrap())
        .collect();
    assert_eq!(suspended.len(), 3, "{suspended:?}");
    assert!(suspended.contains(&child.sid.as_str()));
    let active = app
        .get("/Accounts.json?Status=active", &app.admin_auth())
        .json();
    assert_eq!(
        active["accounts"].as_array().unwrap().len(),
        1,
        "only the administrator"
    );
    app.get(&path(&child.sid), &child.token_auth())
        .assert_error(403, 20005);
    app.get(&path(&child.sid), &parent.token_auth())
        .assert_error(403, 20005);

    // Activating a descendant under a suspended ancestor is refused.
    set_status(&app, &app.admin_auth(), &grandchild_sibling.sid, "active").assert_error(400, 21476);
    assert_eq!(status_of(&app, &grandchild_sibling.sid), "suspended");

    let reply = set_status(&app, &app.admin_auth(), &parent.sid, "active");
    assert_eq!(reply.json()["status"], "active");
    assert_eq!(
        status_of(&app, &child.sid),
        "active",
        "its own status is back"
    );
    assert_eq!(
        status_of(&app, &grandchild_sibling.sid),
        "suspended",
        "suspended on its own, stays so"
    );
    assert_eq!(app.get(&path(&child.sid), &child.token_auth()).status, 200);
    assert_eq!(
        set_status(&app, &app.admin_auth(), &grandchild_sibling.sid, "active").status,
        200
    );
}

#[test]
fn a_descendant_can_be_closed_or_suspended_while_its_ancestor_is_suspended() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    set_status(&app, &app.admin_auth(), &parent.sid, "suspended");
    assert_eq!(
        set_status(&app, &app.admin_auth(), &child.sid, "suspended").status,
        200
    );
    set_status(&app, &app.admin_auth(), &parent.sid, "active");
    assert_eq!(status_of(&app, &child.sid), "suspended");
    assert_eq!(
        set_status(&app, &app.admin_auth(), &child.sid, "closed").status,
        200
    );
    assert_eq!(status_of(&app, &child.sid), "closed");
    assert_eq!(
        status_of(&app, &parent.sid),
        "active",
        "closing never climbs up"
    );
}

#[test]
fn an_administrator_can_require_a_new_password() {
    let app = spawn_app();
    let member = app.create_member(&app.admin_auth(), "reset@example.com", &[]);
    assert_eq!(
        set_status(&app, &app.admin_auth(), &member.sid, "uninitialized").json()["status"],
        "uninitialized"
    );
    app.get("/Accounts.json", &member.token_auth())
        .assert_error(403, 20005);
    let reply = app.post(
        &path(&member.sid),
        &member.token_auth(),
        &[("Password", "brand new password")],
    );
    assert_eq!(reply.json()["status"], "active");
}

#[test]
fn activating_an_account_whose_own_status_is_active_under_a_suspended_ancestor_is_21476() {
    let app = spawn_app();
    let (parent, child) = app.create_family();
    set_status(&app, &app.admin_auth(), &parent.sid, "suspended");
    let before = app.fetch(&app.admin_auth(), &child.sid);
    set_status(&app, &app.admin_auth(), &child.sid, "active").assert_error(400, 21476);
    let xml = app.post(
        &format!("/Accounts/{}", child.sid),
        &app.admin_auth(),
        &[("Status", "active"), ("FriendlyName", "renamed")],
    );
    assert_eq!(xml.status, 400);
    assert!(xml.body.contains("<Code>21476</Code>"), "{}", xml.body);
    assert_eq!(app.fetch(&app.admin_auth(), &child.sid), before);
    // Its other statuses are still echoes or changes as before.
    assert_eq!(
        set_status(&app, &app.admin_auth(), &child.sid, "suspended").status,
        200
    );
}
