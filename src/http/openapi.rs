//! The API's OpenAPI 3 description, kept in the repository and compiled into the binary so the
//! served description is always the one the server was built with.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpResponse;

const DESCRIPTION: &str = include_str!("../../docs/openapi.json");

pub async fn description() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json; charset=utf-8"))
        .body(DESCRIPTION)
}
