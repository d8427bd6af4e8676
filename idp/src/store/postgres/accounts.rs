//! Accounts, passkeys, invitations and consents on PostgreSQL.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::Backend;
use crate::store::accounts::*;
use crate::store::{StoreError, StoreResult};

impl Backend {
    async fn account_where(&self, column: &str, value: &str) -> StoreResult<Option<Account>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {column} = $1"
        ));
        let row: Option<AccountRow> = sqlx::query_as(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.map(account_from_row).transpose()
    }
}

async fn insert_account(tx: &mut Transaction<'_, Postgres>, a: &Account) -> StoreResult<bool> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT DO NOTHING"
    ));
    let done = sqlx::query(sql)
        .bind(&a.subject)
        .bind(a.kind.as_str())
        .bind(&a.display_name)
        .bind(assurance_str(a.identity_assurance))
        .bind(&a.npi)
        .bind(&a.identity_commitment)
        .bind(a.verified_claims.as_ref().map(|v| v.to_string()))
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn insert_passkey(
    tx: &mut Transaction<'_, Postgres>,
    p: &StoredPasskey,
) -> StoreResult<bool> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT DO NOTHING"
    ));
    let done = sqlx::query(sql)
        .bind(&p.credential_id)
        .bind(&p.subject)
        .bind(&p.name)
        .bind(&p.passkey)
        .bind(p.backup_eligible)
        .bind(p.backup_state)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .bind(p.revoked_at)
        .bind(p.flagged_at)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark the invitation redeemed unless it is unknown, used or expired.
async fn redeem(
    tx: &mut Transaction<'_, Postgres>,
    token_hash: &str,
    subject: &str,
    now: i64,
) -> StoreResult<EnrollmentOutcome> {
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT expires_at, redeemed_at FROM invitations WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        None => return Ok(EnrollmentOutcome::InvitationUnknown),
        Some((_, Some(_))) => return Ok(EnrollmentOutcome::InvitationUsed),
        Some((expires_at, None)) if expires_at <= now => {
            return Ok(EnrollmentOutcome::InvitationExpired);
        }
        Some(_) => {}
    }
    let done = sqlx::query(
        "UPDATE invitations SET redeemed_at = $1, subject = $2 \
         WHERE token_hash = $3 AND redeemed_at IS NULL",
    )
    .bind(now)
    .bind(subject)
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    Ok(if done.rows_affected() == 1 {
        EnrollmentOutcome::Enrolled
    } else {
        EnrollmentOutcome::InvitationUsed
    })
}

#[async_trait]
impl AccountRepository for Backend {
    async fn account(&self, subject: &str) -> StoreResult<Option<Account>> {
        self.account_where("subject", subject).await
    }

    async fn account_by_npi(&self, npi: &str) -> StoreResult<Option<Account>> {
        self.account_where("npi", npi).await
    }

    async fn account_by_commitment(&self, commitment: &str) -> StoreResult<Option<Account>> {
        self.account_where("identity_commitment", commitment).await
    }

    async fn record_proofing(
        &self,
        subject: &str,
        commitment: &str,
        verified_claims: &serde_json::Value,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET identity_assurance = 'ial2', identity_commitment = $1, \
             verified_claims = $2, updated_at = $3 WHERE subject = $4",
        )
        .bind(commitment)
        .bind(verified_claims.to_string())
        .bind(now)
        .bind(subject)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_invitation(&self, i: &Invitation) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invitations (token_hash, npi, created_at, expires_at, redeemed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&i.token_hash)
        .bind(&i.npi)
        .bind(i.created_at)
        .bind(i.expires_at)
        .bind(i.redeemed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>> {
        let row: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT token_hash, npi, created_at, expires_at, redeemed_at \
             FROM invitations WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Invitation {
            token_hash: r.0,
            npi: r.1,
            created_at: r.2,
            expires_at: r.3,
            redeemed_at: r.4,
        }))
    }

    async fn enroll(&self, e: &Enrollment) -> StoreResult<EnrollmentOutcome> {
        let mut tx = self.pool.begin().await?;
        if let Some(hash) = &e.invitation_hash {
            let outcome = redeem(&mut tx, hash, &e.passkey.subject, e.now).await?;
            if outcome != EnrollmentOutcome::Enrolled {
                return Ok(outcome);
            }
        }
        if let Some(account) = &e.new_account
            && !insert_account(&mut tx, account).await?
        {
            return Ok(EnrollmentOutcome::AccountExists);
        }
        if !insert_passkey(&mut tx, &e.passkey).await? {
            return Ok(EnrollmentOutcome::CredentialExists);
        }
        tx.commit().await?;
        Ok(EnrollmentOutcome::Enrolled)
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
        ));
        let row: Option<PasskeyRow> = sqlx::query_as(sql)
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(passkey_from_row))
    }

    async fn passkeys(&self, subject: &str) -> StoreResult<Vec<StoredPasskey>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE subject = $1 ORDER BY created_at, credential_id"
        ));
        let rows: Vec<PasskeyRow> = sqlx::query_as(sql)
            .bind(subject)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(passkey_from_row).collect())
    }

    async fn record_use(
        &self,
        credential_id: &str,
        passkey: &str,
        backup_state: bool,
        at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE passkeys SET passkey = $1, backup_state = $2, last_used_at = $3 \
             WHERE credential_id = $4",
        )
        .bind(passkey)
        .bind(backup_state)
        .bind(at)
        .bind(credential_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn flag(&self, credential_id: &str, at: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE passkeys SET flagged_at = $1 WHERE credential_id = $2 AND flagged_at IS NULL",
        )
        .bind(at)
        .bind(credential_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rename(&self, subject: &str, credential_id: &str, name: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET name = $1 WHERE credential_id = $2 AND subject = $3 \
             AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(credential_id)
        .bind(subject)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke(
        &self,
        subject: &str,
        credential_id: &str,
        at: i64,
    ) -> StoreResult<RevocationOutcome> {
        let mut tx = self.pool.begin().await?;
        let (others,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM passkeys WHERE subject = $1 AND credential_id <> $2 \
             AND revoked_at IS NULL AND flagged_at IS NULL",
        )
        .bind(subject)
        .bind(credential_id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Ok(RevocationOutcome::LastPasskey);
        }
        let done = sqlx::query(
            "UPDATE passkeys SET revoked_at = $1 WHERE credential_id = $2 AND subject = $3 \
             AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(credential_id)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(RevocationOutcome::NotFound);
        }
        tx.commit().await?;
        Ok(RevocationOutcome::Revoked)
    }

    async fn revoke_all_except(&self, subject: &str, keep: &str, at: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE passkeys SET revoked_at = $1 WHERE subject = $2 AND credential_id <> $3 \
             AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(subject)
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn consent(&self, approval: &ConsentFor<'_>) -> StoreResult<Option<String>> {
        if !approval.names_a_purpose() {
            return Ok(None);
        }
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT scope FROM consents WHERE subject = $1 AND client_id = $2 \
             AND purpose = $3 AND patient = $4",
        )
        .bind(approval.subject)
        .bind(approval.client_id)
        .bind(approval.purpose)
        .bind(approval.patient_column())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    async fn grant_consent(
        &self,
        approval: &ConsentFor<'_>,
        scope: &str,
        at: i64,
    ) -> StoreResult<()> {
        if !approval.names_a_purpose() {
            return Err(StoreError::Other(
                "a remembered approval must name its purpose of use".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO consents (subject, client_id, purpose, patient, scope, granted_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (subject, client_id, purpose, patient) DO UPDATE \
             SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(approval.subject)
        .bind(approval.client_id)
        .bind(approval.purpose)
        .bind(approval.patient_column())
        .bind(scope)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
