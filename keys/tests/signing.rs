//! Software signers: signatures verify against the published JWK alone.

mod common;

use glassgate_keys::{Algorithm, KeyError, Signer, SoftwareSigner, jwk_thumbprint};

#[test]
fn each_algorithm_signs_and_verifies_from_its_jwk() {
    for alg in Algorithm::ALL {
        let (signer, der) = SoftwareSigner::generate(alg).unwrap();
        let jwk = signer.public_jwk();
        assert_eq!(jwk["alg"], alg.jose_name());
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], signer.kid());
        assert_eq!(jwk_thumbprint(jwk).unwrap(), signer.kid());
        assert_eq!(signer.algorithm(), alg);
        assert!(
            jwk.get("d").is_none() && jwk.get("p").is_none(),
            "no private members"
        );

        let sig = signer.sign(b"header.payload").unwrap();
        let expected_len = match alg {
            Algorithm::Es256 | Algorithm::EdDsa => 64,
            Algorithm::Rs256 => 256,
        };
        assert_eq!(sig.len(), expected_len, "{alg:?}");
        assert!(
            common::verify_with_jwk(jwk, b"header.payload", &sig),
            "{alg:?}"
        );
        assert!(
            !common::verify_with_jwk(jwk, b"header.payloaD", &sig),
            "{alg:?}"
        );

        // Reloading the PKCS#8 gives the same key.
        let again = SoftwareSigner::from_pkcs8(alg, &der).unwrap();
        assert_eq!(again.kid(), signer.kid());
        assert_eq!(again.public_jwk(), jwk);
        let sig2 = again.sign(b"m").unwrap();
        assert!(common::verify_with_jwk(jwk, b"m", &sig2));
    }
}

#[test]
fn rsa_keys_are_2048_bit_with_standard_exponent() {
    let (signer, _) = SoftwareSigner::generate(Algorithm::Rs256).unwrap();
    assert_eq!(signer.public_jwk()["e"], "AQAB");
    // 256 bytes -> 342 base64url chars without padding.
    assert_eq!(signer.public_jwk()["n"].as_str().unwrap().len(), 342);
}

#[test]
fn pkcs8_of_wrong_algorithm_or_garbage_is_rejected() {
    let (_, ec_der) = SoftwareSigner::generate(Algorithm::Es256).unwrap();
    assert!(matches!(
        SoftwareSigner::from_pkcs8(Algorithm::EdDsa, &ec_der),
        Err(KeyError::Crypto(_))
    ));
    assert!(matches!(
        SoftwareSigner::from_pkcs8(Algorithm::Rs256, &ec_der),
        Err(KeyError::Crypto(_))
    ));
    for alg in Algorithm::ALL {
        assert!(matches!(
            SoftwareSigner::from_pkcs8(alg, b"not der"),
            Err(KeyError::Crypto(_))
        ));
    }
}

#[test]
fn debug_shows_no_key_material() {
    let (signer, _der) = SoftwareSigner::generate(Algorithm::Rs256).unwrap();
    let dbg = format!("{signer:?}");
    assert!(dbg.contains(signer.kid()));
    // Only kid and algorithm: far shorter than any RSA key encoding.
    assert!(dbg.len() < 120, "{dbg}");
}

#[test]
fn signers_are_shareable_trait_objects() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SoftwareSigner>();
    let (signer, _) = SoftwareSigner::generate(Algorithm::Es256).unwrap();
    let shared: std::sync::Arc<dyn Signer> = std::sync::Arc::new(signer);
    assert_eq!(shared.sign(b"x").unwrap().len(), 64);
}
