use super::*;
use crate::hash::EMPTY_ROOT;
use crate::testutil::{log_key, signed_checkpoint, witness_key};

const ORIGIN: &str = "log.example/a";

fn policy_text(quorum_lines: &str) -> String {
    let log = log_key(1, ORIGIN);
    let ws: Vec<String> = (0..4u8)
        .map(|i| {
            format!(
                "witness W{i} {}\n",
                witness_key(10 + i, &format!("w{i}.example")).vkey
            )
        })
        .collect();
    format!(
        "# test policy\nlog {}  https://log.example/a\n\n{}{quorum_lines}",
        log.vkey,
        ws.concat()
    )
}

#[test]
fn quorum_of_groups() {
    let text = policy_text("group X 2 W0 W1 W2\ngroup Y any W3\n\tgroup XY all X Y \nquorum XY\n");
    let p = Policy::parse(text.as_bytes()).unwrap();
    assert_eq!(p.logs.len(), 1);
    assert_eq!(p.logs[0].url.as_deref(), Some("https://log.example/a"));
    assert_eq!(p.groups[2].threshold, 2);
    let log = log_key(1, ORIGIN);
    let w: Vec<_> = (0..4u8)
        .map(|i| witness_key(10 + i, &format!("w{i}.example")))
        .collect();

    let ok = signed_checkpoint(&log, 0, EMPTY_ROOT, &[&w[0], &w[2], &w[3]]);
    let out = p.verify_checkpoint(ok.as_bytes()).unwrap();
    assert_eq!(out.witnesses, vec!["W0", "W2", "W3"]);

    let short = signed_checkpoint(&log, 0, EMPTY_ROOT, &[&w[0], &w[3]]);
    assert_eq!(
        p.verify_checkpoint(short.as_bytes()).err(),
        Some(PolicyError::QuorumNotReached)
    );
    let no_y = signed_checkpoint(&log, 0, EMPTY_ROOT, &[&w[0], &w[1], &w[2]]);
    assert_eq!(
        p.verify_checkpoint(no_y.as_bytes()).err(),
        Some(PolicyError::QuorumNotReached)
    );

    // Only witnesses, no log signature.
    let other_log = log_key(2, ORIGIN);
    let unsigned = signed_checkpoint(&other_log, 0, EMPTY_ROOT, &[&w[0], &w[1], &w[3]]);
    assert_eq!(
        p.verify_checkpoint(unsigned.as_bytes()).err(),
        Some(PolicyError::NoLogSignature)
    );
}

#[test]
fn quorum_none_and_single_witness() {
    let p = Policy::parse(policy_text("quorum none\n").as_bytes()).unwrap();
    let log = log_key(1, ORIGIN);
    let cp = signed_checkpoint(&log, 0, EMPTY_ROOT, &[]);
    assert!(p.verify_checkpoint(cp.as_bytes()).is_ok());
    let p = Policy::parse(policy_text("quorum W1\n").as_bytes()).unwrap();
    assert_eq!(
        p.verify_checkpoint(cp.as_bytes()).err(),
        Some(PolicyError::QuorumNotReached)
    );
    let w1 = witness_key(11, "w1.example");
    let cp = signed_checkpoint(&log, 0, EMPTY_ROOT, &[&w1]);
    assert!(p.verify_checkpoint(cp.as_bytes()).is_ok());
}

#[test]
fn malformed_policies_are_rejected() {
    let w0 = witness_key(10, "w0.example").vkey.to_string();
    let l = log_key(1, ORIGIN).vkey.to_string();
    let cases: Vec<(String, PolicyError)> = vec![
        (String::new(), PolicyError::Quorum),
        ("quorum none\nquorum none\n".into(), PolicyError::Quorum),
        ("quorum W9\n".into(), PolicyError::UndefinedName(1)),
        ("quorum\n".into(), PolicyError::FieldCount(1)),
        ("frobnicate x\n".into(), PolicyError::UnknownKeyword(1)),
        ("log\n".into(), PolicyError::FieldCount(1)),
        (format!("log {l} u extra\n"), PolicyError::FieldCount(1)),
        (
            "log nonsense\n".into(),
            PolicyError::BadKey(1, NoteError::BadVerifierKey("expected name+keyid+key")),
        ),
        (format!("log {w0}\n"), PolicyError::WrongKeyType(1)),
        (format!("witness A {l}\n"), PolicyError::WrongKeyType(1)),
        (format!("log {l}\nlog {l}\n"), PolicyError::DuplicateKey(2)),
        (
            format!("witness A {w0}\nwitness B {w0}\n"),
            PolicyError::DuplicateKey(2),
        ),
        (
            format!("witness none {w0}\n"),
            PolicyError::DuplicateName(1),
        ),
        (
            format!("witness A {w0}\ngroup A any A\n"),
            PolicyError::DuplicateName(2),
        ),
        (
            format!("witness A {w0}\ngroup G any A A\n"),
            PolicyError::DuplicateMember(2),
        ),
        (
            format!("witness A {w0}\ngroup G any none\n"),
            PolicyError::UndefinedName(2),
        ),
        (
            format!("witness A {w0}\ngroup G any B\n"),
            PolicyError::UndefinedName(2),
        ),
        (
            format!("witness A {w0}\ngroup G 0 A\n"),
            PolicyError::BadThreshold(2),
        ),
        (
            format!("witness A {w0}\ngroup G 2 A\n"),
            PolicyError::BadThreshold(2),
        ),
        (
            format!("witness A {w0}\ngroup G 01 A\n"),
            PolicyError::BadThreshold(2),
        ),
        (
            format!("witness A {w0}\ngroup G any\n"),
            PolicyError::FieldCount(2),
        ),
        ("quorum none\r\n".into(), PolicyError::ControlCharacter(1)),
        (
            "# c\nquorum none\x7f\n".into(),
            PolicyError::ControlCharacter(2),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Policy::parse(text.as_bytes()), Err(want), "{text:?}");
    }
    assert_eq!(Policy::parse(b"\xff"), Err(PolicyError::NotUtf8));
}

#[test]
fn a_policy_without_logs_accepts_the_log_known_from_context() {
    let log = log_key(1, ORIGIN);
    let other = log_key(2, ORIGIN);
    let w0 = witness_key(10, "w0.example");
    let p = Policy::parse(format!("witness W0 {}\nquorum W0\n", w0.vkey).as_bytes()).unwrap();
    let cp = signed_checkpoint(&log, 0, EMPTY_ROOT, &[&w0]);
    assert_eq!(
        p.verify_checkpoint(cp.as_bytes()).err(),
        Some(PolicyError::NoLogSignature),
        "with no log known, nothing signs for the log"
    );
    let out = p.verify_checkpoint_of(cp.as_bytes(), &log.vkey).unwrap();
    assert_eq!(out.witnesses, vec!["W0"]);
    assert_eq!(
        p.verify_checkpoint_of(cp.as_bytes(), &other.vkey).err(),
        Some(PolicyError::NoLogSignature),
        "the known log must be the one that signed"
    );
    let unwitnessed = signed_checkpoint(&log, 0, EMPTY_ROOT, &[]);
    assert_eq!(
        p.verify_checkpoint_of(unwitnessed.as_bytes(), &log.vkey)
            .err(),
        Some(PolicyError::QuorumNotReached)
    );
    // A policy that lists its logs is not widened by the caller's key.
    let listed = Policy::parse(policy_text("quorum none\n").as_bytes()).unwrap();
    let by_other = signed_checkpoint(&other, 0, EMPTY_ROOT, &[]);
    assert_eq!(
        listed
            .verify_checkpoint_of(by_other.as_bytes(), &other.vkey)
            .err(),
        Some(PolicyError::NoLogSignature)
    );
}
