//! A small account tree to attack, and the checks every hostile case ends with.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// root (the first administrator) -> a (Administrator) -> a1 (Developer); root -> b
/// (Administrator), a sibling of a.
pub struct World {
    pub app: TestApp,
    pub a: Member,
    pub a1: Member,
    pub b: Member,
    /// Opens a connection per request: the checks after a slow-client case come just as the
    /// server's keep-alive ends, when reusing an idle connection would race with its closing.
    checker: reqwest::blocking::Client,
}

pub fn world() -> World {
    world_with(|_| {})
}

pub fn world_with(adjust: impl FnOnce(&mut switchboard::config::Config)) -> World {
    let app = spawn_app_with(adjust);
    let root = app.admin_auth();
    let a = app.create_member(&root, "a@example.com", &[("Role", "Administrator")]);
    let a1 = app.create_member(&a.token_auth(), "a1@example.com", &[("Role", "Developer")]);
    let b = app.create_member(&root, "b@example.com", &[("Role", "Administrator")]);
    let checker = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    World {
        app,
        a,
        a1,
        b,
        checker,
    }
}

impl World {
    /// Every account as the root administrator sees it.
    pub fn snapshot(&self) -> Vec<Value> {
        let root = basic(&self.app.admin.sid, &self.app.admin.token);
        [&self.app.admin.sid, &self.a.sid, &self.a1.sid, &self.b.sid]
            .iter()
            .map(|sid| {
                let (status, body) =
                    self.check(&format!("{BASE}/Accounts/{sid}.json"), Some(&root));
                assert_eq!(status, 200, "{body}");
                serde_json::from_str(&body).unwrap()
            })
            .collect()
    }

    /// GET on a connection of its own; `path` is absolute.
    fn check(&self, path: &str, authorization: Option<&str>) -> (u16, String) {
        let mut request = self
            .checker
            .get(format!("http://{}{path}", self.app.address));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().expect("the server answers");
        (response.status().as_u16(), response.text().unwrap())
    }

    /// Nothing changed, and the server still answers, to everyone as before.
    pub fn assert_intact(&self, before: &[Value]) {
        assert_eq!(self.snapshot(), before, "a refused request changed nothing");
        let health = self.app.get("/health", &Auth::None);
        assert_eq!(health.status, 200, "the server still answers");
        for member in [&self.a, &self.a1, &self.b] {
            let me = self.app.get(
                &format!("/Accounts/{}.json", member.sid),
                &member.token_auth(),
            );
            assert_eq!(me.status, 200, "{} still gets in", member.sid);
        }
    }

    /// As [`World::assert_intact`], after account a's token changed to `token_of_a`.
    pub fn assert_intact_with_token(&self, before: &[Value], token_of_a: &str) {
        assert_eq!(self.snapshot(), before, "a refused request changed nothing");
        let path = format!("{BASE}/Accounts/{}.json", self.a.sid);
        let (status, _) = self.check(&path, Some(&basic(&self.a.sid, token_of_a)));
        assert_eq!(status, 200, "the owner still gets in");
        assert_eq!(self.check("/health", None).0, 200);
    }

    pub fn account_path(&self, member: &Member) -> String {
        format!("/Accounts/{}.json", member.sid)
    }
}

/// GET of a path outside the API root, such as `/openapi.json`.
pub fn get_outside_api(app: &TestApp, path: &str) -> Reply {
    let response = reqwest::blocking::get(format!("http://{}{path}", app.address)).unwrap();
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().unwrap(),
    }
}

pub use crate::helpers::basic;

/// Sends raw bytes and returns everything the server answers before it closes the connection
/// or falls silent for `wait`.
pub fn raw_exchange(address: SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    // The server may answer and close before it has read everything; that is fine.
    let _ = stream.write_all(request);
    read_until_quiet(&mut stream)
}

/// Reads one complete response (its head and its declared body), or whatever came before the
/// server closed the connection or fell silent.
pub fn read_until_quiet(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !is_complete(&answer) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn is_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|length| body.len() >= length)
}

/// The status code of the first response in a raw answer.
pub fn raw_status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {answer:?}"))
}

/// A JSON error body's code in a raw answer.
pub fn raw_code(answer: &str) -> u64 {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    value["code"].as_u64().unwrap()
}

/// A blocking client whose requests leave from `local`: all of 127/8 reaches the loopback
/// interface, so 127.0.0.2 is another client address on the same machine.
pub fn client_from(local: IpAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(local)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
