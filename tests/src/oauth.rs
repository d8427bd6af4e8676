//! Client-side steps of the OAuth flows, shared by the end-to-end tests.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION};
use serde_json::Value;
use url::Url;

use crate::TestServer;
use crate::clients::REDIRECT_URI;
use crate::jwt::{TestKey, assertion, assertion_claims, pkce_pair};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// GET /authorize with `query`; returns the status and the parsed `Location`, if any.
pub async fn authorize(server: &TestServer, query: &[(&str, &str)]) -> (u16, Option<Url>) {
    let url = Url::parse_with_params(&server.url("/authorize"), query).unwrap();
    let response = server.http().get(url).send().await.unwrap();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| Url::parse(l).unwrap());
    (response.status().as_u16(), location)
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A client assertion for `client_id` signed with `key`, audience the token endpoint.
pub fn client_assertion(server: &TestServer, key: &TestKey, client_id: &str) -> String {
    assertion(
        key,
        &assertion_claims(client_id, &server.endpoint("/token")),
    )
}

/// Form members authenticating the `web` client by `private_key_jwt`.
pub fn web_auth(server: &TestServer) -> Vec<(String, String)> {
    web_key_auth(server, "web")
}

/// Form members authenticating `client_id` (a client registered with the web key, such as
/// `web` or `par`) by `private_key_jwt`.
pub fn web_key_auth(server: &TestServer, client_id: &str) -> Vec<(String, String)> {
    vec![
        ("client_assertion_type".into(), JWT_BEARER.into()),
        (
            "client_assertion".into(),
            client_assertion(server, &server.keys.web, client_id),
        ),
    ]
}

pub fn basic(client_id: &str, secret: &str) -> HeaderMap {
    use base64::Engine;
    let value = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {value}")).unwrap(),
    );
    headers
}

pub fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_str(value).unwrap());
    headers
}

/// POST with owned form pairs.
pub async fn post(
    server: &TestServer,
    path: &str,
    form: &[(String, String)],
    headers: HeaderMap,
) -> (u16, HeaderMap, Value) {
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    server.post_form(path, &borrowed, headers).await
}

/// A code for `client_id` (a plain authorization request, signed in as `subject`) and its
/// `authorization_details` naming treatment (TEFCA exchange purpose `T-TREAT`): every
/// authorization and token request names its purpose of use.
pub const TREATMENT: &str = r#"[{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}}]"#;

/// PKCE verifier.
pub async fn code_for(
    server: &TestServer,
    client_id: &str,
    subject: &str,
    redirect_uri: &str,
) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let (status, location) = authorize(
        server,
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", subject),
            ("state", "st"),
            ("authorization_details", TREATMENT),
        ],
    )
    .await;
    assert_eq!(status, 303, "authorization must redirect");
    let location = location.unwrap();
    let code = query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
    (code, verifier)
}

/// Redeem a code for the `web` client.
pub async fn redeem_web(
    server: &TestServer,
    code: &str,
    verifier: &str,
) -> (u16, HeaderMap, Value) {
    try_redeem_as(server, "web", code, verifier).await
}

/// Introspect `token` as the `fhir` client, the resource server of the test deployment's
/// access tokens (it may learn about any of them, but about no refresh token: introspect
/// those with [`introspect_as`] their client); returns the response body.
pub async fn introspect(server: &TestServer, token: &str) -> Value {
    introspect_as(
        server,
        token,
        Vec::new(),
        basic("fhir", crate::clients::FHIR_SECRET),
    )
    .await
}

/// Introspect `token` as the client these form members (`web_auth`) or headers (`basic`)
/// authenticate; returns the response body.
pub async fn introspect_as(
    server: &TestServer,
    token: &str,
    mut auth: Vec<(String, String)>,
    headers: HeaderMap,
) -> Value {
    auth.push(("token".to_owned(), token.to_owned()));
    let (status, _, body) = post(server, "/introspect", &auth, headers).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A machine token of the `m2m` client (`private_key_jwt`, treatment): the token and the
/// log index the token endpoint reported for it.
pub async fn m2m_token_and_index(server: &TestServer) -> (String, u64) {
    let form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("authorization_details".to_owned(), TREATMENT.to_owned()),
        ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
        (
            "client_assertion".to_owned(),
            client_assertion(server, &server.keys.m2m, "m2m"),
        ),
    ];
    let (status, headers, body) = post(server, "/token", &form, HeaderMap::new()).await;
    assert_eq!(status, 200, "{body}");
    let index = headers["glassgate-log-index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (body["access_token"].as_str().unwrap().to_owned(), index)
}

/// A `client_credentials` token request of the `dpop` client (Basic) with `proof` as its
/// DPoP header.
pub async fn dpop_client_token(server: &TestServer, proof: &str) -> (u16, HeaderMap, Value) {
    let mut headers = basic("dpop", crate::clients::DPOP_SECRET);
    headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    server
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("authorization_details", TREATMENT),
                ("scope", "system/Patient.rs"),
            ],
            headers,
        )
        .await
}

/// Fetch a DPoP nonce: a proof without one is answered with `use_dpop_nonce`.
pub async fn dpop_nonce(server: &TestServer, key: &TestKey) -> String {
    let proof = crate::jwt::dpop_proof(key, "POST", &server.url("/token"), None, None);
    let (status, headers, body) = dpop_client_token(server, &proof).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "use_dpop_nonce");
    headers
        .get("dpop-nonce")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Redeem a code (registered redirect URI) authenticating with `headers` (Basic, DPoP…).
pub async fn redeem_with(
    server: &TestServer,
    code: &str,
    verifier: &str,
    headers: HeaderMap,
) -> (u16, HeaderMap, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ];
    server.post_form("/token", &form, headers).await
}

/// `client_id` (a `private_key_jwt` client with the web key) pushes an authorization request
/// (scope `openid offline_access`, state `rp-state`, nonce `rp-nonce`, plus `extra`); returns
/// the `/authorize` path to send a browser to, and the PKCE verifier.
pub async fn pushed_authorization(
    server: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (status, pushed, verifier) = push_authorization(server, client_id, extra).await;
    assert_eq!(status, 201, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let url = Url::parse_with_params(
        "http://x/authorize",
        &[("client_id", client_id), ("request_uri", request_uri)],
    )
    .unwrap();
    (format!("/authorize?{}", url.query().unwrap()), verifier)
}

/// Push the same authorization request as [`pushed_authorization`], whatever the answer:
/// the status, the response and the PKCE verifier.
pub async fn push_authorization(
    server: &TestServer,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (u16, Value, String) {
    let (verifier, challenge) = pkce_pair();
    let mut form = web_key_auth(server, client_id);
    form.extend([
        ("client_id".into(), client_id.into()),
        ("response_type".into(), "code".into()),
        ("redirect_uri".into(), REDIRECT_URI.into()),
        ("code_challenge".into(), challenge),
        ("code_challenge_method".into(), "S256".into()),
        ("state".into(), "rp-state".into()),
        ("nonce".into(), "rp-nonce".into()),
    ]);
    if !extra.iter().any(|(k, _)| *k == "scope") {
        form.push(("scope".into(), "openid offline_access".into()));
    }
    if !extra.iter().any(|(k, _)| *k == "authorization_details") {
        form.push(("authorization_details".into(), TREATMENT.into()));
    }
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (status, _, pushed) = post(server, "/par", &form, HeaderMap::new()).await;
    (status, pushed, verifier)
}

/// Redeem a code as `client_id` (`private_key_jwt` with the web key), whatever the answer.
pub async fn try_redeem_as(
    server: &TestServer,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> (u16, HeaderMap, Value) {
    let mut form = web_key_auth(server, client_id);
    form.extend([
        ("grant_type".into(), "authorization_code".into()),
        ("code".into(), code.into()),
        ("redirect_uri".into(), REDIRECT_URI.into()),
        ("code_verifier".into(), verifier.into()),
    ]);
    post(server, "/token", &form, HeaderMap::new()).await
}

/// Redeem a code as `client_id`, which must succeed; the token response.
pub async fn redeem_as(server: &TestServer, client_id: &str, code: &str, verifier: &str) -> Value {
    let (status, _, tokens) = try_redeem_as(server, client_id, code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// `authorization_details` naming `purpose` (a TEFCA exchange purpose code) and, if given, the
/// patient the request is about (`patient_context`).
pub fn purpose_details(purpose: &str, patient: Option<&str>) -> String {
    let mut entries = vec![
        serde_json::json!({ "type": "purpose_of_use", "purpose_of_use": {
        "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": purpose } }),
    ];
    if let Some(patient) = patient {
        entries.push(serde_json::json!({ "type": "patient_context", "patient": patient }));
    }
    Value::Array(entries).to_string()
}
