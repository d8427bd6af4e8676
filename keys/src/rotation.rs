//! Pure rotation planner: no I/O and no clock, so every case is unit-testable and the idp can
//! apply the output in one transaction.

use crate::{Algorithm, KeyPurpose, KeyRecord, KeyStatus};

/// How often keys rotate and how long retired keys stay published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Age of the Current key (from `activated_at`) at which Next takes over.
    pub rotate_every_secs: i64,
    /// Keep retired keys in the JWKS this long; must be >= the longest token lifetime.
    pub retire_for_secs: i64,
}

/// One step of a plan. Apply in order: retirements come before promotions so a
/// "one current per algorithm" constraint holds at every step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    Generate {
        algorithm: Algorithm,
        purpose: KeyPurpose,
        status: KeyStatus,
    },
    SetStatus {
        kid: String,
        status: KeyStatus,
        at: i64,
    },
}

/// Lifecycle next -> current -> retired -> removed, per (algorithm, purpose).
///
/// For each algorithm in `algorithms` this ensures exactly one Current and one Next (an empty
/// store yields Generate Current + Generate Next). When the Current is older than
/// `rotate_every_secs` or `force` is set, Next becomes Current, Current becomes Retired and a
/// new Next is generated. If a rotation is due but no Next exists, only a Next is generated
/// (relying parties must see a key before it signs), unless `force` demands an immediate
/// replacement. Surplus Currents/Nexts (should not happen) are retired. Retired keys of any
/// algorithm become Removed after `retire_for_secs`; other keys of unlisted algorithms are left
/// alone.
pub fn plan_rotation(
    records: &[KeyRecord],
    algorithms: &[Algorithm],
    purpose: KeyPurpose,
    now: i64,
    policy: &RotationPolicy,
    force: bool,
) -> Vec<KeyChange> {
    let mine: Vec<&KeyRecord> = records.iter().filter(|r| r.purpose == purpose).collect();
    let mut changes = Vec::new();
    let set = |kid: &str, status| KeyChange::SetStatus {
        kid: kid.to_owned(),
        status,
        at: now,
    };
    let generate = |algorithm, status| KeyChange::Generate {
        algorithm,
        purpose,
        status,
    };

    for r in &mine {
        let since = r.retired_at.or(r.activated_at).unwrap_or(r.created_at);
        if r.status == KeyStatus::Retired && now.saturating_sub(since) >= policy.retire_for_secs {
            changes.push(set(&r.kid, KeyStatus::Removed));
        }
    }

    let mut seen = Vec::new();
    for &alg in algorithms {
        if seen.contains(&alg) {
            continue;
        }
        seen.push(alg);
        let of = |status| {
            let mut v: Vec<&KeyRecord> = mine
                .iter()
                .copied()
                .filter(|r| r.algorithm == alg && r.status == status)
                .collect();
            // Newest first; that one is kept, older duplicates retired.
            v.sort_by_key(|r| {
                std::cmp::Reverse((r.activated_at.unwrap_or(r.created_at), r.created_at))
            });
            v
        };
        let currents = of(KeyStatus::Current);
        let nexts = of(KeyStatus::Next);
        for extra in currents.iter().skip(1).chain(nexts.iter().skip(1)) {
            changes.push(set(&extra.kid, KeyStatus::Retired));
        }
        let current = currents.first();
        let next = nexts.first();
        let due = force
            || current.is_some_and(|c| {
                let since = c.activated_at.unwrap_or(c.created_at);
                now.saturating_sub(since) >= policy.rotate_every_secs
            });

        match (current, next) {
            (None, None) => {
                changes.push(generate(alg, KeyStatus::Current));
                changes.push(generate(alg, KeyStatus::Next));
            }
            (None, Some(n)) => {
                changes.push(set(&n.kid, KeyStatus::Current));
                changes.push(generate(alg, KeyStatus::Next));
            }
            (Some(c), None) if force => {
                changes.push(set(&c.kid, KeyStatus::Retired));
                changes.push(generate(alg, KeyStatus::Current));
                changes.push(generate(alg, KeyStatus::Next));
            }
            // Not due, or due with nothing staged: stage now, promote on a later run.
            (Some(_), None) => changes.push(generate(alg, KeyStatus::Next)),
            (Some(c), Some(n)) if due => {
                changes.push(set(&c.kid, KeyStatus::Retired));
                changes.push(set(&n.kid, KeyStatus::Current));
                changes.push(generate(alg, KeyStatus::Next));
            }
            (Some(_), Some(_)) => {}
        }
    }
    changes
}
