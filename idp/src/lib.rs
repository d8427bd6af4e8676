//! Glassgate: the OpenID Connect provider that health data networks delegate login to.
//!
//! The crate is organised by protocol step: `oauth::*` holds one module per endpoint,
//! `store` the durable repositories (one trait per aggregate, one implementation per
//! backend), `ephemeral` the short-lived single-use state, `jose` the small JWS layer.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

pub mod admin;
pub mod app;
pub mod audit;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod config;
pub mod ephemeral;
pub mod error;
pub mod jose;
pub mod keyring;
pub mod metrics;
pub mod oauth;
pub mod passkey;
pub mod proofing;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod tlog;
pub mod udap;
pub mod web;
