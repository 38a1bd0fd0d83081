//! Workspace snapshots: tar archives stored under `<data_dir>/snapshots` (or uploaded with
//! HTTP PUT to a checked destination), listed, and restored into the workspace.

pub mod archive;
pub mod ssrf;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use archive::ArchiveError;
pub use ssrf::{check_destination, is_forbidden, DestinationError};

/// Directory under the data dir where local snapshots live.
pub const SNAPSHOT_DIR: &str = "snapshots";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("invalid snapshot id {0:?}")]
    BadId(String),
    #[error("no such snapshot {0:?}")]
    NotFound(String),
    #[error("upload failed: {0}")]
    Upload(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    #[serde(default)]
    pub destination_url: Option<String>,
    #[serde(default)]
    pub include_state: bool,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    pub snapshot_id: String,
}

/// A snapshot's metadata (stored next to local archives as `<id>.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SnapshotInfo {
    pub snapshot_id: String,
    /// `0x`-prefixed hex SHA-256 of the archive bytes.
    pub sha256: String,
    pub size_bytes: u64,
    /// `local:<id>` for local snapshots, the destination (without query) for uploads.
    pub location: String,
    pub include_state: bool,
    pub created_at: u64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Restored {
    pub snapshot_id: String,
    pub entries: usize,
}

/// True for ids this module generates (`snap-` + 32 hex digits); nothing else is a path.
pub fn valid_id(id: &str) -> bool {
    id.strip_prefix("snap-")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn snapshot_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_DIR)
}

/// Writes an archive of `workspace` (and `data_dir` when `include_state`) into the snapshot
/// directory. Returns its metadata and path.
pub fn create_local(
    workspace: &Path,
    data_dir: &Path,
    include_state: bool,
) -> Result<(SnapshotInfo, PathBuf), SnapshotError> {
    let dir = snapshot_dir(data_dir);
    fs::create_dir_all(&dir)?;
    let id = format!("snap-{}", uuid::Uuid::new_v4().simple());
    let tar_path = dir.join(format!("{id}.tar"));
    let tmp = dir.join(format!(".{id}.tar.tmp"));
    let made = archive::create(
        File::create(&tmp)?,
        workspace,
        include_state.then_some(data_dir),
        &dir,
    );
    let (digest, size) = match made {
        Ok(v) => v,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    fs::rename(&tmp, &tar_path)?;
    let info = SnapshotInfo {
        snapshot_id: id.clone(),
        sha256: format!("0x{}", hex::encode(digest)),
        size_bytes: size,
        location: format!("local:{id}"),
        include_state,
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    };
    let meta = serde_json::to_vec_pretty(&info).map_err(std::io::Error::other)?;
    crate::files::atomic_write(&dir, &dir.join(format!("{id}.json")), &meta, 0o600, None)?;
    Ok((info, tar_path))
}

/// Removes a local snapshot (after it was uploaded elsewhere).
pub fn remove_local(data_dir: &Path, id: &str) {
    let dir = snapshot_dir(data_dir);
    let _ = fs::remove_file(dir.join(format!("{id}.tar")));
    let _ = fs::remove_file(dir.join(format!("{id}.json")));
}

/// Lists local snapshots, oldest first.
pub fn list(data_dir: &Path) -> Result<Vec<SnapshotInfo>, SnapshotError> {
    let dir = snapshot_dir(data_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for e in entries {
        let path = e?.path();
        let is_meta = path.extension().is_some_and(|x| x == "json");
        let id_ok = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(valid_id);
        if !is_meta || !id_ok {
            continue;
        }
        if let Ok(info) = serde_json::from_slice::<SnapshotInfo>(&fs::read(&path)?) {
            if path.with_extension("tar").is_file() {
                out.push(info);
            }
        }
    }
    out.sort_by(|a, b| (a.created_at, &a.snapshot_id).cmp(&(b.created_at, &b.snapshot_id)));
    Ok(out)
}

/// Restores the workspace from local snapshot `id`.
pub fn restore(
    workspace: &Path,
    data_dir: &Path,
    id: &str,
    owner: Option<&crate::account::Account>,
) -> Result<Restored, SnapshotError> {
    if !valid_id(id) {
        return Err(SnapshotError::BadId(id.to_string()));
    }
    let path = snapshot_dir(data_dir).join(format!("{id}.tar"));
    if !path.is_file() {
        return Err(SnapshotError::NotFound(id.to_string()));
    }
    let entries = archive::restore(&path, workspace, owner)?;
    Ok(Restored {
        snapshot_id: id.to_string(),
        entries,
    })
}

/// PUTs the archive at `path` to a destination checked by [`check_destination`], connecting
/// only to the addresses that were checked (no DNS rebinding) and following no redirects.
pub async fn upload(
    path: &Path,
    url: reqwest::Url,
    addrs: &[std::net::SocketAddr],
    size: u64,
) -> Result<String, SnapshotError> {
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, addrs)
        .build()
        .map_err(|e| SnapshotError::Upload(e.to_string()))?;
    let file = tokio::fs::File::open(path).await?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
    let resp = client
        .put(url.clone())
        .header(reqwest::header::CONTENT_LENGTH, size)
        .header(reqwest::header::CONTENT_TYPE, "application/x-tar")
        .body(body)
        .send()
        .await
        .map_err(|e| SnapshotError::Upload(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(SnapshotError::Upload(format!(
            "destination answered {}",
            resp.status()
        )));
    }
    let mut shown = url;
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    Ok(shown.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("snap-0123456789abcdef0123456789abcdef"));
        assert!(!valid_id("snap-../../etc"));
        assert!(!valid_id("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn create_list_restore() {
        let ws = tempfile::tempdir().expect("tmp");
        let data = tempfile::tempdir().expect("tmp");
        fs::write(ws.path().join("f"), "v1").expect("write");
        fs::write(data.path().join("state.db"), "s").expect("write");
        let (info, path) = create_local(ws.path(), data.path(), true).expect("create");
        assert_eq!(fs::metadata(&path).expect("meta").len(), info.size_bytes);
        assert_eq!(list(data.path()).expect("list"), vec![info.clone()]);
        fs::write(ws.path().join("f"), "v2").expect("write");
        restore(ws.path(), data.path(), &info.snapshot_id, None).expect("restore");
        assert_eq!(fs::read_to_string(ws.path().join("f")).expect("read"), "v1");
        assert!(matches!(
            restore(
                ws.path(),
                data.path(),
                "snap-00000000000000000000000000000000",
                None
            ),
            Err(SnapshotError::NotFound(_))
        ));
    }
}
