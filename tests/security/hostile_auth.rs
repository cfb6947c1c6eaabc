//! Malformed, duplicated and misplaced credentials: each is the same 401 (20003), changes
//! nothing, and leaves the server answering.

use crate::helpers::*;
use crate::support::*;

fn assert_refused(reply: &Reply) {
    reply.assert_error(401, 20003);
    assert_eq!(
        reply.header("WWW-Authenticate").as_deref(),
        Some("Basic realm=\"Switchboard\"")
    );
}

/// Fetches account a with the raw `Authorization` header `value`.
fn fetch_with(w: &World, value: &str) -> Reply {
    w.app
        .get(&w.account_path(&w.a), &Auth::Raw(value.to_owned()))
}

#[test]
fn a_header_without_a_scheme_is_refused() {
    let w = world();
    let before = w.snapshot();
    let encoded = basic(&w.a.sid, &w.a.token);
    assert_refused(&fetch_with(&w, encoded.trim_start_matches("Basic ")));
    w.assert_intact(&before);
}

#[test]
fn a_bearer_token_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, &format!("Bearer {}", w.a.token)));
    w.assert_intact(&before);
}

#[test]
fn invalid_base64_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, "Basic !!!not*base64!!!"));
    w.assert_intact(&before);
}

#[test]
fn credentials_without_a_colon_are_refused() {
    let w = world();
    let before = w.snapshot();
    let no_colon = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}{}", w.a.sid, w.a.token),
    );
    assert_refused(&fetch_with(&w, &format!("Basic {no_colon}")));
    w.assert_intact(&before);
}

#[test]
fn empty_credentials_are_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, "Basic Og=="));
    assert_refused(&fetch_with(&w, "Basic "));
    w.assert_intact(&before);
}

#[test]
fn two_authorization_headers_are_refused_even_when_both_are_valid() {
    let w = world();
    let before = w.snapshot();
    let valid = basic(&w.a.sid, &w.a.token);
    let reply = w.app.request(
        "GET",
        &w.account_path(&w.a),
        &Auth::None,
        &[("Authorization", &valid), ("Authorization", &valid)],
        None,
    );
    assert_refused(&reply);
    w.assert_intact(&before);
}

#[test]
fn a_token_with_a_nul_byte_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(
        &w,
        &basic(&w.a.sid, &format!("{}\0", w.a.token)),
    ));
    assert_refused(&fetch_with(
        &w,
        &basic(&format!("{}\0", w.a.sid), &w.a.token),
    ));
    w.assert_intact(&before);
}

#[test]
fn a_token_padded_with_whitespace_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(
        &w,
        &basic(&w.a.sid, &format!(" {}", w.a.token)),
    ));
    assert_refused(&fetch_with(
        &w,
        &basic(&w.a.sid, &format!("{}\t", w.a.token)),
    ));
    assert_refused(&fetch_with(
        &w,
        &basic(&format!("{} ", w.a.sid), &w.a.token),
    ));
    w.assert_intact(&before);
}

#[test]
fn a_token_in_upper_case_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, &basic(&w.a.sid, &w.a.token.to_uppercase())));
    w.assert_intact(&before);
}

#[test]
fn user_and_secret_swapped_are_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, &basic(&w.a.token, &w.a.sid)));
    w.assert_intact(&before);
}

#[test]
fn another_accounts_secret_is_refused() {
    let w = world();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, &basic(&w.a.sid, &w.b.token)));
    let b_password = w.b.password.as_deref().unwrap();
    assert_refused(&fetch_with(&w, &basic("a@example.com", b_password)));
    w.assert_intact(&before);
}

#[test]
fn credentials_in_the_query_string_are_ignored() {
    let w = world();
    let before = w.snapshot();
    let path = format!(
        "{}?AccountSid={}&AuthToken={}&Password={}",
        w.account_path(&w.a),
        w.a.sid,
        w.a.token,
        encode(w.a.password.as_deref().unwrap())
    );
    assert_refused(&w.app.get(&path, &Auth::None));
    w.assert_intact(&before);
}

#[test]
fn credentials_in_the_body_are_ignored() {
    let w = world();
    let before = w.snapshot();
    let reply = w.app.post(
        &w.account_path(&w.a),
        &Auth::None,
        &[
            ("AccountSid", w.a.sid.as_str()),
            ("AuthToken", w.a.token.as_str()),
            ("FriendlyName", "taken over"),
        ],
    );
    assert_refused(&reply);
    w.assert_intact(&before);
}

#[test]
fn an_enormous_user_name_is_refused() {
    let w = world();
    let before = w.snapshot();
    let user = "x".repeat(20_000);
    assert_refused(&fetch_with(&w, &basic(&user, &w.a.token)));
    w.assert_intact(&before);
}

#[test]
fn a_password_sharing_its_first_72_bytes_is_a_different_password() {
    let w = world();
    let long = format!("{}tail one", "p".repeat(72));
    let set = w.app.post(
        &w.account_path(&w.a),
        &w.a.token_auth(),
        &[("Password", &long)],
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let token = set.json()["auth_token"].as_str().unwrap().to_owned();
    let before = w.snapshot();
    let collision = format!("{}tail two", "p".repeat(72));
    assert_refused(&fetch_with(&w, &basic("a@example.com", &collision)));
    w.assert_intact_with_token(&before, &token);
    let right = fetch_with(&w, &basic("a@example.com", &long));
    assert_eq!(right.status, 200, "the real password still works");
}

#[test]
fn a_multibyte_password_cut_at_72_bytes_is_still_different() {
    let w = world();
    // 24 three-byte characters fill exactly 72 bytes.
    let prefix = "春夏秋冬東西南北上下左右前後内外天地山川草木花鳥";
    assert_eq!((prefix.chars().count(), prefix.len()), (24, 72));
    let long = format!("{prefix}風月");
    let set = w.app.post(
        &w.account_path(&w.a),
        &w.a.token_auth(),
        &[("Password", &long)],
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let token = set.json()["auth_token"].as_str().unwrap().to_owned();
    let before = w.snapshot();
    assert_refused(&fetch_with(&w, &basic("a@example.com", prefix)));
    assert_refused(&fetch_with(
        &w,
        &basic("a@example.com", &format!("{prefix}$$")),
    ));
    w.assert_intact_with_token(&before, &token);
}

#[test]
fn a_header_that_is_not_utf8_is_refused() {
    let w = world();
    let before = w.snapshot();
    let value = reqwest::header::HeaderValue::from_bytes(b"Basic \xff\xfe\xfd").unwrap();
    let response = reqwest::blocking::Client::new()
        .get(w.app.url(&w.account_path(&w.a)))
        .header("Authorization", value)
        .send()
        .unwrap();
    let reply = Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().unwrap(),
    };
    assert_refused(&reply);
    w.assert_intact(&before);
}

/// Nothing in a refusal tells a prober which part was wrong.
#[test]
fn every_failed_authentication_gets_the_same_answer() {
    let w = world();
    let before = w.snapshot();
    let path = w.account_path(&w.a);
    let refusals = [
        w.app.get(&path, &Auth::None),
        fetch_with(&w, "Basic !!!"),
        fetch_with(&w, &basic("nobody@example.com", "some long password")),
        fetch_with(&w, &basic("AC00000000000000000000000000000000", &w.a.token)),
        fetch_with(&w, &basic(&w.a.sid, "00000000000000000000000000000000")),
        fetch_with(&w, &basic("a@example.com", "not the right password")),
    ];
    for reply in &refusals {
        assert_refused(reply);
        assert_eq!(reply.body, refusals[0].body);
    }
    w.assert_intact(&before);
}
