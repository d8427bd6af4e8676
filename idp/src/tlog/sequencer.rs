//! The sequencer: integrate sequenced entries into the tree and sign a checkpoint.
//!
//! Every replica runs the loop; the database lets one at a time in (advisory lock on
//! PostgreSQL, the writer lock on SQLite) and publishing is a compare-and-swap on the tree
//! size, so two sequencers can never publish two different trees of one size. Before
//! signing, the root is re-derived from what storage now holds and checked against the
//! previous checkpoint with a consistency proof; any disagreement stops the sequencer, and
//! loudly: besides the error log, `glassgate_log_sequencer_refusals_total` counts refusals,
//! `glassgate_log_sequencer_refusing` is 1, and `/readyz` answers 503 (`"log": "refusing"`)
//! until an integration succeeds. That is the state of this replica's sequencer: a replica
//! that never holds the lock (or runs no sequencer) never refuses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use glassgate_verifier::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use glassgate_verifier::leaf_hash;
use glassgate_verifier::proof::verify_consistency;
use glassgate_verifier::tree::{consistency_proof, tree_hash};

use super::reader::{FromTxn, compute_with};
use super::tiles::{Appender, right_edge};
use super::{LogError, TransparencyLog};
use crate::clock;
use crate::store::IntegrationTxn;
use crate::store::model::TreeState;

/// Integrate what is sequenced (up to `max_batch` entries) and publish a checkpoint.
/// `Ok(None)` when another replica holds the lock or there is nothing new.
pub async fn integrate_once(log: &TransparencyLog) -> Result<Option<TreeState>, LogError> {
    Ok(match integrate(log).await? {
        Integration::Published(tree) => Some(tree),
        Integration::Busy | Integration::UpToDate | Integration::Overtaken => None,
    })
}

/// What one integration attempt came to (a refusal is `Err(LogError::Inconsistent)`).
enum Integration {
    /// Another replica holds the sequencer lock: this one learnt nothing about storage.
    Busy,
    /// Everything sequenced is in the published tree already.
    UpToDate,
    /// Checked and signed, but another sequencer published that size first.
    Overtaken,
    Published(TreeState),
}

async fn integrate(log: &TransparencyLog) -> Result<Integration, LogError> {
    let Some(mut txn) = log.store.begin_integration().await? else {
        return Ok(Integration::Busy);
    };
    let current = txn.tree().await?;
    let old_size = current.as_ref().map_or(0, |t| t.size);
    let sequenced = txn.sequenced().await?;
    if sequenced < old_size {
        return Err(refuse(format!(
            "{sequenced} entries sequenced but {old_size} published"
        )));
    }
    if current.is_some() && sequenced == old_size {
        return Ok(Integration::UpToDate);
    }
    let new_size = sequenced.min(old_size + log.max_batch);
    let entries = read_chained(txn.as_mut(), old_size, new_size).await?;

    // Append the leaves to the right edge of the tree: the only tiles that change.
    let edge: Vec<_> = right_edge(old_size).into_iter().map(|(k, _)| k).collect();
    let stored = if edge.is_empty() {
        Vec::new()
    } else {
        txn.tiles(&edge).await?
    };
    let mut appender = Appender::new(old_size, &stored).map_err(refuse)?;
    for entry in &entries {
        appender.push(leaf_hash(entry));
    }
    let written = appender.finish();
    let mut computed = HashMap::new();
    for tile in &written {
        computed.insert(
            (tile.level, tile.index),
            Arc::new(super::tiles::Expanded::new(tile.hashes.clone())),
        );
    }
    let computed_root = compute_with(&mut computed, &mut FromTxn(txn.as_mut()), new_size, |r| {
        tree_hash(new_size, r)
    })
    .await?;
    txn.put_tiles(&written).await?;

    // Re-derive from storage alone before signing anything.
    let mut stored = HashMap::new();
    let root = compute_with(&mut stored, &mut FromTxn(txn.as_mut()), new_size, |r| {
        tree_hash(new_size, r)
    })
    .await?;
    if root != computed_root {
        return Err(refuse(format!(
            "root re-derived from storage differs at size {new_size}"
        )));
    }
    if let Some(previous) = &current {
        // Tiles only grow, so the tree of the last checkpoint is still in storage.
        let old_root = compute_with(&mut stored, &mut FromTxn(txn.as_mut()), old_size, |r| {
            tree_hash(old_size, r)
        })
        .await?;
        if old_root != previous.root {
            return Err(refuse(format!(
                "stored tree no longer matches the checkpoint at size {old_size}"
            )));
        }
        if old_size > 0 && old_size < new_size {
            let proof = compute_with(&mut stored, &mut FromTxn(txn.as_mut()), new_size, |r| {
                consistency_proof(old_size, new_size, r)
            })
            .await?;
            verify_consistency(old_size, new_size, &proof, &previous.root, &root).map_err(|e| {
                refuse(format!(
                    "size {new_size} is not consistent with size {old_size}: {e}"
                ))
            })?;
        }
    } else if new_size == 0 && root != glassgate_verifier::EMPTY_ROOT {
        return Err(refuse("empty tree with a non-empty root".into()));
    }
    let next = TreeState {
        size: new_size,
        root,
        checkpoint: log.sign_checkpoint(new_size, &root)?,
    };
    if !txn
        .publish(current.map(|c| c.size), &next, clock::now())
        .await?
    {
        // Another sequencer published first; dropping the transaction rolls back.
        return Ok(Integration::Overtaken);
    }
    txn.commit().await?;
    Ok(Integration::Published(next))
}

/// Storage disagrees with what was published: sign nothing. The loop in [`spawn`] counts
/// it (`glassgate_log_sequencer_refusals_total`) and `/readyz` answers 503 until an
/// integration succeeds.
fn refuse(reason: String) -> LogError {
    tracing::error!(%reason, "the log sequencer refuses to sign a checkpoint");
    LogError::Inconsistent(reason)
}

/// Record in `metrics` what an integration says about this replica's sequencer: refusing
/// after a refusal (any inconsistency found, whichever check found it), no longer refusing
/// once it signs or finds everything sequenced already signed (some sequencer's checks then
/// passed past the point this one refused at). Other outcomes say nothing about storage: a
/// replica that did not get the lock, or could not reach the database, keeps what it knew.
fn record(metrics: &crate::metrics::Metrics, outcome: &Result<Integration, LogError>) {
    match outcome {
        Err(LogError::Inconsistent(_)) => {
            if metrics.sequencer_refused() {
                tracing::error!(
                    "the log sequencer is refusing to sign: /readyz answers 503 until an \
                     integration succeeds"
                );
            }
        }
        Ok(Integration::Published(_) | Integration::UpToDate | Integration::Overtaken) => {
            if metrics.sequencer_consistent() {
                tracing::warn!("the log sequencer signs again");
            }
        }
        Ok(Integration::Busy) | Err(_) => {}
    }
}

/// Entries `start..end`, checked to be well formed and to chain from entry `start - 1`.
async fn read_chained(
    txn: &mut dyn IntegrationTxn,
    start: u64,
    end: u64,
) -> Result<Vec<Vec<u8>>, LogError> {
    let from = start.saturating_sub(1);
    let mut entries = txn.entries(from, end).await?;
    if u64::try_from(entries.len()).unwrap_or(u64::MAX) != end - from {
        return Err(refuse(format!("entries {from}..{end} are not all stored")));
    }
    let mut prev = if start == 0 {
        GENESIS_PREV.to_owned()
    } else {
        hex(&entry_digest(
            entries.first().map(Vec::as_slice).unwrap_or_default(),
        ))
    };
    if start > 0 {
        entries.remove(0);
    }
    for (index, bytes) in (start..).zip(&entries) {
        let entry = LogEntry::parse(bytes).map_err(|e| refuse(format!("entry {index}: {e}")))?;
        if entry.prev != prev {
            return Err(refuse(format!(
                "entry {index} does not chain to entry {}",
                index.saturating_sub(1)
            )));
        }
        prev = hex(&entry_digest(bytes));
    }
    Ok(entries)
}

/// Integrate every `period` for as long as the process runs; witnesses are told about each
/// new checkpoint without anyone waiting for them, and the published one is sent again
/// while it lacks a witness's cosignature.
pub fn spawn(
    log: Arc<TransparencyLog>,
    period: Duration,
    witnesses: Arc<super::witness::Witnesses>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let outcome = integrate(&log).await;
            record(&metrics, &outcome);
            match outcome {
                Ok(Integration::Published(tree)) => {
                    tracing::debug!(size = tree.size, "checkpoint published");
                    metrics.checkpoint(tree.size);
                    witnesses.submit(log.clone(), tree);
                }
                Ok(_) if !witnesses.is_empty() => {
                    if let Ok(Some(tree)) = log.published().await {
                        witnesses.resubmit_uncosigned(log.clone(), tree);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "log integration failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    /// Only what an integration this replica ran says about storage moves its state: a
    /// refusal sets it, a signed (or already signed) tree clears it, and neither a lock held
    /// elsewhere nor an unreachable database does either.
    #[test]
    fn the_refusing_state_follows_what_this_replica_learnt() {
        let metrics = Metrics::new().unwrap();
        let refused = || Err(LogError::Inconsistent("stored tree differs".into()));
        record(&metrics, &Ok(Integration::UpToDate));
        assert!(!metrics.sequencer_refusing());
        record(&metrics, &refused());
        assert!(metrics.sequencer_refusing());
        record(&metrics, &Ok(Integration::Busy));
        assert!(metrics.sequencer_refusing(), "another replica's lock");
        record(
            &metrics,
            &Err(LogError::Tree("database unreachable".into())),
        );
        assert!(metrics.sequencer_refusing(), "not a verdict on storage");
        record(&metrics, &refused());
        record(&metrics, &Ok(Integration::UpToDate));
        assert!(
            !metrics.sequencer_refusing(),
            "another sequencer signed past it"
        );
        record(&metrics, &refused());
        record(&metrics, &Ok(Integration::Overtaken));
        assert!(!metrics.sequencer_refusing(), "its own checks passed");
        record(&metrics, &refused());
        let tree = TreeState {
            size: 1,
            root: [0; 32],
            checkpoint: String::new(),
        };
        record(&metrics, &Ok(Integration::Published(tree)));
        assert!(!metrics.sequencer_refusing());
        let text = metrics.render().unwrap();
        assert!(
            text.contains("glassgate_log_sequencer_refusals_total 4\n"),
            "{text}"
        );
    }
}
