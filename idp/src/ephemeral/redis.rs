//! Redis ephemeral store: one auto-reconnecting multiplexed connection shared by all requests.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::{EphemeralResult, EphemeralStore};

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> EphemeralResult<Self> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new(client).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn insert_new(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<bool> {
        let mut c = self.connection.clone();
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(reply.is_some())
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
