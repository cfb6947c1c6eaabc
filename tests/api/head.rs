//! HEAD (RFC 9110): every resource that answers GET answers HEAD with the same status and
//! headers, Content-Length included, and no body; `Allow` lists HEAD wherever it lists GET.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;

use crate::helpers::*;

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: Option<(&str, &str)>,
) -> Response {
    let mut request = client().request(method, format!("http://{}{path}", app.address));
    if let Some((user, secret)) = user {
        request = request.header("Authorization", basic(user, secret));
    }
    request.send().expect("the server answers")
}

/// Every header but `Date`, which moves with the clock.
fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// HEAD answers as GET does, without the body; returns the status.
fn assert_head_mirrors_get(app: &TestApp, path: &str, user: Option<(&str, &str)>) -> u16 {
    let get = send(app, reqwest::Method::GET, path, user);
    let (status, headers) = (get.status(), comparable(get.headers()));
    let body = get.bytes().unwrap();
    let head = send(app, reqwest::Method::HEAD, path, user);
    assert_eq!(head.status(), status, "HEAD {path}");
    assert_eq!(comparable(head.headers()), headers, "HEAD {path}");
    let length = head
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        length,
        Some(body.len().to_string()),
        "HEAD {path}: the length GET sends"
    );
    assert!(head.bytes().unwrap().is_empty(), "HEAD {path} has no body");
    status.as_u16()
}

#[test]
fn every_resource_that_answers_get_answers_head_alike() {
    let app = spawn_app();
    let admin = (app.admin.sid.as_str(), app.admin.token.as_str());
    let me = format!("{BASE}/Accounts/{}", app.admin.sid);
    let by_email = format!("{BASE}/Accounts/{ADMIN_EMAIL}.json");
    let list = format!("{BASE}/Accounts.json?PageSize=1");
    let list_xml = format!("{BASE}/Accounts?Status=active");
    for (path, status) in [
        ("/health", 200),
        ("/openapi.json", 200),
        ("/console/", 200),
        ("/console/main.js", 200),
        ("/console/common-passwords.txt", 200),
        ("/", 302),
        ("/console", 302),
        ("/console/missing.js", 404),
    ] {
        assert_eq!(assert_head_mirrors_get(&app, path, None), status, "{path}");
    }
    for path in [&me, &format!("{me}.json"), &by_email, &list, &list_xml] {
        assert_eq!(
            assert_head_mirrors_get(&app, path, Some(admin)),
            200,
            "{path}"
        );
    }
    // Failures too: a missing account, no credentials, a bad parameter.
    let missing = format!("{BASE}/Accounts/AC{}.json", "0".repeat(32));
    assert_eq!(assert_head_mirrors_get(&app, &missing, Some(admin)), 404);
    assert_eq!(assert_head_mirrors_get(&app, &me, None), 401);
    let bad = format!("{BASE}/Accounts.json?PageSize=0");
    assert_eq!(assert_head_mirrors_get(&app, &bad, Some(admin)), 400);
}

#[test]
fn allow_lists_head_wherever_it_lists_get() {
    let app = spawn_app();
    let admin = Some((app.admin.sid.as_str(), app.admin.token.as_str()));
    let me = format!("{BASE}/Accounts/{}.json", app.admin.sid);
    let list = format!("{BASE}/Accounts.json");
    let list_xml = format!("{BASE}/Accounts");
    for (method, path, allow) in [
        ("DELETE", me.as_str(), "GET, HEAD, POST, PUT"),
        ("PATCH", me.as_str(), "GET, HEAD, POST, PUT"),
        ("DELETE", list.as_str(), "GET, HEAD, POST"),
        ("PUT", list_xml.as_str(), "GET, HEAD, POST"),
        ("POST", "/health", "GET, HEAD"),
        ("POST", "/openapi.json", "GET, HEAD"),
        ("DELETE", "/console/", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let reply = send(&app, method.clone(), path, admin);
        assert_eq!(reply.status(), 405, "{method} {path}");
        assert_eq!(reply.headers()["allow"], allow, "{method} {path}");
    }
}
