//! Hostile input never makes a malformed answer: an error body that names what was wrong never
//! carries raw client bytes its format cannot hold, and a FriendlyName that XML 1.0 could not
//! carry is refused wherever one is accepted.

use serde_json::Value;

use crate::helpers::*;
use crate::support::*;

/// Keys and values that once reached an error message as they were sent.
const HOSTILE_BODIES: [&[u8]; 9] = [
    b"\x01=a&\x01=b",
    b"%01=a&%01=b",
    b"%EF%BF%BE=a&%EF%BF%BE=b",
    b"%EF%BF%BF=a&%EF%BF%BF=b",
    b"%3C%2FMessage%3E%26=1&%3C%2FMessage%3E%26=2",
    b"%FF=a",
    b"%C3=a&%C3=b",
    b"\xff\xfe=1",
    b"FriendlyName=%EF%BF%BE",
];

/// Noncharacters (and a control character) in a FriendlyName.
const UNCARRIABLE_NAMES: [&str; 7] = [
    "a\u{FFFE}b",
    "a\u{FFFF}b",
    "a\u{FDD0}b",
    "a\u{FDEF}b",
    "a\u{1FFFE}b",
    "a\u{10FFFF}b",
    "a\u{1}b",
];

fn send(w: &World, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let client = reqwest::blocking::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client
        .request(method, w.app.url(path))
        .header("Authorization", basic(&w.a.sid, &w.a.token));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec());
    }
    let response = request.send().expect("the server answers");
    let status = response.status().as_u16();
    (status, response.bytes().unwrap().to_vec())
}

/// Sends the request for XML and for JSON; both must be 400 (20001) and well-formed.
fn assert_refused_in_both_formats(w: &World, method: &str, path: &str, body: Option<&[u8]>) {
    let (xml_path, json_path) = match path.split_once('?') {
        Some((resource, query)) => (path.to_owned(), format!("{resource}.json?{query}")),
        None => (path.to_owned(), format!("{path}.json")),
    };
    let (status, xml) = send(w, method, &xml_path, body);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&xml));
    let xml = assert_well_formed_xml(&xml);
    assert!(xml.contains("<Code>20001</Code>"), "{xml}");

    let (status, json) = send(w, method, &json_path, body);
    assert_eq!(status, 400);
    let json: Value = serde_json::from_slice(&json).expect("a well-formed JSON error body");
    assert_eq!(json["code"], 20001);
    let message = json["message"].as_str().unwrap();
    assert!(message.chars().all(is_xml_char), "{message:?}");
}

#[test]
fn error_bodies_never_echo_bytes_their_format_cannot_carry() {
    let w = world();
    let before = w.snapshot();
    let me = format!("/Accounts/{}", w.a.sid);
    for body in HOSTILE_BODIES {
        assert_refused_in_both_formats(&w, "POST", &me, Some(body));
        assert_refused_in_both_formats(&w, "POST", "/Accounts", Some(body));
        // A raw byte in a query would be percent-encoded on its way out: those are covered above.
        if body.iter().all(u8::is_ascii_graphic) {
            let query = String::from_utf8_lossy(body);
            assert_refused_in_both_formats(&w, "GET", &format!("/Accounts?{query}"), None);
        }
    }
    assert_nothing_written(&w, &before);
}

#[test]
fn a_repeated_plain_key_is_still_named() {
    let w = world();
    let me = format!("/Accounts/{}.json", w.a.sid);
    let (status, body) = send(&w, "POST", &me, Some(b"FriendlyName=a&FriendlyName=b"));
    assert_eq!(status, 400);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(body["message"].as_str().unwrap().contains("FriendlyName"));
}

#[test]
fn a_friendly_name_xml_cannot_carry_is_refused_on_create_update_and_as_a_filter() {
    let w = world();
    let before = w.snapshot();
    let me = format!("/Accounts/{}", w.a.sid);
    for name in UNCARRIABLE_NAMES {
        let body = format!("FriendlyName={}", encode(name));
        assert_refused_in_both_formats(&w, "POST", &me, Some(body.as_bytes()));
        assert_refused_in_both_formats(&w, "PUT", &me, Some(body.as_bytes()));
        assert_refused_in_both_formats(&w, "POST", "/Accounts", Some(body.as_bytes()));
        assert_refused_in_both_formats(&w, "GET", &format!("/Accounts?{body}"), None);
    }
    assert_nothing_written(&w, &before);
}

fn assert_nothing_written(w: &World, before: &[Value]) {
    w.assert_intact(before);
    let listed = w
        .app
        .get("/Accounts.json?PageSize=1000", &w.app.admin_auth())
        .json();
    assert_eq!(
        listed["accounts"].as_array().unwrap().len(),
        4,
        "no account made"
    );
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A strict check of the little XML this server writes: UTF-8, XML characters only, the
/// prologue, one root, balanced elements, quoted attributes, and no markup character or
/// unknown entity in text. Returns the document.
fn assert_well_formed_xml(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).expect("an XML answer is UTF-8");
    if let Some(bad) = text.chars().find(|c| !is_xml_char(*c)) {
        panic!(
            "U+{:04X} cannot appear in XML 1.0: {text:?}",
            u32::from(bad)
        );
    }
    let rest = text
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or_else(|| panic!("no XML declaration: {text:?}"))
        .trim_start();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = rest;
    let mut roots = 0;
    while !rest.is_empty() {
        if let Some(tag) = rest.strip_prefix('<') {
            let end = tag
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag: {text:?}"));
            let (inside, after) = (&tag[..end], &tag[end + 1..]);
            rest = after;
            if let Some(name) = inside.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "mismatched end tag: {text:?}");
                continue;
            }
            let empty = inside.ends_with('/');
            let inside = inside.trim_end_matches('/');
            let (name, attributes) = inside.split_once(' ').unwrap_or((inside, ""));
            assert_name(name, text);
            assert_attributes(attributes, text);
            if open.is_empty() {
                roots += 1;
            }
            if !empty {
                open.push(name);
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let content = &rest[..end];
            assert!(
                !open.is_empty() || content.trim().is_empty(),
                "text outside the root: {text:?}"
            );
            assert_text(content, text);
            rest = &rest[end..];
        }
    }
    assert!(open.is_empty(), "unclosed elements {open:?}: {text:?}");
    assert_eq!(roots, 1, "exactly one root element: {text:?}");
    text.to_owned()
}

fn assert_name(name: &str, text: &str) {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    assert!(valid, "bad element or attribute name {name:?}: {text:?}");
}

fn assert_attributes(mut attributes: &str, text: &str) {
    while let Some((name, after)) = attributes.trim_start().split_once("=\"") {
        assert_name(name, text);
        let end = after
            .find('"')
            .unwrap_or_else(|| panic!("unquoted: {text:?}"));
        assert_text(&after[..end], text);
        attributes = &after[end + 1..];
    }
    assert!(
        attributes.trim().is_empty(),
        "stray attribute text: {text:?}"
    );
}

/// Character data: no `<`, and `&` only as a predefined or numeric entity.
fn assert_text(content: &str, text: &str) {
    assert!(!content.contains('<'), "markup in text: {text:?}");
    for (at, _) in content.match_indices('&') {
        let entity = &content[at + 1..];
        let end = entity
            .find(';')
            .unwrap_or_else(|| panic!("bare &: {text:?}"));
        let name = &entity[..end];
        let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
            || name
                .strip_prefix('#')
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty());
        assert!(known, "unknown entity &{name};: {text:?}");
    }
}

#[test]
fn the_checker_refuses_what_a_strict_parser_would() {
    let prologue = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    for bad in [
        "<a>\u{1}</a>",
        "<a>\u{FFFE}</a>",
        "<a><b></a></b>",
        "<a>x & y</a>",
        "<a>1</a><b/>",
        "<a x=\"<\"/>",
    ] {
        let document = format!("{prologue}{bad}");
        let refused = std::panic::catch_unwind(|| assert_well_formed_xml(document.as_bytes()));
        assert!(refused.is_err(), "{bad:?} passed");
    }
    assert_well_formed_xml(format!("{prologue}<a x=\"1&amp;2\"><b/>t&lt;&#233;</a>").as_bytes());
}
