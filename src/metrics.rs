//! The server's Prometheus metrics: one registry for the process, filled by plain atomic
//! counters on the request path and by gauges read when `/metrics` is scraped. Like the log,
//! every layer may count here; none needs to know how the numbers are served.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Request durations from half a millisecond (a cached fetch) to the seconds a bcrypt
/// sign-in or a slow disk may take.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Commits from a fraction of a millisecond (no fsync) to a disk that stalls.
const COMMIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Writes per transaction, up to the writer's batch limit of 512.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    auth_failures: IntCounterVec,
    throttled: IntCounter,
    transactions: IntCounter,
    batch_sizes: Histogram,
    commit_durations: Histogram,
    queue_depth: IntGauge,
    database_size: IntGauge,
    cache_hits: IntCounterVec,
    cache_misses: IntCounterVec,
}

/// Why an authentication failed, as a label.
#[derive(Clone, Copy, Debug)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// A header that is not readable Basic credentials.
    Malformed,
    /// An unknown user or a wrong secret (deliberately one case, as in the answer).
    Rejected,
}

#[derive(Clone, Copy, Debug)]
pub enum Cache {
    Page,
    Password,
}

impl Cache {
    fn label(self) -> &'static str {
        match self {
            Cache::Page => "page",
            Cache::Password => "password",
        }
    }
}

/// The process's metrics, registered on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new().expect("the metric definitions are valid"))
}

impl Metrics {
    fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "switchboard_http_requests_total",
                "HTTP requests answered, by route template, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "switchboard_http_request_duration_seconds",
                "Time from a request's arrival to its answer, by route template and method",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "switchboard_auth_failures_total",
                "Failed authentications: missing, malformed or rejected credentials",
            ),
            &["kind"],
        )?;
        let throttled = IntCounter::new(
            "switchboard_throttled_requests_total",
            "Requests refused with 429 because of too many failed authentications",
        )?;
        let transactions = IntCounter::new(
            "switchboard_write_transactions_total",
            "Write transactions committed",
        )?;
        let batch_sizes = Histogram::with_opts(
            HistogramOpts::new(
                "switchboard_write_batch_size",
                "Writes committed together in one transaction",
            )
            .buckets(BATCH_BUCKETS.to_vec()),
        )?;
        let commit_durations = Histogram::with_opts(
            HistogramOpts::new(
                "switchboard_write_commit_duration_seconds",
                "Time a write transaction took, from its start to its durable commit",
            )
            .buckets(COMMIT_BUCKETS.to_vec()),
        )?;
        let queue_depth = IntGauge::new(
            "switchboard_write_queue_depth",
            "Writes queued or running, waiting for their commit",
        )?;
        let database_size = IntGauge::new(
            "switchboard_database_size_bytes",
            "The database's size on disk (SQLite: the file and its write-ahead log)",
        )?;
        let cache_hits = IntCounterVec::new(
            Opts::new(
                "switchboard_cache_hits_total",
                "Answers found in a cache: list pages, verified passwords",
            ),
            &["cache"],
        )?;
        let cache_misses = IntCounterVec::new(
            Opts::new(
                "switchboard_cache_misses_total",
                "Answers a cache did not hold: list pages, verified passwords",
            ),
            &["cache"],
        )?;
        let build = IntGaugeVec::new(
            Opts::new(
                "switchboard_build_info",
                "The running build: always 1, with the version as a label",
            ),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(durations.clone()),
            Box::new(auth_failures.clone()),
            Box::new(throttled.clone()),
            Box::new(transactions.clone()),
            Box::new(batch_sizes.clone()),
            Box::new(commit_durations.clone()),
            Box::new(queue_depth.clone()),
            Box::new(database_size.clone()),
            Box::new(cache_hits.clone()),
            Box::new(cache_misses.clone()),
            Box::new(build),
        ] {
            registry.register(collector)?;
        }
        // Every label value known up front is shown from the start, at zero, so that a rate
        // over the first failures is not lost to a series that did not exist yet.
        for kind in ["missing", "malformed", "rejected"] {
            auth_failures.with_label_values(&[kind]);
        }
        for cache in [Cache::Page, Cache::Password] {
            cache_hits.with_label_values(&[cache.label()]);
            cache_misses.with_label_values(&[cache.label()]);
        }
        Ok(Metrics {
            registry,
            requests,
            durations,
            auth_failures,
            throttled,
            transactions,
            batch_sizes,
            commit_durations,
            queue_depth,
            database_size,
            cache_hits,
            cache_misses,
        })
    }

    /// `route` is the route's template (never the raw path, which holds Sids and emails).
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let status = status_label(status);
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.durations
            .with_label_values(&[route, method])
            .observe(took.as_secs_f64());
    }

    pub fn auth_failure(&self, kind: AuthFailure) {
        let kind = match kind {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Rejected => "rejected",
        };
        self.auth_failures.with_label_values(&[kind]).inc();
    }

    pub fn throttled(&self) {
        self.throttled.inc();
    }

    /// One committed transaction of `writes` writes, `took` from its start to its commit.
    pub fn transaction(&self, writes: usize, took: Duration) {
        self.transactions.inc();
        self.batch_sizes.observe(writes as f64);
        self.commit_durations.observe(took.as_secs_f64());
    }

    pub fn cache(&self, cache: Cache, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.with_label_values(&[cache.label()]).inc();
    }

    /// The text exposition, with the gauges read just now.
    pub fn render(&self, queue_depth: usize, database_size: Option<u64>) -> String {
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        if let Some(size) = database_size {
            self.database_size
                .set(i64::try_from(size).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        // Encoding into memory fails only on a metric with no value, which none of ours is.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Status codes as static labels: a fixed set, so no allocation on the request path.
fn status_label(status: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (503, "503"),
    ];
    KNOWN
        .iter()
        .find(|(code, _)| *code == status)
        .map_or("other", |(_, label)| label)
}

/// A method as a label: the ones the API answers, and `OTHER` for the rest, so that a client
/// cannot grow the label set.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_in_the_text_format() {
        let metrics = metrics();
        metrics.request("/restcomm/v1/Events", "GET", 200, Duration::from_millis(2));
        metrics.auth_failure(AuthFailure::Rejected);
        metrics.transaction(3, Duration::from_micros(300));
        metrics.cache(Cache::Page, true);
        let text = metrics.render(7, Some(4096));
        assert!(text.contains(
            "switchboard_http_requests_total{method=\"GET\",route=\"/restcomm/v1/Events\",status=\"200\"}"
        ));
        assert!(text.contains("switchboard_write_queue_depth 7"));
        assert!(text.contains("switchboard_database_size_bytes 4096"));
        assert!(text.contains("switchboard_build_info{version="));
        assert!(text.contains("switchboard_auth_failures_total{kind=\"missing\"}"));
        assert_eq!(status_label(999), "other");
        assert_eq!(method_label("BREW"), "OTHER");
    }
}
