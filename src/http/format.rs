//! The wire formats: JSON or XML chosen per request, the account representation, the paging
//! envelope, the error body, and RFC 2822 dates.

use std::fmt::Write as _;
use std::io::Write as _;

use actix_web::http::header::ACCEPT;
use actix_web::HttpRequest;
use serde::Serialize;

use crate::domain::account::{Account, UnixTime};
use crate::domain::keys::ApiKey;
use crate::domain::paging::PageWindow;
use crate::domain::service::{KeyListing, Listing, PageLink};

pub const API_ROOT: &str = "/restcomm";
pub const API_VERSION: &str = "2012-04-24";
/// Twilio's v1 resources (AuthToken rotation), which speak JSON alone.
pub const V1_ROOT: &str = "/restcomm/v1/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// JSON when any path segment ends in `.json` or `Accept` mentions json, and always under
    /// Twilio's JSON-only `/v1`; XML otherwise, as Restcomm does.
    pub fn of(req: &HttpRequest) -> Format {
        let suffix = req.path().starts_with(V1_ROOT)
            || req
                .path()
                .split('/')
                .any(|segment| segment.ends_with(".json"));
        let accept = req
            .headers()
            .get(ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        if suffix || accept {
            Format::Json
        } else {
            Format::Xml
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "application/xml; charset=utf-8",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Format::Json => ".json",
            Format::Xml => "",
        }
    }
}

/// `Tue, 24 Apr 2012 22:51:29 +0000`
pub fn rfc2822(time: UnixTime) -> String {
    let mut out = Vec::with_capacity(31);
    write_rfc2822(&mut out, time);
    String::from_utf8(out).unwrap_or_default()
}

fn write_rfc2822(out: &mut Vec<u8>, time: UnixTime) {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day, hour, minute, second) = time.civil();
    put(out, &[DAYS[time.weekday() as usize], ", "]);
    two_digits(out, day);
    put(out, &[" ", MONTHS[month as usize - 1], " "]);
    match u32::try_from(year) {
        Ok(year) if year <= 9999 => {
            two_digits(out, year / 100);
            two_digits(out, year % 100);
        }
        _ => {
            let _ = write!(out, "{year:04}");
        }
    }
    for (separator, value) in [(" ", hour), (":", minute), (":", second)] {
        put(out, &[separator]);
        two_digits(out, value);
    }
    put(out, &[" +0000"]);
}

fn two_digits(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&[b'0' + (value / 10 % 10) as u8, b'0' + (value % 10) as u8]);
}

/// The account's URI relative to the `/restcomm` root.
pub fn account_uri(sid: &str, format: Format) -> String {
    format!("/{API_VERSION}/Accounts/{sid}{}", format.suffix())
}

/// Restcomm's ten, in order: (XML element, path below the account).
const SUBRESOURCES: [(&str, &str); 10] = [
    ("AvailablePhoneNumbers", "AvailablePhoneNumbers"),
    ("Calls", "Calls"),
    ("Conferences", "Conferences"),
    ("IncomingPhoneNumbers", "IncomingPhoneNumbers"),
    ("Notifications", "Notifications"),
    ("OutgoingCallerIds", "OutgoingCallerIds"),
    ("Recordings", "Recordings"),
    ("Sandbox", "Sandbox"),
    ("SMSMessages", "SMS/Messages"),
    ("Transcriptions", "Transcriptions"),
];

/// JSON keys in Restcomm's order, with the path below the account for each subresource.
const SUBRESOURCE_KEYS: [(&str, &str); 10] = [
    ("available_phone_numbers", "AvailablePhoneNumbers"),
    ("calls", "Calls"),
    ("conferences", "Conferences"),
    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
    ("notifications", "Notifications"),
    ("outgoing_caller_ids", "OutgoingCallerIds"),
    ("recordings", "Recordings"),
    ("sandbox", "Sandbox"),
    ("sms_messages", "SMS/Messages"),
    ("transcriptions", "Transcriptions"),
];

/// About the size of one rendered account, so a body is allocated once rather than regrown.
const ACCOUNT_JSON_BYTES: usize = 1400;

/// Written straight into the body: this runs for every account of every response, where a
/// serde struct of owned strings cost a dozen allocations per account. Only the friendly name
/// and the email address can hold arbitrary text, so only they go through the JSON escaper;
/// everything else is ASCII that needs none.
fn account_json(out: &mut Vec<u8>, account: &Account, token: &str) {
    let sid = account.sid.as_str();
    put(
        out,
        &[
            "{\"sid\":\"",
            sid,
            "\",\"owner_account_sid\":\"",
            account.owner().as_str(),
            "\",\"friendly_name\":",
        ],
    );
    json_string(out, account.friendly_name.as_str());
    put(out, &[",\"email_address\":"]);
    match &account.email {
        Some(email) => json_string(out, email.as_str()),
        None => put(out, &["null"]),
    }
    put(
        out,
        &[
            ",\"type\":\"Full\",\"status\":\"",
            account.status().as_str(),
            "\",\"role\":\"",
            account.role.as_str(),
            "\",\"date_created\":\"",
        ],
    );
    write_rfc2822(out, account.created);
    put(out, &["\",\"date_updated\":\""]);
    write_rfc2822(out, account.updated);
    put(
        out,
        &[
            "\",\"auth_token\":\"",
            token,
            "\",\"uri\":\"/",
            API_VERSION,
            "/Accounts/",
            sid,
            ".json\",\"subresource_uris\":{",
        ],
    );
    for (index, (key, path)) in SUBRESOURCE_KEYS.iter().enumerate() {
        let comma = if index == 0 { "" } else { "," };
        put(
            out,
            &[
                comma,
                "\"",
                key,
                "\":\"/",
                API_VERSION,
                "/Accounts/",
                sid,
                "/",
                path,
                ".json\"",
            ],
        );
    }
    put(out, &["}}"]);
}

/// Plain copies: `write!` through the formatting machinery cost more than the rest of an
/// account's rendering.
fn put(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
}

fn json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn account_xml(out: &mut String, account: &Account, token: &str) {
    let sid = account.sid.as_str();
    let fields: [(&str, &str); 10] = [
        ("Sid", sid),
        ("OwnerAccountSid", account.owner().as_str()),
        ("FriendlyName", account.friendly_name.as_str()),
        (
            "EmailAddress",
            account.email.as_ref().map_or("", |email| email.as_str()),
        ),
        ("Type", "Full"),
        ("Status", account.status().as_str()),
        ("Role", account.role.as_str()),
        ("DateCreated", &rfc2822(account.created)),
        ("DateUpdated", &rfc2822(account.updated)),
        ("AuthToken", token),
    ];
    out.push_str("<Account>");
    for (name, value) in fields {
        element(out, name, value);
    }
    element(out, "Uri", &account_uri(sid, Format::Xml));
    out.push_str("<SubresourceUris>");
    for (name, path) in SUBRESOURCES {
        element(out, name, &format!("/{API_VERSION}/Accounts/{sid}/{path}"));
    }
    out.push_str("</SubresourceUris></Account>");
}

const XML_PROLOGUE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RestcommResponse>";
const XML_EPILOGUE: &str = "</RestcommResponse>";

pub fn account_body(format: Format, account: &Account, token: &str) -> Vec<u8> {
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(ACCOUNT_JSON_BYTES);
            account_json(&mut out, account, token);
            out
        }
        Format::Xml => {
            let mut out = String::from(XML_PROLOGUE);
            account_xml(&mut out, account, token);
            out.push_str(XML_EPILOGUE);
            out.into_bytes()
        }
    }
}

/// The paging part of a listing, shared by every resource that lists.
struct Envelope {
    page: u64,
    page_size: usize,
    start: u64,
    end: i64,
    uri: String,
    first: String,
    previous: Option<String>,
    next: Option<String>,
}

impl Envelope {
    /// `path` is the listed resource below the API version, without a suffix; `filters` the
    /// query parameters that every page URI keeps.
    fn new(
        format: Format,
        path: &str,
        filters: &[(&str, Option<&str>)],
        (window, count): (PageWindow, usize),
        (this, previous, next): (&PageLink, Option<&PageLink>, Option<&PageLink>),
    ) -> Envelope {
        let uri = |link: &PageLink| page_uri(format, path, filters, window.size, link);
        Envelope {
            page: this.page,
            page_size: window.size,
            start: window.start,
            end: window.end(count),
            uri: uri(this),
            first: uri(&PageLink {
                page: 0,
                token: None,
            }),
            previous: previous.map(uri),
            next: next.map(uri),
        }
    }

    /// The keys after the listed items, from `page` to `next_page_uri`.
    fn json_tail(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "],\"page\":{},\"page_size\":{},\"start\":{},\"end\":{},\"uri\":",
            self.page, self.page_size, self.start, self.end
        );
        // Page URIs carry percent-encoded filters: plain ASCII, but escaped all the same.
        json_string(out, &self.uri);
        out.extend_from_slice(b",\"first_page_uri\":");
        json_string(out, &self.first);
        for (key, link) in [
            ("previous_page_uri", &self.previous),
            ("next_page_uri", &self.next),
        ] {
            let _ = write!(out, ",\"{key}\":");
            match link {
                Some(link) => json_string(out, link),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }

    /// The opening tag of the XML list element, with the paging attributes.
    fn xml_open(&self, out: &mut String, element: &str) {
        let attributes = [
            ("page", self.page.to_string()),
            ("pagesize", self.page_size.to_string()),
            ("start", self.start.to_string()),
            ("end", self.end.to_string()),
            ("uri", self.uri.clone()),
            ("firstpageuri", self.first.clone()),
            ("previouspageuri", self.previous.clone().unwrap_or_default()),
            ("nextpageuri", self.next.clone().unwrap_or_default()),
        ];
        out.push('<');
        out.push_str(element);
        for (name, value) in attributes {
            let _ = write!(out, " {name}=\"{}\"", escape_xml(&value));
        }
        out.push('>');
    }
}

/// `token` gives each listed account's AuthToken.
pub fn list_body(format: Format, listing: &Listing, token: impl Fn(&Account) -> String) -> Vec<u8> {
    let filters = &listing.filters;
    let envelope = Envelope::new(
        format,
        "Accounts",
        &[
            (
                "FriendlyName",
                filters.friendly_name.as_ref().map(|f| f.as_str()),
            ),
            ("Status", filters.status.map(|s| s.as_str())),
            ("EmailAddress", filters.email.as_ref().map(|e| e.as_str())),
        ],
        (listing.window, listing.accounts.len()),
        (
            &listing.this,
            listing.previous.as_ref(),
            listing.next.as_ref(),
        ),
    );
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(256 + ACCOUNT_JSON_BYTES * listing.accounts.len());
            out.extend_from_slice(b"{\"accounts\":[");
            for (index, account) in listing.accounts.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                account_json(&mut out, account, &token(account));
            }
            envelope.json_tail(&mut out);
            out
        }
        Format::Xml => {
            let mut out = String::from(XML_PROLOGUE);
            envelope.xml_open(&mut out, "Accounts");
            for account in &listing.accounts {
                account_xml(&mut out, account, &token(account));
            }
            out.push_str("</Accounts>");
            out.push_str(XML_EPILOGUE);
            out.into_bytes()
        }
    }
}

/// A page's URI, keeping the filters and the page size so that following it lists the same
/// thing; pages after the first carry the token that makes them as cheap as the first.
fn page_uri(
    format: Format,
    path: &str,
    filters: &[(&str, Option<&str>)],
    page_size: usize,
    link: &PageLink,
) -> String {
    let mut uri = format!("/{API_VERSION}/{path}{}?", format.suffix());
    for (name, value) in filters {
        if let Some(value) = value {
            let _ = write!(uri, "{name}={}&", percent_encode(value));
        }
    }
    let _ = write!(uri, "PageSize={page_size}&Page={}", link.page);
    if let Some(token) = &link.token {
        let _ = write!(uri, "&PageToken={}", percent_encode(token));
    }
    uri
}

/// A key's URI relative to the `/restcomm` root.
pub fn key_uri(account: &str, key: &str, format: Format) -> String {
    format!(
        "/{API_VERSION}/Accounts/{account}/Keys/{key}{}",
        format.suffix()
    )
}

/// `secret` only in the answer that creates the key.
fn key_json(out: &mut Vec<u8>, key: &ApiKey, secret: Option<&str>) {
    put(
        out,
        &["{\"sid\":\"", key.sid.as_str(), "\",\"friendly_name\":"],
    );
    match &key.friendly_name {
        Some(name) => json_string(out, name.as_str()),
        None => put(out, &["null"]),
    }
    put(out, &[",\"date_created\":\""]);
    write_rfc2822(out, key.created);
    put(out, &["\",\"date_updated\":\""]);
    write_rfc2822(out, key.updated);
    put(out, &["\""]);
    if let Some(secret) = secret {
        put(out, &[",\"secret\":\"", secret, "\""]);
    }
    put(out, &["}"]);
}

fn key_xml(out: &mut String, key: &ApiKey, secret: Option<&str>) {
    out.push_str("<Key>");
    element(out, "Sid", key.sid.as_str());
    element(
        out,
        "FriendlyName",
        key.friendly_name.as_ref().map_or("", |name| name.as_str()),
    );
    element(out, "DateCreated", &rfc2822(key.created));
    element(out, "DateUpdated", &rfc2822(key.updated));
    if let Some(secret) = secret {
        element(out, "Secret", secret);
    }
    out.push_str("</Key>");
}

pub fn key_body(format: Format, key: &ApiKey, secret: Option<&str>) -> Vec<u8> {
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(256);
            key_json(&mut out, key, secret);
            out
        }
        Format::Xml => {
            let mut out = String::from(XML_PROLOGUE);
            key_xml(&mut out, key, secret);
            out.push_str(XML_EPILOGUE);
            out.into_bytes()
        }
    }
}

/// Never a secret: it was shown once, when the key was made, and is not kept.
pub fn key_list_body(format: Format, listing: &KeyListing) -> Vec<u8> {
    let path = format!("Accounts/{}/Keys", listing.account);
    let envelope = Envelope::new(
        format,
        &path,
        &[],
        (listing.window, listing.keys.len()),
        (
            &listing.this,
            listing.previous.as_ref(),
            listing.next.as_ref(),
        ),
    );
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(256 + 200 * listing.keys.len());
            out.extend_from_slice(b"{\"keys\":[");
            for (index, key) in listing.keys.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                key_json(&mut out, key, None);
            }
            envelope.json_tail(&mut out);
            out
        }
        Format::Xml => {
            let mut out = String::from(XML_PROLOGUE);
            envelope.xml_open(&mut out, "Keys");
            for key in &listing.keys {
                key_xml(&mut out, key, None);
            }
            out.push_str("</Keys>");
            out.push_str(XML_EPILOGUE);
            out.into_bytes()
        }
    }
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    code: u32,
    message: &'a str,
    more_info: String,
    status: u16,
}

pub fn more_info(code: u32) -> String {
    format!("https://www.twilio.com/docs/errors/{code}")
}

pub fn error_body(format: Format, code: u32, message: &str, status: u16) -> String {
    match format {
        Format::Json => to_json(&ErrorJson {
            code,
            message,
            more_info: more_info(code),
            status,
        }),
        Format::Xml => {
            let mut out = String::from(XML_PROLOGUE);
            out.push_str("<RestException>");
            element(&mut out, "Code", &code.to_string());
            element(&mut out, "Message", message);
            element(&mut out, "MoreInfo", &more_info(code));
            element(&mut out, "Status", &status.to_string());
            out.push_str("</RestException>");
            out.push_str(XML_EPILOGUE);
            out
        }
    }
}

fn to_json(value: &impl Serialize) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn element(out: &mut String, name: &str, value: &str) {
    if value.is_empty() {
        let _ = write!(out, "<{name}/>");
    } else {
        let _ = write!(out, "<{name}>{}</{name}>", escape_xml(value));
    }
}

/// Markup escaped, and every character that XML 1.0 cannot carry at all (most controls,
/// U+FFFE, U+FFFF) replaced by U+FFFD: whatever a message ends up holding, the answer stays
/// well-formed.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if !is_xml_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0's `Char` production; Rust strings hold no surrogates, so those need no case.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc2822_with_zero_padded_day() {
        assert_eq!(
            rfc2822(UnixTime(1_335_307_889)),
            "Tue, 24 Apr 2012 22:51:29 +0000"
        );
        assert_eq!(rfc2822(UnixTime(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc2822(UnixTime(253_402_300_799)),
            "Fri, 31 Dec 9999 23:59:59 +0000"
        );
        assert_eq!(
            rfc2822(UnixTime(-62_135_596_800)),
            "Mon, 01 Jan 0001 00:00:00 +0000"
        );
    }

    #[test]
    fn xml_escapes_markup() {
        assert_eq!(escape_xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn xml_replaces_what_it_cannot_carry() {
        assert_eq!(
            escape_xml("a\u{1}b\u{FFFE}c\u{FFFF}d\te\u{10FFFF}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\te\u{10FFFF}"
        );
    }

    #[test]
    fn percent_encoding_keeps_unreserved_only() {
        assert_eq!(percent_encode("a b@c/é"), "a%20b%40c%2F%C3%A9");
    }
}
