//! The benchmark's yardstick: a minimal actix-web server that answers the fetch and the list
//! routes with bytes captured from Switchboard itself, with no authentication and no database.
//! Whatever Switchboard costs beyond this is the price of its own work.
//!
//! Usage: baseline ADDR:PORT FETCH_BODY_FILE LIST_BODY_FILE

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};

fn answer(body: &Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body.clone())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, fetch_file, list_file] = args.as_slice() else {
        eprintln!("usage: baseline ADDR:PORT FETCH_BODY_FILE LIST_BODY_FILE");
        std::process::exit(2);
    };
    let fetch = Bytes::from(std::fs::read(fetch_file)?);
    let list = Bytes::from(std::fs::read(list_file)?);
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            let (fetch, list) = (fetch.clone(), list.clone());
            App::new()
                .route(
                    "/restcomm/2012-04-24/Accounts.json",
                    web::get().to(move || {
                        let list = list.clone();
                        async move { answer(&list) }
                    }),
                )
                .route(
                    "/restcomm/2012-04-24/Accounts/{id}",
                    web::get().to(move || {
                        let fetch = fetch.clone();
                        async move { answer(&fetch) }
                    }),
                )
        })
        .workers(1)
        .bind(listen.as_str())?
        .run(),
    )
}
