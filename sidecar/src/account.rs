//! Unix accounts: who workspace commands run as and who owns the files the sidecar writes.

use std::path::PathBuf;

use nix::unistd::{geteuid, User};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user {0:?} does not exist")]
    NoSuchUser(String),
    #[error("cannot look up user {0:?}: {1}")]
    Lookup(String, nix::Error),
}

/// A resolved account: name, numeric ids and home directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Looks `name` up in the user database.
pub fn lookup(name: &str) -> Result<Account, AccountError> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(Account {
            name: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            home: u.dir,
        }),
        Ok(None) => Err(AccountError::NoSuchUser(name.to_string())),
        Err(e) => Err(AccountError::Lookup(name.to_string(), e)),
    }
}

/// True when the sidecar runs with root privileges (and can therefore drop them or chown).
pub fn is_root() -> bool {
    geteuid().is_root()
}

/// The account workspace commands run as: the configured workspace user when the sidecar runs
/// as root, otherwise `None` (run as the current user; nothing to switch to or chown).
pub fn workspace_account(workspace_user: Option<&str>) -> Result<Option<Account>, AccountError> {
    match workspace_user {
        Some(name) if is_root() => lookup(name).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_unknown_users_do_not() {
        let root = lookup("root").expect("root exists");
        assert_eq!(root.uid, 0);
        assert!(matches!(
            lookup("no-such-user-xyz"),
            Err(AccountError::NoSuchUser(_))
        ));
        assert_eq!(workspace_account(None).expect("none"), None);
    }
}
