//! HTTP Basic credentials, read from the `Authorization` header only.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::Engine;

use super::client::client_address;
use super::security::log_safe;
use crate::domain::account::{Account, AccountSid, Email};
use crate::domain::error::DomainError;
use crate::domain::service::AccountService;
use crate::metrics::{metrics, AuthFailure};

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

/// The authenticated caller, or the reason there is none. Failures are logged with the user
/// name as given and the address, never with the secret that was tried.
pub async fn caller(req: &HttpRequest, service: &AccountService) -> Result<Account, DomainError> {
    let from = client_address(req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match presented(req) {
        Presented::Nothing => {
            metrics().auth_failure(AuthFailure::Missing);
            Err(DomainError::Unauthenticated)
        }
        Presented::Malformed => {
            let refused = service.reject_malformed(from).await;
            log_refusal(
                &refused,
                "a malformed Authorization header",
                from,
                AuthFailure::Malformed,
            );
            Err(refused)
        }
        Presented::Basic { user, secret } => {
            let result = service.authenticate(&user, &secret, from).await;
            if let Err(refused) = &result {
                let who = format!("user \"{}\"", loggable_user(&user));
                log_refusal(refused, &who, from, AuthFailure::Rejected);
            }
            result
        }
    }
}

fn log_refusal(refused: &DomainError, who: &str, from: IpAddr, kind: AuthFailure) {
    match refused {
        DomainError::Unauthenticated => {
            metrics().auth_failure(kind);
            log::warn!("failed authentication: {who} from {from}")
        }
        DomainError::Throttled { .. } => {
            metrics().throttled();
            log::warn!("throttled authentication: {who} from {from}")
        }
        _ => {}
    }
}

/// The user name when it is a Sid or an email address; anything else may be a secret typed
/// into the wrong field, so it is not written down.
fn loggable_user(user: &str) -> String {
    if AccountSid::parse(user).is_some() || Email::parse(user).is_ok() {
        log_safe(user, 128)
    } else {
        "(not a Sid or an email address)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sids_and_email_addresses_are_logged_as_user_names() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        assert_eq!(loggable_user(sid), sid);
        assert_eq!(loggable_user("Owner@Example.com"), "Owner@Example.com");
        for secret_like in ["0123456789abcdef0123456789abcdef", "a long password", ""] {
            assert_eq!(
                loggable_user(secret_like),
                "(not a Sid or an email address)"
            );
        }
        assert!(!loggable_user("x@example.com\r\nFORGED").contains('\n'));
    }
}
