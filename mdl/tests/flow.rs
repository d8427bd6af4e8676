//! OpenID4VP flows end to end against the test wallet: signed request object by reference,
//! direct_post.jwt and direct_post answers, the DC API, identity proofing and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
mod common;

use common::*;
use glassgate_mdl::claims::IDENTITY_ELEMENTS;
use glassgate_mdl::identity::{IdentityError, document_commitment, proofing_record};
use glassgate_mdl::request::{
    ClientId, EphemeralKey, RequestParams, ResponseMode, dev_certificate, sign_request_object,
};
use glassgate_mdl::response::{ResponseError, decode_dc_api, decode_form, decrypt};
use glassgate_mdl::revocation::NoRevocationCheck;
use glassgate_mdl::wallet::{self, IssueSpec, KeyAlg, oid4vp};
use glassgate_mdl::{
    RequestedElements, VerifiedPresentation, VerifyOptions, VerifyRequest, transcript,
};
use time::OffsetDateTime;

fn params(mode: ResponseMode) -> RequestParams {
    RequestParams {
        client_id: ClientId::X509SanDns("glassgate.example".into()),
        response_mode: mode,
        response_uri: "https://glassgate.example/mdl/response/abc".into(),
        nonce: "nonce-123".into(),
        state: "state-456".into(),
        requested: RequestedElements::mdl_identity(),
        encryption_key: (mode == ResponseMode::DirectPostJwt)
            .then(|| EphemeralKey::generate().unwrap()),
    }
}

fn verify(
    fx: &Fixture,
    bytes: &[u8],
    t: &glassgate_mdl::SessionTranscript,
) -> VerifiedPresentation {
    let r = RequestedElements::mdl_identity();
    let req = VerifyRequest {
        device_response: bytes,
        transcript: t,
        requested: &r,
        now: OffsetDateTime::now_utc(),
    };
    glassgate_mdl::verify(
        &req,
        &fx.trust,
        &NoRevocationCheck,
        &VerifyOptions::default(),
    )
    .unwrap()
}

fn cross_device(mode: ResponseMode) {
    let fx = Fixture::new(KeyAlg::P256);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let p = params(mode);
    let (cert, key) = dev_certificate("glassgate.example").unwrap();
    let jws = sign_request_object(&p.claims(OffsetDateTime::now_utc()), &key, &[cert]).unwrap();
    assert!(
        p.invocation_url("openid4vp://", "https://glassgate.example/mdl/request/abc")
            .starts_with("openid4vp://?client_id=x509_san_dns%3Aglassgate.example&request_uri=")
    );

    // Wallet side.
    let claims = oid4vp::verify_request_object(&jws).unwrap();
    let mut forged = jws.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(oid4vp::verify_request_object(&forged).is_err());
    assert_eq!(
        claims["dcql_query"]["credentials"][0]["claims"][0]["intent_to_retain"],
        false
    );
    let post = oid4vp::answer(&cred, &claims).unwrap();
    assert_eq!(post.response_uri, p.response_uri);

    // Verifier side.
    let resp = decode_form(
        post.form_body.as_bytes(),
        p.encryption_key.as_ref(),
        &p.state,
    )
    .unwrap();
    assert_eq!(resp.encrypted, mode == ResponseMode::DirectPostJwt);
    let vp = verify(&fx, &resp.device_response, &p.transcript());
    assert_eq!(vp.elements.family_name(), Some("Doe"));
}

#[test]
fn direct_post_jwt_flow() {
    cross_device(ResponseMode::DirectPostJwt);
}

#[test]
fn direct_post_flow() {
    cross_device(ResponseMode::DirectPost);
}

#[test]
fn response_decoding_refusals() {
    let fx = Fixture::new(KeyAlg::P256);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let p = params(ResponseMode::DirectPostJwt);
    let claims = p.claims(OffsetDateTime::now_utc());
    let post = oid4vp::answer(&cred, &claims).unwrap();
    assert_eq!(
        decode_form(
            post.form_body.as_bytes(),
            p.encryption_key.as_ref(),
            "other"
        )
        .unwrap_err(),
        ResponseError::StateMismatch
    );
    let other_key = EphemeralKey::generate().unwrap();
    assert!(matches!(
        decode_form(post.form_body.as_bytes(), Some(&other_key), &p.state),
        Err(ResponseError::Jwe(_))
    ));
    let plain = params(ResponseMode::DirectPost);
    let clear = oid4vp::answer(&cred, &plain.claims(OffsetDateTime::now_utc())).unwrap();
    assert_eq!(
        decode_form(
            clear.form_body.as_bytes(),
            p.encryption_key.as_ref(),
            "state-456"
        )
        .unwrap_err(),
        ResponseError::NotEncrypted
    );
    assert!(matches!(
        decode_form(b"error=access_denied", None, "s"),
        Err(ResponseError::WalletError(_))
    ));
}

#[test]
fn dc_api_flow() {
    let fx = Fixture::new(KeyAlg::P384);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    for mode in [ResponseMode::DirectPostJwt, ResponseMode::DirectPost] {
        let p = params(mode);
        let req = p.dc_api_request();
        let data = &req["requests"][0]["data"];
        let result = oid4vp::answer_dc_api(&cred, data, "https://glassgate.example").unwrap();
        let resp = decode_dc_api(&result, p.encryption_key.as_ref()).unwrap();
        let tp = p.encryption_key.as_ref().map(|k| k.thumbprint());
        let t = transcript::oid4vp_dc_api(
            "https://glassgate.example",
            &p.nonce,
            tp.as_ref().map(|t| t.as_slice()),
        );
        verify(&fx, &resp.device_response, &t);
    }
}

#[test]
fn identity_proofing_record() {
    let fx = Fixture::new(KeyAlg::P256);
    let key = [42u8; 32];
    let bytes1 = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let bytes2 = fx.presentation(&IssueSpec::sample_mdl()).encode(); // re-issued: new salts, new device key
    let vp1 = verify(&fx, &bytes1, &our_transcript());
    let vp2 = verify(&fx, &bytes2, &our_transcript());
    let rec = proofing_record(&vp1, &key).unwrap();
    assert_eq!(
        rec.document_commitment,
        document_commitment(&key, &vp2).unwrap()
    );
    assert_ne!(
        rec.document_commitment,
        document_commitment(&[43u8; 32], &vp1).unwrap()
    );
    assert_eq!(rec.birthdate, "1990-01-15");
    let vc = &rec.verified_claims;
    assert_eq!(vc["verification"]["trust_framework"], "nist_800_63A");
    assert_eq!(vc["verification"]["assurance_level"], "ial2");
    assert_eq!(
        vc["verification"]["evidence"][0]["document_details"]["type"],
        "driving_permit"
    );
    assert_eq!(vc["claims"]["family_name"], "Doe");
    let logged = format!("{rec:?} {}", serde_json::to_string(&rec).unwrap());
    assert!(!logged.contains("D1234567"));
    assert!(!vp1.to_json(true).to_string().contains("D1234567"));
    assert!(document_commitment(&[1u8; 8], &vp1).is_err());
}

#[test]
fn cli_verifies_and_refuses() {
    use base64::Engine;
    use clap::Parser;
    use glassgate_mdl::cli::{EXIT_REFUSED, EXIT_USAGE, EXIT_VALID, VerifyArgs, run_verify};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: VerifyArgs,
    }

    let fx = Fixture::new(KeyAlg::P256);
    let dir = std::env::temp_dir().join(format!("glassgate-mdl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let file = dir.join("response.b64");
    std::fs::write(
        &file,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
    )
    .unwrap();
    let bin = dir.join("response.cbor");
    std::fs::write(&bin, &bytes).unwrap();
    let trust = dir.join("trust.pem");
    std::fs::write(&trust, glassgate_mdl::wallet::pki::pem(&fx.iaca.cert_der)).unwrap();
    let tp = hex::encode(THUMBPRINT);

    let run = |file: &std::path::Path, nonce: &str, extra: &[&str]| {
        let mut argv = vec![
            "glassgate",
            file.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--handover",
            "oid4vp",
            "--client-id",
            CLIENT_ID,
            "--nonce",
            nonce,
            "--response-uri",
            RESPONSE_URI,
            "--thumbprint",
            &tp,
            "--offline",
            "--origin",
            "https://ignored.example",
        ];
        argv.extend_from_slice(extra);
        let cli = Cli::try_parse_from(argv).unwrap();
        let mut out = Vec::new();
        let code = run_verify(&cli.args, &mut out);
        (code, String::from_utf8(out).unwrap())
    };
    let (code, out) = run(&file, NONCE, &[]);
    assert_eq!(code, EXIT_VALID, "{out}");
    assert!(out.contains("family_name = \"Doe\""), "{out}");
    let (code, out) = run(&bin, NONCE, &["--json"]);
    assert_eq!(code, EXIT_VALID, "{out}");
    assert!(out.contains("\"valid\":true"));
    let (code, out) = run(&file, "wrong", &[]);
    assert_eq!(code, EXIT_REFUSED);
    assert!(out.contains("device_signature_invalid"), "{out}");

    let cli = Cli::try_parse_from([
        "glassgate",
        file.to_str().unwrap(),
        "--trust",
        "x",
        "--handover",
        "dcapi",
        "--nonce",
        "n",
    ])
    .unwrap();
    let mut out = Vec::new();
    assert_eq!(run_verify(&cli.args, &mut out), EXIT_USAGE);
}

/// Serves GET with the request object in `ro` and records POST bodies (a stand-in for
/// the server's request_uri and response_uri endpoints).
fn verifier_stub(
    ro: std::sync::Arc<std::sync::Mutex<String>>,
) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let body = if line.starts_with("POST") {
                let mut b = vec![0u8; len];
                reader.read_exact(&mut b).unwrap();
                tx.send(String::from_utf8(b).unwrap()).unwrap();
                "{}".to_owned()
            } else {
                ro.lock().unwrap().clone()
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, rx)
}

#[test]
fn test_wallet_follows_the_qr_code() {
    let fx = Fixture::new(KeyAlg::P256);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let ro = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (base, posts) = verifier_stub(ro.clone());
    let mut p = params(ResponseMode::DirectPostJwt);
    p.response_uri = format!("{base}/mdl/response/abc");
    let (cert, key) = dev_certificate("glassgate.example").unwrap();
    *ro.lock().unwrap() =
        sign_request_object(&p.claims(OffsetDateTime::now_utc()), &key, &[cert]).unwrap();
    let url = p.invocation_url("openid4vp://", &format!("{base}/mdl/request/abc"));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = rt
        .block_on(oid4vp::follow_invocation(
            &cred,
            &url,
            &reqwest::Client::new(),
        ))
        .unwrap();
    assert_eq!(reply, "{}");
    let body = posts.recv().unwrap();
    let resp = decode_form(body.as_bytes(), p.encryption_key.as_ref(), &p.state).unwrap();
    assert!(resp.encrypted);
    let vp = verify(&fx, &resp.device_response, &p.transcript());
    assert_eq!(vp.elements.given_name(), Some("Jane"));
}

#[test]
fn compressed_jwe_is_refused_before_decryption() {
    use josekit::jwe::{ECDH_ES, JweHeader};
    let p = params(ResponseMode::DirectPostJwt);
    let key = p.encryption_key.as_ref().unwrap();
    let jwk = josekit::jwk::Jwk::from_bytes(key.public_jwk().to_string()).unwrap();
    let encrypter = ECDH_ES.encrypter_from_jwk(&jwk).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption("A128GCM");
    header.set_compression("DEF");
    // Otherwise a well-formed answer: only the compression is wrong.
    let payload = serde_json::json!({
        "vp_token": oid4vp::vp_token(b"device response"),
        "state": p.state,
    });
    let jwe = josekit::jwe::serialize_compact(payload.to_string().as_bytes(), &header, &encrypter)
        .unwrap();
    assert_eq!(
        decrypt(&jwe, key).unwrap_err(),
        ResponseError::JweCompressed
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("response", &jwe)
        .finish();
    assert_eq!(
        decode_form(form.as_bytes(), Some(key), &p.state).unwrap_err(),
        ResponseError::JweCompressed
    );
    let dc = serde_json::json!({
        "protocol": "openid4vp-v1-unsigned",
        "data": { "response": jwe },
    });
    assert_eq!(
        decode_dc_api(&dc, Some(key)).unwrap_err(),
        ResponseError::JweCompressed
    );
    // A protected header that is not JSON is refused as such.
    assert!(matches!(
        decrypt("bm90IGpzb24.a.b.c.d", key),
        Err(ResponseError::Jwe(_))
    ));
}

#[test]
fn identity_requires_every_committed_element() {
    let fx = Fixture::new(KeyAlg::P256);
    let key = [42u8; 32];
    let cred = fx.credential(&IssueSpec::sample_mdl());
    for &withheld in IDENTITY_ELEMENTS {
        let shown: Vec<&str> = IDENTITY_ELEMENTS
            .iter()
            .copied()
            .filter(|e| *e != withheld)
            .collect();
        let t = our_transcript();
        let p = wallet::present(&cred, Some(&RequestedElements::mdl(&shown)), &t).unwrap();
        // The presentation itself verifies (withholding is the wallet's right) ...
        let vp = verify(&fx, &p.encode(), &t);
        // ... but proves no identity: otherwise it would commit differently from the full one.
        assert_eq!(
            document_commitment(&key, &vp),
            Err(IdentityError::MissingElement(withheld))
        );
        assert_eq!(
            proofing_record(&vp, &key).unwrap_err(),
            IdentityError::MissingElement(withheld)
        );
    }

    // A committed element of the wrong type is refused as such.
    let mut spec = IssueSpec::sample_mdl();
    for (_, element, value) in &mut spec.elements {
        if element == "document_number" {
            *value = ciborium::Value::Integer(1234567.into());
        }
    }
    let vp = verify(&fx, &fx.presentation(&spec).encode(), &our_transcript());
    assert_eq!(
        document_commitment(&key, &vp),
        Err(IdentityError::NotText("document_number"))
    );
}
