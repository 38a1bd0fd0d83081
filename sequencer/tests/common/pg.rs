//! The PostgreSQL server the backend tests run against, and one schema per test.
//!
//! The server is `VES_TEST_DATABASE_URL`, by default the private cluster that
//! `script/postgres-up.sh` starts. An unreachable server fails the test (never skips it).
#![allow(dead_code)]

use sqlx::Connection;
use uuid::Uuid;
use ves::{PostgresOptions, PostgresStore};

/// Default of `VES_TEST_DATABASE_URL` (what `script/postgres-up.sh` sets up).
pub const DEFAULT_URL: &str = "postgres://ves:ves@127.0.0.1:55432/ves_test";

pub fn test_url() -> String {
    std::env::var("VES_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

fn unreachable(url: &str, e: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL test server {url} is not usable: {e}\n\
         Start it with script/postgres-up.sh (or point VES_TEST_DATABASE_URL at a server \
         where the user may create schemas)."
    )
}

/// A schema of its own in the test database, dropped (with everything in it) on drop.
pub struct TestSchema {
    pub name: String,
    pub url: String,
}

impl TestSchema {
    pub fn new() -> Self {
        Self {
            name: format!("ves_t_{}", Uuid::new_v4().simple()),
            url: test_url(),
        }
    }

    /// A store over this schema with its own pool (one "sequencer process").
    pub async fn store(&self, max_connections: u32) -> PostgresStore {
        let options = PostgresOptions {
            max_connections,
            schema: Some(self.name.clone()),
            ..PostgresOptions::default()
        };
        PostgresStore::connect(&self.url, options)
            .await
            .unwrap_or_else(|e| unreachable(&self.url, e))
    }

    /// A plain connection whose `search_path` is this schema.
    pub async fn connection(&self) -> sqlx::PgConnection {
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| unreachable(&self.url, e));
        sqlx::query(&format!("SET search_path TO {}", self.name))
            .execute(&mut conn)
            .await
            .expect("set search_path");
        conn
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside a runtime: use a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                // Never wait long: a pool of this test may still be closing its connections
                // on the runtime this drop is blocking (the schema then stays behind).
                sqlx::query("SET lock_timeout = '5s'")
                    .execute(&mut conn)
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        });
        let _ = cleanup.join();
    }
}
