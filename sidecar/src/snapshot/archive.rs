//! Tar archives of the workspace (entries under `workspace/`) and optionally the sidecar data
//! directory (under `state/`), and safe restoration of the workspace part.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::account::Account;

/// Archive prefix of workspace entries.
pub const WORKSPACE_PREFIX: &str = "workspace";
/// Archive prefix of sidecar state entries.
pub const STATE_PREFIX: &str = "state";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive entry {0:?} is unsafe: {1}")]
    UnsafeEntry(String, &'static str),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The inner writer, the SHA-256 digest and the byte count.
    pub fn finish(self) -> (W, [u8; 32], u64) {
        (self.inner, self.hasher.finalize().into(), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the archive to `out`; returns (sha256, size). `exclude` (the snapshot directory) is
/// never archived. Symlinks are stored as links, not followed; sockets and devices skipped.
pub fn create(
    out: File,
    workspace: &Path,
    state: Option<&Path>,
    exclude: &Path,
) -> Result<([u8; 32], u64), ArchiveError> {
    let mut builder = tar::Builder::new(HashingWriter::new(out));
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Complete);
    append_tree(
        &mut builder,
        workspace,
        Path::new(WORKSPACE_PREFIX),
        exclude,
    )?;
    if let Some(state) = state {
        append_tree(&mut builder, state, Path::new(STATE_PREFIX), exclude)?;
    }
    let writer = builder.into_inner()?;
    let (file, digest, size) = writer.finish();
    file.sync_all()?;
    Ok((digest, size))
}

fn append_tree<W: Write>(
    b: &mut tar::Builder<W>,
    src: &Path,
    name: &Path,
    exclude: &Path,
) -> io::Result<()> {
    b.append_dir(name, src)?;
    let mut children: Vec<_> = fs::read_dir(src)?.collect::<Result<_, _>>()?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        if path == exclude {
            continue;
        }
        let ft = child.file_type()?;
        let child_name = name.join(child.file_name());
        if ft.is_dir() {
            append_tree(b, &path, &child_name, exclude)?;
        } else if ft.is_file() || ft.is_symlink() {
            b.append_path_with_name(&path, &child_name)?;
        }
    }
    Ok(())
}

/// The workspace-relative path of an archive entry, or `None` for entries outside
/// `workspace/` (state) and the workspace root itself. Rejects absolute paths and `..`.
fn workspace_rel(path: &Path) -> Result<Option<PathBuf>, &'static str> {
    let mut comps = path.components();
    let mut rel = PathBuf::new();
    match comps.next() {
        Some(Component::Normal(first)) if first == WORKSPACE_PREFIX => {}
        Some(Component::Normal(_)) => return Ok(None),
        Some(Component::CurDir) | None => return Err("empty path"),
        _ => return Err("absolute or parent path"),
    }
    for c in comps {
        match c {
            Component::Normal(s) => rel.push(s),
            Component::CurDir => {}
            _ => return Err("absolute or parent path"),
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

/// True when the symlink at `rel` (workspace-relative) pointing to `target` stays inside.
fn link_stays_inside(rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: Vec<&std::ffi::OsStr> =
        rel.parent().map(|p| p.iter().collect()).unwrap_or_default();
    for c in target.components() {
        match c {
            Component::Normal(s) => depth.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Checks every entry of the archive at `path` before anything is touched.
pub fn validate(path: &Path) -> Result<usize, ArchiveError> {
    let mut ar = tar::Archive::new(File::open(path)?);
    let mut count = 0;
    for entry in ar.entries()? {
        let entry = entry?;
        let p = entry.path()?.into_owned();
        let shown = p.display().to_string();
        let rel = match workspace_rel(&p) {
            Ok(Some(rel)) => rel,
            Ok(None) => continue,
            Err(why) => return Err(ArchiveError::UnsafeEntry(shown, why)),
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = entry.link_name()?.ok_or(ArchiveError::UnsafeEntry(
                    shown.clone(),
                    "symlink without target",
                ))?;
                if !link_stays_inside(&rel, &target) {
                    return Err(ArchiveError::UnsafeEntry(shown, "symlink points outside"));
                }
            }
            _ => return Err(ArchiveError::UnsafeEntry(shown, "unsupported entry type")),
        }
        count += 1;
    }
    Ok(count)
}

/// Replaces the workspace contents with the archive's `workspace/` entries. Call
/// [`validate`] first. With `owner`, restored files are chowned to that account.
pub fn restore(
    path: &Path,
    workspace: &Path,
    owner: Option<&Account>,
) -> Result<usize, ArchiveError> {
    let count = validate(path)?;
    let root = workspace.canonicalize()?;
    for child in fs::read_dir(workspace)? {
        let child = child?;
        if child.file_type()?.is_dir() {
            fs::remove_dir_all(child.path())?;
        } else {
            fs::remove_file(child.path())?;
        }
    }
    let mut ar = tar::Archive::new(File::open(path)?);
    ar.set_preserve_permissions(true);
    ar.set_overwrite(true);
    for entry in ar.entries()? {
        let mut entry = entry?;
        let p = entry.path()?.into_owned();
        let Ok(Some(rel)) = workspace_rel(&p) else {
            continue;
        };
        let dest = workspace.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
            // As `unpack_in`: never write through a symlink that leads outside.
            if !parent.canonicalize()?.starts_with(&root) {
                return Err(ArchiveError::UnsafeEntry(
                    p.display().to_string(),
                    "parent leads outside the workspace",
                ));
            }
        }
        entry.set_mask(0o6000); // drop setuid/setgid bits
        entry.unpack(&dest)?;
        if let Some(a) = owner {
            std::os::unix::fs::lchown(&dest, Some(a.uid), Some(a.gid))?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_and_links() {
        assert_eq!(
            workspace_rel(Path::new("workspace/a/b")),
            Ok(Some(PathBuf::from("a/b")))
        );
        assert_eq!(workspace_rel(Path::new("workspace")), Ok(None));
        assert_eq!(workspace_rel(Path::new("state/x")), Ok(None));
        assert!(workspace_rel(Path::new("/etc/passwd")).is_err());
        assert!(workspace_rel(Path::new("workspace/../x")).is_err());
        assert!(link_stays_inside(Path::new("a/l"), Path::new("../b")));
        assert!(!link_stays_inside(Path::new("a/l"), Path::new("../../b")));
        assert!(!link_stays_inside(Path::new("l"), Path::new("/etc")));
    }

    #[test]
    fn round_trip() {
        let ws = tempfile::tempdir().expect("tmp");
        let store = tempfile::tempdir().expect("tmp");
        fs::create_dir(ws.path().join("d")).expect("mkdir");
        fs::write(ws.path().join("d/f"), "one").expect("write");
        std::os::unix::fs::symlink("d/f", ws.path().join("l")).expect("link");
        let tar_path = store.path().join("s.tar");
        let (digest, size) = create(
            File::create(&tar_path).expect("create"),
            ws.path(),
            None,
            store.path(),
        )
        .expect("archive");
        let bytes = fs::read(&tar_path).expect("read");
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&bytes)));
        fs::write(ws.path().join("d/f"), "two").expect("write");
        fs::write(ws.path().join("extra"), "x").expect("write");
        assert_eq!(restore(&tar_path, ws.path(), None).expect("restore"), 3);
        assert_eq!(
            fs::read_to_string(ws.path().join("d/f")).expect("read"),
            "one"
        );
        assert_eq!(
            fs::read_to_string(ws.path().join("l")).expect("read"),
            "one"
        );
        assert!(!ws.path().join("extra").exists());
    }
}
