//! The route table: everything the server answers, at a glance.

use actix_web::{guard, web, Resource, Route};

use super::fallback::{method_not_allowed, method_not_allowed_json, no_route};
use super::{accounts, console, events, health, keys, openapi, tokens};

/// The API versions served. Twilio's own (`2010-04-01`) is an alias of Restcomm's, so that a
/// Twilio helper library works by changing its base URL alone.
const API_VERSIONS: [&str; 2] = ["/restcomm/2012-04-24", "/restcomm/2010-04-01"];

/// The router tries routes in this order: the API comes first, since nearly every request is
/// one of its calls.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for version in API_VERSIONS {
        cfg.service(accounts_api(version));
    }
    cfg.service(
        web::resource("/restcomm/v1/AuthTokens/Secondary")
            .route(web::post().to(tokens::create_secondary))
            .route(web::delete().to(tokens::delete_secondary))
            .default_service(method_not_allowed("POST, DELETE")),
    )
    .service(
        web::resource("/restcomm/v1/AuthTokens/Promote")
            .route(web::post().to(tokens::promote))
            .default_service(method_not_allowed("POST")),
    );
    cfg.service(monitor_api());
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
    .service(each(&["/", "/console"], |path| {
        web::resource(path)
            .route(readable().to(console::to_console))
            .default_service(method_not_allowed("GET, HEAD"))
    }))
    .service(each(&["/console/", "/console/{file}"], |path| {
        web::resource(path)
            .route(readable().to(console::asset))
            .default_service(method_not_allowed("GET, HEAD"))
    }));
    cfg.default_service(web::to(no_route));
}

fn accounts_api(version: &str) -> actix_web::Scope {
    web::scope(version)
        .service(each(&["/Accounts/{id}", "/Accounts.json/{id}"], |path| {
            web::resource(path)
                .route(readable().to(accounts::fetch))
                .route(web::post().to(accounts::update))
                .route(web::put().to(accounts::update))
                .default_service(method_not_allowed("GET, HEAD, POST, PUT"))
        }))
        .service(each(&["/Accounts", "/Accounts.json"], |path| {
            web::resource(path)
                .route(readable().to(accounts::list))
                .route(web::post().to(accounts::create))
                .default_service(method_not_allowed("GET, HEAD, POST"))
        }))
        .service(each(&keyed(&["/Keys", "/Keys.json"]), |path| {
            web::resource(path)
                .route(readable().to(keys::list))
                .route(web::post().to(keys::create))
                .default_service(method_not_allowed("GET, HEAD, POST"))
        }))
        .service(each(&keyed(&["/Keys/{key}"]), |path| {
            web::resource(path)
                .route(readable().to(keys::fetch))
                .route(web::post().to(keys::rename))
                .route(web::delete().to(keys::delete))
                .default_service(method_not_allowed("GET, HEAD, POST, DELETE"))
        }))
}

/// Below an account, reached as `/Accounts/{id}` or `/Accounts.json/{id}`.
fn keyed(tails: &[&str]) -> Vec<String> {
    ["/Accounts/{id}", "/Accounts.json/{id}"]
        .iter()
        .flat_map(|account| tails.iter().map(move |tail| format!("{account}{tail}")))
        .collect()
}

/// The same resource at each path, one resource per path: actix-web matches a resource of
/// several paths with a regular-expression set, and one of a single path by comparing
/// strings (or, where it captures a segment, one expression). Routing had taken 8% of a fetch.
fn each<P: AsRef<str>>(paths: &[P], resource: impl Fn(&str) -> Resource) -> Vec<Resource> {
    paths.iter().map(|path| resource(path.as_ref())).collect()
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
