//! Starts the real server on port 0 with a fresh temporary database, and speaks HTTP to it.
//! A test target whose name ends in `_on_postgres` runs the same tests on PostgreSQL: each
//! server then gets a database of its own in one throwaway cluster.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use base64::Engine;
use serde_json::Value;
use switchboard::config::Config;
use switchboard::startup::Application;
use tempfile::TempDir;

pub const BASE: &str = "/restcomm/2012-04-24";
pub const ADMIN_EMAIL: &str = "administrator@company.com";
pub const ADMIN_PASSWORD: &str = "first admin password";

/// Who a request claims to be.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic(String, String),
    /// Sent as the raw `Authorization` header value.
    Raw(String),
}

impl Auth {
    pub fn basic(user: &str, secret: &str) -> Auth {
        Auth::Basic(user.to_owned(), secret.to_owned())
    }
}

/// The `Authorization` value of HTTP Basic credentials.
pub fn basic(user: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {encoded}")
}

/// An account made through the API, with everything needed to act as it.
#[derive(Clone, Debug)]
pub struct Member {
    pub sid: String,
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: String,
}

impl Member {
    pub fn token_auth(&self) -> Auth {
        Auth::basic(&self.sid, &self.token)
    }
    pub fn password_auth(&self) -> Auth {
        Auth::basic(
            self.email.as_deref().unwrap(),
            self.password.as_deref().unwrap(),
        )
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    /// Asserts the status and the contract's error code in a JSON error body.
    pub fn assert_error(&self, status: u16, code: u64) {
        assert_eq!(self.status, status, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["code"], code, "body: {}", self.body);
        assert_eq!(body["status"], status, "body: {}", self.body);
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(
            body.as_object().unwrap().len(),
            4,
            "exactly code, message, more_info, status"
        );
    }
}

#[path = "../support/postgres.rs"]
pub mod cluster;

/// Whether this test target runs its servers on PostgreSQL rather than SQLite.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_on_postgres")
}

pub struct TestApp {
    pub address: SocketAddr,
    /// Where `/metrics` is served, when the configuration asked for it.
    pub metrics: Option<SocketAddr>,
    pub admin: Member,
    /// Holds the database (or, on PostgreSQL, the key file); removed when the app is dropped.
    pub dir: TempDir,
    /// The server's `--db`: the file in `dir`, or a PostgreSQL URL.
    pub db: std::path::PathBuf,
    client: reqwest::blocking::Client,
    server: ServerHandle,
}

impl Drop for TestApp {
    /// Stops the server, which closes its database connections.
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config::new(dir.path().join("switchboard.db"));
    if on_postgres() {
        config.db_path = cluster::Cluster::for_this_process()
            .fresh_database_url()
            .into();
        config.key_file = dir.path().join("switchboard.db.key");
    }
    config.listen = "127.0.0.1:0".into();
    config.bcrypt_cost = 4;
    config.workers = 2;
    config.admin_password = Some(ADMIN_PASSWORD.into());
    config
}

/// A server whose first administrator is active with [`ADMIN_PASSWORD`].
pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    adjust(&mut config);
    let db = config.db_path.clone();
    let started = launch(config);
    // The server closes a connection idle for 5 s; a pooled one idle that long could be reused
    // just as it closes (a test that waits out a slow client does), so the pool lets go first.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut app = TestApp {
        address: started.address,
        metrics: started.metrics,
        admin: Member {
            sid: String::new(),
            email: Some(ADMIN_EMAIL.into()),
            password: None,
            token: String::new(),
        },
        dir,
        db,
        client,
        server: started.handle,
    };
    let password = started
        .first_password
        .unwrap_or_else(|| ADMIN_PASSWORD.to_owned());
    app.admin.password = Some(password.clone());
    let me = app.get(
        &format!("/Accounts/{ADMIN_EMAIL}.json"),
        &Auth::basic(ADMIN_EMAIL, &password),
    );
    assert_eq!(me.status, 200, "{}", me.body);
    app.admin.sid = me.json()["sid"].as_str().unwrap().to_owned();
    app.admin.token = me.json()["auth_token"].as_str().unwrap().to_owned();
    app
}

/// Starts the application on its own thread; returns its address and, on a first start
/// without a configured password, the generated one.
pub fn start(config: Config) -> (SocketAddr, Option<String>) {
    let started = launch(config);
    (started.address, started.first_password)
}

pub struct Started {
    pub address: SocketAddr,
    /// On a first start without a configured password, the generated one.
    pub first_password: Option<String>,
    /// Where `/metrics` is served, when the configuration asked for it.
    pub metrics: Option<SocketAddr>,
    pub handle: ServerHandle,
}

pub fn launch(config: Config) -> Started {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = match Application::build(config).await {
                Ok(app) => app,
                Err(error) => {
                    sender.send(Err(error.to_string())).unwrap();
                    return;
                }
            };
            let password = app
                .first_administrator()
                .and_then(|first| first.generated_password.as_ref())
                .map(|p| p.expose().to_owned());
            let started = Started {
                address: app.address(),
                first_password: password,
                metrics: app.metrics_address(),
                handle: app.handle(),
            };
            sender.send(Ok(started)).unwrap();
            let _ = app.run().await;
        })
    });
    receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap()
        .expect("the server starts")
}

impl TestApp {
    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("switchboard.db")
    }

    pub fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("switchboard.db.key")
    }

    /// Runs `sql` on the server's database over a connection of the test's own, as another
    /// process would.
    pub fn commit_elsewhere(&self, sql: &str) {
        if on_postgres() {
            let url = self.db.to_str().unwrap();
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client.batch_execute(sql).unwrap();
        } else {
            let other = rusqlite::Connection::open(&self.db).unwrap();
            other.execute_batch(sql).unwrap();
        }
    }

    /// Everything the database holds, as bytes to search: the SQLite file and its log, or on
    /// PostgreSQL every row of every table as text.
    pub fn stored_bytes(&self) -> Vec<u8> {
        if !on_postgres() {
            let mut bytes = std::fs::read(&self.db).unwrap();
            bytes.extend(std::fs::read(self.db.with_extension("db-wal")).unwrap_or_default());
            return bytes;
        }
        let url = self.db.to_str().unwrap();
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public'",
                &[],
            )
            .unwrap();
        let mut bytes = Vec::new();
        for table in tables {
            let name: String = table.get(0);
            let sql = format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{name}\" t");
            let rows: String = client.query_one(&sql, &[]).unwrap().get(0);
            bytes.extend(rows.into_bytes());
        }
        bytes
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') && !path.starts_with("/restcomm/") && !path.starts_with("/health")
        {
            format!("http://{}{BASE}{path}", self.address)
        } else {
            format!("http://{}{path}", self.address)
        }
    }

    /// `path` is below `/restcomm/2012-04-24` unless it starts with `/restcomm/` or `/health`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        self.request_with(&self.client, method, path, auth, headers, body)
    }

    /// A GET sent from another loopback address (all of 127/8 reaches the server).
    pub fn get_from(&self, from: std::net::IpAddr, path: &str, auth: &Auth) -> Reply {
        let client = reqwest::blocking::Client::builder()
            .local_address(from)
            .build()
            .unwrap();
        self.request_with(&client, "GET", path, auth, &[], None)
    }

    fn request_with(
        &self,
        client: &reqwest::blocking::Client,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client.request(method, self.url(path));
        match auth {
            Auth::None => {}
            Auth::Basic(user, secret) => {
                request = request.header("Authorization", basic(user, secret))
            }
            Auth::Raw(value) => request = request.header("Authorization", value.as_str()),
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.request("GET", path, auth, &[], None)
    }

    pub fn post(&self, path: &str, auth: &Auth, form: &[(&str, &str)]) -> Reply {
        self.send_form("POST", path, auth, form)
    }

    pub fn send_form(&self, method: &str, path: &str, auth: &Auth, form: &[(&str, &str)]) -> Reply {
        let headers = [("Content-Type", "application/x-www-form-urlencoded")];
        self.request(method, path, auth, &headers, Some(encode_form(form)))
    }

    pub fn admin_auth(&self) -> Auth {
        self.admin.token_auth()
    }

    /// Creates a sub-account of `parent` with an email and password; `extra` adds form keys.
    pub fn create_member(&self, parent: &Auth, email: &str, extra: &[(&str, &str)]) -> Member {
        let password = format!("password of {} ok", email.replace('@', " at "));
        let mut form = vec![("EmailAddress", email), ("Password", password.as_str())];
        form.extend_from_slice(extra);
        let reply = self.post("/Accounts.json", parent, &form);
        assert_eq!(reply.status, 201, "{}", reply.body);
        let body = reply.json();
        Member {
            sid: body["sid"].as_str().unwrap().to_owned(),
            email: Some(email.to_owned()),
            password: Some(password),
            token: body["auth_token"].as_str().unwrap().to_owned(),
        }
    }

    /// An Administrator below the first administrator, and a Developer below that one.
    pub fn create_family(&self) -> (Member, Member) {
        let parent = self.create_member(
            &self.admin_auth(),
            "parent@example.com",
            &[("Role", "Administrator")],
        );
        let child = self.create_member(&parent.token_auth(), "child@example.com", &[]);
        (parent, child)
    }

    /// The account as `auth` sees it, in JSON.
    /// Follows next_page_uri from `first` to the end, as the administrator; returns every
    /// listed account in order, and the number of pages.
    pub fn walk(&self, first: &str) -> (Vec<Value>, usize) {
        let (mut listed, mut pages) = (Vec::new(), 0);
        let mut next = Some(first.to_owned());
        while let Some(path) = next {
            let page = self.get(&path, &self.admin_auth());
            assert_eq!(page.status, 200, "{}", page.body);
            let page = page.json();
            listed.extend(page["accounts"].as_array().unwrap().iter().cloned());
            pages += 1;
            next = page["next_page_uri"]
                .as_str()
                .map(|uri| format!("/restcomm{uri}"));
        }
        (listed, pages)
    }

    pub fn fetch(&self, auth: &Auth, id: &str) -> Value {
        let reply = self.get(&format!("/Accounts/{id}.json"), auth);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

pub fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
