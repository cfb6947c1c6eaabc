//! The route table: everything the server answers, at a glance.

use actix_web::{guard, web, Route};

use super::fallback::{method_not_allowed, method_not_allowed_json, no_route};
use super::{accounts, console, events, health, openapi};

/// The API versions served. Twilio's own (`2010-04-01`) is an alias of Restcomm's, so that a
/// Twilio helper library works by changing its base URL alone.
const API_VERSIONS: [&str; 2] = ["/restcomm/2012-04-24", "/restcomm/2010-04-01"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(readable().to(health::health))
            .default_service(method_not_allowed("GET, HEAD")),
    )
    .service(
        web::resource("/openapi.json")
            .route(readable().to(openapi::description))
            .default_service(method_not_allowed("GET, HEAD")),
    )
    .service(
        web::resource(["/", "/console"])
            .route(readable().to(console::to_console))
            .default_service(method_not_allowed("GET, HEAD")),
    )
    .service(
        web::resource(["/console/", "/console/{file}"])
            .route(readable().to(console::asset))
            .default_service(method_not_allowed("GET, HEAD")),
    );
    for version in API_VERSIONS {
        cfg.service(accounts_api(version));
    }
    cfg.service(monitor_api());
    cfg.default_service(web::to(no_route));
}

fn accounts_api(version: &str) -> actix_web::Scope {
    web::scope(version)
        .service(
            web::resource(["/Accounts", "/Accounts.json"])
                .route(readable().to(accounts::list))
                .route(web::post().to(accounts::create))
                .default_service(method_not_allowed("GET, HEAD, POST")),
        )
        .service(
            web::resource(["/Accounts/{id}", "/Accounts.json/{id}"])
                .route(readable().to(accounts::fetch))
                .route(web::post().to(accounts::update))
                .route(web::put().to(accounts::update))
                .default_service(method_not_allowed("GET, HEAD, POST, PUT")),
        )
}

/// Twilio's Monitor API (`client.monitor.base_url` pointed at `/restcomm`): the audit events.
fn monitor_api() -> actix_web::Scope {
    web::scope("/restcomm/v1")
        .service(
            web::resource("/Events")
                .route(readable().to(events::list))
                .default_service(method_not_allowed_json("GET, HEAD")),
        )
        .service(
            web::resource("/Events/{sid}")
                .route(readable().to(events::fetch))
                .default_service(method_not_allowed_json("GET, HEAD")),
        )
}

/// GET, and HEAD with the very same answer: actix-web sends a HEAD answer's headers, the
/// Content-Length of the body included, and drops the body itself.
fn readable() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
