//! Shared fixture: a test IACA + DS, a trust store, our transcript, and helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_mdl::revocation::NoRevocationCheck;
use glassgate_mdl::wallet::{
    self, Credential, DeviceKey, IacaOptions, IssueSpec, KeyAlg, Presentation,
};
use glassgate_mdl::{
    Anchor, Refusal, RequestedElements, SessionTranscript, TrustSource, TrustStore,
    VerifiedPresentation, VerifyOptions, VerifyRequest, transcript,
};
use time::OffsetDateTime;

pub const CLIENT_ID: &str = "x509_san_dns:glassgate.example";
pub const NONCE: &str = "n-0S6_WzA2Mj";
pub const RESPONSE_URI: &str = "https://glassgate.example/mdl/response";
pub const THUMBPRINT: [u8; 32] = [7u8; 32];

pub fn our_transcript() -> SessionTranscript {
    transcript::oid4vp(CLIENT_ID, NONCE, Some(&THUMBPRINT), RESPONSE_URI)
}

pub struct Fixture {
    pub alg: KeyAlg,
    pub iaca_opts: IacaOptions,
    pub iaca: wallet::TestIaca,
    pub ds: wallet::TestDs,
    pub trust: TrustStore,
}

pub fn anchor(der: &[u8]) -> Anchor {
    Anchor::from_der(
        der,
        TrustSource::Static {
            label: "test".into(),
        },
        Vec::new(),
    )
    .unwrap()
}

impl Fixture {
    pub fn new(alg: KeyAlg) -> Self {
        let iaca_opts = IacaOptions::new(alg);
        Self::with(iaca_opts, |_| {})
    }

    /// A fixture whose DS options are adjusted by `f`.
    pub fn with(iaca_opts: IacaOptions, f: impl FnOnce(&mut wallet::DsOptions)) -> Self {
        let alg = iaca_opts.alg;
        let iaca = wallet::make_iaca(&iaca_opts).unwrap();
        let mut ds_opts = wallet::DsOptions::new(alg, &iaca_opts);
        f(&mut ds_opts);
        let ds = wallet::make_ds(&iaca, &ds_opts).unwrap();
        let trust = TrustStore::from_anchors(vec![anchor(&iaca.cert_der)]);
        Self {
            alg,
            iaca_opts,
            iaca,
            ds,
            trust,
        }
    }

    pub fn credential(&self, spec: &IssueSpec) -> Credential {
        let key = DeviceKey::generate(self.alg).unwrap();
        wallet::issue(&self.ds, key, spec).unwrap()
    }

    pub fn presentation(&self, spec: &IssueSpec) -> Presentation {
        let cred = self.credential(spec);
        wallet::present(
            &cred,
            Some(&RequestedElements::mdl_identity()),
            &our_transcript(),
        )
        .unwrap()
    }

    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<VerifiedPresentation, Refusal> {
        self.verify_with(bytes, &our_transcript(), &RequestedElements::mdl_identity())
    }

    pub fn verify_with(
        &self,
        bytes: &[u8],
        transcript: &SessionTranscript,
        requested: &RequestedElements,
    ) -> Result<VerifiedPresentation, Refusal> {
        let req = VerifyRequest {
            device_response: bytes,
            transcript,
            requested,
            now: OffsetDateTime::now_utc(),
        };
        glassgate_mdl::verify(
            &req,
            &self.trust,
            &NoRevocationCheck,
            &VerifyOptions::default(),
        )
    }
}
