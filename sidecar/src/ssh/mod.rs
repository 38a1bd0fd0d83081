//! SSH access for workspace users: validated public keys added to or removed from
//! `~user/.ssh/authorized_keys`, idempotently and atomically.
//!
//! Only existing accounts are touched (no users are created): the workspace user or a regular
//! account (uid ≥ 1000). With a home-root override (tests), user `u` is the directory
//! `<root>/u` and its owner.

mod authorized;
pub mod key;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::account::{self, Account, AccountError};

pub use authorized::{add_key, remove_key};
pub use key::{parse, KeyError, PublicKey};

/// Lowest uid of a regular (non-system) account.
pub const FIRST_REGULAR_UID: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("invalid username {0:?}: must match [a-z_][a-z0-9_-]{{0,31}}")]
    BadUsername(String),
    #[error("no username given and no workspace user configured")]
    NoUser,
    #[error("user {0:?} does not exist")]
    NoSuchUser(String),
    #[error("user {0:?} is a system account; SSH keys are only managed for regular users")]
    SystemUser(String),
    #[error("user lookup failed: {0}")]
    Account(AccountError),
    #[error("refusing to follow a symlink at {0:?}")]
    Symlink(PathBuf),
    #[error("I/O error on {0:?}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Body of `POST /v1/ssh/keys` and `DELETE /v1/ssh/keys`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    #[serde(default)]
    pub username: Option<String>,
    pub public_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyChange {
    pub username: String,
    pub fingerprint: String,
    pub changed: bool,
}

/// True for names matching `[a-z_][a-z0-9_-]{0,31}`.
pub fn valid_username(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Where keys are managed and for whom.
#[derive(Clone, Debug)]
pub struct SshSettings {
    pub workspace_user: Option<String>,
    pub home_root: Option<PathBuf>,
}

/// Resolves the account keys are managed for.
pub fn target_account(settings: &SshSettings, username: Option<&str>) -> Result<Account, SshError> {
    let name = username
        .or(settings.workspace_user.as_deref())
        .ok_or(SshError::NoUser)?;
    if !valid_username(name) {
        return Err(SshError::BadUsername(name.to_string()));
    }
    let is_workspace_user = settings.workspace_user.as_deref() == Some(name);
    let account = match &settings.home_root {
        Some(root) => home_root_account(root, name)?,
        None => account::lookup(name).map_err(|e| match e {
            AccountError::NoSuchUser(n) => SshError::NoSuchUser(n),
            e => SshError::Account(e),
        })?,
    };
    if !is_workspace_user && settings.home_root.is_none() && account.uid < FIRST_REGULAR_UID {
        return Err(SshError::SystemUser(name.to_string()));
    }
    Ok(account)
}

fn home_root_account(root: &Path, name: &str) -> Result<Account, SshError> {
    let home = root.join(name);
    let meta =
        std::fs::symlink_metadata(&home).map_err(|_| SshError::NoSuchUser(name.to_string()))?;
    if !meta.is_dir() {
        return Err(SshError::NoSuchUser(name.to_string()));
    }
    Ok(Account {
        name: name.to_string(),
        uid: meta.uid(),
        gid: meta.gid(),
        home,
    })
}

/// Adds (`add = true`) or removes the key in `req`; returns its fingerprint and whether the
/// file changed.
pub fn apply(settings: &SshSettings, req: &KeyRequest, add: bool) -> Result<KeyChange, SshError> {
    let key = parse(&req.public_key)?;
    let account = target_account(settings, req.username.as_deref())?;
    let chown = account::is_root();
    let changed = if add {
        add_key(&account, &key, chown)?
    } else {
        remove_key(&account, &key, chown)?
    };
    Ok(KeyChange {
        username: account.name,
        fingerprint: key.fingerprint(),
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::key::tests::{ED25519, ED25519_FP, RSA2048};
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("agent"));
        assert!(valid_username("_a-1"));
        assert!(!valid_username("Agent"));
        assert!(!valid_username("1a"));
        assert!(!valid_username("a/b"));
        assert!(!valid_username(&"a".repeat(33)));
        assert!(!valid_username(""));
    }

    #[test]
    fn add_is_idempotent_and_remove_is_too() {
        let root = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(root.path().join("agent")).expect("home");
        let settings = SshSettings {
            workspace_user: Some("agent".into()),
            home_root: Some(root.path().to_path_buf()),
        };
        let req = |k: &str| KeyRequest {
            username: None,
            public_key: k.to_string(),
        };
        let c = apply(&settings, &req(ED25519), true).expect("add");
        assert_eq!(c.fingerprint, ED25519_FP);
        assert!(c.changed);
        assert!(
            !apply(&settings, &req(ED25519), true)
                .expect("again")
                .changed
        );
        assert!(apply(&settings, &req(RSA2048), true).expect("rsa").changed);
        let file = root.path().join("agent/.ssh/authorized_keys");
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(text, format!("{ED25519}\n{RSA2048}\n"));
        assert!(apply(&settings, &req(ED25519), false).expect("rm").changed);
        assert!(!apply(&settings, &req(ED25519), false).expect("rm").changed);
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(text, format!("{RSA2048}\n"));
        let missing = KeyRequest {
            username: Some("ghost".into()),
            public_key: ED25519.into(),
        };
        assert!(matches!(
            apply(&settings, &missing, true),
            Err(SshError::NoSuchUser(_))
        ));
    }

    #[test]
    fn system_users_are_refused_without_override() {
        let settings = SshSettings {
            workspace_user: None,
            home_root: None,
        };
        assert!(matches!(
            target_account(&settings, Some("root")),
            Err(SshError::SystemUser(_))
        ));
        assert!(matches!(
            target_account(&settings, None),
            Err(SshError::NoUser)
        ));
    }
}
