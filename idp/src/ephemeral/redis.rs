//! Redis ephemeral store: one auto-reconnecting multiplexed connection shared by all requests.
//!
//! Replay checks (`SET NX`, one per client assertion and per DPoP proof) are what nearly every
//! token request asks Redis: they are group-sent, the checks that arrive while one pipeline is
//! in flight going in the next, so Redis reads and answers a batch per round trip.

use std::time::Duration;

use async_trait::async_trait;
use redis::RedisError;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use super::{EphemeralResult, EphemeralStore};

/// Most replay checks sent in one pipeline.
const MAX_PIPELINE: usize = 256;

/// One `SET key value NX PX ttl` and where its answer goes.
struct InsertNew {
    key: String,
    value: Vec<u8>,
    ttl_ms: u64,
    reply: oneshot::Sender<Result<bool, RedisError>>,
}

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    inserts: mpsc::Sender<InsertNew>,
}

/// Sends every waiting `SET NX` in one pipeline, then the next batch once it is answered.
async fn send_inserts(connection: ConnectionManager, mut queue: mpsc::Receiver<InsertNew>) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    while queue.recv_many(&mut batch, MAX_PIPELINE).await > 0 {
        let mut pipeline = redis::pipe();
        for insert in &batch {
            pipeline
                .cmd("SET")
                .arg(&insert.key)
                .arg(&insert.value)
                .arg("NX")
                .arg("PX")
                .arg(insert.ttl_ms);
        }
        let mut c = connection.clone();
        let answers: Result<Vec<Option<String>>, RedisError> = pipeline.query_async(&mut c).await;
        match answers {
            // A reply that went missing drops its sender: that check fails, closed.
            Ok(answers) => {
                for (insert, answer) in batch.drain(..).zip(answers) {
                    let _ = insert.reply.send(Ok(answer.is_some()));
                }
            }
            Err(e) => {
                for insert in batch.drain(..) {
                    let _ = insert.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> EphemeralResult<Self> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new(client).await?;
        let (inserts, queue) = mpsc::channel(4 * MAX_PIPELINE);
        tokio::spawn(send_inserts(connection.clone(), queue));
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            inserts,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn insert_new(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<bool> {
        let stopped = || RedisError::from((redis::ErrorKind::Io, "replay check went unanswered"));
        let (reply, answer) = oneshot::channel();
        let insert = InsertNew {
            key: self.key(key),
            value: value.to_vec(),
            ttl_ms: millis(ttl),
            reply,
        };
        self.inserts.send(insert).await.map_err(|_| stopped())?;
        Ok(answer.await.map_err(|_| stopped())??)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<()> {
        let mut c = self.connection.clone();
        let () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>> {
        let mut c = self.connection.clone();
        Ok(redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?)
    }

    async fn take(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>> {
        let mut c = self.connection.clone();
        Ok(redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?)
    }

    async fn increment(&self, key: &str, window: Duration) -> EphemeralResult<u64> {
        let mut c = self.connection.clone();
        let key = self.key(key);
        // INCR then PEXPIRE NX in one round trip: the window starts at the first increment.
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(window))
            .arg("NX")
            .query_async(&mut c)
            .await?;
        Ok(count)
    }

    async fn ping(&self) -> EphemeralResult<()> {
        let mut c = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replay_check_nobody_answers_is_an_error() {
        let Some(url) = crate::ephemeral::tests::redis_url() else {
            return;
        };
        let store = RedisStore::connect(&url, "gg-test-unanswered:")
            .await
            .unwrap();
        // The pipeline sender is gone: the check must fail, never pass as fresh.
        let (inserts, queue) = mpsc::channel(1);
        drop(queue);
        let store = RedisStore { inserts, ..store };
        let checked = store.insert_new("jti", b"1", Duration::from_secs(5)).await;
        assert!(checked.is_err(), "{checked:?}");
    }
}
