//! Build a release beside the current one, validate it, make it current in one step, then
//! drop the old one. A failure at any point leaves the current release as it was; a killed
//! process leaves a `building` release that the next sync collects.

use std::future::Future;

use serde::Serialize;

use crate::error::{DirectoryError, Result};
use crate::report::{Check, Dataset, Limits, Refusal, Summary};
use crate::store::Store;
use crate::validate;

/// A release that became current.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub dataset: Dataset,
    pub release_id: i64,
    pub label: String,
    pub checks: Vec<Check>,
    pub summary: Summary,
    /// Rows written to the store.
    pub loaded: u64,
    /// Old releases whose rows were dropped.
    pub dropped: u64,
    /// Abandoned releases of interrupted syncs collected first.
    pub collected: u64,
}

/// The current release of `dataset`: its id and record count.
pub async fn current(
    store: &Store,
    dataset: Dataset,
) -> Result<Option<(i64, String, Option<u64>)>> {
    let pointer = store.pointer().await?;
    let id = match dataset {
        Dataset::Npd => pointer.npd.map(|r| r.id),
        Dataset::Nppes => pointer.nppes,
        Dataset::Deactivations => pointer.deactivations,
        Dataset::Nucc => pointer.nucc,
    };
    let Some(id) = id else { return Ok(None) };
    let info = store.releases().await?.into_iter().find(|r| r.id == id);
    let label = info.as_ref().map(|r| r.label.clone()).unwrap_or_default();
    let records = info.and_then(|r| r.summary).map(|s| s.records);
    Ok(Some((id, label, records)))
}

/// Run `body` (which streams rows into the new release and returns what it counted and how
/// many rows it wrote), then validate and swap.
pub async fn build<F, Fut>(
    store: &Store,
    dataset: Dataset,
    label: &str,
    source: &str,
    limits: &Limits,
    body: F,
) -> Result<Outcome>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<(Summary, u64)>>,
{
    let lock = store.lock().await?;
    let result = build_locked(store, dataset, label, source, limits, body).await;
    lock.release().await;
    result
}

async fn build_locked<F, Fut>(
    store: &Store,
    dataset: Dataset,
    label: &str,
    source: &str,
    limits: &Limits,
    body: F,
) -> Result<Outcome>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<(Summary, u64)>>,
{
    let collected = store.collect_abandoned().await?;
    let previous = current(store, dataset).await?;
    let release = store.begin(dataset, label, source).await?;
    tracing::info!(%dataset, release, label, source, "building release");
    let (summary, loaded) = match body(release).await {
        Ok(done) => done,
        Err(e) => {
            if let Err(cleanup) = store.discard(dataset, release, "failed", None).await {
                tracing::warn!(release, error = %cleanup, "could not discard the failed release");
            }
            return Err(e);
        }
    };
    let checks = validate::checks(
        dataset,
        &summary,
        previous.as_ref().and_then(|p| p.2),
        limits,
    );
    if checks.iter().any(|c| !c.passed) {
        store
            .discard(dataset, release, "refused", Some(&summary))
            .await?;
        let refusal = Refusal {
            dataset,
            release_id: release,
            label: label.to_owned(),
            checks,
            summary,
            current: previous.map(|(id, label, _)| format!("{label}#{id}")),
        };
        tracing::warn!(%refusal, "release refused");
        return Err(DirectoryError::Refused(Box::new(refusal)));
    }
    let sealed = async {
        store.seal(dataset, release).await?;
        store.promote(dataset, release, &summary).await
    };
    if let Err(e) = sealed.await {
        let _ = store
            .discard(dataset, release, "failed", Some(&summary))
            .await;
        return Err(e);
    }
    tracing::info!(%dataset, release, label, "release is current");
    let dropped = store.drop_retired(dataset).await?;
    Ok(Outcome {
        dataset,
        release_id: release,
        label: label.to_owned(),
        checks,
        summary,
        loaded,
        dropped,
        collected,
    })
}
