//! The answers for requests that reach no handler: an unknown path, or a method the resource
//! does not answer.

use actix_web::{web, HttpRequest, HttpResponse, Route};

use super::error::{error_response, Failure};
use super::format::Format;

/// The handler for any other method on a resource that answers only `allow`. Accounts are
/// closed, never deleted, so DELETE is among them.
pub fn method_not_allowed(allow: &'static str) -> Route {
    web::to(move |req: HttpRequest| async move {
        error_response(Format::of(&req), &Failure::MethodNotAllowed { allow })
    })
}

/// As [`method_not_allowed`], for the resources that answer JSON alone.
pub fn method_not_allowed_json(allow: &'static str) -> Route {
    web::to(
        move || async move { error_response(Format::Json, &Failure::MethodNotAllowed { allow }) },
    )
}

pub async fn no_route(req: HttpRequest) -> HttpResponse {
    error_response(Format::of(&req), &Failure::NoRoute)
}
