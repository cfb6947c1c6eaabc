//! Twilio's Monitor Events resource, `/restcomm/v1/Events`: JSON only, as Twilio's v1 APIs
//! are, with the `meta` envelope and absolute URLs that Twilio's helper libraries follow.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::auth;
use super::client::client_address;
use super::error::{error_response, Failure};
use super::form::{decode_path_segment, Fields};
use super::format::{Format, API_ROOT};
use crate::domain::account::Account;
use crate::domain::event::{iso8601, Actor, Event, Origin, Source};
use crate::domain::service::{AccountService, EventForm, EventListing};

type Service = web::Data<AccountService>;

pub const EVENTS_PATH: &str = "/v1/Events";

/// The header the console's script sends, so that its changes are recorded as the console's.
pub const SOURCE_HEADER: &str = "x-switchboard-source";

pub async fn list(req: HttpRequest, service: Service) -> HttpResponse {
    respond(list_events(&req, &service).await)
}

pub async fn fetch(req: HttpRequest, service: Service) -> HttpResponse {
    respond(fetch_event(&req, &service).await)
}

async fn list_events(req: &HttpRequest, service: &AccountService) -> Result<Value, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut query = Fields::parse(req.query_string().as_bytes())?;
    let form = EventForm {
        actor_sid: query.take("ActorSid"),
        event_type: query.take("EventType"),
        resource_sid: query.take("ResourceSid"),
        source_ip_address: query.take("SourceIpAddress"),
        start_date: query.take("StartDate"),
        end_date: query.take("EndDate"),
        page_size: query.take("PageSize"),
        page: query.take("Page"),
        page_token: query.take("PageToken"),
    };
    let listing = service.list_events(&caller, &form).await?;
    let base = base_url(req);
    Ok(list_json(&base, &form, &listing))
}

async fn fetch_event(req: &HttpRequest, service: &AccountService) -> Result<Value, Failure> {
    let caller = auth::caller(req, service).await?;
    let segment = req.match_info().get("sid").unwrap_or("");
    let sid = decode_path_segment(segment.strip_suffix(".json").unwrap_or(segment))?;
    let event = service.fetch_event(&caller, &sid).await?;
    Ok(event_json(&base_url(req), &event))
}

/// `http://HOST/restcomm`, the host as the client named it. A Host that is not a plain
/// host name or address (with a port) is not echoed: the listener's own address stands in.
fn base_url(req: &HttpRequest) -> String {
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let named = req
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| is_plain_host(host));
    let host = match named {
        Some(host) => host.to_owned(),
        None => req.app_config().local_addr().to_string(),
    };
    format!("{scheme}://{host}{API_ROOT}")
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

pub fn event_json(base: &str, event: &Event) -> Value {
    json!({
        "account_sid": event.account.as_str(),
        "actor_sid": event.actor.sid(),
        "actor_type": event.actor.kind(),
        "description": event.event_type.description(),
        "event_data": Value::Object(event.data.clone()),
        "event_date": iso8601(event.date),
        "event_type": event.event_type.as_str(),
        "resource_sid": event.resource_sid.as_str(),
        "resource_type": event.resource_type.as_str(),
        "sid": event.sid.as_str(),
        "source": event.source.as_str(),
        "source_ip_address": event.address.map(|address| address.to_string()),
        "url": format!("{base}{EVENTS_PATH}/{}", event.sid.as_str()),
        "links": Map::new(),
    })
}

fn list_json(base: &str, form: &EventForm, listing: &EventListing) -> Value {
    let url = |page: u64, token: Option<&str>| page_url(base, form, listing.page_size, page, token);
    let events: Vec<Value> = listing
        .events
        .iter()
        .map(|event| event_json(base, event))
        .collect();
    let this_token = form.page_token.as_deref().filter(|_| listing.page > 0);
    json!({
        "events": events,
        "meta": {
            "page": listing.page,
            "page_size": listing.page_size,
            "first_page_url": url(0, None),
            "previous_page_url": listing.previous.as_ref().map(|token| {
                url(listing.page - 1, token.as_deref())
            }),
            "next_page_url": listing.next.as_deref().map(|token| url(listing.page + 1, Some(token))),
            "url": url(listing.page, this_token),
            "key": "events",
        }
    })
}

/// A page's URL: the filters as given, the page size, and the page's token.
fn page_url(base: &str, form: &EventForm, size: usize, page: u64, token: Option<&str>) -> String {
    let mut query = url_encoded(&[
        ("ActorSid", form.actor_sid.as_deref()),
        ("EventType", form.event_type.as_deref()),
        ("ResourceSid", form.resource_sid.as_deref()),
        ("SourceIpAddress", form.source_ip_address.as_deref()),
        ("StartDate", form.start_date.as_deref()),
        ("EndDate", form.end_date.as_deref()),
    ]);
    query.push_str(&format!("PageSize={size}&Page={page}"));
    if let Some(token) = token {
        query.push_str(&format!("&PageToken={token}"));
    }
    format!("{base}{EVENTS_PATH}?{query}")
}

fn url_encoded(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(value) = value {
            out.push_str(key);
            out.push('=');
            for byte in value.bytes() {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            out.push('&');
        }
    }
    out
}

/// Who made a change through this request, through which door, from which address.
pub fn origin_of(req: &HttpRequest, caller: &Account) -> Origin {
    let console = req
        .headers()
        .get(SOURCE_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("console"));
    Origin {
        actor: Actor::Account(caller.sid.clone()),
        source: if console {
            Source::Console
        } else {
            Source::Api
        },
        address: client_address(req),
    }
}

fn respond(result: Result<Value, Failure>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, Format::Json.content_type()))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(body.to_string()),
        Err(failure) => error_response(Format::Json, &failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_anything_but_name_characters_are_not_echoed() {
        assert!(is_plain_host("127.0.0.1:8080"));
        assert!(is_plain_host("[::1]:8080"));
        assert!(is_plain_host("switchboard.example.com"));
        for bad in ["", "a b", "evil.com/path", "x\"y", "h@st"] {
            assert!(!is_plain_host(bad), "{bad}");
        }
    }

    #[test]
    fn filters_are_percent_encoded_in_page_urls() {
        let form = EventForm {
            start_date: Some("2024-01-01T00:00:00+02:00".into()),
            ..EventForm::default()
        };
        let url = page_url("http://h/restcomm", &form, 10, 1, Some("PA1_2_3"));
        assert_eq!(
            url,
            "http://h/restcomm/v1/Events?StartDate=2024-01-01T00%3A00%3A00%2B02%3A00&PageSize=10&Page=1&PageToken=PA1_2_3"
        );
    }
}
