//! `keygen` and `register-key`.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use ed25519_dalek::SigningKey;
use serde_json::json;

use super::config::write_key_file;
use super::{print_json, Global};
use crate::client::KeyRegistrationRequest;
use crate::keys::{sign_pop, Ed25519PublicKey};

/// `keygen` options.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Where to write the seed (default: --key-file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `register-key` options.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// Start of validity (RFC 3339; default: now).
    #[arg(long)]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity (RFC 3339).
    #[arg(long)]
    pub valid_to: Option<DateTime<Utc>>,
}

pub(super) fn keygen(g: &Global, a: &KeygenArgs) -> Result<i32> {
    let path = a.out.clone().unwrap_or_else(|| g.key_file.clone());
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    write_key_file(&path, &key, a.force)?;
    let public = Ed25519PublicKey::from_signing_key(&key);
    if g.json {
        print_json(&json!({ "key_file": path, "public_key": public }))?;
    } else {
        println!("wrote {}", path.display());
        println!("public key: {public}");
    }
    Ok(0)
}

pub(super) async fn register(g: &Global, a: &RegisterArgs) -> Result<i32> {
    let key = g.signing_key()?;
    let req = KeyRegistrationRequest {
        tenant_id: g.tenant()?,
        agent_id: g.agent()?,
        key_id: g.key_id,
        public_key: Ed25519PublicKey::from_signing_key(&key),
        valid_from: a.valid_from,
        valid_to: a.valid_to,
        proof_of_possession: Some(sign_pop(&key)),
    };
    let registered = g.client()?.register_key(&req).await?;
    if g.json {
        print_json(&json!({ "created": registered.created, "key": registered.record }))?;
    } else {
        let r = &registered.record;
        let verb = if registered.created {
            "registered"
        } else {
            "already registered"
        };
        println!(
            "{verb}: agent {} key {} = {}",
            r.agent_id, r.key_id, r.public_key
        );
    }
    Ok(0)
}
