//! Consent restrictions on SQLite.

use async_trait::async_trait;

use super::Backend;
use crate::store::StoreResult;
use crate::store::consents::{ConsentRecord, ConsentRepository};
use crate::store::model::PendingEntry;

#[async_trait]
impl ConsentRepository for Backend {
    async fn consent(&self, patient: &str) -> StoreResult<Option<ConsentRecord>> {
        let row: Option<(String, String, i64, String)> = sqlx::query_as(
            "SELECT reference, restrictions, updated_at, loosened_from FROM consent_restrictions WHERE patient = ?",
        )
        .bind(patient)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(r, s, at, l)| ConsentRecord::from_row(r, &s, at, &l))
            .transpose()
    }

    async fn replace(
        &self,
        patient: &str,
        expected: Option<&str>,
        next: &ConsentRecord,
        log: &PendingEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let restrictions = next.restrictions_json();
        let loosened_from = next.loosened_from_json();
        let written = match expected {
            None => sqlx::query(
                "INSERT INTO consent_restrictions \
                 (patient, reference, restrictions, updated_at, loosened_from) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient) DO NOTHING",
            )
            .bind(patient)
            .bind(&next.reference)
            .bind(&restrictions)
            .bind(next.updated_at)
            .bind(&loosened_from),
            Some(expected) => sqlx::query(
                "UPDATE consent_restrictions SET reference = ?, restrictions = ?, updated_at = ?, \
                 loosened_from = ? WHERE patient = ? AND reference = ?",
            )
            .bind(&next.reference)
            .bind(&restrictions)
            .bind(next.updated_at)
            .bind(&loosened_from)
            .bind(patient)
            .bind(expected),
        }
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !written {
            return Ok(false);
        }
        super::log::sequence(&mut tx, &[log], next.updated_at).await?;
        tx.commit().await?;
        Ok(true)
    }
}
