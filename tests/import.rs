//! `switchboard import restcomm`: Restcomm-Connect's stock HSQLDB script (with a tree added)
//! and a generated mysqldump of ten thousand accounts come over field for field, and the old
//! AuthTokens and passwords keep working until a password is set; every kind of bad input is
//! refused naming its rows, with nothing written; the file holds no Restcomm token; and the
//! same import works into PostgreSQL.

#[allow(dead_code)]
#[path = "support/binary.rs"]
mod binary;
#[allow(dead_code)]
#[path = "../bench/restcomm_dump.rs"]
mod generator;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/restcomm/restcomm.script"
);
const STOCK_ADMIN: &str = "ACae6e420f425248d6a26948c17a9e2acf";
const DEFAULT_TOKEN: &str = "77f8c12cc7b8f8423e5c38b035249166";
/// ops@company.com, an Administrator below the stock one, with password RestComm12.
const OPS: &str = "ACca42e03f8d49c1e8db839262351318ac";
const OPS_TOKEN: &str = "28f96b0fea1f9e33646f42026abdf305";
/// dev@company.com, a Developer below ops, with password latestpassword12.
const DEV: &str = "AC2d68bae306d2dea6015bf313a187d668";
const DEV_TOKEN: &str = "81eb94645c485fc39eedc5d46522e5ba";

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn import(db: &str, file: &Path, key_file: Option<&Path>) -> Output {
    let mut command = binary::command();
    command.args(["--db", db, "import", "restcomm"]).arg(file);
    if let Some(key_file) = key_file {
        command.arg("--key-file").arg(key_file);
    }
    binary::run(command, None)
}

fn imported(db: &str, file: &Path, key_file: Option<&Path>) -> String {
    let out = import(db, file, key_file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// A server on an imported database, spoken to as any client would.
struct Server {
    address: SocketAddr,
    client: reqwest::blocking::Client,
}

impl Server {
    fn start(db: &str, key_file: &Path, dir: &tempfile::TempDir) -> Server {
        let mut config = helpers::test_config(dir);
        config.db_path = PathBuf::from(db);
        config.key_file = key_file.to_owned();
        let (address, first_password) = helpers::start(config);
        assert!(first_password.is_none(), "no first administrator is made");
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        Server { address, client }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.address, helpers::BASE)
    }

    fn get(&self, path: &str, user: &str, secret: &str) -> (u16, String) {
        let reply = self
            .client
            .get(self.url(path))
            .header("Authorization", helpers::basic(user, secret))
            .send()
            .unwrap();
        (reply.status().as_u16(), reply.text().unwrap())
    }

    fn fetch(&self, sid: &str, user: &str, secret: &str) -> Value {
        let (status, body) = self.get(&format!("/Accounts/{sid}.json"), user, secret);
        assert_eq!(status, 200, "{user}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn post(&self, path: &str, user: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .client
            .post(self.url(path))
            .header("Authorization", helpers::basic(user, secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(helpers::encode_form(form))
            .send()
            .unwrap();
        let status = reply.status().as_u16();
        (
            status,
            serde_json::from_str(&reply.text().unwrap()).unwrap(),
        )
    }

    /// Every `account.imported` event `user` may see, following next_page_url.
    fn imported_events(&self, user: &str, secret: &str) -> Vec<Value> {
        let mut listed = Vec::new();
        let mut next = Some(format!(
            "http://{}/restcomm/v1/Events?EventType=account.imported&PageSize=2",
            self.address
        ));
        while let Some(url) = next {
            let reply = self
                .client
                .get(url)
                .header("Authorization", helpers::basic(user, secret))
                .send()
                .unwrap();
            assert_eq!(reply.status().as_u16(), 200);
            let page: Value = serde_json::from_str(&reply.text().unwrap()).unwrap();
            listed.extend(page["events"].as_array().unwrap().iter().cloned());
            next = page["meta"]["next_page_url"].as_str().map(str::to_owned);
        }
        listed
    }

    /// Every account `sid` lists, following next_page_uri.
    fn walk(&self, user: &str, secret: &str) -> Vec<Value> {
        let mut listed = Vec::new();
        let mut next = Some(format!("{}/Accounts.json?PageSize=1000", helpers::BASE));
        while let Some(path) = next {
            let url = format!("http://{}{path}", self.address);
            let reply = self
                .client
                .get(url)
                .header("Authorization", helpers::basic(user, secret))
                .send()
                .unwrap();
            assert_eq!(reply.status().as_u16(), 200);
            let page: Value = serde_json::from_str(&reply.text().unwrap()).unwrap();
            listed.extend(page["accounts"].as_array().unwrap().iter().cloned());
            next = page["next_page_uri"]
                .as_str()
                .map(|uri| format!("/restcomm{uri}"));
        }
        listed
    }
}

/// No file of the database holds a Restcomm token, in hex (either case) or as raw bytes, and
/// no column of an event holds one (nor a hash of any kind), as the store hands it back.
fn assert_holds_no_token(db: &Path, tokens: &[String]) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = conn.prepare("SELECT * FROM events").unwrap();
    let columns = statement.column_count();
    let events: Vec<String> = statement
        .query_map([], |row| {
            let mut text = String::new();
            for column in 0..columns {
                let value: rusqlite::types::Value = row.get(column)?;
                text.push_str(&format!("{value:?}\n"));
            }
            Ok(text)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(statement);
    drop(conn);
    assert!(!events.is_empty(), "the import recorded its events");
    assert_events_hold_no_token(&events, tokens);
    for file in [
        db.to_owned(),
        PathBuf::from(format!("{}-wal", db.display())),
    ] {
        assert!(
            !holds_token(&file, tokens),
            "{} holds a token",
            file.display()
        );
    }
}

/// No event, as stored or as served, holds a token or anything shaped like a stored secret:
/// Restcomm's MD5, the keyed check of an old password, a bcrypt hash.
fn assert_events_hold_no_token(events: &[String], tokens: &[String]) {
    // One search over them all: the token sets are built once, whatever the count.
    let all = events.join("\n");
    if bytes_hold_token(all.as_bytes(), tokens) {
        let event = events
            .iter()
            .find(|event| bytes_hold_token(event.as_bytes(), tokens));
        panic!("an event holds a token: {event:?}");
    }
    for event in events {
        for secret_shape in ["$restcomm-md5$", "$2b$", "$2a$", "$2y$", "salt", "hash"] {
            assert!(!event.contains(secret_shape), "{secret_shape}: {event}");
        }
    }
}

/// One pass over the file, looking every window up in a set, whatever the number of tokens.
fn holds_token(file: &Path, tokens: &[String]) -> bool {
    let Ok(bytes) = std::fs::read(file) else {
        return false;
    };
    bytes_hold_token(&bytes, tokens)
}

fn bytes_hold_token(bytes: &[u8], tokens: &[String]) -> bool {
    use std::collections::HashSet;
    let hex: HashSet<Vec<u8>> = tokens
        .iter()
        .map(|t| t.to_lowercase().into_bytes())
        .collect();
    let raw: HashSet<Vec<u8>> = tokens.iter().map(|t| hex::decode(t).unwrap()).collect();
    let lowered = bytes.to_ascii_lowercase();
    lowered.windows(32).any(|window| hex.contains(window))
        || bytes.windows(16).any(|window| raw.contains(window))
}

/// The passwords of the fixture's accounts; their MD5s are its tokens.
const FIXTURE_PASSWORDS: [&str; 7] = [
    "RestComm",
    "RestComm12",
    "latestpassword12",
    "trial password one",
    "agent password one",
    "gone password one",
    "boss password one",
];

fn fixture_tokens() -> Vec<String> {
    let tokens: Vec<String> = FIXTURE_PASSWORDS.iter().map(|p| md5_hex(p)).collect();
    let script = std::fs::read_to_string(FIXTURE).unwrap();
    for token in &tokens {
        assert!(script.contains(token.as_str()), "{token}");
    }
    tokens
}

/// A Python with `twilio`: SWITCHBOARD_TEST_PYTHON, or the virtualenv tests/api makes.
fn python_with_twilio() -> PathBuf {
    let python = std::env::var("SWITCHBOARD_TEST_PYTHON").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python"),
        PathBuf::from,
    );
    let ready = Command::new(&python)
        .args(["-c", "import twilio"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        ready,
        "no Python with twilio: set SWITCHBOARD_TEST_PYTHON (tests/run does) or run the api \
         client tests once, which make target/test-venv"
    );
    python
}

const TWILIO_CHECK: &str = r#"
import sys
from twilio.rest import Client
base, sid, token = sys.argv[1:4]
client = Client(sid, token)
client.api.base_url = base
me = client.api.v2010.accounts(sid).fetch()
assert me.auth_token == token, me.auth_token
assert me.status == "active", me.status
listed = [account.sid for account in client.api.v2010.accounts.list(page_size=2)]
assert sid in listed and len(listed) == len(set(listed)) >= 3, listed
print("all checks passed")
"#;

#[test]
fn the_stock_restcomm_database_imports_and_its_old_secrets_work_until_a_password_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("imported.db");
    let db_text = db.to_string_lossy().into_owned();
    let said = imported(&db_text, Path::new(FIXTURE), None);
    for part in [
        "imported 8 accounts",
        "by status: 3 active, 2 suspended, 1 closed, 2 uninitialized",
        "by role: 3 Administrator, 4 Developer, 1 ProvisioningAgent",
        "1 inactive in Restcomm, imported as suspended",
        "1 of type Trial, imported as Full",
    ] {
        assert!(said.contains(part), "{part}: {said}");
    }
    let key_file = dir.path().join("imported.db.key");
    assert_eq!(binary::mode(&key_file) & 0o777, 0o600);
    assert_holds_no_token(&db, &fixture_tokens());
    // Filled through a rollback journal, left in WAL as a stopped server leaves it.
    assert!(!dir.path().join("imported.db-journal").exists());
    let mode: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let server = Server::start(&db_text, &key_file, &dir);
    // The stock administrator keeps its Sid, must choose a password, and signs in with
    // Restcomm's default one meanwhile.
    let admin = server.fetch(STOCK_ADMIN, "administrator@company.com", "RestComm");
    assert_eq!(admin["status"], "uninitialized");
    assert_eq!(admin["auth_token"], DEFAULT_TOKEN);
    assert_eq!(admin["date_created"], "Tue, 24 Apr 2012 00:00:00 +0000");
    let (status, _) = server.get("/Accounts.json", STOCK_ADMIN, DEFAULT_TOKEN);
    assert_eq!(status, 403, "an uninitialized account may only read itself");

    // An active account: its old token and its old password, and the token is shown.
    let ops = server.fetch(OPS, OPS, OPS_TOKEN);
    assert_eq!(ops["auth_token"], OPS_TOKEN);
    assert_eq!(ops["email_address"], "ops@company.com");
    assert_eq!(ops["owner_account_sid"], STOCK_ADMIN);
    assert_eq!(ops["date_updated"], "Tue, 05 Jan 2016 08:00:00 +0000");
    assert_eq!(
        server.fetch(OPS, "ops@company.com", "RestComm12")["sid"],
        OPS
    );
    assert_eq!(
        server.fetch(OPS, "OPS@company.com", "RestComm12")["auth_token"],
        OPS_TOKEN,
        "a password login (now checked by bcrypt) keeps the token"
    );
    let dev = server.fetch(DEV, OPS, OPS_TOKEN);
    assert_eq!(dev["friendly_name"], "José O'Brien (dev), team 😀");
    assert_eq!(dev["owner_account_sid"], OPS);
    assert_eq!(
        server.fetch(DEV, "dev@company.com", "latestpassword12")["auth_token"],
        DEV_TOKEN
    );

    // The official Twilio client, with nothing but the old Sid and AuthToken.
    let output = Command::new(python_with_twilio())
        .args(["-c", TWILIO_CHECK])
        .arg(format!("http://{}/restcomm", server.address))
        .args([OPS, OPS_TOKEN])
        .output()
        .unwrap();
    let printed = text(&output.stdout);
    assert!(
        output.status.success() && printed.contains("all checks passed"),
        "{printed}\n{}",
        text(&output.stderr)
    );

    // A password set ends both old secrets; the new token is a derived one.
    let new_password = "a brand new password for ops";
    let (status, changed) = server.post(
        &format!("/Accounts/{OPS}.json"),
        OPS,
        OPS_TOKEN,
        &[("Password", new_password)],
    );
    assert_eq!(status, 200, "{changed}");
    let new_token = changed["auth_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, OPS_TOKEN);
    for (user, secret) in [(OPS, OPS_TOKEN), ("ops@company.com", "RestComm12")] {
        let (status, _) = server.get(&format!("/Accounts/{OPS}.json"), user, secret);
        assert_eq!(status, 401, "{secret}");
    }
    assert_eq!(server.fetch(OPS, OPS, &new_token)["auth_token"], new_token);
    assert_eq!(
        server.fetch(OPS, "ops@company.com", new_password)["sid"],
        OPS
    );

    // The stock administrator chooses its password, then sees the whole imported tree.
    let admin_password = "the administrator's own password";
    let (status, admin) = server.post(
        &format!("/Accounts/{STOCK_ADMIN}.json"),
        STOCK_ADMIN,
        DEFAULT_TOKEN,
        &[("Password", admin_password)],
    );
    assert_eq!(status, 200, "{admin}");
    assert_eq!(admin["status"], "active");
    let (status, _) = server.get("/Accounts.json", "administrator@company.com", "RestComm");
    assert_eq!(status, 401);
    let listed = server.walk("administrator@company.com", admin_password);
    let shown = |email: &str| -> Value {
        listed
            .iter()
            .find(|account| account["email_address"] == email)
            .unwrap_or_else(|| panic!("{email} is not listed"))
            .clone()
    };
    assert_eq!(listed.len(), 6, "the stock administrator's tree");
    let trial = shown("trial@company.com");
    assert_eq!(
        (&trial["status"], &trial["type"]),
        (&"suspended".into(), &"Full".into())
    );
    assert_eq!(trial["sid"], format!("AC{}", md5_hex("trial@company.com")));
    assert_eq!(shown("agent@company.com")["role"], "ProvisioningAgent");
    assert_eq!(shown("gone@company.com")["status"], "closed");
    // Listed by creation: Restcomm's dates, then file order within a second.
    let order: Vec<&str> = listed
        .iter()
        .map(|account| account["email_address"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "administrator@company.com",
            "ops@company.com",
            "dev@company.com",
            "trial@company.com",
            "agent@company.com",
            "gone@company.com"
        ]
    );

    // The other top-level account, and its child with Restcomm's default password.
    let boss = format!("AC{}", md5_hex("boss@example.org"));
    let fresh = server.fetch(
        &format!("AC{}", md5_hex("fresh@example.org")),
        &boss,
        &md5_hex("boss password one"),
    );
    assert_eq!(fresh["status"], "uninitialized");
    assert_eq!(fresh["owner_account_sid"], boss);

    // One account.imported per account, by the system from the command line, saying what
    // Restcomm had and which rules changed it; each Administrator sees its own tree's.
    let mut events = server.imported_events("administrator@company.com", admin_password);
    assert_eq!(events.len(), 6, "{events:#?}");
    events.extend(server.imported_events(&boss, &md5_hex("boss password one")));
    assert_imported_events(&events, &fixture_tokens());
}

/// The stock fixture's eight `account.imported` events, as served.
fn assert_imported_events(events: &[Value], tokens: &[String]) {
    let mut about: Vec<&str> = events
        .iter()
        .map(|event| event["account_sid"].as_str().unwrap())
        .collect();
    about.sort_unstable();
    about.dedup();
    assert_eq!((events.len(), about.len()), (8, 8), "{events:#?}");
    for event in events {
        assert_eq!(event["event_type"], "account.imported");
        assert_eq!(event["actor_type"], "system");
        assert_eq!(event["actor_sid"], Value::Null);
        assert_eq!(event["source"], "cli");
        assert_eq!(event["source_ip_address"], Value::Null);
        assert_eq!(event["resource_type"], "account");
        assert_eq!(event["resource_sid"], event["account_sid"]);
    }
    let data = |sid: &str| -> Value {
        events
            .iter()
            .find(|event| event["account_sid"] == sid)
            .unwrap_or_else(|| panic!("no event about {sid}"))["event_data"]
            .clone()
    };
    let trial = format!("AC{}", md5_hex("trial@company.com"));
    assert_eq!(
        data(&trial),
        serde_json::json!({
            "restcomm": {"status": "inactive", "type": "Trial", "line": 22},
            "status": "suspended",
            "role": "Developer",
            "mappings": ["inactive-to-suspended", "trial-to-full"],
        })
    );
    assert_eq!(
        data(OPS)["mappings"],
        serde_json::json!(["email-lowercased"])
    );
    let admin = data(STOCK_ADMIN);
    assert_eq!(admin["restcomm"]["status"], "uninitialized");
    assert_eq!(admin["mappings"], serde_json::json!([]));
    let fresh = data(&format!("AC{}", md5_hex("fresh@example.org")));
    assert_eq!(fresh["restcomm"]["status"], "active");
    assert_eq!(fresh["status"], "uninitialized");
    assert_eq!(
        fresh["mappings"],
        serde_json::json!(["default-password-to-uninitialized"])
    );
    let served: Vec<String> = events.iter().map(Value::to_string).collect();
    assert_events_hold_no_token(&served, tokens);
}

/// RFC 2822, as the API shows dates.
fn shown_date(seconds: i64) -> String {
    let time = switchboard::domain::account::UnixTime(seconds);
    let (year, month, day, hour, minute, second) = time.civil();
    let weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][time.weekday() as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!("{weekday}, {day:02} {month} {year} {hour:02}:{minute:02}:{second:02} +0000")
}

/// What the API shows for generated account `n`.
fn expected(n: usize, count: usize) -> Value {
    let account = generator::account(n, count);
    serde_json::json!({
        "sid": account.sid,
        "owner_account_sid": account.parent.clone().unwrap_or(account.sid.clone()),
        "friendly_name": account.friendly_name,
        "email_address": account.email.to_lowercase(),
        "type": "Full",
        "status": if account.status == "inactive" { "suspended" } else { account.status },
        "role": account.role,
        "date_created": shown_date(account.created),
        "date_updated": shown_date(account.updated),
        "auth_token": account.auth_token,
    })
}

fn write_dump(path: &Path, count: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    generator::write_dump(count, &mut file).unwrap();
    std::io::Write::flush(&mut file).unwrap();
}

#[test]
fn a_mysqldump_of_ten_thousand_accounts_imports_field_for_field() {
    const COUNT: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("restcomm.sql");
    write_dump(&dump, COUNT);
    let db = dir.path().join("imported.db");
    let db_text = db.to_string_lossy().into_owned();
    let said = imported(&db_text, &dump, None);
    assert!(said.starts_with("imported 10000 accounts\n"), "{said}");
    let expected: Vec<Value> = (0..COUNT).map(|n| expected(n, COUNT)).collect();
    let count = |status: &str| {
        expected
            .iter()
            .filter(|account| account["status"] == status)
            .count()
    };
    let statuses = format!(
        "by status: {} active, {} suspended, {} closed, {} uninitialized",
        count("active"),
        count("suspended"),
        count("closed"),
        count("uninitialized")
    );
    assert!(said.contains(&statuses), "{statuses}: {said}");
    let trials = (0..COUNT).filter(|n| n.is_multiple_of(4)).count();
    assert!(said.contains(&format!("{trials} of type Trial")), "{said}");
    let inactive = (0..COUNT)
        .filter(|n| generator::account(*n, COUNT).status == "inactive")
        .count();
    assert!(
        said.contains(&format!("{inactive} inactive in Restcomm")),
        "{said}"
    );
    let tokens: Vec<String> = (0..COUNT)
        .map(|n| generator::account(n, COUNT).auth_token)
        .collect();
    assert!(
        holds_token(&dump, &tokens),
        "the search finds what is there"
    );
    assert_holds_no_token(&db, &tokens);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (events, about): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT account_sid) FROM events
             WHERE event_type = 'account.imported'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    drop(conn);
    assert_eq!((events, about), (COUNT as i64, COUNT as i64));

    let key_file = dir.path().join("imported.db.key");
    let server = Server::start(&db_text, &key_file, &dir);
    let (tops, _) = generator::shape(COUNT);
    let mut listed: Vec<Value> = Vec::new();
    for top in 0..tops {
        let account = generator::account(top, COUNT);
        listed.extend(server.walk(&account.sid, &account.auth_token));
    }
    assert_eq!(listed.len(), COUNT);
    let by_sid: std::collections::HashMap<&str, &Value> = listed
        .iter()
        .map(|account| (account["sid"].as_str().unwrap(), account))
        .collect();
    for want in &expected {
        let got = by_sid[want["sid"].as_str().unwrap()];
        for (field, value) in want.as_object().unwrap() {
            assert_eq!(&got[field], value, "{field} of {}", want["sid"]);
        }
    }
    // A leaf's old password, through its email address.
    let leaf = (COUNT - 50..COUNT)
        .find(|n| generator::account(*n, COUNT).status == "active")
        .unwrap();
    let account = generator::account(leaf, COUNT);
    let shown = server.fetch(&account.sid, &account.email, &generator::password(leaf));
    assert_eq!(shown["auth_token"], account.auth_token);
}

/// A row of the fixture's table for an account below `parent`.
fn script_row(email: &str, parent: &str, role: &str) -> String {
    let sid = format!("AC{}", md5_hex(&email.to_lowercase()));
    format!(
        "INSERT INTO \"restcomm_accounts\" VALUES('{sid}','2020-01-01 00:00:00.000000000',\
         '2020-01-01 00:00:00.000000000','{email}','Added','{parent}','Full','active',\
         '{}','{role}','/2012-04-24/Accounts/{sid}','ORafbe225ad37541eba518a74248f0ac4c')",
        md5_hex("added password")
    )
}

/// The import of `contents` fails, its error names every part of `named`, and the folder
/// holds the input file alone: no database, no key file.
fn assert_refused(contents: &[u8], named: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::write(&input, contents).unwrap();
    let db = dir.path().join("refused.db");
    let out = import(&db.to_string_lossy(), &input, None);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(
        said.starts_with("switchboard: nothing was imported: "),
        "{said}"
    );
    for part in named {
        assert!(said.contains(part.as_str()), "{part}: {said}");
    }
    assert_eq!(binary::file_names(dir.path()), ["input"], "{said}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn bad_input_is_refused_naming_every_offending_row_and_nothing_is_written() {
    let script = std::fs::read_to_string(FIXTURE).unwrap();
    let next_line = script.lines().count() + 1;
    let with = |rows: &[String]| format!("{script}{}\n", rows.join("\n"));
    let sid_of = |email: &str| format!("AC{}", md5_hex(email));

    let deep = script_row("deep@company.com", DEV, "Developer");
    assert_refused(
        with(&[deep]).as_bytes(),
        &[format!(
            "line {next_line} ({}): it is more than 3 levels deep ({STOCK_ADMIN} > {OPS} > {DEV} > {})",
            sid_of("deep@company.com"),
            sid_of("deep@company.com")
        )],
    );

    let orphan = script_row("orphan@company.com", &sid_of("nobody"), "Developer");
    assert_refused(
        with(&[orphan]).as_bytes(),
        &[format!(
            "line {next_line} ({}): its parent {} is not in the file",
            sid_of("orphan@company.com"),
            sid_of("nobody")
        )],
    );

    // ops@company.com is on line 21 as Ops@Company.com.
    let ops_line = script.lines().position(|line| line.contains(OPS)).unwrap() + 1;
    let twin = script_row("OPS@company.COM", STOCK_ADMIN, "Developer");
    assert_refused(
        with(&[twin]).as_bytes(),
        &[
            format!("line {ops_line} ({OPS}): email address ops@company.com"),
            format!(
                "also that of {} (line {next_line})",
                sid_of("ops@company.com")
            ),
            format!("line {next_line} ({})", sid_of("ops@company.com")),
            format!("also that of {OPS} (line {ops_line})"),
        ],
    );

    let root = script_row("root@company.com", STOCK_ADMIN, "Root");
    let also = script_row("also@company.com", &sid_of("root@company.com"), "Superuser");
    assert_refused(
        with(&[root, also]).as_bytes(),
        &[
            format!(
                "line {next_line} ({}): unknown role \"Root\"",
                sid_of("root@company.com")
            ),
            format!(
                "line {} ({}): unknown role \"Superuser\"",
                next_line + 1,
                sid_of("also@company.com")
            ),
            "2 problems".into(),
        ],
    );

    // A dump cut in the middle of a row, as a full disk or an interrupted copy leaves it.
    let mut dump = Vec::new();
    generator::write_dump(2000, &mut dump).unwrap();
    let cut = dump.len() * 3 / 5;
    let cut_line = 1 + dump[..cut].iter().filter(|b| **b == b'\n').count();
    let statement_line = 1 + dump[..cut]
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| line.starts_with(b"INSERT INTO `restcomm_accounts`"))
        .map(|(index, _)| index)
        .last()
        .unwrap();
    assert_eq!(
        statement_line, cut_line,
        "the cut falls inside an INSERT line"
    );
    assert_refused(&dump[..cut], &[format!("line {cut_line}: ")]);

    assert_refused(b"hello\n", &["neither a Restcomm HSQLDB script".into()]);
}

#[test]
fn a_database_that_holds_accounts_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("imported.db");
    let db_text = db.to_string_lossy().into_owned();
    imported(&db_text, Path::new(FIXTURE), None);
    let key_file = dir.path().join("imported.db.key");
    let (before, key) = (
        std::fs::read(&db).unwrap(),
        std::fs::read(&key_file).unwrap(),
    );
    let out = import(&db_text, Path::new(FIXTURE), None);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("already holds accounts"), "{said}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(std::fs::read(&key_file).unwrap(), key);

    // A server's own database (its first administrator made) is refused the same way.
    let served = helpers::spawn_app();
    let out = import(
        &served.db_path().to_string_lossy(),
        Path::new(FIXTURE),
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_same_import_into_postgres_keeps_the_old_token_and_password() {
    let cluster = helpers::cluster::Cluster::start();
    cluster.create_database("imported");
    let url = cluster.url("127.0.0.1", "imported", "sslmode=disable");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("pg.key");
    let said = imported(&url, Path::new(FIXTURE), Some(&key_file));
    assert!(said.starts_with("imported 8 accounts"), "{said}");
    let server = Server::start(&url, &key_file, &dir);
    assert_eq!(server.fetch(OPS, OPS, OPS_TOKEN)["auth_token"], OPS_TOKEN);
    let dev = server.fetch(DEV, "dev@company.com", "latestpassword12");
    assert_eq!(dev["friendly_name"], "José O'Brien (dev), team 😀");
    assert_eq!(dev["auth_token"], DEV_TOKEN);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let stored: Vec<String> = client
        .query("SELECT row_to_json(events)::text FROM events", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored.len(), 8);
    assert_events_hold_no_token(&stored, &fixture_tokens());
    // Served as on SQLite: ops sees its own subtree's three.
    let events = server.imported_events(OPS, OPS_TOKEN);
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(
        events
            .iter()
            .filter(|event| event["event_data"]["restcomm"]["type"] == "Full")
            .count(),
        3
    );
    let out = import(&url, Path::new(FIXTURE), Some(&key_file));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already holds accounts"));
}
