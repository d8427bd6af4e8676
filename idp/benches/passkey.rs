//! Passkey assertion verification (webauthn-rs), the server's share of a sign-in:
//! `cargo bench -p glassgate-idp --bench passkey`. The software authenticator's signing is
//! done in the untimed setup of each iteration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{Credential, Url, Uuid, WebauthnBuilder};
use webauthn_rs_proto::AllowCredentials;

fn verify_assertion(c: &mut Criterion) {
    let origin = Url::parse("https://login.example").unwrap();
    let webauthn = WebauthnBuilder::new("login.example", &origin)
        .unwrap()
        .build()
        .unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let user = Uuid::new_v4();
    let (options, registration) = webauthn
        .start_passkey_registration(user, "bench", "Bench", None)
        .unwrap();
    let created = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let passkey = webauthn
        .finish_passkey_registration(&created, &registration)
        .unwrap();
    let credential = Credential::from(passkey.clone());
    c.bench_function("passkey assertion verification (ES256)", |b| {
        b.iter_batched(
            || {
                let (mut options, state) = webauthn.start_discoverable_authentication().unwrap();
                options.public_key.allow_credentials = vec![AllowCredentials {
                    type_: "public-key".into(),
                    id: passkey.cred_id().clone(),
                    transports: None,
                }];
                let mut asserted = authenticator
                    .do_authentication(origin.clone(), options)
                    .unwrap();
                asserted.response.user_handle = Some(user.as_bytes().to_vec());
                (asserted, state)
            },
            |(asserted, state)| {
                // Counters rise by one per assertion; verify against a fresh copy each time.
                let mut credential = credential.clone();
                credential.counter = 0;
                webauthn
                    .finish_discoverable_authentication_v2(&asserted, state, &credential)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, verify_assertion);
criterion_main!(benches);
