//! Linux configfs-tsm (`/sys/kernel/config/tsm/report`): the kernel's common interface to TDX
//! and SEV-SNP quote generation. Protocol: create an entry directory, write 64 bytes of report
//! data to `inblob`, read the quote from `outblob` (plus `provider`), check `generation` did not
//! move (another writer would invalidate the quote), remove the entry.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{AttestationError, AttestationProvider, Evidence};

pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";

pub struct ConfigfsTsm {
    root: PathBuf,
    /// How long to wait for `outblob` to appear (the kernel produces it on read; a slow
    /// quoting enclave or a test double may take a moment).
    wait: Duration,
}

impl ConfigfsTsm {
    /// Fails when `root` does not exist: a machine without configfs-tsm must not pretend.
    pub fn new(root: &Path) -> Result<Self, AttestationError> {
        if !root.is_dir() {
            return Err(AttestationError::Unavailable(root.display().to_string()));
        }
        Ok(Self {
            root: root.to_path_buf(),
            wait: Duration::from_secs(5),
        })
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AttestationError + '_ {
        move |source| AttestationError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Reads an attribute, waiting up to `self.wait` for it to appear (the kernel creates the
    /// attributes with the entry; a test double may lag behind).
    fn read_attr(&self, entry: &Path, name: &str) -> Result<Vec<u8>, AttestationError> {
        let p = entry.join(name);
        let start = Instant::now();
        loop {
            match fs::read(&p) {
                Ok(v) if !v.is_empty() => return Ok(v),
                Ok(_) | Err(_) if start.elapsed() < self.wait => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(v) => return Ok(v),
                Err(e) => return Err(Self::io(&p)(e)),
            }
        }
    }

    fn read_generation(&self, entry: &Path) -> Result<u64, AttestationError> {
        let raw = self.read_attr(entry, "generation")?;
        Ok(String::from_utf8_lossy(&raw).trim().parse().unwrap_or(0))
    }
}

impl AttestationProvider for ConfigfsTsm {
    fn name(&self) -> &'static str {
        "configfs-tsm"
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, AttestationError> {
        let entry = self.root.join(format!(
            "agent-instance-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        fs::create_dir(&entry).map_err(Self::io(&entry))?;
        let result = (|| {
            let inblob = entry.join("inblob");
            fs::write(&inblob, report_data).map_err(Self::io(&inblob))?;
            let before = self.read_generation(&entry)?;
            let quote = self.read_attr(&entry, "outblob")?;
            if quote.is_empty() {
                return Err(AttestationError::EmptyQuote);
            }
            let after = self.read_generation(&entry)?;
            if after != before {
                return Err(AttestationError::Raced { before, after });
            }
            let provider = fs::read_to_string(entry.join("provider"))
                .map(|p| p.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            Ok(Evidence {
                provider: format!("configfs-tsm/{provider}"),
                bytes: quote,
            })
        })();
        // Entries are removed with rmdir on configfs; a plain directory (tests) needs its
        // files removed first.
        if fs::remove_dir(&entry).is_err() {
            let _ = fs::remove_dir_all(&entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A stand-in for the kernel side of configfs-tsm in a temporary directory: for every new
    /// entry with an `inblob`, it writes `generation`, `provider` and a quote that embeds the
    /// report data (as a real quote does).
    fn fake_kernel(root: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(entries) = fs::read_dir(&root) {
                    for e in entries.flatten() {
                        let dir = e.path();
                        if let Ok(inblob) = fs::read(dir.join("inblob")) {
                            if !dir.join("outblob").exists() {
                                let _ = fs::write(dir.join("generation"), "1\n");
                                let _ = fs::write(dir.join("provider"), "tdx_guest\n");
                                let mut quote = b"TDX-QUOTE:".to_vec();
                                quote.extend_from_slice(&inblob);
                                let _ = fs::write(dir.join("outblob"), quote);
                            }
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    }

    #[test]
    fn quote_embeds_report_data_and_entry_is_cleaned_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stop = Arc::new(AtomicBool::new(false));
        let kernel = fake_kernel(dir.path().to_path_buf(), stop.clone());
        let tsm = ConfigfsTsm::new(dir.path()).expect("available");
        let rd = super::super::report_data(&[5; 32], &[6; 32]);
        let ev = tsm.attest(&rd).expect("quote");
        stop.store(true, Ordering::Relaxed);
        let _ = kernel.join();
        assert_eq!(ev.provider, "configfs-tsm/tdx_guest");
        assert_eq!(&ev.bytes[..10], b"TDX-QUOTE:");
        assert_eq!(&ev.bytes[10..], &rd[..]);
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn missing_configfs_is_unavailable() {
        assert!(matches!(
            ConfigfsTsm::new(Path::new("/nonexistent/tsm/report")),
            Err(AttestationError::Unavailable(_))
        ));
    }

    #[test]
    fn no_quote_is_an_error_not_empty_evidence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut tsm = ConfigfsTsm::new(dir.path()).expect("available");
        tsm.wait = Duration::from_millis(50);
        // No kernel answers: `generation` is missing, which is an I/O error.
        assert!(tsm.attest(&[0; 64]).is_err());
    }
}
