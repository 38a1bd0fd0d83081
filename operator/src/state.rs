//! The operator's store of record for its sandboxes (DESIGN decision 7).
//!
//! One JSON file per service under `<data dir>/sandboxes/`, written atomically (temporary file
//! in the same directory, fsync, rename, fsync of the directory) with mode 0600, because a
//! record holds the sidecar access token. Docker is reconciled against these records, never
//! the other way round: a container without a record is an orphan.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Whether the sandbox should be running. `Stopped` is set by the idle policy: the next job
/// starts it again transparently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Desired {
    Running,
    Stopped,
}

/// Everything the operator knows about one service's sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub service_id: u64,
    pub container_name: String,
    /// Docker id of the current container (changes when a vanished container is recreated).
    pub container_id: Option<String>,
    pub image: String,
    pub public_host: IpAddr,
    pub sidecar_host_port: u16,
    pub ssh_host_port: u16,
    /// The URL customers and the operator reach the sidecar at.
    pub sidecar_url: String,
    /// Sidecar bearer token. Secret: never logged, only ever leaves sealed to the customer.
    pub token: String,
    /// The sidecar's Ed25519 public key (hex), known once it answered `/v1/info`.
    pub sidecar_public_key: Option<String>,
    pub cpu_millis: u32,
    pub memory_mb: u64,
    pub disk_gb: u32,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last job that touched the sandbox.
    pub last_activity: u64,
    /// Unix seconds after which the sandbox is deprovisioned; `None` = no lifetime limit.
    pub expires_at: Option<u64>,
    /// Stop after this many idle seconds; 0 = never.
    pub idle_timeout_secs: u64,
    pub desired: Desired,
}

impl SandboxRecord {
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    pub fn is_idle(&self, now: u64) -> bool {
        self.idle_timeout_secs > 0
            && now.saturating_sub(self.last_activity) >= self.idle_timeout_secs
    }

    pub fn volumes(&self) -> Vec<String> {
        vec![
            format!("{}-workspace", self.container_name),
            format!("{}-state", self.container_name),
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory of sandbox records.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Opens (and creates, mode 0700) `<data_dir>/sandboxes`.
    pub fn open(data_dir: &Path) -> Result<Self, StateError> {
        let dir = data_dir.join("sandboxes");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        set_mode(&dir, 0o700)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, service_id: u64) -> PathBuf {
        self.dir.join(format!("service-{service_id}.json"))
    }

    pub fn get(&self, service_id: u64) -> Result<Option<SandboxRecord>, StateError> {
        let path = self.path(service_id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StateError::Corrupt { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Every record, by service id. A corrupt file is an error, not silently skipped.
    pub fn all(&self) -> Result<BTreeMap<u64, SandboxRecord>, StateError> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix("service-"))
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if let Some(rec) = self.get(id)? {
                out.insert(id, rec);
            }
        }
        Ok(out)
    }

    /// Writes the record atomically: either the old or the new version survives a crash.
    pub fn put(&self, rec: &SandboxRecord) -> Result<(), StateError> {
        let path = self.path(rec.service_id);
        let bytes = serde_json::to_vec_pretty(rec).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io(&self.dir))?;
        set_mode(tmp.path(), 0o600)?;
        tmp.write_all(&bytes).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| io(&path)(e.error))?;
        sync_dir(&self.dir)
    }

    /// Deletes the record; a missing record is not an error.
    pub fn remove(&self, service_id: u64) -> Result<(), StateError> {
        let path = self.path(service_id);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StateError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StateError> {
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(service_id: u64) -> SandboxRecord {
        SandboxRecord {
            service_id,
            container_name: format!("agent-sbx-{service_id}-70997970c5"),
            container_id: Some("abc".into()),
            image: "agent-sandbox:test".into(),
            public_host: "127.0.0.1".parse().expect("ip"),
            sidecar_host_port: 41000,
            ssh_host_port: 41001,
            sidecar_url: "http://127.0.0.1:41000".into(),
            token: "t".repeat(64),
            sidecar_public_key: None,
            cpu_millis: 1000,
            memory_mb: 512,
            disk_gb: 1,
            created_at: 100,
            last_activity: 100,
            expires_at: Some(1000),
            idle_timeout_secs: 60,
            desired: Desired::Running,
        }
    }

    #[test]
    fn put_get_all_remove_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::open(dir.path()).expect("open");
        assert_eq!(store.get(1).expect("get"), None);
        let a = record(1);
        let mut b = record(2);
        b.desired = Desired::Stopped;
        store.put(&a).expect("put");
        store.put(&b).expect("put");
        assert_eq!(store.get(1).expect("get"), Some(a.clone()));
        let all = store.all().expect("all");
        assert_eq!(all.len(), 2);
        assert_eq!(all[&2], b);
        store.remove(1).expect("remove");
        store.remove(1).expect("idempotent");
        assert_eq!(store.all().expect("all").len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn records_are_private_to_the_operator() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::open(dir.path()).expect("open");
        store.put(&record(5)).expect("put");
        let meta = std::fs::metadata(store.path(5)).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn corrupt_record_is_reported_not_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::open(dir.path()).expect("open");
        std::fs::write(store.path(3), b"{not json").expect("write");
        assert!(matches!(store.all(), Err(StateError::Corrupt { .. })));
        std::fs::write(store.dir().join("README"), b"ignored").expect("write");
    }

    #[test]
    fn idle_and_expiry_policy() {
        let r = record(1);
        assert!(!r.is_idle(159));
        assert!(r.is_idle(160));
        assert!(!r.is_expired(999));
        assert!(r.is_expired(1000));
        let mut never = r.clone();
        never.idle_timeout_secs = 0;
        never.expires_at = None;
        assert!(!never.is_idle(u64::MAX));
        assert!(!never.is_expired(u64::MAX));
    }
}
