//! Test harness: boots the real server (as a child process) per test, on SQLite and, when
//! `DATABASE_URL`/`REDIS_URL` are set, on PostgreSQL + Redis; plus JOSE and PKCE helpers
//! for driving it as clients do.
#![forbid(unsafe_code)]
// Test support code: a failed unwrap is a failed test, which is what we want here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod authenticator;
pub mod bench;
pub mod clients;
pub mod directory;
pub mod harness;
pub mod jwt;
pub mod mdl;
pub mod oauth;
pub mod passkeys;
pub mod tlog;

pub use harness::{Backend, ServerOptions, TestServer, backends};
