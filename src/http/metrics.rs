//! The request counters, and `/metrics` on a listener of its own: never on the API's, so that
//! a scrape target need not be exposed where clients reach the API.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::domain::store::Store;
use crate::metrics::{method_label, metrics};

/// Counts an answer by the template of the route that answered (a request that matched no
/// route counts under `unmatched`), its method and status, and times it.
pub fn count(request: &HttpRequest, status: u16, took: Duration) {
    let route = request.match_pattern();
    metrics().request(
        route.as_deref().unwrap_or("unmatched"),
        method_label(request.method().as_str()),
        status,
        took,
    );
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn scrape(store: web::Data<Arc<dyn Store>>) -> HttpResponse {
    let store = Arc::clone(&store);
    // The size may take a query on PostgreSQL: off the async thread.
    let sampled = web::block(move || (store.queue_depth(), store.size_bytes())).await;
    let (depth, size) = sampled.unwrap_or((0, None));
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, TEXT_FORMAT))
        .body(metrics().render(depth, size))
}

/// One worker: a scrape every few seconds needs no more.
pub fn server(listener: TcpListener, store: Arc<dyn Store>) -> std::io::Result<Server> {
    let store = web::Data::new(store);
    let server = HttpServer::new(move || {
        App::new().app_data(store.clone()).service(
            web::resource("/metrics").route(
                web::route()
                    .guard(
                        actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()),
                    )
                    .to(scrape),
            ),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?;
    Ok(server.run())
}
