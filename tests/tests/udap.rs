//! UDAP (HL7 FAST Security IG) end to end: server metadata with RS256 `signed_metadata`
//! under the server's certificate, field by field; trusted dynamic registration from
//! software statements whose `x5c` chains end at the community's anchors (201 create, 200
//! modify by the same `iss`, cancel by empty `grant_types`; a chain from an unknown
//! community refused); B2B client credentials authenticated by certificate with the
//! purpose from the `hl7-b2b` extension; Tiered OAuth with Glassgate as the identity
//! provider a data holder registers with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use glassgate_keys::{Algorithm, SoftwareSigner};
use glassgate_tests::clients::REDIRECT_URI;
use glassgate_tests::jwt::{TestKey, claims_of, header_of, now, pkce_pair, random_id};
use glassgate_tests::mdl::pem;
use glassgate_tests::oauth::{authorize, query_param};
use glassgate_tests::tlog::audit;
use glassgate_tests::{ServerOptions, TestServer, backends};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use url::Url;
use x509_parser::extensions::GeneralName;

const COMMUNITY: &str = "urn:oid:2.16.840.1.113883.3.7204.1.5";
const B2B_APP: &str = "https://b2b.example.org/app";
const DATA_HOLDER: &str = "https://holder.example.org/fhir";

/// A trust community: its certificate authority.
struct Community {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Community {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        Self {
            ca: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// A member certificate for `uri` with a fresh key of `algorithm`: the chain (leaf,
    /// CA; DER) and the key, which signs as a `TestKey`.
    fn member(&self, uri: &str, algorithm: Algorithm) -> (Vec<Vec<u8>>, TestKey, Vec<u8>) {
        let (signer, pkcs8) = SoftwareSigner::generate(algorithm).unwrap();
        let key = KeyPair::try_from(pkcs8.as_slice()).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, uri);
        params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
        let cert = params.signed_by(&key, &*self.ca).unwrap();
        (
            vec![cert.der().to_vec(), self.ca.der().to_vec()],
            TestKey::from_signer(signer),
            pkcs8.to_vec(),
        )
    }
}

/// A member of a community: its certificate chain and key.
struct Member {
    uri: String,
    chain: Vec<Vec<u8>>,
    key: TestKey,
}

impl Member {
    fn new(community: &Community, uri: &str) -> Self {
        let (chain, key, _) = community.member(uri, Algorithm::Es256);
        Self {
            uri: uri.to_owned(),
            chain,
            key,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let x5c: Vec<String> = self.chain.iter().map(|c| STANDARD.encode(c)).collect();
        self.key.sign(json!({ "typ": "JWT", "x5c": x5c }), claims)
    }

    /// A software statement for `server` with `metadata` merged into the standard claims.
    fn statement(&self, server: &TestServer, metadata: Value) -> String {
        let now = now();
        let mut claims = json!({
            "iss": self.uri,
            "sub": self.uri,
            "aud": server.endpoint("/udap/register"),
            "iat": now,
            "exp": now + 300,
            "jti": random_id(),
            "token_endpoint_auth_method": "private_key_jwt",
            "contacts": ["mailto:ops@example.org"],
        });
        for (k, v) in metadata.as_object().unwrap() {
            claims[k] = v.clone();
        }
        self.sign(&claims)
    }

    /// A client assertion for the token endpoint, with `extensions` when given.
    fn assertion(&self, server: &TestServer, client_id: &str, extensions: Option<Value>) -> String {
        let now = now();
        let mut claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": server.endpoint("/token"),
            "iat": now,
            "exp": now + 300,
            "jti": random_id(),
        });
        if let Some(e) = extensions {
            claims["extensions"] = e;
        }
        self.sign(&claims)
    }
}

async fn register(server: &TestServer, statement: &str) -> (u16, Value) {
    register_request(
        server,
        &json!({ "software_statement": statement, "udap": "1" }),
    )
    .await
}

async fn register_request(server: &TestServer, request: &Value) -> (u16, Value) {
    let response = server
        .http()
        .post(server.url("/udap/register"))
        .json(request)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The FAST/UDAP registration spec: an authorization server SHALL ignore unsupported or
/// unrecognised certifications (TEFCA Facilitated FHIR clients send them); a
/// `certifications` that is not an array of JWTs is still malformed.
#[tokio::test]
async fn unrecognised_certifications_are_ignored_at_registration() {
    let community = Community::new("Test Community CA");
    for backend in backends() {
        let plain = TestServer::start(&backend, ServerOptions::default()).await;
        let server = with_udap(&plain, &community).await;
        let member = Member::new(&community, B2B_APP);
        let certification = member.sign(&json!({
            "iss": B2B_APP,
            "sub": B2B_APP,
            "iat": now(),
            "exp": now() + 3600,
            "jti": random_id(),
            "certification_name": "TEFCA Basic App Certification",
            "certification_uris": ["https://rce.sequoiaproject.org/udap/profiles/basic-app-certification"],
        }));
        let request = |certifications: Value| {
            json!({
                "software_statement": member.statement(&server, json!({
                    "client_name": "Facilitated FHIR app",
                    "grant_types": ["client_credentials"],
                    "scope": "system/Patient.rs",
                })),
                "certifications": certifications,
                "udap": "1",
            })
        };
        let (status, body) = register_request(&server, &request(json!(certification))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{body}");
        let (status, created) = register_request(&server, &request(json!([certification]))).await;
        assert_eq!(status, 201, "{created}");
        assert!(created["client_id"].as_str().unwrap().starts_with("udap-"));
        assert!(created.get("certifications").is_none(), "{created}");
    }
}

fn hl7_b2b(purpose: &str) -> Value {
    json!({ "hl7-b2b": {
        "version": "1",
        "subject_id": "urn:oid:2.16.840.1.113883.4.6#1234567893",
        "organization_id": "https://b2b.example.org",
        "organization_name": "Example Clinic",
        "purpose_of_use": [purpose],
    }})
}

async fn b2b_token(
    server: &TestServer,
    assertion: &str,
    scope: &str,
    details: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("scope", scope),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    if let Some(d) = details {
        form.push(("authorization_details", d));
    }
    let (status, _, body) = server.post_form("/token", &form, HeaderMap::new()).await;
    (status, body)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The server's UDAP configuration: an RSA certificate for its issuer from `community`,
/// and `community` as the only anchor. Returns a replica that has it.
async fn with_udap(server: &TestServer, community: &Community) -> TestServer {
    let (chain, _, pkcs8) = community.member(&server.issuer, Algorithm::Rs256);
    let dir = server.scratch().join("udap");
    let certificate = dir.join("server.pem");
    let key = dir.join("server.key");
    let anchors = dir.join("anchors");
    write(
        &certificate,
        &chain
            .iter()
            .map(|c| pem("CERTIFICATE", c))
            .collect::<String>(),
    );
    write(&key, &pem("PRIVATE KEY", &pkcs8));
    write(
        &anchors.join("community.pem"),
        &pem("CERTIFICATE", community.ca.der()),
    );
    let q = |p: &Path| json!(p.to_str().unwrap()).to_string();
    server.append_config(&format!(
        "\n[udap]\ncertificate = {}\nkey = {}\nanchors = {}\ncommunity = \"{COMMUNITY}\"\nmember_kind = \"provider\"\n",
        q(&certificate),
        q(&key),
        q(&anchors),
    ));
    server.replica().await
}

#[tokio::test]
async fn udap_metadata_registration_b2b_and_tiered_oauth() {
    let community = Community::new("Test Community CA");
    let stranger_ca = Community::new("Unknown Community CA");
    for backend in backends() {
        let plain = TestServer::start(&backend, ServerOptions::default()).await;
        // Without UDAP configured the IG asks for a 404.
        let response = reqwest::get(plain.url("/.well-known/udap")).await.unwrap();
        assert_eq!(response.status(), 404);
        let server = with_udap(&plain, &community).await;
        let issuer = server.issuer.clone();

        // Metadata, field by field (UDAP Security IG, Discovery).
        let response = reqwest::get(server.url("/.well-known/udap")).await.unwrap();
        assert_eq!(response.status(), 200);
        let metadata: Value = response.json().await.unwrap();
        assert_eq!(metadata["udap_versions_supported"], json!(["1"]));
        for profile in ["udap_dcr", "udap_authn", "udap_authz", "udap_to"] {
            assert!(
                metadata["udap_profiles_supported"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(profile)),
                "{profile}"
            );
        }
        assert_eq!(
            metadata["udap_authorization_extensions_supported"],
            json!(["hl7-b2b"])
        );
        assert!(metadata["udap_authorization_extensions_required"].is_array());
        assert!(metadata["udap_certifications_supported"].is_array());
        assert!(metadata["udap_certifications_required"].is_array());
        for grant in ["authorization_code", "refresh_token", "client_credentials"] {
            assert!(
                metadata["grant_types_supported"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(grant))
            );
        }
        assert!(
            metadata["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("udap"))
        );
        assert_eq!(
            metadata["authorization_endpoint"],
            format!("{issuer}/authorize")
        );
        assert_eq!(metadata["token_endpoint"], format!("{issuer}/token"));
        assert_eq!(
            metadata["registration_endpoint"],
            format!("{issuer}/udap/register")
        );
        assert_eq!(
            metadata["token_endpoint_auth_methods_supported"],
            json!(["private_key_jwt"])
        );
        for key in [
            "token_endpoint_auth_signing_alg_values_supported",
            "registration_endpoint_jwt_signing_alg_values_supported",
        ] {
            assert!(
                metadata[key].as_array().unwrap().contains(&json!("RS256")),
                "{key}"
            );
        }
        // signed_metadata: RS256 under the server's certificate, whose URI SAN is the issuer.
        let signed = metadata["signed_metadata"].as_str().unwrap();
        let header = header_of(signed);
        assert_eq!(header["alg"], "RS256");
        let leaf = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert!(
            san.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::URI(u) if *u == issuer))
        );
        let (input, signature) = signed.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            cert.public_key().subject_public_key.data.as_ref(),
        )
        .verify(
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("signed_metadata verifies with the certificate's key");
        let claims = claims_of(signed);
        assert_eq!(claims["iss"], issuer.as_str());
        assert_eq!(claims["sub"], issuer.as_str());
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(lifetime > 0 && lifetime <= 365 * 24 * 3600);
        assert_eq!(claims["token_endpoint"], metadata["token_endpoint"]);
        assert_eq!(
            claims["registration_endpoint"],
            metadata["registration_endpoint"]
        );
        // The community parameter: ours is served, another gets no content.
        let ours = reqwest::get(server.url(&format!("/.well-known/udap?community={COMMUNITY}")))
            .await
            .unwrap();
        assert_eq!(ours.status(), 200);
        let other = reqwest::get(server.url("/.well-known/udap?community=urn:example:other"))
            .await
            .unwrap();
        assert_eq!(other.status(), 204);

        // Trusted dynamic registration of a B2B member.
        let b2b = Member::new(&community, B2B_APP);
        let b2b_metadata = json!({
            "client_name": "Example B2B app",
            "grant_types": ["client_credentials"],
            "scope": "system/Observation.rs system/Patient.rs",
        });
        let (status, created) =
            register(&server, &b2b.statement(&server, b2b_metadata.clone())).await;
        assert_eq!(status, 201, "{created}");
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        assert!(client_id.starts_with("udap-"));
        assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(created["grant_types"], json!(["client_credentials"]));
        // The same iss again modifies it: 200, same client_id.
        let mut renamed = b2b_metadata.clone();
        renamed["client_name"] = json!("Example B2B app, renamed");
        let statement = b2b.statement(&server, renamed);
        let (status, modified) = register(&server, &statement).await;
        assert_eq!(status, 200, "{modified}");
        assert_eq!(modified["client_id"], client_id.as_str());
        assert_eq!(modified["client_name"], "Example B2B app, renamed");
        // A statement is used once.
        let (status, replayed) = register(&server, &statement).await;
        assert_eq!(
            (status, replayed["error"].as_str()),
            (400, Some("invalid_software_statement"))
        );

        // Refusals, each with its RFC 7591 error.
        let outsider = Member::new(&stranger_ca, "https://outsider.example.org/app");
        let (status, refused) =
            register(&server, &outsider.statement(&server, b2b_metadata.clone())).await;
        assert_eq!(status, 400);
        assert_eq!(
            refused["error"], "unapproved_software_statement",
            "{refused}"
        );
        let mut long_lived = b2b_metadata.clone();
        long_lived["exp"] = json!(now() + 3600);
        let (_, refused) = register(&server, &b2b.statement(&server, long_lived)).await;
        assert_eq!(refused["error"], "invalid_software_statement", "{refused}");
        let mut wrong_aud = b2b_metadata.clone();
        wrong_aud["aud"] = json!(server.endpoint("/register"));
        let (_, refused) = register(&server, &b2b.statement(&server, wrong_aud)).await;
        assert_eq!(refused["error"], "invalid_software_statement", "{refused}");
        let mut not_mine = b2b_metadata.clone();
        not_mine["iss"] = json!("https://someone-else.example.org");
        not_mine["sub"] = json!("https://someone-else.example.org");
        let (_, refused) = register(&server, &b2b.statement(&server, not_mine)).await;
        assert_eq!(refused["error"], "invalid_software_statement", "{refused}");
        let mut both = b2b_metadata.clone();
        both["grant_types"] = json!(["client_credentials", "authorization_code"]);
        both["redirect_uris"] = json!([REDIRECT_URI]);
        both["response_types"] = json!(["code"]);
        let (_, refused) = register(&server, &b2b.statement(&server, both)).await;
        assert_eq!(refused["error"], "invalid_client_metadata", "{refused}");
        // Signed by another key than the certificate's.
        let impostor = Member {
            uri: B2B_APP.to_owned(),
            chain: b2b.chain.clone(),
            key: TestKey::es256(),
        };
        let (_, refused) =
            register(&server, &impostor.statement(&server, b2b_metadata.clone())).await;
        assert_eq!(refused["error"], "invalid_software_statement", "{refused}");
        let (status, _) = register(&server, "not-a-jwt").await;
        assert_eq!(status, 400);

        // B2B: client credentials authenticated by certificate; the purpose from hl7-b2b.
        let assertion = b2b.assertion(
            &server,
            &client_id,
            Some(hl7_b2b("urn:oid:2.16.840.1.113883.5.8#TREAT")),
        );
        let (status, tokens) = b2b_token(&server, &assertion, "system/Observation.rs", None).await;
        assert_eq!(status, 200, "{tokens}");
        assert!(tokens["expires_in"].as_i64().unwrap() <= 3600);
        let claims = claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(claims["client_id"], client_id.as_str());
        assert_eq!(claims["purpose_of_use"][0]["code"], "TREAT", "{claims}");
        assert_eq!(claims["purpose_of_use"][1]["code"], "T-TREAT", "{claims}");
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 3600);
        // An authorization_details purpose that contradicts hl7-b2b is refused.
        let payment = json!([{ "type": "purpose_of_use", "purpose_of_use": {
            "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-PYMNT" } }])
        .to_string();
        let assertion = b2b.assertion(
            &server,
            &client_id,
            Some(hl7_b2b("urn:oid:2.16.840.1.113883.5.8#TREAT")),
        );
        let (status, refused) =
            b2b_token(&server, &assertion, "system/Observation.rs", Some(&payment)).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (400, Some("invalid_authorization_details"))
        );
        // No purpose at all.
        let assertion = b2b.assertion(&server, &client_id, None);
        let (status, refused) = b2b_token(&server, &assertion, "system/Observation.rs", None).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (400, Some("invalid_request")),
            "{refused}"
        );
        // The certificate must chain to the community, and be the registered member's.
        let assertion = outsider.assertion(
            &server,
            &client_id,
            Some(hl7_b2b("urn:oid:2.16.840.1.113883.5.8#TREAT")),
        );
        let (status, refused) = b2b_token(&server, &assertion, "system/Observation.rs", None).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (401, Some("invalid_client")),
            "{refused}"
        );
        let other_member = Member::new(&community, "https://other.example.org/app");
        let assertion = other_member.assertion(
            &server,
            &client_id,
            Some(hl7_b2b("urn:oid:2.16.840.1.113883.5.8#TREAT")),
        );
        let (status, _) = b2b_token(&server, &assertion, "system/Observation.rs", None).await;
        assert_eq!(status, 401);
        let no_x5c = b2b.key.sign(
            json!({ "typ": "JWT" }),
            &claims_of(&b2b.assertion(&server, &client_id, None)),
        );
        let (status, _) = b2b_token(&server, &no_x5c, "system/Observation.rs", None).await;
        assert_eq!(status, 401);

        // Tiered OAuth: a data holder registers with Glassgate as its identity provider and
        // runs OpenID Connect with the udap scope.
        let holder = Member::new(&community, DATA_HOLDER);
        let (status, registered) = register(
            &server,
            &holder.statement(
                &server,
                json!({
                    "client_name": "Example data holder",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [REDIRECT_URI],
                    "scope": "openid udap",
                }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{registered}");
        let holder_id = registered["client_id"].as_str().unwrap().to_owned();
        let (verifier, challenge) = pkce_pair();
        let individual = json!([{ "type": "purpose_of_use", "purpose_of_use": {
            "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-IAS" } }])
        .to_string();
        let (status, location) = authorize(
            &server,
            &[
                ("client_id", holder_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid udap"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("login_hint", "pat-tiered;ial2"),
                ("state", "holder-state"),
                ("nonce", "holder-nonce"),
                ("authorization_details", &individual),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let back: Url = location.unwrap();
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let assertion = holder.assertion(&server, &holder_id, None);
        let (status, _, tokens) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", &verifier),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ],
                HeaderMap::new(),
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["scope"], "openid udap");
        let id_token = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(id_token["iss"], issuer.as_str());
        assert_eq!(id_token["aud"], holder_id.as_str());
        assert_eq!(id_token["sub"], "pat-tiered");
        assert_eq!(id_token["nonce"], "holder-nonce");

        // Cancellation by the same iss: the client is gone.
        let mut cancel = b2b_metadata.clone();
        cancel["grant_types"] = json!([]);
        let (status, cancelled) = register(&server, &b2b.statement(&server, cancel)).await;
        assert_eq!(status, 200, "{cancelled}");
        let assertion = b2b.assertion(
            &server,
            &client_id,
            Some(hl7_b2b("urn:oid:2.16.840.1.113883.5.8#TREAT")),
        );
        let (status, refused) = b2b_token(&server, &assertion, "system/Observation.rs", None).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (401, Some("invalid_client"))
        );

        // Every registration change is an administrative entry of the log.
        let (_, entries) = audit(&server).await;
        let changes = entries
            .iter()
            .filter(|e| e.event == "admin.client" && e.client.starts_with("udap-"))
            .count();
        assert_eq!(changes, 4, "create, modify, data holder, cancel");
        let b2b_issued = entries
            .iter()
            .find(|e| e.event == "token.issued" && e.client == client_id)
            .unwrap();
        assert_eq!(b2b_issued.purpose.as_deref(), Some("T-TREAT"));
    }
}
