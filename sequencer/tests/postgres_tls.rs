//! TLS to PostgreSQL: `sslmode` and `sslrootcert` in the URL are honoured (rustls). The test
//! server's private CA comes from `script/postgres-up.sh` (`VES_TEST_PG_CA`).

mod common;

use std::sync::Arc;

use common::pg::{test_url, TestSchema};
use common::*;
use sqlx::Row;
use ves::*;

fn ca_path() -> String {
    let path = std::env::var("VES_TEST_PG_CA")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}/.cache/agent-instance/pg-ca.crt",
                std::env::var("HOME").unwrap_or_default()
            )
        });
    assert!(
        std::path::Path::new(&path).is_file(),
        "the test server's CA certificate {path} is missing: run script/postgres-up.sh"
    );
    path
}

fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_gives_an_encrypted_working_store() {
    let mut schema = TestSchema::new();
    schema.url = with_params(
        &test_url(),
        &format!("sslmode=verify-full&sslrootcert={}", ca_path()),
    );
    let store = schema.store(2).await;
    let row = sqlx::query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl");
    assert!(row.get::<bool, _>("ssl"), "the connection is not encrypted");
    assert!(row.get::<String, _>("version").starts_with("TLS"));

    let seq = Sequencer::new(
        Arc::new(store),
        sequencer_key(),
        SequencerConfig::new("tls-sequencer"),
    );
    register(
        &seq,
        1,
        Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        None,
    )
    .await;
    let out = seq.ingest(AGENT, batch(3)).await.expect("ingest over TLS");
    assert_eq!(out.sequence_range(), Some((1, 3)));
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_refused() {
    // verify-full against the public web roots only: the private CA is not among them.
    let url = with_params(&test_url(), "sslmode=verify-full");
    let err = PostgresStore::connect(&url, PostgresOptions::default())
        .await
        .expect_err("an unverifiable server certificate must be refused");
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls") || text.contains("issuer"),
        "unexpected error: {err}"
    );
}
