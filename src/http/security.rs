//! What every response and every request gets, whatever route it takes: protective headers and
//! one access-log line that can hold no secret.

use std::fmt::Write;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::Error;

use super::client::client_address;
use crate::logging;

/// How long a client may take to send the request head; actix answers 408 and closes after it.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send a body once the handler waits for it.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closing connection may linger before it is dropped.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Headers added where a handler did not set its own. Every API answer may carry an AuthToken,
/// so nothing may cache any of them; `nosniff` keeps browsers from reinterpreting a body.
/// No CORS headers are ever sent, so no other origin can read an answer with credentials.
pub fn default_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((CACHE_CONTROL, "no-store"))
}

/// One line per request: the client's address (behind a trusted proxy, the one it forwarded
/// for), method, path (never the query, which a careless client may
/// fill with credentials), status and duration. Headers and bodies are never logged.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // With the access log filtered out, the line's parts need not be built at all.
    if !log::log_enabled!(target: logging::ACCESS, log::Level::Info) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let mut line = String::with_capacity(128);
    match client_address(req.request()) {
        Some(ip) => {
            let _ = write!(line, "{ip}");
        }
        None => line.push('-'),
    }
    line.push_str(" \"");
    push_log_safe(&mut line, req.method().as_str(), 16);
    line.push(' ');
    push_log_safe(&mut line, req.path(), 256);
    let response = next.call(req).await?;
    let _ = write!(
        line,
        "\" {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    logging::access(&line);
    Ok(response)
}

/// Makes a client-supplied value safe for a one-line log: control characters (CR and LF among
/// them), quotes and backslashes are escaped, and overlong values are cut at `max` characters.
pub fn log_safe(value: &str, max: usize) -> String {
    let mut escaped = String::with_capacity(value.len().min(max));
    push_log_safe(&mut escaped, value, max);
    escaped
}

/// [`log_safe`], onto the end of `out`.
fn push_log_safe(out: &mut String, value: &str, max: usize) {
    // Nearly every value (a path, a method) is short plain ASCII: one scan and one copy.
    let plain = |b: &u8| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\') || *b == b' ';
    if value.len() <= max && value.as_bytes().iter().all(plain) {
        out.push_str(value);
        return;
    }
    for (count, c) in value.chars().enumerate() {
        if count == max {
            out.push_str("...");
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_safe_keeps_a_value_on_one_line() {
        assert_eq!(log_safe("a\r\nb", 64), "a\\r\\nb");
        assert_eq!(
            log_safe("x\"y\\z\u{0}\u{7f}", 64),
            "x\\\"y\\\\z\\u{0}\\u{7f}"
        );
        assert_eq!(log_safe("héllo", 64), "héllo");
    }

    #[test]
    fn log_safe_cuts_long_values() {
        assert_eq!(log_safe("abcdef", 3), "abc...");
        assert_eq!(log_safe("abc", 3), "abc");
    }
}
