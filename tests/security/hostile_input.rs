//! Bodies, queries and paths that are too long, badly encoded, duplicated, of the wrong type or
//! aimed at the database: each gets its exact error and changes nothing.

use crate::helpers::*;
use crate::support::*;

/// Sends `body` as the form of an update of account a, by a itself.
fn update_a(w: &World, body: &str) -> Reply {
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    w.app.request(
        "POST",
        &w.account_path(&w.a),
        &w.a.token_auth(),
        &headers,
        Some(body.into()),
    )
}

fn refuse_name(name: &str) {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[("FriendlyName", name)],
        )
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn an_over_long_friendly_name_is_refused() {
    refuse_name(&"n".repeat(65));
}

#[test]
fn a_friendly_name_of_65_multibyte_characters_is_refused() {
    refuse_name(&"é".repeat(65));
}

#[test]
fn an_empty_friendly_name_is_refused() {
    refuse_name("");
}

#[test]
fn a_friendly_name_with_a_line_break_is_refused() {
    refuse_name("line one\r\nline two");
}

#[test]
fn a_friendly_name_with_nul_or_delete_is_refused() {
    refuse_name("nul\0here");
    refuse_name("delete\u{7f}here");
}

#[test]
fn sql_in_an_identifier_finds_nothing() {
    let w = world();
    let before = w.snapshot();
    for id in ["' OR '1'='1", "a@example.com' --", "1; DROP TABLE accounts"] {
        w.app
            .get(&format!("/Accounts/{}.json", encode(id)), &w.a.token_auth())
            .assert_error(404, 20404);
    }
    w.assert_intact(&before);
}

#[test]
fn sql_in_a_list_filter_matches_nothing() {
    let w = world();
    let before = w.snapshot();
    let path = format!("/Accounts.json?FriendlyName={}", encode("x' OR 1=1 --"));
    let reply = w.app.get(&path, &w.app.admin_auth());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["accounts"].as_array().unwrap().len(), 0);
    w.assert_intact(&before);
}

#[test]
fn sql_as_a_login_name_is_refused() {
    let w = world();
    let before = w.snapshot();
    let reply = w.app.get(
        &w.account_path(&w.a),
        &Auth::basic("' OR 1=1 --", &w.a.token),
    );
    reply.assert_error(401, 20003);
    w.assert_intact(&before);
}

#[test]
fn sql_in_a_new_email_address_is_refused() {
    let w = world();
    let before = w.snapshot();
    let form = [
        ("EmailAddress", "x'); DELETE FROM accounts; --@example.com"),
        ("Password", "a perfectly long password"),
    ];
    w.app
        .post("/Accounts.json", &w.a.token_auth(), &form)
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

fn refuse_password(password: &str) {
    let w = world();
    let before = w.snapshot();
    w.app
        .post(
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[("Password", password)],
        )
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn a_common_password_is_refused_in_any_case() {
    refuse_password("123123qweqwe");
    refuse_password("123123QWEQWE");
}

#[test]
fn a_password_containing_the_email_address_is_refused() {
    refuse_password("my address is A@Example.com");
}

#[test]
fn a_password_over_128_characters_is_refused() {
    refuse_password(&"long password ".repeat(10));
}

#[test]
fn a_short_password_is_refused() {
    refuse_password("eleven char");
}

#[test]
fn invalid_utf8_in_a_body_is_refused() {
    let w = world();
    let before = w.snapshot();
    update_a(&w, "FriendlyName=%FF%FEname").assert_error(400, 20001);
    update_a(&w, "FriendlyName=%C0%AF").assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn malformed_percent_encoding_is_refused() {
    let w = world();
    let before = w.snapshot();
    update_a(&w, "FriendlyName=%zz").assert_error(400, 20001);
    update_a(&w, "FriendlyName=ends%2").assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn invalid_utf8_in_a_path_is_refused() {
    let w = world();
    let before = w.snapshot();
    w.app
        .get("/Accounts/%FF%FE.json", &w.a.token_auth())
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn invalid_percent_encoding_in_a_query_is_refused() {
    let w = world();
    let before = w.snapshot();
    w.app
        .get("/Accounts.json?FriendlyName=%E2%82", &w.app.admin_auth())
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn a_form_key_given_twice_is_refused() {
    let w = world();
    let before = w.snapshot();
    update_a(&w, "FriendlyName=one&FriendlyName=two").assert_error(400, 20001);
    // The second spelling decodes to the same key.
    update_a(&w, "Status=active&St%61tus=suspended").assert_error(400, 20001);
    w.assert_intact(&before);
}

#[test]
fn a_query_key_given_twice_is_refused() {
    let w = world();
    let before = w.snapshot();
    w.app
        .get(
            "/Accounts.json?PageSize=1&PageSize=1000",
            &w.app.admin_auth(),
        )
        .assert_error(400, 20001);
    w.assert_intact(&before);
}

fn refuse_body_type(content_type: &str, body: &str) {
    let w = world();
    let before = w.snapshot();
    let headers = [("Content-Type", content_type)];
    w.app
        .request(
            "POST",
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &headers,
            Some(body.into()),
        )
        .assert_error(415, 20415);
    w.assert_intact(&before);
}

#[test]
fn a_json_body_is_refused() {
    refuse_body_type("application/json", r#"{"FriendlyName":"json"}"#);
}

#[test]
fn a_multipart_body_is_refused() {
    refuse_body_type(
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"FriendlyName\"\r\n\r\nmp\r\n--x--\r\n",
    );
}

#[test]
fn a_body_without_a_content_type_is_refused() {
    let w = world();
    let before = w.snapshot();
    w.app
        .request(
            "POST",
            &w.account_path(&w.a),
            &w.a.token_auth(),
            &[],
            Some("FriendlyName=untyped".into()),
        )
        .assert_error(415, 20415);
    w.assert_intact(&before);
}

#[test]
fn delete_is_not_allowed() {
    let w = world();
    let before = w.snapshot();
    let reply = w.app.request(
        "DELETE",
        &w.account_path(&w.a1),
        &w.app.admin_auth(),
        &[],
        None,
    );
    reply.assert_error(405, 20405);
    assert_eq!(
        reply.header("Allow").as_deref(),
        Some("GET, HEAD, POST, PUT")
    );
    let reply = w
        .app
        .request("DELETE", "/Accounts.json", &w.app.admin_auth(), &[], None);
    reply.assert_error(405, 20405);
    assert_eq!(reply.header("Allow").as_deref(), Some("GET, HEAD, POST"));
    w.assert_intact(&before);
}

#[test]
fn odd_methods_are_not_allowed() {
    let w = world();
    let before = w.snapshot();
    for method in ["PATCH", "TRACE", "PROPFIND", "BREW"] {
        let reply = w.app.request(
            method,
            &w.account_path(&w.a),
            &w.app.admin_auth(),
            &[],
            None,
        );
        reply.assert_error(405, 20405);
    }
    w.assert_intact(&before);
}

#[test]
fn a_declared_huge_body_is_refused() {
    let w = world();
    let before = w.snapshot();
    let body = format!("FriendlyName={}", "x".repeat(17 * 1024));
    update_a(&w, &body).assert_error(413, 20413);
    w.assert_intact(&before);
}

#[test]
fn a_huge_chunked_body_is_refused() {
    let w = world();
    let before = w.snapshot();
    let body = format!("FriendlyName={}", "x".repeat(64 * 1024));
    // A reader of unknown length makes the client send the body chunked, with no length.
    let reply = reqwest::blocking::Client::new()
        .post(w.app.url(&w.account_path(&w.a)))
        .header("Authorization", basic(&w.a.sid, &w.a.token))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(
            body.into_bytes(),
        )))
        .send()
        .unwrap();
    assert_eq!(reply.status().as_u16(), 413);
    let body: serde_json::Value = serde_json::from_str(&reply.text().unwrap()).unwrap();
    assert_eq!(body["code"], 20413);
    w.assert_intact(&before);
}
