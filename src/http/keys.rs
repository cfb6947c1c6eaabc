//! The API key handlers: `/Accounts/{id}/Keys` and `/Accounts/{id}/Keys/{KeySid}`.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth;
use super::error::{error_response, Failure};
use super::events::origin_of;
use super::form::{decode_path_segment, read_form, Fields};
use super::format::{key_body, key_list_body, key_uri, Format, API_ROOT};
use crate::domain::service::{AccountService, KeyListForm};

type Service = web::Data<AccountService>;

pub async fn list(req: HttpRequest, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, list_keys(&req, &service, format).await)
}

pub async fn create(req: HttpRequest, body: web::Payload, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, create_key(&req, body, &service, format).await)
}

pub async fn fetch(req: HttpRequest, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, fetch_key(&req, &service, format).await)
}

pub async fn rename(req: HttpRequest, body: web::Payload, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, rename_key(&req, body, &service, format).await)
}

pub async fn delete(req: HttpRequest, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, delete_key(&req, &service).await)
}

async fn list_keys(
    req: &HttpRequest,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut query = Fields::parse(req.query_string().as_bytes())?;
    let form = KeyListForm {
        page_size: query.take("PageSize"),
        page: query.take("Page"),
        page_token: query.take("PageToken"),
    };
    let listing = service.list_keys(&caller, &segment(req, 4)?, &form).await?;
    Ok(ok(StatusCode::OK, format, key_list_body(format, &listing)))
}

async fn create_key(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut fields = read_form(req, body).await?;
    let made = service
        .create_key(
            &caller,
            &segment(req, 4)?,
            fields.take("FriendlyName"),
            &origin_of(req, &caller),
        )
        .await?;
    let body = key_body(format, &made.key, Some(made.secret.expose()));
    let mut response = ok(StatusCode::CREATED, format, body);
    let uri = key_uri(made.key.account.as_str(), made.key.sid.as_str(), format);
    if let Ok(value) = format!("{API_ROOT}{uri}").parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

async fn fetch_key(
    req: &HttpRequest,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let key = service
        .fetch_key(&caller, &segment(req, 4)?, &segment(req, 6)?)
        .await?;
    Ok(ok(StatusCode::OK, format, key_body(format, &key, None)))
}

async fn rename_key(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut fields = read_form(req, body).await?;
    let key = service
        .rename_key(
            &caller,
            &segment(req, 4)?,
            &segment(req, 6)?,
            fields.take("FriendlyName"),
            &origin_of(req, &caller),
        )
        .await?;
    Ok(ok(StatusCode::OK, format, key_body(format, &key, None)))
}

async fn delete_key(req: &HttpRequest, service: &AccountService) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    service
        .delete_key(
            &caller,
            &segment(req, 4)?,
            &segment(req, 6)?,
            &origin_of(req, &caller),
        )
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish())
}

/// Path segment `index` of `/restcomm/{version}/Accounts/{id}/Keys/{KeySid}` (4 is the
/// account, 6 the key), percent-decoded, without a `.json` suffix.
fn segment(req: &HttpRequest, index: usize) -> Result<String, Failure> {
    let raw = req.path().split('/').nth(index).unwrap_or("");
    decode_path_segment(raw.strip_suffix(".json").unwrap_or(raw))
}

/// A key's answer is never cached: the create answer carries its only copy of the secret.
fn ok(status: StatusCode, format: Format, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, format.content_type()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

fn respond(format: Format, result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|failure| error_response(format, &failure))
}
