//! Failed authentications are limited per address and per user name presented; past the limit
//! the answer is 429 (20429) with Retry-After, a guess is refused before it is tested as a
//! password, and a valid AuthToken still gets in from any address.

use std::net::{IpAddr, Ipv4Addr};

use switchboard::domain::service::ThrottleLimits;

use crate::helpers::*;
use crate::support::*;

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OWNER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn limits(per_address: u32, per_account: u32) -> impl FnOnce(&mut switchboard::config::Config) {
    move |config| {
        config.throttle = ThrottleLimits {
            per_address,
            per_account,
            window: std::time::Duration::from_secs(3600),
        }
    }
}

fn get_from(client: &reqwest::blocking::Client, w: &World, user: &str, secret: &str) -> Reply {
    let response = client
        .get(w.app.url(&w.account_path(&w.a)))
        .header("Authorization", basic(user, secret))
        .send()
        .unwrap();
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().unwrap(),
    }
}

fn assert_throttled(reply: &Reply) {
    reply.assert_error(429, 20429);
    let retry_after: u64 = reply
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
}

#[test]
fn a_valid_token_gets_in_from_a_throttled_address() {
    let w = world_with(limits(3, 100));
    let before = w.snapshot();
    let attacker = client_from(ATTACKER);
    for guess in 0..3 {
        let reply = get_from(&attacker, &w, &w.a.sid, &format!("{guess:032x}"));
        reply.assert_error(401, 20003);
    }
    assert_throttled(&get_from(
        &attacker,
        &w,
        &w.a.sid,
        "0123456789abcdef0123456789abcdef",
    ));
    // A program behind the same address (or proxy) is not locked out: its token costs no
    // bcrypt to test, so it is tested even now.
    let mine = get_from(&attacker, &w, &w.a.sid, &w.a.token);
    assert_eq!(mine.status, 200, "{}", mine.body);
    let b = w
        .app
        .get_from(ATTACKER, &w.account_path(&w.b), &w.b.token_auth());
    assert_eq!(b.status, 200, "{}", b.body);
    // A password is refused before it is tested, the right one included.
    let right = w.a.password.as_deref().unwrap();
    assert_throttled(&get_from(&attacker, &w, "a@example.com", right));
    assert_throttled(&get_from(&attacker, &w, "b@example.com", "a wrong guess"));
    let owner = client_from(OWNER);
    let elsewhere = get_from(&owner, &w, "a@example.com", right);
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    assert_eq!(mine.json(), before[1], "the attack changed nothing");
}

#[test]
fn password_guesses_past_the_limit_are_refused_without_being_tried() {
    let w = world_with(limits(1000, 3));
    let before = w.snapshot();
    let attacker = client_from(ATTACKER);
    for guess in 0..3 {
        get_from(
            &attacker,
            &w,
            "a@example.com",
            &format!("wrong guess {guess}"),
        )
        .assert_error(401, 20003);
    }
    // The right password now is refused too: a blocked guesser learns nothing.
    let right = w.a.password.as_deref().unwrap();
    assert_throttled(&get_from(&attacker, &w, "a@example.com", right));
    assert_throttled(&get_from(
        &attacker,
        &w,
        "A@Example.com",
        "one more wrong guess",
    ));
    // The owner's token works from anywhere, the attacker's address included: the account
    // limit counts password guesses, and the address limit is not reached.
    let owner = client_from(OWNER);
    assert_eq!(get_from(&owner, &w, &w.a.sid, &w.a.token).status, 200);
    assert_eq!(get_from(&attacker, &w, &w.a.sid, &w.a.token).status, 200);
    // Other accounts' passwords are not affected.
    let b_password = w.b.password.as_deref().unwrap();
    let b = w.app.get(
        &w.account_path(&w.b),
        &Auth::basic("b@example.com", b_password),
    );
    assert_eq!(b.status, 200, "{}", b.body);
    assert_eq!(w.snapshot(), before);
}

#[test]
fn malformed_credentials_count_against_the_address() {
    let w = world_with(limits(2, 100));
    let attacker = client_from(ATTACKER);
    for _ in 0..2 {
        let response = attacker
            .get(w.app.url("/Accounts.json"))
            .header("Authorization", "Basic !!!")
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }
    let password = w.a.password.as_deref().unwrap();
    assert_throttled(&get_from(&attacker, &w, "a@example.com", password));
    let response = attacker
        .get(w.app.url("/Accounts.json"))
        .header("Authorization", "Basic !!!")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(get_from(&attacker, &w, &w.a.sid, &w.a.token).status, 200);
    let owner = client_from(OWNER);
    assert_eq!(get_from(&owner, &w, "a@example.com", password).status, 200);
}

#[test]
fn a_429_does_not_tell_an_existing_account_from_an_unknown_one() {
    let w = world_with(limits(1000, 3));
    let attacker = client_from(ATTACKER);
    let unknown_sid = "AC00000000000000000000000000000000";
    let names = ["a@example.com", "nobody@example.com", &w.a.sid, unknown_sid];
    for name in names {
        for guess in 0..3 {
            get_from(&attacker, &w, name, &format!("wrong guess {guess}")).assert_error(401, 20003);
        }
    }
    let replies: Vec<Reply> = names
        .iter()
        .map(|name| get_from(&attacker, &w, name, "one more wrong guess"))
        .collect();
    for reply in &replies {
        assert_throttled(reply);
        assert_eq!(reply.body, replies[0].body);
        let mut names: Vec<_> = reply.headers.keys().map(|name| name.as_str()).collect();
        names.sort_unstable();
        let mut first: Vec<_> = replies[0]
            .headers
            .keys()
            .map(|name| name.as_str())
            .collect();
        first.sort_unstable();
        assert_eq!(names, first, "the same headers");
    }
    // Another name is not affected, from the same address.
    let b = w
        .app
        .get_from(ATTACKER, &w.account_path(&w.b), &w.b.password_auth());
    assert_eq!(b.status, 200, "{}", b.body);
}

#[test]
fn user_names_are_counted_as_the_account_would_be_named() {
    let w = world_with(limits(1000, 3));
    let attacker = client_from(ATTACKER);
    for name in ["A@Example.com", "a@EXAMPLE.com", "a@example.com"] {
        get_from(&attacker, &w, name, "a wrong guess").assert_error(401, 20003);
    }
    assert_throttled(&get_from(&attacker, &w, "A@EXAMPLE.COM", "another guess"));
    for name in [
        "Nobody@Example.com",
        "nobody@example.COM",
        "NOBODY@example.com",
    ] {
        get_from(&attacker, &w, name, "a wrong guess").assert_error(401, 20003);
    }
    assert_throttled(&get_from(&attacker, &w, "nobody@example.com", "x"));
}
