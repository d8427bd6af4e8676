//! Payer claims on SQLite.

use async_trait::async_trait;

use super::Backend;
use crate::store::StoreResult;
use crate::store::claims::{ClaimRepository, ImportedClaims, StoredClaim};
use crate::store::model::PendingEntry;

#[async_trait]
impl ClaimRepository for Backend {
    async fn claims(
        &self,
        payer: &str,
        patient: &str,
        since: i64,
    ) -> StoreResult<Vec<StoredClaim>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT claim_id, encounter, claim_date FROM payer_claims \
             WHERE payer = ? AND patient = ? AND claim_date >= ? ORDER BY claim_date DESC",
        )
        .bind(payer)
        .bind(patient)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(claim_id, encounter, claim_date)| StoredClaim {
                payer: payer.to_owned(),
                claim_id,
                patient: patient.to_owned(),
                encounter,
                claim_date,
            })
            .collect())
    }

    async fn import(
        &self,
        claims: &[StoredClaim],
        log: &PendingEntry,
    ) -> StoreResult<ImportedClaims> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut imported = ImportedClaims {
            inserted: 0,
            replaced: 0,
        };
        for c in claims {
            let existed: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM payer_claims WHERE payer = ? AND claim_id = ?")
                    .bind(&c.payer)
                    .bind(&c.claim_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            sqlx::query(
                "INSERT OR REPLACE INTO payer_claims (payer, claim_id, patient, encounter, claim_date) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&c.payer)
            .bind(&c.claim_id)
            .bind(&c.patient)
            .bind(&c.encounter)
            .bind(c.claim_date)
            .execute(&mut *tx)
            .await?;
            match existed {
                Some(_) => imported.replaced += 1,
                None => imported.inserted += 1,
            }
        }
        let now = crate::clock::now();
        super::log::sequence(&mut tx, &[log], now).await?;
        tx.commit().await?;
        Ok(imported)
    }
}
