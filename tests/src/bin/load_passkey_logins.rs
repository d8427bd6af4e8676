//! Load driver for full passkey sign-ins against the shipped server: per login, the relying
//! party pushes its request (PAR), the browser is sent to `/authorize`, signs in with a
//! software passkey, skips consent (the client was approved before), comes back with a code
//! and the relying party redeems it. Prints logins/s and p50/p99 of whole logins.
//!
//! cargo build --release -p glassgate-idp -p glassgate-tests
//! DATABASE_URL=postgres://… REDIS_URL=redis://… target/release/load-passkey-logins
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use clap::Parser;
use glassgate_tests::bench::percentile_ms;
use glassgate_tests::oauth::{pushed_authorization, redeem_as};
use glassgate_tests::passkeys::{Person, invite};
use glassgate_tests::{ServerOptions, TestServer, backends};

#[derive(Parser)]
struct Args {
    /// Concurrent people signing in (one account each).
    #[arg(long, default_value_t = 16)]
    people: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

/// One full sign-in; returns the time it took.
async fn login(server: &TestServer, person: &mut Person) -> Duration {
    let started = Instant::now();
    let (authorize, verifier) = pushed_authorization(server, "par", &[]).await;
    let code = person.sign_in_for_code(&authorize).await;
    let tokens = redeem_as(server, "par", &code, &verifier).await;
    assert!(tokens["id_token"].is_string());
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let backend = backends().pop().unwrap();
    eprintln!("backend: {}", backend.name());
    let server = TestServer::start(&backend, ServerOptions::shipped()).await;
    // Distinct valid NPIs (1234560000 + i with check digits), active in the directory.
    let npis: Vec<String> = (0..args.people)
        .map(|i| glassgate_directory::fixtures::npi(23_456_000 + i as u32))
        .collect();
    let active: Vec<&str> = npis.iter().map(String::as_str).collect();
    glassgate_tests::directory::seed(
        &server,
        &glassgate_tests::directory::scenario_with_active(&active),
    )
    .await;
    let mut people = Vec::new();
    for npi in &npis {
        let link = invite(&server, npi).await;
        let mut person = Person::new(&server);
        assert_eq!(person.enroll(&link, "Bench Clinician").await.status, 200);
        login(&server, &mut person).await; // approves the client
        people.push(person);
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let server = std::sync::Arc::new(server);
    let mut workers = Vec::new();
    for mut person in people {
        let server = server.clone();
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                times.push(login(&server, &mut person).await);
            }
            times
        }));
    }
    let started = Instant::now();
    let mut times = Vec::new();
    for worker in workers {
        times.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    println!(
        "{} full passkey logins in {elapsed:.1} s: {:.0} logins/s, p50 {:.1} ms, p99 {:.1} ms ({} people)",
        times.len(),
        times.len() as f64 / elapsed,
        percentile_ms(&times, 0.50),
        percentile_ms(&times, 0.99),
        args.people
    );
}
