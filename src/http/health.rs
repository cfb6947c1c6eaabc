//! `GET /health`: answers without authentication once the database does.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpResponse};

use super::error::{error_response, Failure};
use super::format::Format;
use crate::domain::service::AccountService;

pub async fn health(service: web::Data<AccountService>) -> HttpResponse {
    match service.health().await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, Format::Json.content_type()))
            .body("{\"status\":\"ok\"}"),
        Err(error) => error_response(Format::Json, &Failure::Domain(error)),
    }
}
