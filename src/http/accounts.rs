//! The account handlers: each authenticates, parses, asks the domain, and renders.

use actix_web::body::MessageBody;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth;
use super::error::{error_response, Failure};
use super::events::origin_of;
use super::form::{decode_path_segment, read_form, Fields};
use super::format::{account_body, account_uri, list_body, Format, API_ROOT};
use super::page_cache::PageCache;
use crate::domain::account::Account;
use crate::domain::service::{AccountService, CreateForm, ListForm, UpdateForm};
use crate::metrics::{metrics, Cache};

type Service = web::Data<AccountService>;

pub async fn fetch(req: HttpRequest, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, fetch_account(&req, &service, format).await)
}

pub async fn update(req: HttpRequest, body: web::Payload, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, update_account(&req, body, &service, format).await)
}

pub async fn create(req: HttpRequest, body: web::Payload, service: Service) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, create_account(&req, body, &service, format).await)
}

pub async fn list(req: HttpRequest, service: Service, pages: web::Data<PageCache>) -> HttpResponse {
    let format = Format::of(&req);
    respond(format, list_accounts(&req, &service, &pages, format).await)
}

async fn fetch_account(
    req: &HttpRequest,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let account = service.fetch(&caller, &target_id(req)?).await?;
    Ok(account_response(StatusCode::OK, format, service, &account))
}

async fn update_account(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut fields = read_form(req, body).await?;
    let form = UpdateForm {
        friendly_name: fields.take("FriendlyName"),
        password: fields.take("Password"),
        status: fields.take("Status"),
        role: fields.take("Role"),
        email: fields.take("EmailAddress"),
    };
    let origin = origin_of(req, &caller);
    let account = service
        .update(&caller, &target_id(req)?, form, &origin)
        .await?;
    Ok(account_response(StatusCode::OK, format, service, &account))
}

async fn create_account(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let mut fields = read_form(req, body).await?;
    let form = CreateForm {
        friendly_name: fields.take("FriendlyName"),
        email: fields.take("EmailAddress"),
        password: fields.take("Password"),
        role: fields.take("Role"),
        status: fields.take("Status"),
    };
    let account = service
        .create(&caller, form, &origin_of(req, &caller))
        .await?;
    let mut response = account_response(StatusCode::CREATED, format, service, &account);
    let location = format!("{API_ROOT}{}", account_uri(account.sid.as_str(), format));
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

async fn list_accounts(
    req: &HttpRequest,
    service: &AccountService,
    pages: &PageCache,
    format: Format,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    let version = service.listing_version(&caller).await?;
    let key = PageCache::key(caller.sid.as_str(), format, req.query_string());
    let cached = pages.get(&key, &version);
    metrics().cache(Cache::Page, cached.is_some());
    if let Some(body) = cached {
        return Ok(ok_with_secrets(StatusCode::OK, format, body));
    }
    let mut query = Fields::parse(req.query_string().as_bytes())?;
    let form = ListForm {
        friendly_name: query.take("FriendlyName"),
        status: query.take("Status"),
        email: query.take("EmailAddress"),
        page_size: query.take("PageSize"),
        page: query.take("Page"),
        page_token: query.take("PageToken"),
    };
    let listing = service.list(&caller, &form).await?;
    let body = Bytes::from(list_body(format, &listing, |account| {
        service.token(account)
    }));
    pages.put(key, version, body.clone());
    Ok(ok_with_secrets(StatusCode::OK, format, body))
}

/// The `{Sid or EmailAddress}` segment, percent-decoded, without a `.json` suffix.
fn target_id(req: &HttpRequest) -> Result<String, Failure> {
    let segment = req.path().rsplit('/').next().unwrap_or("");
    let segment = segment.strip_suffix(".json").unwrap_or(segment);
    decode_path_segment(segment)
}

fn account_response(
    status: StatusCode,
    format: Format,
    service: &AccountService,
    account: &Account,
) -> HttpResponse {
    let body = account_body(format, account, &service.token(account));
    ok_with_secrets(status, format, body)
}

/// Every account carries its AuthToken, so no cache may keep it.
fn ok_with_secrets(
    status: StatusCode,
    format: Format,
    body: impl MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, format.content_type()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

fn respond(format: Format, result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|failure| error_response(format, &failure))
}
