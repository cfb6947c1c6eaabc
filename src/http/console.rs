//! The web console: plain files from `static/`, embedded in the binary so that it stays one
//! self-contained executable. The console talks to the public API like any other client; it
//! has no route of its own beyond its files.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::error::{error_response, Failure};
use super::format::Format;

/// Only the console's own files may run or style the page, and it may talk only to this server.
/// `form-action 'none'` keeps a form from ever being submitted natively (with a password in the
/// URL) should its script fail to load.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const CONSOLE_PATH: &str = "/console/";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// A file of `static/`, served under its own name.
macro_rules! asset {
    ($file:literal, $type:expr) => {
        Asset {
            name: $file,
            content_type: $type,
            body: include_bytes!(concat!("../../static/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    // The page itself, at `/console/`.
    Asset {
        name: "",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../static/index.html"),
    },
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("main.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("password.js", JS),
    asset!("account.js", JS),
    asset!("subaccounts.js", JS),
    asset!("activity.js", JS),
    // The page checks passwords against the very list the server enforces.
    Asset {
        name: "common-passwords.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../domain/common_passwords.txt"),
    },
];

/// `GET /console/{file}`; the empty name is the page itself.
pub async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("file").unwrap_or("");
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset),
        None => error_response(Format::of(&req), &Failure::NoRoute),
    }
}

/// `/` and `/console` lead to the console's page.
pub async fn to_console() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, CONSOLE_PATH))
        .finish()
}

fn serve(asset: &Asset) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // The files change only with the binary; revalidating each time keeps an upgrade visible.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}
