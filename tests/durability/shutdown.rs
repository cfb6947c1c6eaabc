//! SIGTERM and SIGINT: the request in flight is answered, then the process exits 0 and leaves
//! one self-contained database file behind.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::helpers::{encode_form, BASE};
use crate::process::*;

#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    drains_on(libc::SIGTERM);
}

#[test]
fn sigint_answers_the_request_in_flight_then_exits_0() {
    drains_on(libc::SIGINT);
}

fn drains_on(signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let server = start(&db);
    let (sid, token) = server.admin();
    let mut connection = TcpStream::connect(server.address).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // A first request on the connection proves the server has accepted it.
    write!(
        connection,
        "GET /health HTTP/1.1\r\nHost: switchboard\r\n\r\n"
    )
    .unwrap();
    let health = read_response(&mut connection);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let body = encode_form(&[
        ("EmailAddress", "in-flight@shutdown.test"),
        ("Password", "shutdown test password"),
    ]);
    let (first_half, second_half) = body.split_at(body.len() / 2);
    write!(
        connection,
        "POST {BASE}/Accounts.json HTTP/1.1\r\nHost: switchboard\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        basic(&sid, &token),
        body.len()
    )
    .unwrap();
    // The server says "continue" once the request is handed to its handler: from then on it
    // is a request in flight.
    let proceed = read_response(&mut connection);
    assert!(proceed.starts_with("HTTP/1.1 100"), "{proceed}");
    connection.write_all(first_half.as_bytes()).unwrap();
    connection.flush().unwrap();
    server.signal(signal);
    // Let the signal land while the request is still half sent.
    std::thread::sleep(Duration::from_millis(300));
    connection.write_all(second_half.as_bytes()).unwrap();
    let created = read_response(&mut connection);
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");

    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(accounts_with_email(&db, "in-flight@shutdown.test"), 1);
    let wal = dir.path().join("switchboard.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the write-ahead log was folded into the database file"
    );
}

/// One HTTP/1.1 response with a Content-Length body.
fn read_response(connection: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let read = connection.read(&mut buffer).expect("the server answers");
        assert!(read > 0, "the connection closed early: {text}");
        received.extend_from_slice(&buffer[..read]);
    }
}

fn accounts_with_email(db: &Path, email: &str) -> i64 {
    open_sqlite(db)
        .query_row(
            "SELECT count(*) FROM accounts WHERE email = ?1",
            [email],
            |row| row.get(0),
        )
        .unwrap()
}

/// The access log is written off the request threads, in batches: a stop by SIGTERM still
/// writes every line of every answered request.
#[test]
fn sigterm_loses_no_access_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("log.db"));
    let client = client();
    let requests = 300;
    for _ in 0..requests {
        let response = client
            .get(format!("http://{}/health", server.address))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let log = std::sync::Arc::clone(&server.log);
    assert!(server.stop().success());
    let access_lines = || {
        log.lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains("\"GET /health\" 200"))
            .count()
    };
    // The process has exited; the reader thread may still be draining the pipe.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while access_lines() < requests && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(access_lines(), requests);
}
