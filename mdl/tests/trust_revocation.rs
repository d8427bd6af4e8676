//! Trust sources (VICAL signed by a test DTS root, PEM directory, reload) and revocation
//! (CRL served by a local HTTP server started in the test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::*;
use glassgate_mdl::revocation::crl::HttpRevocation;
use glassgate_mdl::revocation::fetch::MAX_URLS_PER_PRESENTATION;
use glassgate_mdl::revocation::{DsStatus, RevocationPolicy};
use glassgate_mdl::trust::vical::{VicalError, VicalLoader};
use glassgate_mdl::trust::{SourceGroup, TrustSource, TrustStore, pem_dir};
use glassgate_mdl::wallet::{self, IacaOptions, IssueSpec, KeyAlg};
use glassgate_mdl::{Refusal, RequestedElements, VerifyOptions, VerifyRequest};
use time::{Duration, OffsetDateTime};

const VICAL_EKU: &[u64] = &[1, 0, 18013, 5, 1, 8];

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassgate-mdl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn verify_in(
    store: &TrustStore,
    bytes: &[u8],
) -> Result<glassgate_mdl::VerifiedPresentation, Refusal> {
    let t = our_transcript();
    let r = RequestedElements::mdl_identity();
    let req = VerifyRequest {
        device_response: bytes,
        transcript: &t,
        requested: &r,
        now: OffsetDateTime::now_utc(),
    };
    glassgate_mdl::verify(
        &req,
        store,
        &glassgate_mdl::revocation::NoRevocationCheck,
        &VerifyOptions::default(),
    )
}

struct Dts {
    root: wallet::TestIaca,
    signer: wallet::TestDs,
}

fn dts(eku: &[u64]) -> Dts {
    let mut o = IacaOptions::new(KeyAlg::P256);
    o.common_name = "Glassgate Test DTS Root".into();
    let root = wallet::make_iaca(&o).unwrap();
    let signer =
        wallet::pki::make_leaf_with_eku(&root, KeyAlg::P256, "Test VICAL Signer", eku).unwrap();
    Dts { root, signer }
}

fn vical(d: &Dts, issue_id: u64, next: OffsetDateTime, iacas: &[Vec<u8>]) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    wallet::vical::build(
        &d.signer,
        std::slice::from_ref(&d.signer.cert_der),
        issue_id,
        now,
        next,
        iacas,
    )
    .unwrap()
}

#[test]
fn vical_admits_p384_iaca_and_records_source() {
    let fx = Fixture::new(KeyAlg::P384);
    let d = dts(VICAL_EKU);
    let dir = temp_dir("vical");
    let loader = VicalLoader::new(d.root.cert_der.clone(), Some(dir.join("vical.cbor")));
    let store = TrustStore::new();
    let now = OffsetDateTime::now_utc();
    let meta = loader
        .install(
            &store,
            &vical(
                &d,
                5,
                now + Duration::days(1),
                std::slice::from_ref(&fx.iaca.cert_der),
            ),
            now,
        )
        .unwrap();
    assert_eq!(meta.issue_id, Some(5));
    assert_eq!(meta.anchors, 1);
    assert!(loader.alarm(now).is_none());

    let vp = verify_in(&store, &fx.presentation(&IssueSpec::sample_mdl()).encode()).unwrap();
    assert!(matches!(
        vp.issuer.trust_source,
        TrustSource::Vical {
            issue_id: Some(5),
            ..
        }
    ));

    // Restart: the cached last good VICAL is reinstalled.
    let store2 = TrustStore::new();
    let loader2 = VicalLoader::new(d.root.cert_der.clone(), Some(dir.join("vical.cbor")));
    assert_eq!(
        loader2.load_cached(&store2, now).unwrap().unwrap().issue_id,
        Some(5)
    );
    assert_eq!(store2.snapshot().len(), 1);
}

#[test]
fn vical_issue_id_must_not_go_backwards() {
    let fx = Fixture::new(KeyAlg::P256);
    let d = dts(VICAL_EKU);
    let loader = VicalLoader::new(d.root.cert_der.clone(), None);
    let store = TrustStore::new();
    let now = OffsetDateTime::now_utc();
    let next = now + Duration::days(1);
    loader
        .install(
            &store,
            &vical(&d, 7, next, std::slice::from_ref(&fx.iaca.cert_der)),
            now,
        )
        .unwrap();
    let err = loader
        .install(&store, &vical(&d, 6, next, &[]), now)
        .unwrap_err();
    assert_eq!(err, VicalError::NotMonotonic { current: 7, got: 6 });
    // The last good list stays in force.
    assert_eq!(store.snapshot().len(), 1);
}

#[test]
fn vical_signer_without_vical_eku_is_refused() {
    let d = dts(wallet::pki::MDL_DS_EKU);
    let loader = VicalLoader::new(d.root.cert_der.clone(), None);
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        loader
            .install(
                &TrustStore::new(),
                &vical(&d, 1, now + Duration::days(1), &[]),
                now
            )
            .unwrap_err(),
        VicalError::SignerEku
    );
}

#[test]
fn vical_from_another_root_or_tampered_is_refused() {
    let d = dts(VICAL_EKU);
    let other = dts(VICAL_EKU);
    let now = OffsetDateTime::now_utc();
    let bytes = vical(&d, 1, now + Duration::days(1), &[]);
    let pinned_other = VicalLoader::new(other.root.cert_der.clone(), None);
    assert!(matches!(
        pinned_other.install(&TrustStore::new(), &bytes, now),
        Err(VicalError::Chain(_))
    ));

    let mut tampered = bytes.clone();
    let at = tampered
        .windows(18)
        .rposition(|w| w == b"Glassgate Test DTS")
        .unwrap();
    tampered[at] = b'X';
    let loader = VicalLoader::new(d.root.cert_der.clone(), None);
    assert_eq!(
        loader
            .install(&TrustStore::new(), &tampered, now)
            .unwrap_err(),
        VicalError::Signature
    );
}

#[test]
fn vical_alarm_when_stale() {
    let d = dts(VICAL_EKU);
    let loader = VicalLoader::new(d.root.cert_der.clone(), None);
    let now = OffsetDateTime::now_utc();
    assert!(loader.alarm(now).is_some()); // nothing installed
    loader
        .install(
            &TrustStore::new(),
            &vical(&d, 1, now + Duration::hours(1), &[]),
            now,
        )
        .unwrap();
    assert!(loader.alarm(now).is_none());
    assert!(
        loader
            .alarm(now + Duration::days(2))
            .unwrap()
            .contains("stale")
    );
}

#[test]
fn pem_directory_loads_and_reloads_without_restart() {
    let fx = Fixture::new(KeyAlg::P256);
    let dir = temp_dir("pem");
    std::fs::write(dir.join("ca.pem"), wallet::pki::pem(&fx.iaca.cert_der)).unwrap();
    std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
    let store = TrustStore::new();
    let report = pem_dir::reload(&store, &dir).unwrap();
    assert_eq!(report.admitted.len(), 1);
    assert_eq!(report.errors.len(), 1);
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let vp = verify_in(&store, &bytes).unwrap();
    assert_eq!(
        vp.issuer.trust_source,
        TrustSource::Pem {
            file: "ca.pem".into()
        }
    );

    std::fs::remove_file(dir.join("ca.pem")).unwrap();
    pem_dir::reload(&store, &dir).unwrap();
    assert_eq!(
        verify_in(&store, &bytes).unwrap_err(),
        Refusal::UntrustedIssuer
    );
    store.replace(SourceGroup::PemDirectory, Vec::new());
}

#[test]
fn non_conforming_anchor_is_reported() {
    let mut o = IacaOptions::new(KeyAlg::P256);
    o.path_len = Some(3);
    let iaca = wallet::make_iaca(&o).unwrap();
    let a = anchor(&iaca.cert_der);
    assert_eq!(a.profile, Err(glassgate_mdl::ProfileViolation::PathLen));
}

/// A tiny HTTP/1.1 server on `listener` answering every request with `body`.
fn serve(listener: TcpListener, body: Vec<u8>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
}

fn crl_fixture(revoke: bool) -> (Fixture, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut o = IacaOptions::new(KeyAlg::P256);
    o.crl_url = format!("http://127.0.0.1:{port}/iaca.crl");
    let fx = Fixture::with(o, |_| {});
    let serial = wallet::DsOptions::new(KeyAlg::P256, &fx.iaca_opts).serial;
    let revoked = if revoke {
        vec![serial]
    } else {
        vec![vec![0x77]]
    };
    let crl = wallet::make_crl(
        &fx.iaca,
        &revoked,
        OffsetDateTime::now_utc() + Duration::days(7),
    )
    .unwrap();
    serve(listener, crl);
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    (fx, bytes)
}

fn verify_online(
    fx: &Fixture,
    bytes: &[u8],
    policy: RevocationPolicy,
) -> Result<glassgate_mdl::VerifiedPresentation, Refusal> {
    verify_online_in(&fx.trust, bytes, policy)
}

fn verify_online_in(
    trust: &TrustStore,
    bytes: &[u8],
    policy: RevocationPolicy,
) -> Result<glassgate_mdl::VerifiedPresentation, Refusal> {
    let http = HttpRevocation::new().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = our_transcript();
    let r = RequestedElements::mdl_identity();
    let req = VerifyRequest {
        device_response: bytes,
        transcript: &t,
        requested: &r,
        now: OffsetDateTime::now_utc(),
    };
    let opts = VerifyOptions {
        revocation: policy,
        ..Default::default()
    };
    rt.block_on(http.verify(&req, trust, &opts)).0
}

#[test]
fn crl_revocation_refuses() {
    let (fx, bytes) = crl_fixture(true);
    assert_eq!(
        verify_online(&fx, &bytes, RevocationPolicy::RefuseConfirmedOnly).unwrap_err(),
        Refusal::DsRevoked
    );
}

#[test]
fn crl_good_status_is_recorded() {
    let (fx, bytes) = crl_fixture(false);
    let vp = verify_online(&fx, &bytes, RevocationPolicy::RequireKnownGood).unwrap();
    assert_eq!(vp.revocation.ds, DsStatus::Good);
}

#[test]
fn crl_unreachable_is_unknown_and_policy_decides() {
    let fx = Fixture::new(KeyAlg::P256); // CRL URL points at a closed port
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let vp = verify_online(&fx, &bytes, RevocationPolicy::RefuseConfirmedOnly).unwrap();
    assert!(matches!(vp.revocation.ds, DsStatus::Unknown(_)));
    assert!(matches!(
        verify_online(&fx, &bytes, RevocationPolicy::RequireKnownGood),
        Err(Refusal::RevocationUnavailable(_))
    ));
}

#[test]
fn mso_status_list_revocation() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!(
        "http://127.0.0.1:{}/status/1",
        listener.local_addr().unwrap().port()
    );
    let fx = Fixture::new(KeyAlg::P256);
    let token = wallet::status_list::token(
        &fx.ds,
        &uri,
        2,
        &[0, 1, 0, 2],
        OffsetDateTime::now_utc() + Duration::hours(1),
    )
    .unwrap();
    serve(listener, token);
    let with_idx = |idx| {
        let forge = wallet::IssueForge {
            status: Some(wallet::status_list::mso_status(&uri, idx)),
            ..Default::default()
        };
        fx.presentation(&IssueSpec {
            forge,
            ..IssueSpec::sample_mdl()
        })
        .encode()
    };
    let vp = verify_online(&fx, &with_idx(0), RevocationPolicy::RefuseConfirmedOnly).unwrap();
    assert_eq!(
        vp.revocation.credential,
        Some(glassgate_mdl::revocation::CredentialStatus::Valid)
    );
    assert_eq!(
        verify_online(&fx, &with_idx(1), RevocationPolicy::RefuseConfirmedOnly).unwrap_err(),
        Refusal::CredentialRevoked(1)
    );
    assert_eq!(
        verify_online(&fx, &with_idx(3), RevocationPolicy::RefuseConfirmedOnly).unwrap_err(),
        Refusal::CredentialRevoked(2)
    );
}

/// Records the request line of every connection to `listener` (before answering 404).
fn record(listener: TcpListener) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push(line);
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    seen
}

fn with_status(uri: &str, corrupt_signature: bool) -> IssueSpec {
    IssueSpec {
        forge: wallet::IssueForge {
            status: Some(wallet::status_list::mso_status(uri, 0)),
            corrupt_signature,
            ..Default::default()
        },
        ..IssueSpec::sample_mdl()
    }
}

#[test]
fn unauthenticated_presentations_cause_no_fetch() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut o = IacaOptions::new(KeyAlg::P256);
    o.crl_url = format!("{base}/iaca.crl");
    let fx = Fixture::with(o, |_| {});
    let seen = record(listener);
    let status_uri = format!("{base}/status/1");
    let genuine = fx.presentation(&with_status(&status_uri, false)).encode();

    // The DS does not chain to a trusted IACA: its CRL URL and the MSO's URI are not used.
    assert_eq!(
        verify_online_in(
            &TrustStore::new(),
            &genuine,
            RevocationPolicy::RefuseConfirmedOnly
        )
        .unwrap_err(),
        Refusal::UntrustedIssuer
    );
    // Trusted DS, but the MSO signature does not verify: its status URI is not used.
    let forged = fx.presentation(&with_status(&status_uri, true)).encode();
    assert_eq!(
        verify_online(&fx, &forged, RevocationPolicy::RefuseConfirmedOnly).unwrap_err(),
        Refusal::IssuerSignatureInvalid
    );
    let none = seen.lock().unwrap().clone();
    assert!(none.is_empty(), "{none:?}");

    // Authenticated, the same presentation has its CRL and status list fetched.
    verify_online(&fx, &genuine, RevocationPolicy::RefuseConfirmedOnly).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().any(|l| l.starts_with("GET /iaca.crl ")));
    assert!(seen.iter().any(|l| l.starts_with("GET /status/1 ")));
}

#[test]
fn fetches_per_presentation_are_capped() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut o = IacaOptions::new(KeyAlg::P256);
    o.crl_url = format!("{base}/crl/0");
    let fx = Fixture::with(o, |ds| {
        ds.extra_crl_urls = (1..10).map(|i| format!("{base}/crl/{i}")).collect();
    });
    let seen = record(listener);

    // Ten distribution points and a status list: four requests, the status list among them.
    let bytes = fx
        .presentation(&with_status(&format!("{base}/status/1"), false))
        .encode();
    let vp = verify_online(&fx, &bytes, RevocationPolicy::RefuseConfirmedOnly).unwrap();
    assert!(matches!(vp.revocation.ds, DsStatus::Unknown(_)));
    let got = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(got.len(), MAX_URLS_PER_PRESENTATION, "{got:?}");
    assert!(got.iter().any(|l| l.starts_with("GET /status/1 ")));
    assert!(got.iter().any(|l| l.starts_with("GET /crl/0 ")));

    // Without a status list, the CRLs take every slot.
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    verify_online(&fx, &bytes, RevocationPolicy::RefuseConfirmedOnly).unwrap();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), MAX_URLS_PER_PRESENTATION, "{got:?}");
    assert!(got.iter().all(|l| l.starts_with("GET /crl/")));
}
