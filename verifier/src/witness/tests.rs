use super::*;
use crate::hash::leaf_hash;
use crate::note::verify_note;
use crate::testutil::{TestKey, log_key, signed_checkpoint};
use crate::tree::{InMemoryHashes, consistency_proof, tree_hash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const ORIGIN: &str = "oidc-log.example.org/witnessed";
const NAME: &str = "witness.example.org/w1";
const T: u64 = 1_800_000_000;

struct Fixture {
    dir: PathBuf,
    log: TestKey,
    tree: InMemoryHashes,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("gg-witness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut tree = InMemoryHashes::new();
    for i in 0..40u32 {
        tree.append_leaf_hash(&leaf_hash(&i.to_be_bytes())).unwrap();
    }
    Fixture {
        dir,
        log: log_key(3, ORIGIN),
        tree,
    }
}

impl Fixture {
    fn witness(&self) -> Witness {
        Witness::new(NAME, &[5; 32], vec![self.log.vkey.clone()], &self.dir).unwrap()
    }
    fn root(&self, size: u64) -> Hash {
        tree_hash(size, &self.tree).unwrap()
    }
    fn note(&self, size: u64) -> String {
        signed_checkpoint(&self.log, size, self.root(size), &[])
    }
    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old == new {
            return vec![];
        }
        consistency_proof(old, new, &self.tree).unwrap()
    }
}

fn body(old: u64, proof: &[Hash], note: &str) -> Vec<u8> {
    let mut s = format!("old {old}\n");
    for h in proof {
        s.push_str(&STANDARD.encode(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(note);
    s.into_bytes()
}

fn add(w: &Witness, old: u64, proof: &[Hash], note: &str) -> Response {
    w.add_checkpoint(&body(old, proof, note), T)
}

#[track_caller]
fn status(r: &Response, want: u16) {
    assert_eq!(r.status, want, "body: {}", String::from_utf8_lossy(&r.body));
}

#[test]
fn cosigns_and_advances() {
    let f = fixture("advance");
    let w = f.witness();
    let r = add(&w, 0, &[], &f.note(10));
    status(&r, 200);
    // The answer is a cosignature line over the checkpoint.
    let line = String::from_utf8(r.body.clone()).unwrap();
    assert!(line.starts_with(&format!("\u{2014} {NAME} ")) && line.ends_with('\n'));
    let full = format!("{}{line}", f.note(10));
    let v = verify_note(
        &Note::parse(full.as_bytes()).unwrap(),
        std::slice::from_ref(w.vkey()),
    )
    .unwrap();
    assert_eq!(v[0].timestamp, Some(T));
    assert_eq!(w.load(ORIGIN).unwrap().unwrap().size, 10);
    // Grow with a proof; repeat the same size.
    status(&add(&w, 10, &f.proof(10, 25), &f.note(25)), 200);
    status(&add(&w, 25, &[], &f.note(25)), 200);
    status(&add(&w, 25, &f.proof(25, 40), &f.note(40)), 200);
    let s = w.load(ORIGIN).unwrap().unwrap();
    assert_eq!((s.size, s.root), (40, f.root(40)));
    // The stored note carries the log's signature and exactly one of ours.
    let n = Note::parse(s.note.as_bytes()).unwrap();
    assert_eq!(n.signatures().iter().filter(|s| s.name == NAME).count(), 1);
    assert_eq!(
        n.signatures().iter().filter(|s| s.name == ORIGIN).count(),
        1
    );
    // Zero timestamps are never produced.
    let r = w.add_checkpoint(&body(40, &[], &f.note(40)), 0);
    status(&r, 200);
    let sig =
        Note::parse(format!("{}{}", f.note(40), String::from_utf8(r.body).unwrap()).as_bytes())
            .unwrap()
            .signatures()[1]
            .signature
            .clone();
    assert_ne!(u64::from_be_bytes(sig[..8].try_into().unwrap()), 0);
}

#[test]
fn unknown_origin_is_404() {
    let f = fixture("404");
    let w = f.witness();
    let other = log_key(4, "other.example/log");
    let note = signed_checkpoint(&other, 10, f.root(10), &[]);
    status(&add(&w, 0, &[], &note), 404);
}

#[test]
fn bad_signatures_are_403() {
    let f = fixture("403");
    let w = f.witness();
    // Signed by another key under the same name: no trusted signature.
    let impostor = log_key(4, ORIGIN);
    status(
        &add(
            &w,
            0,
            &[],
            &signed_checkpoint(&impostor, 10, f.root(10), &[]),
        ),
        403,
    );
    // The known key's signature fails (text altered after signing).
    let note = f.note(10).replacen("\n10\n", "\n11\n", 1);
    status(&add(&w, 0, &[], &note), 403);
    assert!(w.load(ORIGIN).unwrap().is_none());
}

#[test]
fn malformed_requests_and_old_too_large_are_400() {
    let f = fixture("400");
    let w = f.witness();
    status(&add(&w, 11, &[], &f.note(10)), 400);
    for b in [
        &b""[..],
        b"old 0\n",
        b"old 01\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n\nnot a note",
    ] {
        status(&w.add_checkpoint(b, T), 400);
    }
    let mut long = b"old 5\n".to_vec();
    for _ in 0..64 {
        long.extend_from_slice(format!("{}\n", STANDARD.encode([0u8; 32])).as_bytes());
    }
    long.extend_from_slice(format!("\n{}", f.note(10)).as_bytes());
    status(&w.add_checkpoint(&long, T), 400);
    // A note that is not a checkpoint.
    let note = crate::note::sign_note("hello\n", ORIGIN, &f.log.vkey.public_key(), |m| {
        use ed25519_dalek::Signer;
        f.log.sk.sign(m).to_bytes()
    })
    .unwrap()
    .to_text();
    status(&add(&w, 0, &[], &note), 400);
}

#[test]
fn stale_old_size_is_409_with_the_latest_size() {
    let f = fixture("409");
    let w = f.witness();
    // Never cosigned: latest is 0.
    let r = add(&w, 5, &f.proof(5, 10), &f.note(10));
    status(&r, 409);
    assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(r.body, b"0\n");
    status(&add(&w, 0, &[], &f.note(20)), 200);
    for old in [0, 10] {
        let r = add(&w, old, &f.proof(old, 30), &f.note(30));
        status(&r, 409);
        assert_eq!(r.body, b"20\n");
        assert_eq!(r.header("Content-Type"), Some(SIZE_CONTENT_TYPE));
    }
    // A rollback attempt: old matches, but the checkpoint is smaller → 400.
    status(&add(&w, 20, &[], &f.note(10)), 400);
}

#[test]
fn bad_consistency_is_422() {
    let f = fixture("422");
    let w = f.witness();
    // Non-empty proof with old = 0.
    status(&add(&w, 0, &f.proof(5, 10), &f.note(10)), 422);
    // Size 0 with a non-empty-tree root.
    let zero = signed_checkpoint(&f.log, 0, [7; 32], &[]);
    status(&add(&w, 0, &[], &zero), 422);
    let empty = signed_checkpoint(&f.log, 0, EMPTY_ROOT, &[]);
    status(&add(&w, 0, &[], &empty), 200);
    status(&add(&w, 0, &[], &f.note(10)), 200);
    // Bad proof.
    let mut p = f.proof(10, 20);
    p[0][0] ^= 1;
    status(&add(&w, 10, &p, &f.note(20)), 422);
    status(&add(&w, 10, &[], &f.note(20)), 422);
    // Same size, different root.
    let fork = signed_checkpoint(&f.log, 10, [7; 32], &[]);
    status(&add(&w, 10, &[], &fork), 422);
    // A proof for equal sizes.
    status(&add(&w, 10, &f.proof(5, 10), &f.note(10)), 422);
    // A consistent proof against a root the witness never cosigned.
    let other_root_note = signed_checkpoint(&f.log, 20, [8; 32], &[]);
    status(&add(&w, 10, &f.proof(10, 20), &other_root_note), 422);
    assert_eq!(w.load(ORIGIN).unwrap().unwrap().size, 10);
    status(&add(&w, 10, &f.proof(10, 20), &f.note(20)), 200);
}

#[test]
fn state_survives_restart_and_is_served() {
    let f = fixture("restart");
    let w = f.witness();
    status(&add(&w, 0, &[], &f.note(12)), 200);
    drop(w);
    let w = f.witness();
    let r = add(&w, 0, &[], &f.note(12));
    status(&r, 409);
    assert_eq!(r.body, b"12\n");
    let file = hex(&sha256(&[ORIGIN.as_bytes()]));
    assert!(f.dir.join(&file).exists());
    let r = w.handle("GET", &format!("/{file}/checkpoint"), b"");
    status(&r, 200);
    let note = Note::parse(&r.body).unwrap();
    assert_eq!(Checkpoint::parse(note.text()).unwrap().size, 12);
    verify_note(&note, std::slice::from_ref(w.vkey())).unwrap();
    status(
        &w.handle("GET", &format!("/{}/checkpoint", "0".repeat(64)), b""),
        404,
    );
    status(&w.handle("GET", "/add-checkpoint", b""), 405);
    status(
        &w.handle("POST", "/add-checkpoint", &body(12, &[], &f.note(12))),
        200,
    );
}

#[test]
fn concurrent_requests_never_roll_back() {
    let f = fixture("race");
    let w = std::sync::Arc::new(f.witness());
    status(&add(&w, 0, &[], &f.note(1)), 200);
    // Many clients all claim old = 1 and race to different sizes: exactly
    // one wins, the others see 409 with the winner's size.
    let bodies: Vec<Vec<u8>> = (2..=40)
        .map(|n| body(1, &f.proof(1, n), &f.note(n)))
        .collect();
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let w = std::sync::Arc::clone(&w);
            std::thread::spawn(move || w.add_checkpoint(&b, T).status)
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409));
}

#[test]
fn witness_setup() {
    let f = fixture("setup");
    assert!(matches!(
        Witness::new("bad name", &[5; 32], vec![], &f.dir),
        Err(WitnessError::Name(_))
    ));
    let cosigner = crate::testutil::witness_key(6, "w");
    assert!(matches!(
        Witness::new(NAME, &[5; 32], vec![cosigner.vkey], &f.dir),
        Err(WitnessError::LogKeyType(_))
    ));
    let w = f.witness();
    assert_eq!(w.vkey().signature_type(), SignatureType::CosignatureV1);
    assert_eq!(w.vkey().name(), NAME);
    // Key file creation and reuse.
    let kf = f.dir.join("key");
    let a = load_or_create_seed(&kf).unwrap();
    assert_eq!(load_or_create_seed(&kf).unwrap(), a);
    std::fs::write(&kf, "short").unwrap();
    assert!(load_or_create_seed(&kf).is_err());
    assert_eq!(seed_from_base64(&STANDARD.encode([1u8; 32])), Some([1; 32]));
}
