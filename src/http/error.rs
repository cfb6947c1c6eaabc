//! The one place where errors become status codes and error bodies. Causes are logged here;
//! clients get the contract's code and an opaque message.

use actix_web::http::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::form::Malformed;
use super::format::{error_body, Format};
use crate::domain::error::DomainError;
use crate::domain::store::StoreError;

/// Everything a request can fail with: the domain's errors and the HTTP layer's own.
#[derive(Debug)]
pub enum Failure {
    Domain(DomainError),
    /// The body, query or path could not be parsed at all.
    Malformed(Malformed),
    UnsupportedBodyType,
    BodyTooLarge,
    /// The body did not arrive in time.
    BodyTimeout,
    MethodNotAllowed {
        allow: &'static str,
    },
    NoRoute,
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Failure {
        Failure::Domain(error)
    }
}

/// (HTTP status, contract code, message). Messages never carry a cause: that goes to the log.
fn classify(failure: &Failure) -> (StatusCode, u32, String) {
    use DomainError as D;
    let fixed = |status: StatusCode, code: u32, message: &str| (status, code, message.to_owned());
    match failure {
        Failure::Domain(D::Invalid(invalid)) => (
            StatusCode::BAD_REQUEST,
            20001,
            format!("Invalid parameter: {invalid}"),
        ),
        Failure::Domain(D::Unauthenticated) => {
            fixed(StatusCode::UNAUTHORIZED, 20003, "Authentication failed")
        }
        Failure::Domain(D::Throttled { .. }) => fixed(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too many failed authentication attempts",
        ),
        Failure::Domain(D::CallerNotActive) => {
            fixed(StatusCode::FORBIDDEN, 20005, "The account is not active")
        }
        Failure::Domain(D::Forbidden) => fixed(
            StatusCode::FORBIDDEN,
            20403,
            "The account may not perform this action",
        ),
        Failure::Domain(D::NotFound) | Failure::NoRoute => fixed(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        ),
        Failure::Domain(D::EmailTaken) | Failure::Domain(D::Store(StoreError::Duplicate)) => fixed(
            StatusCode::CONFLICT,
            20409,
            "The email address is already in use",
        ),
        Failure::Domain(D::DepthLimit) => fixed(
            StatusCode::BAD_REQUEST,
            21101,
            "This account may not have sub-accounts",
        ),
        Failure::Domain(D::AncestorSuspended) => fixed(
            StatusCode::BAD_REQUEST,
            21476,
            "The account cannot be activated: an ancestor is suspended",
        ),
        Failure::Domain(D::Closed) => {
            fixed(StatusCode::BAD_REQUEST, 21479, "The account is closed")
        }
        Failure::Domain(D::Store(StoreError::Busy)) => fixed(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "The service is busy; try again later",
        ),
        Failure::Domain(D::Store(StoreError::Full)) => fixed(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "The service is out of storage; try again later",
        ),
        Failure::Domain(D::Store(StoreError::Failed(_)) | D::Internal(_)) => {
            fixed(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal error")
        }
        Failure::Malformed(malformed) => {
            (StatusCode::BAD_REQUEST, 20001, malformed_message(malformed))
        }
        Failure::UnsupportedBodyType => fixed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            20415,
            "Unsupported body type: send application/x-www-form-urlencoded",
        ),
        Failure::BodyTooLarge => fixed(
            StatusCode::PAYLOAD_TOO_LARGE,
            20413,
            "The request body is too large",
        ),
        // The contract has no code for a slow client; this follows its 20000 + status pattern.
        Failure::BodyTimeout => fixed(
            StatusCode::REQUEST_TIMEOUT,
            20408,
            "The request body did not arrive in time",
        ),
        Failure::MethodNotAllowed { .. } => {
            fixed(StatusCode::METHOD_NOT_ALLOWED, 20405, "Method not allowed")
        }
    }
}

fn malformed_message(malformed: &Malformed) -> String {
    let reason = match malformed {
        Malformed::Repeated(Some(name)) => {
            return format!(
                "Invalid request: the parameter {} is given more than once",
                name.as_str()
            )
        }
        Malformed::Repeated(None) => "a parameter is given more than once",
        Malformed::BadEscape => "the request holds malformed percent-encoding",
        Malformed::NotUtf8 => "the request is not valid UTF-8",
        Malformed::Unreadable => "the request body could not be read",
    };
    format!("Invalid request: {reason}")
}

pub fn error_response(format: Format, failure: &Failure) -> HttpResponse {
    let (status, code, message) = classify(failure);
    match failure {
        Failure::Domain(
            DomainError::Store(StoreError::Failed(cause)) | DomainError::Internal(cause),
        ) => {
            log::error!("internal error: {cause}")
        }
        Failure::Domain(DomainError::Store(cause)) => log::warn!("storage unavailable: {cause}"),
        _ => {}
    }
    let mut response = HttpResponse::build(status);
    response
        .insert_header((CONTENT_TYPE, format.content_type()))
        .insert_header((CACHE_CONTROL, "no-store"));
    match failure {
        Failure::Domain(DomainError::Unauthenticated) => {
            response.insert_header((
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Switchboard\""),
            ));
        }
        Failure::Domain(DomainError::Throttled { retry_after_secs }) => {
            response.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
        }
        Failure::Domain(DomainError::Store(StoreError::Busy | StoreError::Full)) => {
            response.insert_header((RETRY_AFTER, "1"));
        }
        Failure::MethodNotAllowed { allow } => {
            response.insert_header((ALLOW, *allow));
        }
        _ => {}
    }
    response.body(error_body(format, code, &message, status.as_u16()))
}
