//! Behind a trusted reverse proxy, failed authentications are counted per forwarded client;
//! from any other peer, `X-Forwarded-For` changes nothing, so it cannot dodge the limits.

use std::net::{IpAddr, Ipv4Addr};

use switchboard::domain::service::ThrottleLimits;
use switchboard::http::client::TrustedProxies;

use crate::helpers::*;
use crate::support::*;

const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OTHER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const LIMIT: u32 = 3;

fn setup(trusted: Option<&str>) -> impl FnOnce(&mut switchboard::config::Config) + '_ {
    move |config| {
        config.throttle = ThrottleLimits {
            per_address: LIMIT,
            per_account: 1000,
            window: std::time::Duration::from_secs(3600),
        };
        if let Some(trusted) = trusted {
            config.trusted_proxies = TrustedProxies::parse(trusted).unwrap();
        }
    }
}

/// A wrong password for account a, from `peer`, with these `X-Forwarded-For` headers.
fn guess(w: &World, peer: IpAddr, forwarded: &[&str]) -> u16 {
    attempt(w, peer, forwarded, "a wrong guess")
}

fn attempt(w: &World, peer: IpAddr, forwarded: &[&str], password: &str) -> u16 {
    let mut request = client_from(peer)
        .get(w.app.url(&w.account_path(&w.a)))
        .header("Authorization", basic("a@example.com", password));
    for value in forwarded {
        request = request.header("X-Forwarded-For", *value);
    }
    request.send().unwrap().status().as_u16()
}

fn use_up_the_limit(w: &World, peer: IpAddr, forwarded: &[&str]) {
    for _ in 0..LIMIT {
        assert_eq!(guess(w, peer, forwarded), 401, "{forwarded:?}");
    }
    assert_eq!(guess(w, peer, forwarded), 429, "{forwarded:?}");
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let w = world_with(setup(Some("127.0.0.1/32")));
    let right = w.a.password.clone().unwrap();
    use_up_the_limit(&w, PROXY, &["203.0.113.1"]);
    assert_eq!(guess(&w, PROXY, &["203.0.113.2"]), 401);
    assert_eq!(attempt(&w, PROXY, &["203.0.113.2"], &right), 200);
    assert_eq!(attempt(&w, PROXY, &["203.0.113.1"], &right), 429);
    // The proxy's own requests, and a client it forwards through a second trusted hop.
    assert_eq!(attempt(&w, PROXY, &[], &right), 200);
    assert_eq!(
        attempt(&w, PROXY, &["203.0.113.1", "127.0.0.1"], &right),
        429
    );
    assert_eq!(attempt(&w, PROXY, &["::ffff:203.0.113.1"], &right), 429);
}

#[test]
fn without_the_flag_the_header_is_ignored() {
    let w = world_with(setup(None));
    let right = w.a.password.clone().unwrap();
    use_up_the_limit(&w, PROXY, &["203.0.113.1"]);
    assert_eq!(guess(&w, PROXY, &["203.0.113.2"]), 429);
    assert_eq!(attempt(&w, PROXY, &[], &right), 429);
    assert_eq!(attempt(&w, OTHER_PEER, &["203.0.113.1"], &right), 200);
}

#[test]
fn an_untrusted_peer_cannot_choose_its_address() {
    let w = world_with(setup(Some("127.0.0.1/32")));
    let right = w.a.password.clone().unwrap();
    for forwarded in ["203.0.113.1", "203.0.113.2", "127.0.0.1"] {
        assert_eq!(guess(&w, OTHER_PEER, &[forwarded]), 401);
    }
    assert_eq!(guess(&w, OTHER_PEER, &["203.0.113.3"]), 429);
    assert_eq!(attempt(&w, OTHER_PEER, &[], &right), 429);
    assert_eq!(attempt(&w, PROXY, &[], &right), 200);
}

#[test]
fn a_spoofed_chain_is_attributed_to_the_hop_the_proxy_saw() {
    let w = world_with(setup(Some("127.0.0.1/32")));
    let right = w.a.password.clone().unwrap();
    use_up_the_limit(&w, PROXY, &["1.2.3.4, 5.6.7.8"]);
    assert_eq!(attempt(&w, PROXY, &["5.6.7.8"], &right), 429);
    assert_eq!(attempt(&w, PROXY, &["1.2.3.4"], &right), 200);
    assert_eq!(attempt(&w, PROXY, &["9.9.9.9", "5.6.7.8"], &right), 429);
}

#[test]
fn unreadable_forwarding_falls_back_to_the_proxy() {
    let w = world_with(setup(Some("127.0.0.1/32")));
    let right = w.a.password.clone().unwrap();
    for forwarded in ["garbage", "203.0.113.1:4444", "[2001:db8::1]"] {
        assert_eq!(guess(&w, PROXY, &[forwarded]), 401);
    }
    assert_eq!(guess(&w, PROXY, &["5.6.7.8, not-an-address"]), 429);
    assert_eq!(attempt(&w, PROXY, &[], &right), 429);
    assert_eq!(attempt(&w, PROXY, &["203.0.113.1"], &right), 200);
}
