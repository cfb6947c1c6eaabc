//! What every response carries, whatever it answers: no caching, no sniffing, no version
//! banner, and no CORS.

use crate::helpers::*;
use crate::support::*;

fn assert_protective(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("X-Content-Type-Options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        reply.header("Cache-Control").as_deref(),
        Some("no-store"),
        "{what}"
    );
    assert_eq!(reply.header("Server"), None, "{what}: no version banner");
    for (name, _) in reply.headers.iter() {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{what}: no CORS header, found {name}"
        );
    }
}

#[test]
fn every_kind_of_answer_carries_the_protective_headers() {
    let w = world();
    let origin = [("Origin", "https://evil.example")];
    let cases = [
        (
            "an account",
            w.app.request(
                "GET",
                &w.account_path(&w.a),
                &w.a.token_auth(),
                &origin,
                None,
            ),
        ),
        (
            "a listing",
            w.app
                .request("GET", "/Accounts.json", &w.a.token_auth(), &origin, None),
        ),
        (
            "a 401",
            w.app
                .request("GET", &w.account_path(&w.a), &Auth::None, &origin, None),
        ),
        (
            "a 404",
            w.app.request("GET", "/nowhere", &Auth::None, &origin, None),
        ),
        ("health", w.app.get("/health", &Auth::None)),
        ("the description", get_outside_api(&w.app, "/openapi.json")),
    ];
    for (what, reply) in &cases {
        assert_protective(reply, what);
    }
}

#[test]
fn a_cors_preflight_gets_no_permission() {
    let w = world();
    let reply = w.app.request(
        "OPTIONS",
        &w.account_path(&w.a),
        &Auth::None,
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        None,
    );
    reply.assert_error(405, 20405);
    assert_protective(&reply, "a preflight");
}

#[test]
fn the_openapi_description_is_served_and_names_every_operation() {
    let w = world();
    let reply = get_outside_api(&w.app, "/openapi.json");
    assert_eq!(reply.status, 200);
    let description = reply.json();
    assert!(description["openapi"].as_str().unwrap().starts_with("3."));
    let paths = description["paths"].as_object().unwrap();
    for path in [
        "/restcomm/2012-04-24/Accounts.json",
        "/restcomm/2012-04-24/Accounts/{AccountSid}.json",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} is described");
    }
    let item = &paths["/restcomm/2012-04-24/Accounts/{AccountSid}.json"];
    for method in ["get", "head", "post", "put"] {
        assert!(item[method].is_object(), "{method} is described");
    }
    for (path, item) in paths {
        assert_eq!(
            item["get"].is_object(),
            item["head"].is_object(),
            "{path}: HEAD is described wherever GET is"
        );
    }
}
