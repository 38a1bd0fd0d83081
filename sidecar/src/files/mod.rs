//! Reading, writing and listing workspace files. Paths are workspace-relative and resolved by
//! [`crate::workspace::resolve`], so `..`, absolute paths and symlink escapes are refused.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::account::Account;
use crate::workspace::{self, PathError};

/// Most entries a listing returns.
pub const MAX_LIST_ENTRIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("no such file: {0:?}")]
    NotFound(String),
    #[error("not a regular file: {0:?}")]
    NotAFile(String),
    #[error("not a directory: {0:?}")]
    NotADirectory(String),
    #[error("file is too large ({size} bytes; at most {max})")]
    TooLarge { size: u64, max: u64 },
    #[error("a path is required")]
    EmptyPath,
    #[error("I/O error on {0:?}: {1}")]
    Io(String, io::Error),
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FileContent {
    pub path: String,
    pub size: u64,
    pub content_base64: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Written {
    pub path: String,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Listing {
    pub path: String,
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

fn io_err(rel: &str) -> impl Fn(io::Error) -> FilesError + '_ {
    move |e| FilesError::Io(rel.to_string(), e)
}

/// Reads a regular file of at most `max` bytes.
pub fn read(root: &Path, rel: &str, max: u64) -> Result<FileContent, FilesError> {
    use base64::Engine;
    let r = workspace::resolve(root, rel)?;
    if !r.exists() {
        return Err(FilesError::NotFound(rel.to_string()));
    }
    let path = r.path();
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io_err(rel))?;
    let meta = f.metadata().map_err(io_err(rel))?;
    if !meta.is_file() {
        return Err(FilesError::NotAFile(rel.to_string()));
    }
    if meta.len() > max {
        return Err(FilesError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let mut buf = Vec::new();
    (&mut f)
        .take(max + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(rel))?;
    let size = buf.len() as u64;
    if size > max {
        return Err(FilesError::TooLarge { size, max });
    }
    Ok(FileContent {
        path: r.relative(),
        size,
        content_base64: base64::engine::general_purpose::STANDARD.encode(&buf),
    })
}

/// Writes `data` atomically (temp file + rename), creating parent directories. With `owner`,
/// created directories and the file are chowned to that account.
pub fn write(
    root: &Path,
    rel: &str,
    data: &[u8],
    owner: Option<&Account>,
) -> Result<Written, FilesError> {
    let r = workspace::resolve(root, rel)?;
    let Some(name) = r.rest.last().cloned().or_else(|| {
        // The file exists: its parent is the canonical path's parent.
        r.existing
            .file_name()
            .filter(|_| r.existing != r.root)
            .map(|n| n.to_string_lossy().into_owned())
    }) else {
        return Err(FilesError::EmptyPath);
    };
    let (parent, mode) = if r.exists() {
        let meta = fs::symlink_metadata(&r.existing).map_err(io_err(rel))?;
        if !meta.is_file() {
            return Err(FilesError::NotAFile(rel.to_string()));
        }
        let parent = r.existing.parent().map(Path::to_path_buf);
        (parent, meta.permissions().mode() & 0o7777)
    } else {
        let mut dir = r.existing.clone();
        if !dir.is_dir() {
            return Err(FilesError::NotADirectory(rel.to_string()));
        }
        for part in &r.rest[..r.rest.len() - 1] {
            dir.push(part);
            make_dir(&dir, owner).map_err(io_err(rel))?;
        }
        (Some(dir), 0o644)
    };
    let parent = parent.ok_or_else(|| FilesError::NotAFile(rel.to_string()))?;
    let target = parent.join(&name);
    atomic_write(&parent, &target, data, mode, owner).map_err(io_err(rel))?;
    let resolved = workspace::resolve(root, rel)?;
    Ok(Written {
        path: resolved.relative(),
        size: data.len() as u64,
    })
}

fn make_dir(dir: &Path, owner: Option<&Account>) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {
            if let Some(a) = owner {
                std::os::unix::fs::lchown(dir, Some(a.uid), Some(a.gid))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Appeared concurrently: only a real directory is acceptable, never a symlink.
            if fs::symlink_metadata(dir)?.is_dir() {
                Ok(())
            } else {
                Err(io::Error::other("path component is not a directory"))
            }
        }
        Err(e) => Err(e),
    }
}

/// Writes `data` to a fresh temp file in `dir` (O_EXCL|O_NOFOLLOW), syncs, then renames it
/// over `target` (rename replaces a symlink at `target` instead of following it).
pub fn atomic_write(
    dir: &Path,
    target: &Path,
    data: &[u8],
    mode: u32,
    owner: Option<&Account>,
) -> io::Result<()> {
    let tmp: PathBuf = dir.join(format!(".sidecar-tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(data)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some(a) = owner {
            std::os::unix::fs::fchown(&f, Some(a.uid), Some(a.gid))?;
        }
        f.sync_all()?;
        if fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
            return Err(io::Error::other("target is a directory"));
        }
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Lists a directory (sorted by name; symlinks reported as such, not followed).
pub fn list(root: &Path, rel: &str) -> Result<Listing, FilesError> {
    let r = workspace::resolve(root, rel)?;
    if !r.exists() {
        return Err(FilesError::NotFound(rel.to_string()));
    }
    let path = r.path();
    if !path.is_dir() {
        return Err(FilesError::NotADirectory(rel.to_string()));
    }
    let mut entries = Vec::new();
    let mut truncated = false;
    for e in fs::read_dir(&path).map_err(io_err(rel))? {
        let e = e.map_err(io_err(rel))?;
        if entries.len() >= MAX_LIST_ENTRIES {
            truncated = true;
            break;
        }
        let meta = e.metadata().map_err(io_err(rel))?;
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        entries.push(Entry {
            name: e.file_name().to_string_lossy().into_owned(),
            kind,
            size: meta.size(),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing {
        path: r.relative(),
        entries,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_listing() {
        let ws = tempfile::tempdir().expect("tmp");
        let w = write(ws.path(), "a/b/c.txt", b"hello", None).expect("write");
        assert_eq!(w.path, "a/b/c.txt");
        let w = write(ws.path(), "a/b/c.txt", b"hello!", None).expect("overwrite");
        assert_eq!(w.size, 6);
        let r = read(ws.path(), "a/b/c.txt", 100).expect("read");
        assert_eq!(r.content_base64, "aGVsbG8h");
        assert!(matches!(
            read(ws.path(), "a/b/c.txt", 3),
            Err(FilesError::TooLarge { .. })
        ));
        let l = list(ws.path(), "a/b").expect("list");
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.entries[0].kind, Kind::File);
        assert!(matches!(
            read(ws.path(), "a", 100),
            Err(FilesError::NotAFile(_))
        ));
        assert!(matches!(
            write(ws.path(), "", b"x", None),
            Err(FilesError::EmptyPath)
        ));
        assert!(matches!(
            write(ws.path(), "a", b"x", None),
            Err(FilesError::NotAFile(_))
        ));
        assert!(matches!(
            write(ws.path(), "a/b/c.txt/d", b"x", None),
            Err(FilesError::NotADirectory(_))
        ));
    }
}
