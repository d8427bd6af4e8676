//! Payer claims on PostgreSQL.

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
             WHERE payer = $1 AND patient = $2 AND claim_date >= $3 ORDER BY claim_date DESC",
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
        let mut tx = self.pool.begin().await?;
        let mut imported = ImportedClaims {
            inserted: 0,
            replaced: 0,
        };
        for c in claims {
            // `xmax = 0` tells an inserted row from an updated one.
            let (inserted,): (bool,) = sqlx::query_as(
                "INSERT INTO payer_claims (payer, claim_id, patient, encounter, claim_date) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (payer, claim_id) DO UPDATE SET \
                 patient = EXCLUDED.patient, encounter = EXCLUDED.encounter, \
                 claim_date = EXCLUDED.claim_date RETURNING (xmax = 0)",
            )
            .bind(&c.payer)
            .bind(&c.claim_id)
            .bind(&c.patient)
            .bind(&c.encounter)
            .bind(c.claim_date)
            .fetch_one(&mut *tx)
            .await?;
            match inserted {
                true => imported.inserted += 1,
                false => imported.replaced += 1,
            }
        }
        let now = crate::clock::now();
        super::log::sequence(
            &mut tx,
            super::append::AccessTokenColumns::default(),
            &[log],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(imported)
    }
}
