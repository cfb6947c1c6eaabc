//! HTTP Basic credentials, read from the `Authorization` header only.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::Engine;

use crate::domain::account::Account;
use crate::domain::error::DomainError;
use crate::domain::service::AccountService;

enum Presented {
    Nothing,
    Malformed,
    Basic { user: String, secret: String },
}

fn presented(req: &HttpRequest) -> Presented {
    let mut headers = req.headers().get_all(AUTHORIZATION);
    let Some(header) = headers.next() else {
        return Presented::Nothing;
    };
    if headers.next().is_some() {
        return Presented::Malformed;
    }
    let Some((scheme, encoded)) = header
        .to_str()
        .ok()
        .and_then(|value| value.trim().split_once(' '))
    else {
        return Presented::Malformed;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Presented::Malformed;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok();
    let text = decoded.and_then(|bytes| String::from_utf8(bytes).ok());
    match text.as_deref().and_then(|text| text.split_once(':')) {
        Some((user, secret)) => Presented::Basic {
            user: user.to_owned(),
            secret: secret.to_owned(),
        },
        None => Presented::Malformed,
    }
}

/// The authenticated caller, or the reason there is none.
pub async fn caller(req: &HttpRequest, service: &AccountService) -> Result<Account, DomainError> {
    let from = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
    match presented(req) {
        Presented::Nothing => Err(DomainError::Unauthenticated),
        Presented::Malformed => Err(service.reject_malformed(from)),
        Presented::Basic { user, secret } => service.authenticate(&user, &secret, from).await,
    }
}
