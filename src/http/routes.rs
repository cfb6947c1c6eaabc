//! The route table: everything the server answers, at a glance.

use actix_web::web;

use super::{accounts, console, openapi};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(web::get().to(accounts::health))
            .default_service(accounts::method_not_allowed("GET")),
    )
    .service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi::description))
            .default_service(accounts::method_not_allowed("GET")),
    )
    .service(
        web::resource(["/", "/console"])
            .route(web::get().to(console::to_console))
            .default_service(accounts::method_not_allowed("GET")),
    )
    .service(
        web::resource(["/console/", "/console/{file}"])
            .route(web::get().to(console::asset))
            .default_service(accounts::method_not_allowed("GET")),
    )
    .service(
        web::scope("/restcomm/2012-04-24")
            .service(
                web::resource(["/Accounts", "/Accounts.json"])
                    .route(web::get().to(accounts::list))
                    .route(web::post().to(accounts::create))
                    .default_service(accounts::method_not_allowed("GET, POST")),
            )
            .service(
                web::resource(["/Accounts/{id}", "/Accounts.json/{id}"])
                    .route(web::get().to(accounts::fetch))
                    .route(web::post().to(accounts::update))
                    .route(web::put().to(accounts::update))
                    .default_service(accounts::method_not_allowed("GET, POST, PUT")),
            ),
    )
    .default_service(web::to(accounts::no_route));
}
