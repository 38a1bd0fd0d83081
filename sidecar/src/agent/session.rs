//! Conversation sessions: `<data_dir>/agent/sessions/<id>.json` holds the message history in the
//! OpenAI wire format, written atomically (temp file + rename). Calls on one session are
//! serialized by a per-session lock so two concurrent calls cannot lose each other's turns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use super::llm::Message;

/// Longest accepted session id.
pub const MAX_SESSION_ID: usize = 128;
const FILE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid session_id: 1 to {MAX_SESSION_ID} characters of [A-Za-z0-9_-] required")]
    InvalidId,
    #[error("cannot read session {0:?}: {1}")]
    Read(String, std::io::Error),
    #[error("session {0:?} is corrupt: {1}")]
    Corrupt(String, String),
    #[error("cannot write session {0:?}: {1}")]
    Write(String, std::io::Error),
}

#[derive(Serialize, Deserialize)]
struct SessionFile {
    version: u32,
    id: String,
    messages: Vec<Message>,
}

static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

#[derive(Clone, Debug)]
pub struct SessionStore {
    dir: PathBuf,
}

pub fn validate_id(id: &str) -> Result<(), SessionError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_SESSION_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SessionError::InvalidId)
    }
}

impl SessionStore {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("agent").join("sessions"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Waits for exclusive use of session `id` (held until the guard drops).
    pub async fn lock(&self, id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(self.path(id)).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// The stored history of `id`; empty for a new session.
    pub async fn load(&self, id: &str) -> Result<Vec<Message>, SessionError> {
        validate_id(id)?;
        let path = self.path(id);
        let id = id.to_string();
        let read = tokio::task::spawn_blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| SessionError::Read(id.clone(), std::io::Error::other(e.to_string())))?
        .map_err(|e| SessionError::Read(id.clone(), e))?;
        let Some(bytes) = read else {
            return Ok(Vec::new());
        };
        let file: SessionFile = serde_json::from_slice(&bytes)
            .map_err(|e| SessionError::Corrupt(id.clone(), e.to_string()))?;
        if file.version != FILE_VERSION || file.id != id {
            return Err(SessionError::Corrupt(
                id,
                "unexpected version or session id".into(),
            ));
        }
        Ok(file.messages)
    }

    /// Replaces the stored history of `id` atomically.
    pub async fn save(&self, id: &str, messages: &[Message]) -> Result<(), SessionError> {
        validate_id(id)?;
        let file = SessionFile {
            version: FILE_VERSION,
            id: id.to_string(),
            messages: messages.to_vec(),
        };
        let data = serde_json::to_vec_pretty(&file)
            .map_err(|e| SessionError::Write(id.to_string(), std::io::Error::other(e)))?;
        let dir = self.dir.clone();
        let target = self.path(id);
        let sid = id.to_string();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            crate::files::atomic_write(&dir, &target, &data, 0o600, None)
        })
        .await
        .map_err(|e| SessionError::Write(sid.clone(), std::io::Error::other(e.to_string())))?
        .map_err(|e| SessionError::Write(sid, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::llm::Role;

    #[tokio::test]
    async fn round_trip_and_id_validation() {
        let data = tempfile::tempdir().expect("tmp");
        let store = SessionStore::new(data.path());
        assert!(store.load("fresh").await.expect("load").is_empty());
        let msgs = vec![Message::text(Role::User, "hi")];
        let _g = store.lock("s-1").await;
        store.save("s-1", &msgs).await.expect("save");
        assert_eq!(store.load("s-1").await.expect("load"), msgs);
        assert!(data.path().join("agent/sessions/s-1.json").is_file());
        for bad in ["", "../x", "a/b", "a.json", &"x".repeat(129)] {
            assert!(matches!(validate_id(bad), Err(SessionError::InvalidId)));
        }
    }
}
