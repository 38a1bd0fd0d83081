//! Workspace-relative paths, resolved so that neither `..` nor symlinks can escape the workspace.

use std::io;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("path contains a NUL byte")]
    Nul,
    #[error("path must be relative to the workspace: {0:?}")]
    Absolute(String),
    #[error("path must not contain '..': {0:?}")]
    ParentComponent(String),
    #[error("path escapes the workspace: {0:?}")]
    Escapes(String),
    #[error("workspace is not accessible: {0}")]
    Workspace(io::Error),
    #[error("cannot resolve {0:?}: {1}")]
    Io(String, io::Error),
}

/// A path inside the workspace. `existing` is the canonical form of the deepest existing
/// ancestor (checked to lie inside the canonical workspace); `rest` are the components below
/// it that do not exist yet (plain names, no symlinks possible).
#[derive(Clone, Debug)]
pub struct Resolved {
    pub root: PathBuf,
    pub existing: PathBuf,
    pub rest: Vec<String>,
}

impl Resolved {
    /// The full path: the canonical existing ancestor joined with the missing components.
    pub fn path(&self) -> PathBuf {
        let mut p = self.existing.clone();
        p.extend(&self.rest);
        p
    }

    /// True when the path exists (after following symlinks, which stay inside the workspace).
    pub fn exists(&self) -> bool {
        self.rest.is_empty()
    }

    /// The path relative to the workspace root, for responses.
    pub fn relative(&self) -> String {
        let p = self.path();
        p.strip_prefix(&self.root)
            .map(|r| r.display().to_string())
            .unwrap_or_default()
    }
}

/// Checks a client-supplied relative path lexically: no NUL, not absolute, no `..`.
/// Returns its plain components (`.` and empty components dropped).
pub fn lexical_components(rel: &str) -> Result<Vec<String>, PathError> {
    if rel.contains('\0') {
        return Err(PathError::Nul);
    }
    let p = Path::new(rel);
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(PathError::ParentComponent(rel.to_string())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::Absolute(rel.to_string()))
            }
        }
    }
    Ok(out)
}

/// Resolves `rel` under `root`: canonicalizes the deepest existing ancestor (following any
/// symlinks) and requires it to stay inside the canonical workspace.
pub fn resolve(root: &Path, rel: &str) -> Result<Resolved, PathError> {
    let parts = lexical_components(rel)?;
    let root = root.canonicalize().map_err(PathError::Workspace)?;
    // Walk down from the root; stop at the first component that does not exist.
    let mut existing = root.clone();
    let mut idx = 0;
    while idx < parts.len() {
        let candidate = existing.join(&parts[idx]);
        match candidate.canonicalize() {
            Ok(c) => {
                if !c.starts_with(&root) {
                    return Err(PathError::Escapes(rel.to_string()));
                }
                existing = c;
                idx += 1;
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                break
            }
            Err(e) => return Err(PathError::Io(rel.to_string(), e)),
        }
    }
    let rest: Vec<String> = parts[idx..].to_vec();
    // A dangling symlink among the missing components would be followed on creation; refuse.
    if let Some(first) = rest.first() {
        let p = existing.join(first);
        if p.symlink_metadata().is_ok() {
            return Err(PathError::Escapes(rel.to_string()));
        }
    }
    Ok(Resolved {
        root,
        existing,
        rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_checks() {
        assert!(matches!(
            lexical_components("/etc"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            lexical_components("a/../../b"),
            Err(PathError::ParentComponent(_))
        ));
        assert!(matches!(lexical_components("a\0b"), Err(PathError::Nul)));
        assert_eq!(
            lexical_components("./a//b/").expect("ok"),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(lexical_components("").expect("ok").is_empty());
    }

    #[test]
    fn symlinks_cannot_escape() {
        let ws = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(ws.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), ws.path().join("out")).expect("link");
        std::os::unix::fs::symlink("sub", ws.path().join("in")).expect("link");
        std::os::unix::fs::symlink("/nonexistent-xyz/f", ws.path().join("dangling")).expect("link");
        assert!(matches!(
            resolve(ws.path(), "out/x"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(
            resolve(ws.path(), "out"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(
            resolve(ws.path(), "dangling"),
            Err(PathError::Escapes(_))
        ));
        let r = resolve(ws.path(), "in/new/file").expect("inside");
        assert_eq!(r.rest, vec!["new".to_string(), "file".to_string()]);
        assert_eq!(r.relative(), "sub/new/file");
        assert!(resolve(ws.path(), "").expect("root").exists());
    }
}
