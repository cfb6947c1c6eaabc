//! Real clients against the real server: the Twilio helper libraries for Python and Node.js, and
//! the curl and http.client examples of the Restcomm documentation page.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::helpers::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// A Python with `twilio` and `prometheus_client` installed: `SWITCHBOARD_TEST_PYTHON` (set by
/// .ci/run), or a virtualenv made once under target/ so that a plain `cargo test` works on a
/// new machine too.
pub fn python_with_twilio() -> PathBuf {
    static MADE: Mutex<()> = Mutex::new(());
    if let Ok(python) = std::env::var("SWITCHBOARD_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let _once = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import twilio, prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is installed");
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "twilio",
                "prometheus-client",
            ])
            .status()
            .expect("pip runs");
        assert!(
            installed.success(),
            "pip install twilio prometheus-client failed"
        );
    }
    python
}

/// Runs `program script BASE_URL SID TOKEN extra...` against a fresh server; it must pass.
fn run_client(program: &Path, script_name: &str, extra: &[&str]) {
    let app = spawn_app();
    let output = Command::new(program)
        .arg(script(script_name))
        .arg(format!("http://{}/restcomm", app.address))
        .arg(&app.admin.sid)
        .arg(&app.admin.token)
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn the_twilio_helper_library_for_python_works_against_the_server() {
    run_client(&python_with_twilio(), "twilio_helper.py", &["2012-04-24"]);
}

/// Its own API version, 2010-04-01, is served too: the base URL is all a user changes.
#[test]
fn the_twilio_helper_library_for_python_works_with_its_base_url_alone() {
    run_client(&python_with_twilio(), "twilio_helper.py", &[]);
}

/// Monitor v1's events, listed with every filter, paged and fetched by the Python library.
#[test]
fn the_twilio_helper_library_for_python_reads_the_events() {
    run_client(&python_with_twilio(), "twilio_events.py", &[]);
}

/// Node.js from PATH, with `twilio` installed from tests/clients/package-lock.json. A missing
/// install fails the test, saying how to make it: a silent pass would hide a broken client.
fn node_with_twilio() -> PathBuf {
    let installed = script("node_modules/twilio/package.json");
    assert!(
        installed.is_file(),
        "the Twilio helper library for Node.js is not installed: \
         run `(cd tests/clients && npm ci --no-audit --no-fund)`"
    );
    PathBuf::from("node")
}

#[test]
fn the_twilio_helper_library_for_node_works_with_its_base_url_alone() {
    run_client(&node_with_twilio(), "twilio_node.mjs", &[]);
}

#[test]
fn the_restcomm_curl_example_works_as_written() {
    let app = spawn_app();
    let (sid, token) = (&app.admin.sid, &app.admin.token);
    let output = Command::new("curl")
        .args(["-s", "-X", "GET"])
        .arg(format!(
            "http://{}/restcomm/2012-04-24/Accounts/{sid}.json",
            app.address
        ))
        .args(["-u", &format!("{sid}:{token}")])
        .output()
        .expect("curl is installed");
    assert!(output.status.success());
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["sid"], sid.as_str());
    assert_eq!(body["auth_token"], token.as_str());
}

#[test]
fn the_restcomm_python_http_client_example_works_as_written() {
    let app = spawn_app();
    let output = Command::new("python3")
        .arg(script("restcomm_http_client.py"))
        .arg(app.address.to_string())
        .arg(&app.admin.sid)
        .arg(&app.admin.token)
        .output()
        .expect("python3 is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let (status, body) = stdout.split_once('\n').unwrap();
    assert_eq!(status, "200");
    let body: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(body["sid"], app.admin.sid.as_str());
}
