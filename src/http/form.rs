//! Strict `application/x-www-form-urlencoded` parsing for bodies and query strings: a key given
//! twice, malformed percent-encoding and invalid UTF-8 are refused instead of guessed at.

use std::collections::HashMap;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{web, HttpRequest};

use super::error::Failure;
use super::security::BODY_TIMEOUT;

/// Bodies above this are refused with 413.
pub const MAX_BODY: usize = 16 * 1024;

pub struct Fields(HashMap<String, String>);

/// Why a body, query or path segment could not be read as a form. None of these carries the
/// client's bytes, except a repeated key that is a plain parameter name.
#[derive(Debug)]
pub enum Malformed {
    Repeated(Option<ParameterName>),
    BadEscape,
    NotUtf8,
    Unreadable,
}

/// A key fit to be quoted back in any answer: ASCII letters, digits and underscores, as every
/// parameter this API knows is spelled. Other keys are the client's raw bytes, which an XML
/// answer might not even be able to carry, so they are never quoted.
#[derive(Debug)]
pub struct ParameterName(String);

impl ParameterName {
    const MAX_LEN: usize = 64;

    pub fn parse(key: &str) -> Option<ParameterName> {
        let plain = (1..=Self::MAX_LEN).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        plain.then(|| ParameterName(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Fields {
    pub fn parse(encoded: &[u8]) -> Result<Fields, Failure> {
        let mut fields = HashMap::new();
        for pair in encoded
            .split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            let key = decode(key)?;
            let value = decode(value)?;
            if fields.contains_key(&key) {
                let name = ParameterName::parse(&key);
                return Err(Failure::Malformed(Malformed::Repeated(name)));
            }
            fields.insert(key, value);
        }
        Ok(Fields(fields))
    }

    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }
}

fn decode(encoded: &[u8]) -> Result<String, Failure> {
    let malformed = || Failure::Malformed(Malformed::BadEscape);
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.iter();
    while let Some(&byte) = rest.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = rest
                    .next()
                    .and_then(|b| (*b as char).to_digit(16))
                    .ok_or_else(malformed)?;
                let low = rest
                    .next()
                    .and_then(|b| (*b as char).to_digit(16))
                    .ok_or_else(malformed)?;
                bytes.push((high * 16 + low) as u8);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| Failure::Malformed(Malformed::NotUtf8))
}

/// Percent-decodes one path segment (where `+` is a plus, not a space).
pub fn decode_path_segment(segment: &str) -> Result<String, Failure> {
    decode(segment.replace('+', "%2B").as_bytes())
}

/// Reads a form body after the caller was authenticated: refuses other body types (415) and
/// bodies over 16 KiB (413), the latter before reading when the length is declared, and bodies
/// that do not arrive within [`BODY_TIMEOUT`] (408).
pub async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<Fields, Failure> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(Failure::BodyTooLarge);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("?"));
    if let Some(content_type) = content_type {
        if !is_form(content_type) {
            return Err(Failure::UnsupportedBodyType);
        }
    }
    // A client that trickles its body would otherwise hold a worker's attention forever.
    let body = actix_web::rt::time::timeout(BODY_TIMEOUT, payload.to_bytes_limited(MAX_BODY))
        .await
        .map_err(|_| Failure::BodyTimeout)?
        .map_err(|_| Failure::BodyTooLarge)?
        .map_err(|_| Failure::Malformed(Malformed::Unreadable))?;
    if content_type.is_none() && !body.is_empty() {
        return Err(Failure::UnsupportedBodyType);
    }
    Fields::parse(&body)
}

fn is_form(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Fields, Failure> {
        Fields::parse(text.as_bytes())
    }

    #[test]
    fn decodes_plus_and_percent() {
        let mut fields = parse("FriendlyName=A+b%20c%2B&EmailAddress=x%40y.z&&Flag").unwrap();
        assert_eq!(fields.take("FriendlyName").unwrap(), "A b c+");
        assert_eq!(fields.take("EmailAddress").unwrap(), "x@y.z");
        assert_eq!(fields.take("Flag").unwrap(), "");
    }

    #[test]
    fn refuses_duplicates_bad_escapes_and_bad_utf8() {
        assert!(parse("A=1&A=2").is_err());
        assert!(parse("A=%zz").is_err());
        assert!(parse("A=%4").is_err());
        assert!(parse("A=%ff%fe").is_err());
        assert!(Fields::parse(b"A=\xff").is_err());
    }

    #[test]
    fn only_plain_keys_are_named_when_repeated() {
        let named = |text: &[u8]| match Fields::parse(text) {
            Err(Failure::Malformed(Malformed::Repeated(name))) => {
                name.map(|name| name.as_str().to_owned())
            }
            _ => panic!("not refused as repeated"),
        };
        assert_eq!(
            named(b"Friendly_Name2=a&Friendly_Name2=b").unwrap(),
            "Friendly_Name2"
        );
        for hostile in [
            &b"\x01=a&\x01=b"[..],
            b"%01=a&%01=b",
            b"%EF%BF%BE=a&%EF%BF%BE=b",
            b"a%3Cb=1&a%3Cb=2",
            b"%C3%A9=1&%C3%A9=2",
        ] {
            assert_eq!(named(hostile), None, "{hostile:?}");
        }
        assert_eq!(
            named(format!("{0}=1&{0}=2", "k".repeat(65)).as_bytes()),
            None
        );
    }

    #[test]
    fn path_segments_keep_plus() {
        assert_eq!(decode_path_segment("a+b%40c.d").unwrap(), "a+b@c.d");
    }

    #[test]
    fn form_content_type_allows_parameters() {
        assert!(is_form("application/x-www-form-urlencoded; charset=UTF-8"));
        assert!(!is_form("application/json"));
    }
}
