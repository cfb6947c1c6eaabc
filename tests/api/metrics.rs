//! `/metrics` on its own listener: it parses as Prometheus text, its counters move with the
//! requests made, it names routes by template only, and the API's listener does not serve it.

use std::collections::HashMap;
use std::process::Command;

use crate::helpers::{spawn_app, spawn_app_with, Auth, TestApp};

fn scrape(app: &TestApp) -> String {
    let address = app.metrics.expect("metrics are served");
    let response = reqwest::blocking::get(format!("http://{address}/metrics")).unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    response.text().unwrap()
}

/// One sample's value, by its name and labels exactly as the text format writes them.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

fn with_metrics() -> TestApp {
    spawn_app_with(|config| config.metrics_listen = Some("127.0.0.1:0".into()))
}

#[test]
fn counters_move_with_the_requests_made() {
    let app = with_metrics();
    let fetch = r#"switchboard_http_requests_total{method="GET",route="/restcomm/2012-04-24/Accounts/{id}",status="200"}"#;
    let rejected = r#"switchboard_auth_failures_total{kind="rejected"}"#;
    let before = scrape(&app);
    let path = format!("/Accounts/{}.json", app.admin.sid);
    for _ in 0..3 {
        assert_eq!(app.get(&path, &app.admin_auth()).status, 200);
    }
    assert_eq!(
        app.get(&path, &Auth::basic(&app.admin.sid, "wrong")).status,
        401
    );
    assert_eq!(
        app.post(
            "/Accounts.json",
            &app.admin_auth(),
            &[("FriendlyName", "M")]
        )
        .status,
        201
    );
    let after = scrape(&app);
    // The counters belong to the process, which other tests share: at least these moved.
    assert!(
        sample(&after, fetch) - sample(&before, fetch) >= 3.0,
        "{after}"
    );
    assert!(sample(&after, rejected) - sample(&before, rejected) >= 1.0);
    assert!(sample(&after, "switchboard_write_transactions_total") >= 1.0);
    assert!(sample(&after, "switchboard_database_size_bytes") > 0.0);
    assert!(after.contains("switchboard_http_request_duration_seconds_bucket"));
    assert!(after.contains("switchboard_write_batch_size_bucket"));
    assert!(after.contains("switchboard_write_commit_duration_seconds_bucket"));
    assert!(after.contains("switchboard_write_queue_depth"));
    assert!(after.contains("switchboard_cache_hits_total{cache=\"page\"}"));
    assert!(after.contains("switchboard_cache_misses_total{cache=\"password\"}"));
    assert!(after.contains("switchboard_throttled_requests_total"));
    assert!(after.contains("switchboard_build_info{version=\""));
    // Routes by template: no Sid, email or raw path ever becomes a label.
    assert!(!after.contains(&app.admin.sid), "{after}");
    assert!(!after.contains("administrator@company.com"), "{after}");
}

#[test]
fn the_api_listener_does_not_serve_metrics_and_none_are_served_by_default() {
    let app = with_metrics();
    let on_api = app.get("/metrics", &app.admin_auth());
    assert_eq!(on_api.status, 404, "{}", on_api.body);
    assert!(!on_api.body.contains("switchboard_"));
    assert!(spawn_app().metrics.is_none());
}

/// The parser of the `prometheus_client` Python package reads every family.
#[test]
fn the_python_prometheus_parser_reads_the_text() {
    let app = with_metrics();
    assert_eq!(
        app.get(
            &format!("/Accounts/{}.json", app.admin.sid),
            &app.admin_auth()
        )
        .status,
        200
    );
    let text = scrape(&app);
    let python = super::clients::python_with_twilio();
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   print(family.name, family.type, len(family.samples))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let families: HashMap<&str, &str> = stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            Some((parts.next()?, parts.next()?))
        })
        .collect();
    for (name, kind) in [
        ("switchboard_http_requests", "counter"),
        ("switchboard_http_request_duration_seconds", "histogram"),
        ("switchboard_auth_failures", "counter"),
        ("switchboard_throttled_requests", "counter"),
        ("switchboard_write_transactions", "counter"),
        ("switchboard_write_batch_size", "histogram"),
        ("switchboard_write_commit_duration_seconds", "histogram"),
        ("switchboard_write_queue_depth", "gauge"),
        ("switchboard_database_size_bytes", "gauge"),
        ("switchboard_cache_hits", "counter"),
        ("switchboard_cache_misses", "counter"),
        ("switchboard_build_info", "gauge"),
    ] {
        assert_eq!(families.get(name), Some(&kind), "{name}: {stdout}");
    }
}

/// A metrics address already taken refuses the start, naming the metrics address.
#[test]
fn a_busy_metrics_address_refuses_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(&dir);
    config.metrics_listen = Some(taken.local_addr().unwrap().to_string());
    let refused = actix_web::rt::System::new().block_on(async move {
        switchboard::startup::Application::build(config)
            .await
            .err()
            .map(|error| error.to_string())
    });
    let message = refused.expect("the start is refused");
    assert!(message.contains("metrics address"), "{message}");
}
