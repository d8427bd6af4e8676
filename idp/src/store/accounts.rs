//! People and their credentials: accounts, passkeys, clinician invitations and remembered
//! consents. Storage types only; what the pages send and receive lives in `web`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult};
use crate::session::IdentityAssurance;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Patient,
    Clinician,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Clinician => "clinician",
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "patient" => Some(Self::Patient),
            "clinician" => Some(Self::Clinician),
            _ => None,
        }
    }
}

pub fn assurance_str(ial: IdentityAssurance) -> &'static str {
    match ial {
        IdentityAssurance::Ial1 => "ial1",
        IdentityAssurance::Ial2 => "ial2",
    }
}

pub fn parse_assurance(value: &str) -> Option<IdentityAssurance> {
    match value {
        "ial1" => Some(IdentityAssurance::Ial1),
        "ial2" => Some(IdentityAssurance::Ial2),
        _ => None,
    }
}

/// One person. `subject` is also the WebAuthn user handle.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub subject: String,
    pub kind: AccountKind,
    pub display_name: String,
    pub identity_assurance: IdentityAssurance,
    pub npi: Option<String>,
    /// Keyed commitment to the identity document number.
    pub identity_commitment: Option<String>,
    pub verified_claims: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredPasskey {
    /// base64url credential id.
    pub credential_id: String,
    pub subject: String,
    pub name: String,
    /// The webauthn-rs credential, JSON.
    pub passkey: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub flagged_at: Option<i64>,
}

impl StoredPasskey {
    pub fn usable(&self) -> bool {
        self.revoked_at.is_none() && self.flagged_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub token_hash: String,
    pub npi: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
}

/// What an enrollment ceremony writes, all in one transaction.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// A new account, or `None` to add the passkey to an existing one (`passkey.subject`).
    pub new_account: Option<Account>,
    /// The clinician invitation this enrollment redeems.
    pub invitation_hash: Option<String>,
    pub passkey: StoredPasskey,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentOutcome {
    Enrolled,
    InvitationUnknown,
    InvitationUsed,
    InvitationExpired,
    /// The NPI or identity document already belongs to an account.
    AccountExists,
    /// The credential id is registered already (to anyone).
    CredentialExists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationOutcome {
    Revoked,
    NotFound,
    /// Refused: the account would be left with no way to sign in.
    LastPasskey,
}

#[async_trait]
pub trait AccountRepository: Send + Sync {
    async fn account(&self, subject: &str) -> StoreResult<Option<Account>>;
    async fn account_by_npi(&self, npi: &str) -> StoreResult<Option<Account>>;
    async fn account_by_commitment(&self, commitment: &str) -> StoreResult<Option<Account>>;
    /// Raise an account to IAL2 after an identity proof.
    async fn record_proofing(
        &self,
        subject: &str,
        commitment: &str,
        verified_claims: &serde_json::Value,
        now: i64,
    ) -> StoreResult<()>;

    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    async fn invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>>;
    /// Redeem the invitation (if any), create the account (if new) and add the passkey.
    async fn enroll(&self, enrollment: &Enrollment) -> StoreResult<EnrollmentOutcome>;

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>>;
    async fn passkeys(&self, subject: &str) -> StoreResult<Vec<StoredPasskey>>;
    /// After a login: the updated credential (counter, flags) and when it was used.
    async fn record_use(
        &self,
        credential_id: &str,
        passkey: &str,
        backup_state: bool,
        at: i64,
    ) -> StoreResult<()>;
    /// A counter regression: the credential stops working until the person re-enrolls.
    async fn flag(&self, credential_id: &str, at: i64) -> StoreResult<()>;
    async fn rename(&self, subject: &str, credential_id: &str, name: &str) -> StoreResult<bool>;
    async fn revoke(
        &self,
        subject: &str,
        credential_id: &str,
        at: i64,
    ) -> StoreResult<RevocationOutcome>;
    /// Revoke every passkey of `subject` except `keep` (account recovery).
    async fn revoke_all_except(&self, subject: &str, keep: &str, at: i64) -> StoreResult<u64>;

    /// The scopes the person already approved for the client, for this purpose of use and
    /// patient context only. Rows remembered before approvals named a purpose match nothing.
    async fn consent(&self, approval: &ConsentFor<'_>) -> StoreResult<Option<String>>;
    /// Remember the approval of `scope` for this client, purpose and patient context
    /// (replacing the scope approved for exactly these; approvals for others are kept).
    async fn grant_consent(
        &self,
        approval: &ConsentFor<'_>,
        scope: &str,
        at: i64,
    ) -> StoreResult<()>;
}

/// What a remembered approval is for: one person, one client, one purpose of use and one
/// patient context (or none). A later request is covered only by the approval for all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentFor<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    /// The TEFCA exchange purpose code (`T-TREAT`, …).
    pub purpose: &'a str,
    /// The patient the request names (`patient_context`), if any.
    pub patient: Option<&'a str>,
}

impl ConsentFor<'_> {
    /// The `patient` column: no patient context is stored as the empty string (a patient
    /// identifier has at least one character), so it can be part of the primary key.
    pub(super) fn patient_column(&self) -> &str {
        self.patient.unwrap_or("")
    }

    /// Whether the approval can be looked up or stored at all: rows remembered before
    /// approvals named a purpose have an empty one, and must never match (fail closed).
    pub(super) fn names_a_purpose(&self) -> bool {
        !self.purpose.is_empty()
    }
}

// Row shapes shared by both backends (same column order in both schemas).

pub(super) const ACCOUNT_COLUMNS: &str = "subject, kind, display_name, identity_assurance, npi, \
     identity_commitment, verified_claims, created_at, updated_at";
pub(super) const PASSKEY_COLUMNS: &str = "credential_id, subject, name, passkey, backup_eligible, \
     backup_state, created_at, last_used_at, revoked_at, flagged_at";

pub(super) type AccountRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
pub(super) type PasskeyRow = (
    String,
    String,
    String,
    String,
    bool,
    bool,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub(super) fn account_from_row(r: AccountRow) -> StoreResult<Account> {
    Ok(Account {
        kind: AccountKind::parse(&r.1)
            .ok_or_else(|| StoreError::Corrupt(format!("account kind {}", r.1)))?,
        identity_assurance: parse_assurance(&r.3)
            .ok_or_else(|| StoreError::Corrupt(format!("identity assurance {}", r.3)))?,
        verified_claims: r
            .6
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("verified_claims: {e}")))?,
        subject: r.0,
        display_name: r.2,
        npi: r.4,
        identity_commitment: r.5,
        created_at: r.7,
        updated_at: r.8,
    })
}

pub(super) fn passkey_from_row(r: PasskeyRow) -> StoredPasskey {
    StoredPasskey {
        credential_id: r.0,
        subject: r.1,
        name: r.2,
        passkey: r.3,
        backup_eligible: r.4,
        backup_state: r.5,
        created_at: r.6,
        last_used_at: r.7,
        revoked_at: r.8,
        flagged_at: r.9,
    }
}

#[cfg(test)]
mod tests {
    use sqlx::migrate::Migrate;

    use super::*;
    use crate::store::Store;

    /// The migration before the one that made approvals name a purpose, per backend.
    const SQLITE_BEFORE_PURPOSE: i64 = 10;
    const POSTGRES_BEFORE_PURPOSE: i64 = 11;

    /// Before the purpose migration: two people, and a consent `ada` gave `rp` back then.
    /// Literal values, so the statements suit both backends.
    const LEGACY_ROWS: [&str; 3] = [
        "INSERT INTO accounts (subject, kind, display_name, identity_assurance, created_at, \
         updated_at) VALUES ('ada', 'clinician', 'Ada', 'ial2', 1, 1)",
        "INSERT INTO accounts (subject, kind, display_name, identity_assurance, created_at, \
         updated_at) VALUES ('grace', 'clinician', 'Grace', 'ial2', 1, 1)",
        "INSERT INTO consents (subject, client_id, scope, granted_at) \
         VALUES ('ada', 'rp', 'openid offline_access user/*.rs', 1)",
    ];

    async fn legacy<DB>(pool: &sqlx::Pool<DB>, migrator: &sqlx::migrate::Migrator, before: i64)
    where
        DB: sqlx::Database,
        <DB as sqlx::Database>::Connection: Migrate,
        for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
        for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    {
        migrator.run_to(before, pool).await.unwrap();
        for row in LEGACY_ROWS {
            sqlx::raw_sql(row).execute(pool).await.unwrap();
        }
    }

    fn approval<'a>(
        subject: &'a str,
        client_id: &'a str,
        purpose: &'a str,
        patient: Option<&'a str>,
    ) -> ConsentFor<'a> {
        ConsentFor {
            subject,
            client_id,
            purpose,
            patient,
        }
    }

    async fn approved(store: &Store, approval: ConsentFor<'_>) -> Option<String> {
        store.accounts.consent(&approval).await.unwrap()
    }

    async fn approvals_per_purpose_and_patient_context(store: &Store) {
        let treatment = approval("ada", "rp", "T-TREAT", None);
        // The approval remembered before approvals named a purpose covers nothing.
        assert_eq!(approved(store, treatment).await, None);
        assert_eq!(approved(store, approval("ada", "rp", "", None)).await, None);
        assert!(
            store
                .accounts
                .grant_consent(&approval("ada", "rp", "", None), "openid", 2)
                .await
                .is_err(),
            "an approval names its purpose"
        );

        let scope = "openid offline_access";
        store
            .accounts
            .grant_consent(&treatment, scope, 2)
            .await
            .unwrap();
        assert_eq!(approved(store, treatment).await.as_deref(), Some(scope));
        for other in [
            approval("ada", "rp", "T-PYMNT", None),
            approval("ada", "rp", "T-TREAT", Some("p-1")),
            approval("ada", "web", "T-TREAT", None),
            approval("grace", "rp", "T-TREAT", None),
        ] {
            assert_eq!(approved(store, other).await, None, "{other:?}");
        }

        // Approvals for other purposes and patient contexts are kept side by side.
        let payment = approval("ada", "rp", "T-PYMNT", None);
        let about_p1 = approval("ada", "rp", "T-TREAT", Some("p-1"));
        store
            .accounts
            .grant_consent(&payment, "openid", 3)
            .await
            .unwrap();
        store
            .accounts
            .grant_consent(&about_p1, "openid user/*.rs", 3)
            .await
            .unwrap();
        assert_eq!(approved(store, treatment).await.as_deref(), Some(scope));
        assert_eq!(approved(store, payment).await.as_deref(), Some("openid"));
        assert_eq!(
            approved(store, about_p1).await.as_deref(),
            Some("openid user/*.rs")
        );
        assert_eq!(
            approved(store, approval("ada", "rp", "T-TREAT", Some("p-2"))).await,
            None
        );

        // Approving again for the same purpose and context replaces that approval only.
        store
            .accounts
            .grant_consent(&treatment, "openid", 4)
            .await
            .unwrap();
        assert_eq!(approved(store, treatment).await.as_deref(), Some("openid"));
        assert_eq!(
            approved(store, about_p1).await.as_deref(),
            Some("openid user/*.rs")
        );
    }

    #[tokio::test]
    async fn a_remembered_approval_is_for_one_purpose_and_patient_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        legacy(
            &pool,
            &sqlx::migrate!("../migrations/sqlite"),
            SQLITE_BEFORE_PURPOSE,
        )
        .await;
        pool.close().await;
        let sqlite = crate::store::sqlite::open_file(&path).await.unwrap();
        approvals_per_purpose_and_patient_context(&sqlite).await;

        let Some(scratch) = crate::store::scratch::ScratchPostgres::create("gg_consent").await
        else {
            return;
        };
        let pool = sqlx::PgPool::connect(&scratch.url).await.unwrap();
        legacy(
            &pool,
            &sqlx::migrate!("../migrations/postgres"),
            POSTGRES_BEFORE_PURPOSE,
        )
        .await;
        pool.close().await;
        let postgres = crate::store::postgres::open(&scratch.url).await.unwrap();
        approvals_per_purpose_and_patient_context(&postgres).await;
        drop(postgres);
        scratch.drop_database().await;
    }
}
