//! Failed authentications are limited per address and, for password guesses, per account;
//! past the limit the answer is 429 (20429) with Retry-After, and the owner's token from
//! another address still gets in.

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
fn an_address_past_its_failures_is_throttled_but_the_owner_elsewhere_gets_in() {
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
    // Once blocked, the address is refused before any secret is looked at, even a right one.
    assert_throttled(&get_from(&attacker, &w, &w.a.sid, &w.a.token));
    let owner = client_from(OWNER);
    let mine = get_from(&owner, &w, &w.a.sid, &w.a.token);
    assert_eq!(mine.status, 200, "{}", mine.body);
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
    assert_throttled(&get_from(&attacker, &w, &w.a.sid, "one more wrong guess"));
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
    assert_throttled(&get_from(&attacker, &w, &w.a.sid, &w.a.token));
    let owner = client_from(OWNER);
    assert_eq!(get_from(&owner, &w, &w.a.sid, &w.a.token).status, 200);
}
