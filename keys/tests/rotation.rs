//! The pure rotation planner.

mod common;

use common::record;
use glassgate_keys::{
    Algorithm, Kek, KeyChange, KeyPurpose, KeyRecord, KeyStatus, RotationPolicy, plan_rotation,
};

const DAY: i64 = 86_400;
const POLICY: RotationPolicy = RotationPolicy {
    rotate_every_secs: 30 * DAY,
    retire_for_secs: 7 * DAY,
};
const T0: i64 = 1_700_000_000;

fn gen_(algorithm: Algorithm, status: KeyStatus) -> KeyChange {
    KeyChange::Generate {
        algorithm,
        purpose: KeyPurpose::TokenSigning,
        status,
    }
}

fn set(kid: &str, status: KeyStatus, at: i64) -> KeyChange {
    KeyChange::SetStatus {
        kid: kid.to_owned(),
        status,
        at,
    }
}

fn plan(records: &[KeyRecord], algs: &[Algorithm], now: i64, force: bool) -> Vec<KeyChange> {
    plan_rotation(records, algs, KeyPurpose::TokenSigning, now, &POLICY, force)
}

/// A healthy pair: current activated at `at`, next created at `at`.
fn pair(alg: Algorithm, at: i64, kek: &Kek) -> [KeyRecord; 2] {
    [
        record(alg, KeyStatus::Current, at, Some(at), None, kek),
        record(alg, KeyStatus::Next, at, None, None, kek),
    ]
}

#[test]
fn empty_store_bootstraps_current_and_next() {
    assert_eq!(
        plan(&[], &[Algorithm::Es256], T0, false),
        vec![
            gen_(Algorithm::Es256, KeyStatus::Current),
            gen_(Algorithm::Es256, KeyStatus::Next)
        ]
    );
    // Force on an empty store is the same bootstrap.
    assert_eq!(plan(&[], &[Algorithm::Es256], T0, true).len(), 2);
}

#[test]
fn fresh_keys_need_nothing() {
    let (kek, _) = Kek::generate().unwrap();
    let recs = pair(Algorithm::Es256, T0, &kek);
    assert!(plan(&recs, &[Algorithm::Es256], T0 + 30 * DAY - 1, false).is_empty());
}

#[test]
fn due_rotation_promotes_next_and_retires_current() {
    let (kek, _) = Kek::generate().unwrap();
    let [cur, next] = pair(Algorithm::Es256, T0, &kek);
    let now = T0 + 30 * DAY;
    assert_eq!(
        plan(
            &[cur.clone(), next.clone()],
            &[Algorithm::Es256],
            now,
            false
        ),
        vec![
            set(&cur.kid, KeyStatus::Retired, now),
            set(&next.kid, KeyStatus::Current, now),
            gen_(Algorithm::Es256, KeyStatus::Next),
        ]
    );
}

#[test]
fn age_counts_from_activation_not_creation() {
    let (kek, _) = Kek::generate().unwrap();
    // Created long ago as Next, activated recently: not due.
    let cur = record(
        Algorithm::Es256,
        KeyStatus::Current,
        T0 - 100 * DAY,
        Some(T0),
        None,
        &kek,
    );
    let next = record(Algorithm::Es256, KeyStatus::Next, T0, None, None, &kek);
    assert!(plan(&[cur, next], &[Algorithm::Es256], T0 + DAY, false).is_empty());
}

#[test]
fn force_rotates_fresh_keys() {
    let (kek, _) = Kek::generate().unwrap();
    let [cur, next] = pair(Algorithm::Rs256, T0, &kek);
    assert_eq!(
        plan(
            &[cur.clone(), next.clone()],
            &[Algorithm::Rs256],
            T0 + 1,
            true
        ),
        vec![
            set(&cur.kid, KeyStatus::Retired, T0 + 1),
            set(&next.kid, KeyStatus::Current, T0 + 1),
            gen_(Algorithm::Rs256, KeyStatus::Next),
        ]
    );
}

#[test]
fn missing_next_is_staged_and_force_replaces_immediately() {
    let (kek, _) = Kek::generate().unwrap();
    let cur = record(
        Algorithm::Es256,
        KeyStatus::Current,
        T0,
        Some(T0),
        None,
        &kek,
    );
    let recs = [cur.clone()];
    let staged = vec![gen_(Algorithm::Es256, KeyStatus::Next)];
    assert_eq!(plan(&recs, &[Algorithm::Es256], T0 + 1, false), staged);
    // Due but nothing staged: stage first, rotation happens on a later run.
    assert_eq!(
        plan(&recs, &[Algorithm::Es256], T0 + 60 * DAY, false),
        staged
    );
    assert_eq!(
        plan(&recs, &[Algorithm::Es256], T0 + 1, true),
        vec![
            set(&cur.kid, KeyStatus::Retired, T0 + 1),
            gen_(Algorithm::Es256, KeyStatus::Current),
            gen_(Algorithm::Es256, KeyStatus::Next),
        ]
    );
}

#[test]
fn next_without_current_is_promoted() {
    let (kek, _) = Kek::generate().unwrap();
    let next = record(Algorithm::EdDsa, KeyStatus::Next, T0, None, None, &kek);
    assert_eq!(
        plan(
            std::slice::from_ref(&next),
            &[Algorithm::EdDsa],
            T0 + 5,
            false
        ),
        vec![
            set(&next.kid, KeyStatus::Current, T0 + 5),
            gen_(Algorithm::EdDsa, KeyStatus::Next)
        ]
    );
}

#[test]
fn retired_keys_are_removed_after_retire_for() {
    let (kek, _) = Kek::generate().unwrap();
    let [cur, next] = pair(Algorithm::Es256, T0, &kek);
    let old = record(
        Algorithm::Es256,
        KeyStatus::Retired,
        T0 - 60 * DAY,
        Some(T0 - 60 * DAY),
        Some(T0),
        &kek,
    );
    let recs = [cur, next, old.clone()];
    assert!(plan(&recs, &[Algorithm::Es256], T0 + 7 * DAY - 1, false).is_empty());
    assert_eq!(
        plan(&recs, &[Algorithm::Es256], T0 + 7 * DAY, false),
        vec![set(&old.kid, KeyStatus::Removed, T0 + 7 * DAY)]
    );
    // Removed keys are never touched again.
    let mut gone = old;
    gone.status = KeyStatus::Removed;
    assert!(plan(&[gone], &[], T0 + 365 * DAY, false).is_empty());
}

#[test]
fn multiple_algorithms_are_independent() {
    let (kek, _) = Kek::generate().unwrap();
    let [es_cur, es_next] = pair(Algorithm::Es256, T0, &kek);
    let [rs_cur, rs_next] = pair(Algorithm::Rs256, T0 - 40 * DAY, &kek);
    let recs = [es_cur, es_next, rs_cur.clone(), rs_next.clone()];
    let algs = [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa];
    assert_eq!(
        plan(&recs, &algs, T0, false),
        vec![
            set(&rs_cur.kid, KeyStatus::Retired, T0),
            set(&rs_next.kid, KeyStatus::Current, T0),
            gen_(Algorithm::Rs256, KeyStatus::Next),
            gen_(Algorithm::EdDsa, KeyStatus::Current),
            gen_(Algorithm::EdDsa, KeyStatus::Next),
        ]
    );
    // Unlisted algorithms are left alone; duplicates in the list are harmless.
    assert!(plan(&recs, &[Algorithm::Es256, Algorithm::Es256], T0, false).is_empty());
}

#[test]
fn other_purposes_are_ignored_and_duplicates_retired() {
    let (kek, _) = Kek::generate().unwrap();
    let log = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::LogSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    // The log key does not count as the EdDSA token key.
    assert_eq!(plan(&[log], &[Algorithm::EdDsa], T0, false).len(), 2);

    let [cur, next] = pair(Algorithm::Es256, T0, &kek);
    let older = record(
        Algorithm::Es256,
        KeyStatus::Current,
        T0 - DAY,
        Some(T0 - DAY),
        None,
        &kek,
    );
    assert_eq!(
        plan(
            &[cur, next, older.clone()],
            &[Algorithm::Es256],
            T0 + 1,
            false
        ),
        vec![set(&older.kid, KeyStatus::Retired, T0 + 1)]
    );
}

#[test]
fn applying_a_plan_reaches_a_fixed_point() {
    let (kek, _) = Kek::generate().unwrap();
    let algs = [Algorithm::Es256, Algorithm::EdDsa];
    let mut store: Vec<KeyRecord> = Vec::new();
    let mut now = T0;
    for _ in 0..4 {
        for change in plan(&store, &algs, now, false) {
            match change {
                KeyChange::Generate {
                    algorithm,
                    purpose,
                    status,
                } => {
                    store.push(KeyRecord::generate(algorithm, purpose, status, now, &kek).unwrap())
                }
                KeyChange::SetStatus { kid, status, at } => store
                    .iter_mut()
                    .filter(|r| r.kid == kid)
                    .for_each(|r| r.set_status(status, at)),
            }
        }
        assert!(
            plan(&store, &algs, now, false).is_empty(),
            "stable after applying"
        );
        for alg in algs {
            for status in [KeyStatus::Current, KeyStatus::Next] {
                let n = store
                    .iter()
                    .filter(|r| r.algorithm == alg && r.status == status)
                    .count();
                assert_eq!(n, 1, "{alg:?} {status:?}");
            }
        }
        now += 31 * DAY;
    }
    assert!(store.iter().any(|r| r.status == KeyStatus::Removed));
}
