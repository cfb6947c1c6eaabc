//! What every response and every request gets, whatever route it takes: protective headers and
//! one access-log line that can hold no secret.

use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use actix_web::middleware::DefaultHeaders;
use actix_web::HttpRequest;

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

/// Logs an answer's access line: the client's address (behind a trusted proxy, the one it
/// forwarded for), method, path (never the query, which a careless client may fill with
/// credentials), status and how long it took. Headers and bodies are never logged. Built
/// without `format!`: its machinery was a fifth of what the line cost.
pub fn log_access(request: &HttpRequest, status: u16, took: Duration) {
    logging::access(|line| {
        match client_address(request) {
            Some(ip) => push_address(line, ip),
            None => line.push('-'),
        }
        line.push_str(" \"");
        push_log_safe(line, request.method().as_str(), 16);
        line.push(' ');
        push_log_safe(line, request.path(), 256);
        line.push_str("\" ");
        push_decimal(line, u64::from(status));
        line.push(' ');
        push_decimal(line, u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        line.push_str("ms");
    });
}

fn push_address(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("?"));
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
    fn numbers_and_addresses_read_as_display_writes_them() {
        for n in [0, 7, 10, 200, 404, 65535, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for text in ["0.0.0.0", "127.0.0.1", "10.20.30.255", "::1", "2001:db8::7"] {
            let mut out = String::new();
            push_address(&mut out, text.parse().unwrap());
            assert_eq!(out, text);
        }
    }

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
