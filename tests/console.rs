//! The web console: its pages' security headers over HTTP, and the whole console in a real
//! browser (Debian's chromium, driven by playwright-core from tests/console).

// The API tests' harness: this test uses only its way of starting the server.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::Command;

use helpers::{start, test_config};

const CHROMIUM: &str = "/usr/bin/chromium";

fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn static_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("static")
}

#[test]
fn the_root_and_console_without_slash_lead_to_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = start(test_config(&dir));
    for path in ["/", "/console"] {
        let reply = no_redirects()
            .get(format!("http://{address}{path}"))
            .send()
            .unwrap();
        assert_eq!(reply.status(), 302, "{path}");
        assert_eq!(reply.headers()["location"], "/console/", "{path}");
    }
}

#[test]
fn every_console_file_is_embedded_and_served_with_strict_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = start(test_config(&dir));
    let mut names: Vec<String> = std::fs::read_dir(static_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "index.html")
        .collect();
    names.extend(["".to_owned(), "common-passwords.txt".to_owned()]);
    for name in names {
        let reply = no_redirects()
            .get(format!("http://{address}/console/{name}"))
            .send()
            .unwrap();
        assert_eq!(reply.status(), 200, "/console/{name}");
        let header = |key: &str| reply.headers()[key].to_str().unwrap().to_owned();
        let csp = header("content-security-policy");
        for rule in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "/console/{name}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "/console/{name}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        let expected_type = match name.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            Some("txt") => "text/plain",
            _ => "text/html",
        };
        assert!(header("content-type").starts_with(expected_type), "{name}");
    }
    let missing = reqwest::blocking::get(format!("http://{address}/console/secrets.js")).unwrap();
    assert_eq!(missing.status(), 404);
    for path in ["/", "/console/", "/console/main.js"] {
        let posted = no_redirects()
            .post(format!("http://{address}{path}"))
            .send()
            .unwrap();
        assert_eq!(posted.status(), 405, "{path}");
        assert_eq!(posted.headers()["allow"], "GET, HEAD", "{path}");
    }
}

/// The CSP would refuse inline script and style at run time; this says so before a browser does.
#[test]
fn the_page_has_no_inline_script_or_style_and_stores_nothing() {
    let page = std::fs::read_to_string(static_dir().join("index.html")).unwrap();
    for tag in page.split("<script").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        assert!(tag.contains("src="), "inline script: <script{tag}>");
    }
    assert!(!page.contains("<style"), "inline style");
    assert!(!page.contains(" style="), "inline style attribute");
    assert!(!page.contains(" onclick="), "inline handler");
    for entry in std::fs::read_dir(static_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for store in [
            "localStorage",
            "sessionStorage",
            "document.cookie",
            "indexedDB",
        ] {
            assert!(!text.contains(store), "{} uses {store}", path.display());
        }
    }
}

#[test]
fn the_console_works_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "the console's browser tests need Debian's chromium at {CHROMIUM}: install it with \
         `apt-get install chromium` (.ci/run does)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|out| out.status.success()),
        "the console's browser tests need node and npm: install them with `apt-get install nodejs npm`"
    );
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    if !tests.join("node_modules").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&tests)
            .status()
            .expect("npm runs");
        assert!(status.success(), "`npm ci` in tests/console failed");
    }

    // No configured password: the administrator starts `uninitialized` with a generated one,
    // as on a newcomer's first start.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.admin_password = None;
    let (address, first_password) = start(config);
    let first_password = first_password.expect("a first start without a password generates one");
    // The README's picture is refreshed on request only, so a test run leaves the tree clean.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshot = match std::env::var_os("SWITCHBOARD_UPDATE_SCREENSHOT") {
        Some(_) => root.join("docs/console.png"),
        None => root.join("target/console.png"),
    };

    let output = Command::new("node")
        .arg("console.test.mjs")
        .current_dir(&tests)
        .env("SWITCHBOARD_URL", format!("http://{address}"))
        .env("SWITCHBOARD_FIRST_PASSWORD", &first_password)
        .env("SWITCHBOARD_SCREENSHOT", &screenshot)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser tests failed");
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the browser tests did not finish"
    );
}
