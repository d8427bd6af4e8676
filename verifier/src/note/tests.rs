use super::*;
use ed25519_dalek::{Signer, SigningKey};

// The example vkey and note of C2SP/C2SP signed-note.md ("Verifier keys"),
// CC BY 4.0.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn test_key(seed: u8, name: &str) -> (SigningKey, VerifierKey) {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let vk =
        VerifierKey::new(name, SignatureType::Ed25519, &sk.verifying_key().to_bytes()).unwrap();
    (sk, vk)
}

#[test]
fn spec_example_verifies() {
    let key = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(key.name(), "example.com/foo");
    assert_eq!(key.key_id(), 0x530d903a);
    assert_eq!(key.to_string(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    assert_eq!(note.to_text(), SPEC_NOTE);
    let v = verify_note(&note, &[key]).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].name, "example.com/foo");
}

#[test]
fn tampered_text_or_signature_fails() {
    let key = VerifierKey::parse(SPEC_VKEY).unwrap();
    let tampered = SPEC_NOTE.replace("example message", "exemple message");
    let note = Note::parse(tampered.as_bytes()).unwrap();
    assert_eq!(
        verify_note(&note, std::slice::from_ref(&key)),
        Err(NoteError::InvalidSignature("example.com/foo".into()))
    );
    let tampered = SPEC_NOTE.replace("Uw2QOkn8", "Uw2QOkn9");
    let note = Note::parse(tampered.as_bytes()).unwrap();
    assert!(matches!(
        verify_note(&note, &[key]),
        Err(NoteError::InvalidSignature(_))
    ));
}

#[test]
fn unknown_keys_are_ignored_but_one_known_is_required() {
    let spec = VerifierKey::parse(SPEC_VKEY).unwrap();
    let (sk, other) = test_key(9, "example.com/foo");
    // Same name, different key ID: ignored.
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(
        verify_note(&note, std::slice::from_ref(&other)),
        Err(NoteError::NoKnownSignature)
    );
    // Extra unknown signature lines do not disturb a known one.
    let mut note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    let sig = signature_line_ed25519(note.text(), "unknown.example", &[1; 32], |m| {
        sk.sign(m).to_bytes()
    })
    .unwrap();
    note.push_signature(sig).unwrap();
    let reparsed = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(verify_note(&reparsed, &[spec]).unwrap().len(), 1);
}

#[test]
fn sign_then_verify_round_trip() {
    let (sk, vk) = test_key(3, "log.example/a");
    let note = sign_note("hello\n\nworld\n", "log.example/a", &vk.public_key(), |m| {
        sk.sign(m).to_bytes()
    })
    .unwrap();
    let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(parsed.text(), "hello\n\nworld\n");
    assert_eq!(verify_note(&parsed, &[vk]).unwrap().len(), 1);
}

#[test]
fn malformed_notes_are_rejected() {
    let cases: &[(&[u8], NoteError)] = &[
        (b"no signatures\n", NoteError::MissingSignatureBlock),
        (b"text\n\n", NoteError::MissingSignatureBlock),
        (
            b"text\n\n\xe2\x80\x94 a AAAAAAE=",
            NoteError::MissingSignatureBlock,
        ),
        (b"\xff\n\n", NoteError::NotUtf8),
        (
            b"te\x01xt\n\n\xe2\x80\x94 a AAAAAAE=\n",
            NoteError::ControlCharacter,
        ),
        (
            b"te\rxt\n\n\xe2\x80\x94 a AAAAAAE=\n",
            NoteError::ControlCharacter,
        ),
        (
            b"text\n\n- a AAAAAAE=\n",
            NoteError::MalformedSignatureLine(1),
        ),
        (
            b"text\n\n\xe2\x80\x94 a+b AAAAAAE=\n",
            NoteError::MalformedSignatureLine(1),
        ),
        (
            b"text\n\n\xe2\x80\x94 a AAAAAA==\n",
            NoteError::MalformedSignatureLine(1),
        ),
        (
            b"text\n\n\xe2\x80\x94 a !!!!\n",
            NoteError::MalformedSignatureLine(1),
        ),
        (
            b"text\n\n\xe2\x80\x94 a AAAAAAE= x\n",
            NoteError::MalformedSignatureLine(1),
        ),
        (
            b"text\n\n\xe2\x80\x94 a AAAAAAE=\n\xe2\x80\x94 b\n",
            NoteError::MalformedSignatureLine(2),
        ),
        (
            b"text\n\n\xe2\x80\x94  AAAAAAE=\n",
            NoteError::MalformedSignatureLine(1),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Note::parse(input).as_ref().err(), Some(want), "{input:?}");
    }
    let big = vec![b'a'; MAX_NOTE_BYTES + 1];
    assert_eq!(Note::parse(&big), Err(NoteError::TooLarge(MAX_NOTE_BYTES)));
    let mut many = String::from("text\n\n");
    for _ in 0..=MAX_SIGNATURES {
        many.push_str("\u{2014} a AAAAAAE=\n");
    }
    assert_eq!(
        Note::parse(many.as_bytes()),
        Err(NoteError::TooManySignatures(MAX_SIGNATURES))
    );
    assert_eq!(Note::new("no newline"), Err(NoteError::MalformedText));
}

#[test]
fn sixteen_signatures_are_accepted() {
    let mut s = String::from("text\n\n");
    for i in 0..16 {
        s.push_str(&format!("\u{2014} k{i} AAAAAAE=\n"));
    }
    assert_eq!(Note::parse(s.as_bytes()).unwrap().signatures().len(), 16);
}

#[test]
fn malformed_vkeys_are_rejected() {
    let bad = [
        "",
        "example.com/foo",
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+x",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",
        "example.com/foo+530d903a+!!!",
        "a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ];
    for v in bad {
        assert!(VerifierKey::parse(v).is_err(), "{v}");
    }
    // Type 0x02 (ECDSA) is not supported.
    let k = "a+00000000+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(VerifierKey::parse(k), Err(NoteError::UnsupportedKeyType(2)));
}

#[test]
fn vkey_whose_base64_contains_plus_round_trips() {
    // Find a key whose vkey base64 has a '+', which must not split the string.
    let k = (0..=255u8)
        .map(|s| test_key(s, "log.example/plus").1)
        .find(|k| {
            k.to_string()
                .rsplit('+')
                .next()
                .is_some_and(|b| b.len() < 44)
        })
        .unwrap();
    assert_eq!(VerifierKey::parse(&k.to_string()).unwrap(), k);
}
