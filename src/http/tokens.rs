//! AuthToken rotation, at Twilio's `/v1/AuthTokens` resources: JSON only, acting on the caller.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth;
use super::error::{error_response, Failure};
use super::events::origin_of;
use super::form::read_form;
use super::format::Format;
use crate::domain::event::iso8601;
use crate::domain::service::AccountService;

type Service = web::Data<AccountService>;

#[derive(Serialize)]
struct SecondaryJson<'a> {
    account_sid: &'a str,
    date_created: String,
    date_updated: String,
    secondary_auth_token: &'a str,
    url: &'static str,
}

#[derive(Serialize)]
struct PromotedJson<'a> {
    account_sid: &'a str,
    auth_token: &'a str,
    date_created: String,
    date_updated: String,
    url: &'static str,
}

pub async fn create_secondary(
    req: HttpRequest,
    body: web::Payload,
    service: Service,
) -> HttpResponse {
    respond(create(&req, body, &service).await)
}

pub async fn delete_secondary(req: HttpRequest, service: Service) -> HttpResponse {
    respond(delete(&req, &service).await)
}

pub async fn promote(req: HttpRequest, body: web::Payload, service: Service) -> HttpResponse {
    respond(promote_secondary(&req, body, &service).await)
}

async fn create(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    // `SuppressEmailNotification` is accepted and ignored: there is no email to suppress.
    read_form(req, body).await?;
    let issued = service
        .create_secondary(&caller, &origin_of(req, &caller))
        .await?;
    let created = iso8601(issued.created);
    Ok(json(
        StatusCode::CREATED,
        &SecondaryJson {
            account_sid: issued.account.sid.as_str(),
            date_created: created.clone(),
            date_updated: created,
            secondary_auth_token: &issued.token,
            url: "/v1/AuthTokens/Secondary",
        },
    ))
}

async fn delete(req: &HttpRequest, service: &AccountService) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    service
        .delete_secondary(&caller, &origin_of(req, &caller))
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish())
}

async fn promote_secondary(
    req: &HttpRequest,
    body: web::Payload,
    service: &AccountService,
) -> Result<HttpResponse, Failure> {
    let caller = auth::caller(req, service).await?;
    read_form(req, body).await?;
    let promoted = service
        .promote_secondary(&caller, &origin_of(req, &caller))
        .await?;
    let token = service.token(&promoted.account);
    Ok(json(
        StatusCode::OK,
        &PromotedJson {
            account_sid: promoted.account.sid.as_str(),
            auth_token: &token,
            date_created: iso8601(promoted.created),
            date_updated: iso8601(promoted.account.updated),
            url: "/v1/AuthTokens",
        },
    ))
}

/// Every answer here carries a token, so no cache may keep it.
fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, Format::Json.content_type()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(serde_json::to_vec(body).unwrap_or_default())
}

fn respond(result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|failure| error_response(Format::Json, &failure))
}
