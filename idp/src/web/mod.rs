//! What a person sees in a browser: the pages, the JSON endpoints their script calls for
//! the WebAuthn ceremonies, the browser session, and the authenticator built on them.

pub mod authenticator;
mod ceremonies;
pub mod html;
mod pages;
mod proofing;
pub mod session;

pub use proofing::ProofTicket;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(pages::login::show))
        .route("/enroll", get(pages::enroll::show))
        .route(
            "/interaction/{id}",
            get(pages::consent::show).post(pages::consent::decide),
        )
        .route("/account", get(pages::account::show))
        .route(
            "/account/passkeys/{credential_id}",
            post(pages::account::change_passkey),
        )
        .route("/account/identity", post(pages::account::link_identity))
        .route(
            "/account/privacy",
            get(pages::privacy::show).post(pages::privacy::change),
        )
        .route("/account/disclosures", get(pages::disclosures::show))
        .route(
            "/account/disclosures.json",
            get(pages::disclosures::download),
        )
        .route("/logout", post(pages::account::logout))
        .route("/passkey/login/start", post(ceremonies::login_start))
        .route("/passkey/login/finish", post(ceremonies::login_finish))
        .route("/passkey/register/start", post(ceremonies::register_start))
        .route(
            "/passkey/register/finish",
            post(ceremonies::register_finish),
        )
        .route("/mdl/start", post(proofing::start))
        .route("/mdl/status", post(proofing::status))
        .route("/mdl/digital", post(proofing::digital))
        .route("/mdl/request/{id}", get(proofing::request_object))
        .route("/mdl/qr/{id}", get(proofing::qr_code))
        .route("/mdl/response/{id}", post(proofing::response))
        .route("/assets/glassgate.js", get(script))
        .route("/assets/glassgate.css", get(stylesheet))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("assets/glassgate.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("assets/glassgate.css"),
    )
}
