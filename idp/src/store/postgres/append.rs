//! Appending to the log on PostgreSQL: one statement writes a batch's access tokens, its
//! entries, their private records and subject index, and moves the log head by
//! compare-and-swap, so a batch that only appends is one round trip and one implicit
//! transaction.
//!
//! The head a replica last wrote is remembered ([`KnownHead`]); an append built on it applies
//! only if no one else appended since. When another writer did, nothing is written and the
//! caller falls back to the locking path (`log::sequence`), which reads the head under its
//! row lock and then runs the same statement.

use std::sync::{Arc, Mutex};

use sqlx::PgExecutor;

use crate::store::StoreResult;
use crate::store::model::{
    AccessTokenRecord, PendingEntry, SequencedEntry, chain, digest_from, to_i64,
};

/// The log head: the next index and the digest of the last entry (the hash chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub next_index: i64,
    pub last_digest: [u8; 32],
}

/// The head as this replica's last append left it; `None` when unknown (at start, after a
/// failure, or after someone else appended).
#[derive(Clone, Default)]
pub(super) struct KnownHead(Arc<Mutex<Option<Head>>>);

impl KnownHead {
    pub fn get(&self) -> Option<Head> {
        self.0.lock().map(|h| *h).unwrap_or(None)
    }

    pub fn set(&self, head: Option<Head>) {
        if let Ok(mut known) = self.0.lock() {
            *known = head;
        }
    }
}

pub(super) async fn read_head<'e, E: PgExecutor<'e>>(
    executor: E,
    for_update: bool,
) -> StoreResult<Head> {
    let sql = if for_update {
        "SELECT next_index, last_digest FROM log_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT next_index, last_digest FROM log_head WHERE id = 1"
    };
    let (next_index, last): (i64, Vec<u8>) = sqlx::query_as(sql).fetch_one(executor).await?;
    Ok(Head {
        next_index,
        last_digest: digest_from(&last)?,
    })
}

/// Column arrays of the access tokens of a batch, for one `UNNEST` insert.
#[derive(Default)]
pub(super) struct AccessTokenColumns {
    jti: Vec<String>,
    client_id: Vec<String>,
    subject: Vec<String>,
    grant_id: Vec<Option<String>>,
    scope: Vec<String>,
    audience: Vec<String>,
    issued_at: Vec<i64>,
    expires_at: Vec<i64>,
    cnf_jkt: Vec<Option<String>>,
    purpose: Vec<Option<String>>,
    context: Vec<Option<String>>,
}

impl AccessTokenColumns {
    pub fn is_empty(&self) -> bool {
        self.jti.is_empty()
    }

    pub fn push(&mut self, t: &AccessTokenRecord) {
        self.jti.push(t.jti.clone());
        self.client_id.push(t.client_id.clone());
        self.subject.push(t.subject.clone());
        self.grant_id.push(t.grant_id.clone());
        self.scope.push(t.scope.clone());
        self.audience.push(t.audience.clone());
        self.issued_at.push(t.issued_at);
        self.expires_at.push(t.expires_at);
        self.cnf_jkt.push(t.cnf_jkt.clone());
        self.purpose.push(t.purpose.clone());
        self.context.push(t.context.to_stored());
    }
}

/// A written append: the first entry's index (none when the batch had no entries) and the
/// head it left.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Written {
    pub first: Option<i64>,
    pub head: Head,
}

/// Every row of the batch hangs off the head's compare-and-swap (`CROSS JOIN head`): when
/// the head moved, the update matches no row and no insert produces one.
const APPEND_SQL: &str = "WITH head AS (\
     UPDATE log_head SET next_index = $1, last_digest = $2 \
     WHERE id = 1 AND next_index = $3 AND last_digest = $4 RETURNING id), \
     tokens AS (INSERT INTO access_tokens (jti, client_id, subject, grant_id, scope, audience, \
     issued_at, expires_at, cnf_jkt, purpose, context) \
     SELECT t.* FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
     $10::text[], $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::text[]) AS t \
     CROSS JOIN head), \
     entries AS (INSERT INTO log_entries (idx, entry, jti_hash, id_jti_hash, created_at) \
     SELECT t.i, t.e, t.j, t.d, $16 \
     FROM UNNEST($17::bigint[], $18::bytea[], $19::text[], $23::text[]) AS t(i, e, j, d) \
     CROSS JOIN head), \
     records AS (INSERT INTO log_records (idx, sealed) \
     SELECT t.i, t.s FROM UNNEST($17::bigint[], $20::bytea[]) AS t(i, s) CROSS JOIN head), \
     subjects AS (INSERT INTO log_subjects (subject, idx) \
     SELECT t.s, t.i FROM UNNEST($21::text[], $22::bigint[]) AS t(s, i) CROSS JOIN head) \
     SELECT count(*) FROM head";

/// Chain `pending` onto `head` and write it with `tokens`, if the head is still `head`;
/// `None` (nothing written) when someone appended since.
pub(super) async fn append<'e, E: PgExecutor<'e>>(
    executor: E,
    head: Head,
    tokens: AccessTokenColumns,
    pending: &[&PendingEntry],
    now: i64,
) -> StoreResult<Option<Written>> {
    let (entries, last_digest) = chain(pending, head.next_index, head.last_digest)?;
    let next = Head {
        next_index: head.next_index + to_i64(entries.len() as u64)?,
        last_digest,
    };
    let (about_people, about_idx) = SequencedEntry::about_rows(&entries);
    let mut idx = Vec::with_capacity(entries.len());
    let mut bytes = Vec::with_capacity(entries.len());
    let mut jti = Vec::with_capacity(entries.len());
    let mut id_jti = Vec::with_capacity(entries.len());
    let mut sealed = Vec::with_capacity(entries.len());
    for e in entries {
        idx.push(e.index);
        bytes.push(e.bytes);
        jti.push(e.jti_hash);
        id_jti.push(e.id_jti_hash);
        sealed.push(e.sealed_record);
    }
    let (applied,): (i64,) = sqlx::query_as(APPEND_SQL)
        .bind(next.next_index)
        .bind(next.last_digest.as_slice())
        .bind(head.next_index)
        .bind(head.last_digest.as_slice())
        .bind(tokens.jti)
        .bind(tokens.client_id)
        .bind(tokens.subject)
        .bind(tokens.grant_id)
        .bind(tokens.scope)
        .bind(tokens.audience)
        .bind(tokens.issued_at)
        .bind(tokens.expires_at)
        .bind(tokens.cnf_jkt)
        .bind(tokens.purpose)
        .bind(tokens.context)
        .bind(now)
        .bind(&idx)
        .bind(&bytes)
        .bind(&jti)
        .bind(&sealed)
        .bind(&about_people)
        .bind(&about_idx)
        .bind(&id_jti)
        .fetch_one(executor)
        .await?;
    Ok((applied == 1).then(|| Written {
        first: (!idx.is_empty()).then_some(head.next_index),
        head: next,
    }))
}
