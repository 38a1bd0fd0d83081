//! Verified manifests on disk, content-addressed by their manifest hash, so that a restarted
//! index does not need every agent's endpoint to be up.
//!
//! One file per manifest: the file name is the 64 lowercase hex digits of the manifest hash
//! (the on-chain `manifestHash`), the content the signed manifest as JSON. Files are written
//! atomically (a temporary file in the same directory, synced, then renamed). Nothing read
//! from the cache is trusted: the follower attaches a cached manifest only through
//! `Index::attach_manifest`, which verifies it against the on-chain record exactly like a
//! fetched one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use discovery::ids::Bytes32;
use discovery::manifest::SignedManifest;
use tokio::io::AsyncWriteExt;

/// Largest cache file read (a manifest larger than this is not served from the cache).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("manifest cache {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest cache {path}: not a signed manifest: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory of verified manifests.
#[derive(Debug)]
pub struct ManifestCache {
    dir: PathBuf,
    /// Distinguishes concurrent temporary files of this process.
    seq: AtomicU64,
}

impl ManifestCache {
    /// Uses (and creates if needed) `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Self {
            dir,
            seq: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the manifest with hash `hash`.
    pub fn path(&self, hash: &Bytes32) -> PathBuf {
        let name = hash.to_string();
        self.dir.join(name.trim_start_matches("0x"))
    }

    /// The manifest stored under `hash`, if any (unverified: verify before use).
    pub async fn get(&self, hash: &Bytes32) -> Result<Option<SignedManifest>, CacheError> {
        let path = self.path(hash);
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(CacheError::Malformed {
                path,
                reason: format!("larger than {MAX_FILE_BYTES} bytes"),
            });
        }
        let text = tokio::fs::read_to_string(&path).await.map_err(io(&path))?;
        SignedManifest::from_json(&text)
            .map(Some)
            .map_err(|e| CacheError::Malformed {
                path,
                reason: e.to_string(),
            })
    }

    /// Stores `manifest` under `hash` (the hash it was verified against), replacing any file
    /// there, atomically.
    pub async fn put(&self, hash: &Bytes32, manifest: &SignedManifest) -> Result<(), CacheError> {
        let path = self.path(hash);
        let bytes = serde_json::to_vec(manifest).map_err(|e| CacheError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = hash.to_string();
        let tmp = self.dir.join(format!(
            ".{}.{}.{seq}.tmp",
            name.trim_start_matches("0x"),
            std::process::id()
        ));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io(&path)(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discovery::synth;

    #[tokio::test]
    async fn stores_by_hash_and_reads_back() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("cache");
        let cache = ManifestCache::open(&dir).expect("cache dir is created");
        let agent = synth::SynthAgent::new(1, 1_800_000_000).expect("synthetic agent");
        let hash = agent.manifest.hash().expect("hash");
        assert!(cache.get(&hash).await.expect("read").is_none());
        cache.put(&hash, &agent.manifest).await.expect("write");
        let file = cache.path(&hash);
        assert_eq!(
            file.file_name().and_then(|n| n.to_str()).map(str::len),
            Some(64)
        );
        assert_eq!(
            cache.get(&hash).await.expect("read"),
            Some(agent.manifest.clone())
        );
        // Only the final file is left (no temporary files).
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::write(&file, "{not json").expect("corrupt");
        assert!(matches!(
            cache.get(&hash).await,
            Err(CacheError::Malformed { .. })
        ));
    }
}
