//! `ves-server`: the VES sequencer as a standalone HTTP server over SQLite or PostgreSQL.
//!
//! ```text
//! ves-server --database ves.db --key-file sequencer.key --api-keys-file api-keys.json
//! ves-server --database-url postgres://ves:secret@db:5432/ves --key-file sequencer.key \
//!     --api-keys-file api-keys.json
//! ```
//!
//! `--database-url` (env `VES_DATABASE_URL`) selects the PostgreSQL backend, which several
//! `ves-server` processes may share; otherwise `--database` (env `VES_DATABASE`) names the
//! embedded SQLite file. See `docs/sequencer.md` (storage backends).
//!
//! The key file holds the sequencer's Ed25519 seed as 64 hex digits; it is created with
//! mode 0600 when absent. The API key file is described in `ves::api` (auth module).
//! SIGINT/SIGTERM: stop accepting, end live streams, finish in-flight requests (at most
//! `--shutdown-grace-secs`), exit. Every acknowledged event is already durable.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tracing_subscriber::EnvFilter;
use ves::api::{router, ApiKeys, ApiState, DEFAULT_BODY_LIMIT};
use ves::{
    EventStore, PostgresOptions, PostgresStore, Sequencer, SequencerConfig, SigningKey, SqliteStore,
};
use zeroize::Zeroizing;

#[derive(Debug, Parser)]
#[command(name = "ves-server", version, about = "VES sequencer HTTP server")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "VES_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// SQLite database file (created if absent). Required unless `--database-url` is given.
    #[arg(
        long,
        env = "VES_DATABASE",
        required_unless_present = "database_url",
        conflicts_with = "database_url"
    )]
    database: Option<PathBuf>,
    /// PostgreSQL URL (`postgres://user:password@host:port/database`): use the PostgreSQL
    /// backend instead of SQLite.
    #[arg(long, env = "VES_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL schema for the sequencer's tables (created if absent; default: `public`).
    #[arg(long, env = "VES_DATABASE_SCHEMA", requires = "database_url")]
    database_schema: Option<String>,
    /// PostgreSQL connection pool size.
    #[arg(long, env = "VES_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    database_max_connections: u32,
    /// Sequencer Ed25519 seed file (hex; created with mode 0600 if absent).
    #[arg(long, env = "VES_KEY_FILE")]
    key_file: PathBuf,
    /// JSON file mapping API keys to scopes.
    #[arg(long, env = "VES_API_KEYS_FILE")]
    api_keys_file: PathBuf,
    /// `sequencerId` in receipts (default: `ves-` + first 8 bytes of the public key, hex).
    #[arg(long, env = "VES_SEQUENCER_ID")]
    sequencer_id: Option<String>,
    /// Reject `ves_version = 1` events on every stream.
    #[arg(long, env = "VES_REQUIRE_V2")]
    require_v2: bool,
    /// Largest request body in bytes.
    #[arg(long, env = "VES_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Seconds to wait for in-flight requests on shutdown.
    #[arg(long, env = "VES_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
}

fn parse_seed(text: &str) -> Result<SigningKey> {
    let text = text.trim();
    let hex_digits = text.strip_prefix("0x").unwrap_or(text);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_digits, seed.as_mut())
        .context("key file must hold 64 hex digits (an Ed25519 seed)")?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "sequencer key file is accessible by group or others");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

fn load_or_create_key(path: &Path) -> Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            parse_seed(&Zeroizing::new(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let mut file = create_private(path)
                .with_context(|| format!("creating key file {}", path.display()))?;
            let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a new sequencer key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading key file {}", path.display())),
    }
}

/// The URL without its password, for logs and errors.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

async fn open_store(args: &Args) -> Result<Arc<dyn EventStore>> {
    if let Some(url) = &args.database_url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("--database-url must be a postgres:// or postgresql:// URL");
        }
        let options = PostgresOptions {
            max_connections: args.database_max_connections,
            schema: args.database_schema.clone(),
            ..PostgresOptions::default()
        };
        let store = PostgresStore::connect(url, options)
            .await
            .with_context(|| format!("opening PostgreSQL database {}", redacted(url)))?;
        tracing::info!(database = %redacted(url), schema = ?args.database_schema, "storage: PostgreSQL");
        return Ok(Arc::new(store));
    }
    let Some(path) = args.database.clone() else {
        bail!("either --database (SQLite) or --database-url (PostgreSQL) is required");
    };
    let shown = path.display().to_string();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await?
        .with_context(|| format!("opening database {shown}"))?;
    tracing::info!(database = %store.path().display(), "storage: SQLite");
    Ok(Arc::new(store))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();

    let key = load_or_create_key(&args.key_file)?;
    let api_keys_text = std::fs::read_to_string(&args.api_keys_file)
        .with_context(|| format!("reading {}", args.api_keys_file.display()))?;
    let api_keys = ApiKeys::from_json(&api_keys_text).context("parsing the API key file")?;
    if args.body_limit == 0 {
        bail!("--body-limit must be positive");
    }
    let store = open_store(&args).await?;

    let public = key.verifying_key().to_bytes();
    let sequencer_id = args
        .sequencer_id
        .unwrap_or_else(|| format!("ves-{}", hex::encode(&public[..8])));
    let mut config = SequencerConfig::new(sequencer_id.clone());
    config.require_v2 = args.require_v2;
    let sequencer = Arc::new(Sequencer::new(store, key, config));
    let mut state = ApiState::new(sequencer, api_keys);
    state.body_limit = args.body_limit;
    let app = router(state.clone());

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        listen = %listener.local_addr().unwrap_or(args.listen),
        sequencer_id,
        public_key = %format!("0x{}", hex::encode(public)),
        "ves-server listening"
    );

    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopping_rx.await;
            })
            .await
    });
    tokio::select! {
        () = shutdown_signal() => {}
        joined = &mut server => {
            joined?.context("server error")?;
            return Ok(());
        }
    }
    tracing::info!("shutting down");
    state.close_streams();
    let _ = stopping_tx.send(());
    match tokio::time::timeout(Duration::from_secs(args.shutdown_grace_secs), server).await {
        Ok(joined) => joined?.context("server error")?,
        Err(_) => tracing::warn!("in-flight requests did not finish in time; exiting"),
    }
    Ok(())
}
