//! `~/.ssh/authorized_keys` editing: match keys by blob, write atomically (0600 in a 0700
//! `.ssh`), never follow symlinks.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::key::{supported_type, PublicKey};
use super::SshError;
use crate::account::Account;
use crate::files::atomic_write;

/// The key blob on an `authorized_keys` line (options before the key type are skipped).
fn line_blob(line: &str) -> Option<Vec<u8>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let idx = tokens.iter().position(|t| supported_type(t))?;
    STANDARD.decode(tokens.get(idx + 1)?).ok()
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> SshError + '_ {
    move |e| SshError::Io(path.to_path_buf(), e)
}

/// Ensures `~/.ssh` is a real directory (0700, owned by the user when `chown`).
fn ssh_dir(account: &Account, chown: bool) -> Result<std::path::PathBuf, SshError> {
    let dir = account.home.join(".ssh");
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => return Err(SshError::Symlink(dir)),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(io_err(&dir))?;
        }
        Err(e) => return Err(SshError::Io(dir, e)),
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
    if chown {
        std::os::unix::fs::lchown(&dir, Some(account.uid), Some(account.gid))
            .map_err(io_err(&dir))?;
    }
    Ok(dir)
}

fn read_lines(path: &Path) -> Result<Vec<String>, SshError> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => return Err(SshError::Symlink(path.to_path_buf())),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SshError::Io(path.to_path_buf(), e)),
    }
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    Ok(text.lines().map(str::to_string).collect())
}

fn write_lines(
    dir: &Path,
    lines: &[String],
    account: &Account,
    chown: bool,
) -> Result<(), SshError> {
    let path = dir.join("authorized_keys");
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let owner = chown.then_some(account);
    atomic_write(dir, &path, text.as_bytes(), 0o600, owner).map_err(io_err(&path))
}

/// Adds `key` unless a line with the same blob is present. Returns whether the file changed.
pub fn add_key(account: &Account, key: &PublicKey, chown: bool) -> Result<bool, SshError> {
    let dir = ssh_dir(account, chown)?;
    let mut lines = read_lines(&dir.join("authorized_keys"))?;
    if lines
        .iter()
        .any(|l| line_blob(l).as_deref() == Some(&key.blob[..]))
    {
        return Ok(false);
    }
    lines.push(key.line());
    write_lines(&dir, &lines, account, chown)?;
    Ok(true)
}

/// Removes every line carrying `key`'s blob. Returns whether the file changed.
pub fn remove_key(account: &Account, key: &PublicKey, chown: bool) -> Result<bool, SshError> {
    let dir = account.home.join(".ssh");
    if fs::symlink_metadata(&dir).is_err() {
        return Ok(false);
    }
    let dir = ssh_dir(account, chown)?;
    let lines = read_lines(&dir.join("authorized_keys"))?;
    let kept: Vec<String> = lines
        .iter()
        .filter(|l| line_blob(l).as_deref() != Some(&key.blob[..]))
        .cloned()
        .collect();
    if kept.len() == lines.len() {
        return Ok(false);
    }
    write_lines(&dir, &kept, account, chown)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_found_behind_options() {
        let k = super::super::key::parse(super::super::key::tests::ED25519).expect("key");
        let b64 = STANDARD.encode(&k.blob);
        assert_eq!(
            line_blob(&format!("no-pty,from=\"10.0.0.1\" ssh-ed25519 {b64} c")),
            Some(k.blob.clone())
        );
        assert_eq!(line_blob("# ssh-ed25519 x"), None);
        assert_eq!(line_blob(""), None);
    }
}
