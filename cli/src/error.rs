//! The library's error type. The binary turns it into a message and an exit code.

use std::path::PathBuf;

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user gave an argument that cannot be used.
    #[error("invalid input: {0}")]
    Input(String),
    /// Reading or writing a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An RPC call to the chain failed (transport, revert of a view call, ...).
    #[error("chain: {0}")]
    Chain(String),
    /// A transaction was mined but reverted, or its receipt lacks the expected event.
    #[error("transaction {tx}: {reason}")]
    Transaction {
        /// Transaction hash.
        tx: String,
        /// What went wrong.
        reason: String,
    },
    /// Bytes from the chain do not decode as the job's ABI struct.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A sealed access token cannot be opened.
    #[error("operator {operator}: {source}")]
    Seal {
        /// The operator whose token failed.
        operator: String,
        /// The cause.
        source: agent_types::sealing::SealError,
    },
    /// A sidecar answered with an error document.
    #[error("sidecar {url}: HTTP {status} {code}: {message}")]
    SidecarApi {
        /// The sidecar base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The sidecar's error code.
        code: String,
        /// The sidecar's message.
        message: String,
    },
    /// A sidecar could not be reached or its answer could not be read.
    #[error("sidecar {url}: {reason}")]
    Sidecar {
        /// The sidecar base URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The embedded VES sequencer's API failed.
    #[error("VES API: {0}")]
    Ves(#[from] ves::client::ClientError),
    /// Something the chain or a sidecar returned is inconsistent.
    #[error("{0}")]
    Inconsistent(String),
}

impl Error {
    /// An [`Error::Input`].
    pub fn input(msg: impl Into<String>) -> Self {
        Self::Input(msg.into())
    }

    /// An [`Error::Chain`] from any displayable cause.
    pub fn chain(context: &str, e: impl std::fmt::Display) -> Self {
        Self::Chain(format!("{context}: {e}"))
    }

    /// An [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
