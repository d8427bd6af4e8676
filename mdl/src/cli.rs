//! `glassgate mdl verify`: offline verification of a wallet's DeviceResponse for integrators.
//! It runs the same pipeline as the server ([`crate::verify::verify`]).
//!
//! Exit codes: [`EXIT_VALID`] (0) the presentation is valid; [`EXIT_REFUSED`] (1) it was
//! refused (the refusal code and message are printed); [`EXIT_USAGE`] (2) bad arguments;
//! [`EXIT_IO`] (3) the input or trust anchors could not be read.

use std::io::Write;
use std::path::PathBuf;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::claims::{MDL_NAMESPACE, RequestedElements};
use crate::revocation::{NoRevocationCheck, crl::HttpRevocation};
use crate::transcript::{self, SessionTranscript};
use crate::trust::{TrustStore, pem_dir};
use crate::verify::{VerifyOptions, VerifyRequest, verify};

pub const EXIT_VALID: i32 = 0;
pub const EXIT_REFUSED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_IO: i32 = 3;

/// Which SessionTranscript the wallet signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HandoverKind {
    /// OpenID4VP 1.0 redirect flow (`direct_post`, `direct_post.jwt`): client id, nonce,
    /// response URI, thumbprint (encrypted responses only).
    Oid4vp,
    /// OpenID4VP 1.0 over the Digital Credentials API: origin, nonce, thumbprint (dc_api.jwt).
    Dcapi,
    /// ISO 18013-7 Annex C (`org-iso-mdoc`): origin and `--encryption-info`.
    IsoDcapi,
}

/// Arguments of `glassgate mdl verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// DeviceResponse file: binary CBOR, base64url text, or a vp_token JSON object.
    pub file: PathBuf,
    /// Trusted IACA certificates: a PEM bundle or a directory of PEM/DER files.
    #[arg(long)]
    pub trust: PathBuf,
    #[arg(long, value_enum)]
    pub handover: HandoverKind,
    /// client_id including its prefix, e.g. `x509_san_dns:verifier.example` (oid4vp).
    #[arg(long)]
    pub client_id: Option<String>,
    /// The request nonce.
    #[arg(long)]
    pub nonce: Option<String>,
    /// response_uri (or redirect_uri) of the request (oid4vp).
    #[arg(long)]
    pub response_uri: Option<String>,
    /// Origin of the page that called the DC API, without `origin:` (dcapi, iso-dcapi).
    #[arg(long)]
    pub origin: Option<String>,
    /// Hex JWK SHA-256 thumbprint of the verifier's encryption key (encrypted responses).
    #[arg(long)]
    pub thumbprint: Option<String>,
    /// Base64EncryptionInfo of an ISO 18013-7 Annex C request (iso-dcapi).
    #[arg(long)]
    pub encryption_info: Option<String>,
    /// Requested mDL elements, comma-separated (default: the identity-proofing set).
    #[arg(long, value_delimiter = ',')]
    pub elements: Option<Vec<String>>,
    /// Verification time (RFC 3339), default now.
    #[arg(long)]
    pub now: Option<String>,
    /// Skip CRL / status-list fetching.
    #[arg(long)]
    pub offline: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn usage(out: &mut impl Write, msg: &str) -> i32 {
    let _ = writeln!(out, "error: {msg}");
    EXIT_USAGE
}

fn need<'a>(v: &'a Option<String>, flag: &str) -> Result<&'a str, String> {
    v.as_deref()
        .ok_or_else(|| format!("--{flag} is required for this handover"))
}

/// Builds the transcript the flags describe (flags a handover does not use are ignored).
pub fn transcript_from_args(args: &VerifyArgs) -> Result<SessionTranscript, String> {
    let tp = match &args.thumbprint {
        Some(h) => Some(hex::decode(h.trim()).map_err(|_| "--thumbprint must be hex".to_owned())?),
        None => None,
    };
    Ok(match args.handover {
        HandoverKind::Oid4vp => transcript::oid4vp(
            need(&args.client_id, "client-id")?,
            need(&args.nonce, "nonce")?,
            tp.as_deref(),
            need(&args.response_uri, "response-uri")?,
        ),
        HandoverKind::Dcapi => transcript::oid4vp_dc_api(
            need(&args.origin, "origin")?,
            need(&args.nonce, "nonce")?,
            tp.as_deref(),
        ),
        HandoverKind::IsoDcapi => transcript::iso_dc_api(
            need(&args.encryption_info, "encryption-info")?,
            need(&args.origin, "origin")?,
        ),
    })
}

/// Reads binary CBOR, base64url, or a `vp_token` JSON object.
pub fn read_device_response(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied()
        .unwrap_or(0);
    if first >> 5 == 5 {
        return Ok(bytes.to_vec()); // a CBOR map
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "input is neither CBOR nor text".to_owned())?;
    if first == b'{' {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
        let vp = v.get("vp_token").unwrap_or(&v);
        return crate::response::device_response_from_vp_token(vp).map_err(|e| e.to_string());
    }
    crate::response::decode_b64url(text).map_err(|e| e.to_string())
}

/// Runs `glassgate mdl verify`; returns the process exit code.
pub fn run_verify(args: &VerifyArgs, out: &mut impl Write) -> i32 {
    let transcript = match transcript_from_args(args) {
        Ok(t) => t,
        Err(e) => return usage(out, &e),
    };
    let now = match &args.now {
        Some(s) => match OffsetDateTime::parse(s, &Rfc3339) {
            Ok(t) => t,
            Err(_) => return usage(out, "--now must be RFC 3339"),
        },
        None => OffsetDateTime::now_utc(),
    };
    let requested = match &args.elements {
        Some(els) => RequestedElements::mdl(&els.iter().map(String::as_str).collect::<Vec<_>>()),
        None => RequestedElements::mdl_identity(),
    };
    let input = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(out, "error: cannot read {}: {e}", args.file.display());
            return EXIT_IO;
        }
    };
    let device_response = match read_device_response(&input) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            return EXIT_IO;
        }
    };
    let trust = TrustStore::new();
    match pem_dir::reload(&trust, &args.trust) {
        Ok(report) => {
            for (file, err) in &report.errors {
                let _ = writeln!(out, "warning: trust anchor {file}: {err}");
            }
            if report.admitted.is_empty() {
                let _ = writeln!(out, "error: no trust anchor in {}", args.trust.display());
                return EXIT_IO;
            }
        }
        Err(e) => {
            let _ = writeln!(out, "error: cannot read {}: {e}", args.trust.display());
            return EXIT_IO;
        }
    }

    let req = VerifyRequest {
        device_response: &device_response,
        transcript: &transcript,
        requested: &requested,
        now,
    };
    let opts = VerifyOptions::default();
    let http = if args.offline {
        None
    } else {
        HttpRevocation::new().ok()
    };
    let rt = http.as_ref().and_then(|_| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
    });
    let outcome = match (&http, &rt) {
        // Online: revocation data is fetched only once the issuer is authenticated.
        (Some(h), Some(rt)) => {
            let (outcome, fetch_errors) = rt.block_on(h.verify(&req, &trust, &opts));
            for (url, err) in fetch_errors {
                let _ = writeln!(out, "warning: revocation data {url}: {err}");
            }
            outcome
        }
        _ => verify(&req, &trust, &NoRevocationCheck, &opts),
    };
    match outcome {
        Ok(vp) => {
            if args.json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "valid": true, "presentation": vp.to_json(false) })
                );
            } else {
                let _ = writeln!(
                    out,
                    "VALID {} issued under {} ({:?})",
                    vp.doc_type, vp.issuer.iaca_subject, vp.issuer.trust_source
                );
                for (ns, el) in vp.elements.names() {
                    let v = vp
                        .elements
                        .get(ns, el)
                        .map(crate::claims::value_to_json)
                        .unwrap_or_default();
                    let ns = if ns == MDL_NAMESPACE { "" } else { ns };
                    let _ = writeln!(
                        out,
                        "  {ns}{}{el} = {v}",
                        if ns.is_empty() { "" } else { "/" }
                    );
                }
                let _ = writeln!(
                    out,
                    "  validity: {} .. {}",
                    fmt(vp.validity.valid_from),
                    fmt(vp.validity.valid_until)
                );
                let _ = writeln!(out, "  revocation: {:?}", vp.revocation);
            }
            EXIT_VALID
        }
        Err(r) => {
            if args.json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "valid": false, "code": r.code(), "message": r.to_string() })
                );
            } else {
                let _ = writeln!(out, "REFUSED {}: {r}", r.code());
            }
            EXIT_REFUSED
        }
    }
}

fn fmt(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
