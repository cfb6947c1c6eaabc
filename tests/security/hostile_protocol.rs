//! Attacks below the API: oversized heads, request smuggling and clients too slow to finish.
//! actix-http refuses the first two on its own; the server adds the body deadline.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(30);

fn head(w: &World, method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} /restcomm/2012-04-24{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n{extra}",
        w.app.address,
        basic(&w.a.sid, &w.a.token)
    )
}

#[test]
fn a_huge_header_is_refused() {
    let w = world();
    let before = w.snapshot();
    let request = head(
        &w,
        "GET",
        &w.account_path(&w.a),
        &format!(
            "X-Filler: {}\r\nConnection: close\r\n\r\n",
            "f".repeat(200 * 1024)
        ),
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 431, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn too_many_headers_are_refused() {
    let w = world();
    let before = w.snapshot();
    let many: String = (0..120).map(|i| format!("X-Many-{i}: {i}\r\n")).collect();
    let request = head(
        &w,
        "GET",
        &w.account_path(&w.a),
        &format!("{many}Connection: close\r\n\r\n"),
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 431, "{answer}");
    w.assert_intact(&before);
}

fn smuggle(lengths: &str) {
    let w = world();
    let before = w.snapshot();
    let body = "FriendlyName=smuggled";
    let request = head(
        &w,
        "POST",
        &w.account_path(&w.a),
        &format!(
            "Content-Type: application/x-www-form-urlencoded\r\n{lengths}\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        ),
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 400, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    smuggle("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n");
}

#[test]
fn transfer_encoding_before_content_length_is_refused() {
    smuggle("Transfer-Encoding: chunked\r\nContent-Length: 30\r\n");
}

#[test]
fn two_differing_content_lengths_are_refused() {
    smuggle("Content-Length: 26\r\nContent-Length: 5\r\n");
}

#[test]
fn an_unknown_transfer_encoding_is_refused() {
    smuggle("Transfer-Encoding: gzip, chunked\r\n");
}

#[test]
fn a_second_request_hidden_in_a_body_is_not_run() {
    let w = world();
    let before = w.snapshot();
    // The declared length covers the whole "body", so the POST inside it is only bytes.
    let hidden = format!(
        "POST /restcomm/2012-04-24{} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\nRole=x",
        w.account_path(&w.a1),
        basic(&w.a.sid, &w.a.token)
    );
    let request = head(
        &w,
        "GET",
        &w.account_path(&w.a),
        &format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{hidden}",
            hidden.len()
        ),
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 200, "{answer}");
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "one answer: {answer}"
    );
    w.assert_intact(&before);
}

#[test]
fn a_client_that_never_finishes_its_head_is_cut_off() {
    let w = world();
    let before = w.snapshot();
    let answer = raw_exchange(
        w.app.address,
        b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: 1\r\n",
        WAIT,
    );
    assert_eq!(raw_status(&answer), 408, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn a_client_that_never_finishes_its_body_is_cut_off() {
    let w = world();
    let before = w.snapshot();
    let request = head(
        &w,
        "POST",
        &w.account_path(&w.a),
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nFriendlyName=sl",
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 408, "{answer}");
    assert_eq!(raw_code(&answer), 20408, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn an_unauthenticated_body_is_never_read() {
    let w = world();
    let before = w.snapshot();
    // Declares a body it never sends: the answer can only come without reading it.
    let request = format!(
        "POST /restcomm/2012-04-24{} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16000\r\n\r\n",
        w.account_path(&w.a)
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 401, "{answer}");
    assert_eq!(raw_code(&answer), 20003, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn a_huge_declared_body_is_refused_before_it_is_sent() {
    let w = world();
    let before = w.snapshot();
    let request = head(
        &w,
        "POST",
        &w.account_path(&w.a),
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000\r\n\r\n",
    );
    let answer = raw_exchange(w.app.address, request.as_bytes(), WAIT);
    assert_eq!(raw_status(&answer), 413, "{answer}");
    assert_eq!(raw_code(&answer), 20413, "{answer}");
    w.assert_intact(&before);
}

#[test]
fn an_unread_body_is_never_taken_for_the_next_request() {
    let w = world();
    let before = w.snapshot();
    let hidden = format!(
        "POST /restcomm/2012-04-24{} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\n\
         FriendlyName=smuggled",
        w.account_path(&w.a),
        basic(&w.a.sid, &w.a.token)
    );
    // Refused before its body is read: the body must be skipped or the connection dropped,
    // never parsed as a request of its own.
    let request = format!(
        "POST /restcomm/2012-04-24{} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{hidden}",
        w.account_path(&w.a),
        hidden.len()
    );
    let mut stream = TcpStream::connect(w.app.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let first = read_until_quiet(&mut stream);
    assert_eq!(raw_status(&first), 401, "{first}");
    let rest = read_until_quiet(&mut stream);
    assert!(!rest.contains("HTTP/1.1 200"), "a second answer: {rest}");
    w.assert_intact(&before);
    // The hidden request is a real one: sent on its own, it does change the account.
    let alone = raw_exchange(w.app.address, hidden.as_bytes(), WAIT);
    assert_eq!(raw_status(&alone), 200, "{alone}");
    assert_eq!(w.snapshot()[1]["friendly_name"], "smuggled");
}
