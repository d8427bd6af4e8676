//! A person with a software passkey (webauthn-authenticator-rs `SoftPasskey`) driving the
//! server's pages and ceremony endpoints the way the pages' script does, with a cookie of
//! their own.
//!
//! `SoftPasskey` keeps no resident credentials and returns no user handle, so this wrapper
//! plays the parts of a discoverable authenticator a browser would: it drops the
//! resident-key requirement before creating the credential, names the credential when
//! signing in, and attaches the user handle (which the authenticator does not sign). The
//! server-side checks exercised are the same.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
    UserVerificationPolicy,
};

use crate::TestServer;

/// Client-side deviations, to provoke each server-side refusal.
#[derive(Debug, Clone, Default)]
pub struct Tweak {
    /// Sign with this web origin in the client data instead of the issuer's.
    pub origin: Option<String>,
    /// Claim this relying party id (its hash in the authenticator data) instead of the
    /// server's. A client would refuse an id that does not suit the origin, so the hash is
    /// swapped in the signed data after the fact; the server checks it before the signature.
    pub rp_id: Option<String>,
    /// Leave user verification out.
    pub skip_user_verification: bool,
}

pub struct Person {
    authenticator: SoftPasskey,
    pub credential_id: Option<Vec<u8>>,
    pub user_handle: Option<Vec<u8>>,
    /// The session cookie (`name=value`), once signed in.
    pub cookie: Option<String>,
    http: reqwest::Client,
    base: String,
    issuer: String,
}

/// What a ceremony endpoint answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

impl Person {
    pub fn new(server: &TestServer) -> Self {
        Self {
            authenticator: SoftPasskey::new(true),
            credential_id: None,
            user_handle: None,
            cookie: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base.clone(),
            issuer: server.issuer.clone(),
        }
    }

    fn origin(&self) -> String {
        Url::parse(&self.issuer)
            .unwrap()
            .origin()
            .ascii_serialization()
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .header(ORIGIN, self.origin())
            .body(body.to_string());
        let response = self.send(request).await;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body }
    }

    /// Send with this browser's cookie, keeping any session cookie the answer sets.
    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> reqwest::Response {
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(value) = response.headers().get(SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap().to_owned();
            assert!(
                value.contains("Secure") && value.contains("HttpOnly"),
                "session cookie flags: {value}"
            );
            self.cookie = Some(pair);
        }
        response
    }

    /// Status, `Location` and body of a page answer.
    async fn page(response: reqwest::Response) -> (u16, Option<String>, String) {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }

    /// GET a page with the session cookie; returns status, `Location` and body.
    pub async fn get(&mut self, path_or_url: &str) -> (u16, Option<String>, String) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let request = self.http.get(url);
        Self::page(self.send(request).await).await
    }

    /// POST a page form with the session cookie and the site's `Origin`.
    pub async fn post_form(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, self.origin())
            .form(form);
        Self::page(self.send(request).await).await
    }

    /// Start a registration (`start` is the start request body); returns the ceremony id and
    /// the credential the authenticator made, ready to finish.
    pub async fn create(&mut self, start: Value, tweak: &Tweak) -> Result<(String, Value), Answer> {
        let answer = self.post_json("/passkey/register/start", &start).await;
        if answer.status != 200 {
            return Err(answer);
        }
        let ceremony = answer.body["ceremony"].as_str().unwrap().to_owned();
        let mut options: CreationChallengeResponse =
            serde_json::from_value(answer.body["options"].clone()).unwrap();
        assert_eq!(
            options
                .public_key
                .authenticator_selection
                .as_ref()
                .map(|s| s.require_resident_key),
            Some(true),
            "passkeys must be discoverable"
        );
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
            selection.resident_key = None;
            if tweak.skip_user_verification {
                selection.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
            }
        }
        if let Some(rp_id) = &tweak.rp_id {
            options.public_key.rp.id = rp_id.clone();
        }
        let user_handle = options.public_key.user.id.to_vec();
        let origin = Url::parse(tweak.origin.as_deref().unwrap_or(&self.origin())).unwrap();
        let credential = self.authenticator.do_registration(origin, options).unwrap();
        self.credential_id = Some(credential.raw_id.to_vec());
        self.user_handle = Some(user_handle);
        Ok((ceremony, serde_json::to_value(&credential).unwrap()))
    }

    /// Register a passkey (enrollment or another one): start, create, finish.
    pub async fn register(&mut self, start: Value, name: &str) -> Answer {
        let (ceremony, credential) = match self.create(start, &Tweak::default()).await {
            Ok(made) => made,
            Err(answer) => return answer,
        };
        self.post_json(
            "/passkey/register/finish",
            &json!({ "ceremony": ceremony, "credential": credential, "name": name }),
        )
        .await
    }

    /// Enroll with a clinician invitation link.
    pub async fn enroll(&mut self, invitation_url: &str, display_name: &str) -> Answer {
        let token = Url::parse(invitation_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "invitation")
            .unwrap()
            .1
            .into_owned();
        self.register(
            json!({ "invitation": token, "display_name": display_name }),
            "test passkey",
        )
        .await
    }

    /// Start a sign-in and produce the assertion; returns the ceremony id and the credential.
    pub async fn assert(&mut self, tweak: &Tweak) -> (String, PublicKeyCredential) {
        let answer = self.post_json("/passkey/login/start", &json!({})).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let ceremony = answer.body["ceremony"].as_str().unwrap().to_owned();
        let mut options: RequestChallengeResponse =
            serde_json::from_value(answer.body["options"].clone()).unwrap();
        assert!(
            options.public_key.allow_credentials.is_empty(),
            "discoverable sign-in names no credential"
        );
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: self.credential_id.clone().unwrap(),
            transports: None,
        }];
        if tweak.skip_user_verification {
            options.public_key.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
        }
        let origin = Url::parse(tweak.origin.as_deref().unwrap_or(&self.origin())).unwrap();
        let mut credential = self
            .authenticator
            .do_authentication(origin, options)
            .unwrap();
        if let Some(rp_id) = &tweak.rp_id {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, rp_id.as_bytes());
            let mut data = credential.response.authenticator_data.to_vec();
            data[..32].copy_from_slice(hash.as_ref());
            credential.response.authenticator_data = data;
        }
        credential.response.user_handle = self.user_handle.clone();
        (ceremony, credential)
    }

    pub async fn finish_login(
        &mut self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        interaction: Option<&str>,
    ) -> Answer {
        self.post_json(
            "/passkey/login/finish",
            &json!({ "ceremony": ceremony, "credential": credential, "interaction": interaction }),
        )
        .await
    }

    /// A fresh browser session through `authorize` (a path from
    /// [`crate::oauth::pushed_authorization`]): the login page, a passkey sign-in, the consent
    /// page approved if it is shown, and back to the client; returns the code.
    pub async fn sign_in_for_code(&mut self, authorize: &str) -> String {
        let back = self.sign_in_for_redirect(authorize).await;
        crate::oauth::query_param(&back, "code").unwrap_or_else(|| panic!("no code: {back}"))
    }

    /// Like [`Person::sign_in_for_code`], but returns the redirect back to the client,
    /// which carries either a code or an error.
    pub async fn sign_in_for_redirect(&mut self, authorize: &str) -> Url {
        self.cookie = None;
        let (status, location, _) = self.get(authorize).await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        let interaction = location
            .strip_prefix("/login?interaction=")
            .unwrap_or_else(|| panic!("not the login page: {location}"))
            .to_owned();
        let signed_in = self.login(Some(&interaction)).await;
        assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
        let page = format!("/interaction/{interaction}");
        let (status, location, consent) = self.get(&page).await;
        let location = match status {
            303 => location.unwrap(),
            _ => {
                let form = [("csrf", csrf_of(&consent)), ("decision", "allow".into())];
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.post_form(&page, &form).await.1.unwrap()
            }
        };
        Url::parse(&location).unwrap()
    }

    /// Sign in (optionally for a pending authorization).
    pub async fn login(&mut self, interaction: Option<&str>) -> Answer {
        let (ceremony, credential) = self.assert(&Tweak::default()).await;
        self.finish_login(&ceremony, &credential, interaction).await
    }
}

/// The hidden CSRF token of a page's form.
pub fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

/// `glassgate admin invite --npi <npi>` against the server's deployment: the enrollment link.
pub async fn invite(server: &TestServer, npi: &str) -> String {
    let out = server
        .command_output(&["admin", "invite", "--npi", npi, "--json"])
        .await;
    let invitation: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(invitation["npi"], npi);
    invitation["url"].as_str().unwrap().to_owned()
}
