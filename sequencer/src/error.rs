//! Error types of the protocol core. Every fallible function returns one of these; the
//! umbrella [`VesError`] converts from all of them.

use thiserror::Error;

/// Problems decoding a fixed-length hex string (hashes, signatures, keys).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// Wrong number of hex digits (after an optional `0x`).
    #[error("expected {expected} hex digits, got {actual}")]
    Length {
        /// Digits required (twice the byte length).
        expected: usize,
        /// Digits found.
        actual: usize,
    },
    /// A character that is not a hex digit.
    #[error("invalid hex digit")]
    InvalidDigit,
    /// Strict mode demands `0x` followed by lowercase digits.
    #[error("strict hex requires a 0x prefix and lowercase digits")]
    NotCanonical,
}

/// Problems encoding a preimage (`STR` lengths must fit in a `U32`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodingError {
    /// A string longer than `u32::MAX` bytes cannot be length-prefixed.
    #[error("string of {0} bytes is too long for a U32 length prefix")]
    StringTooLong(usize),
    /// A UUID string that is not in the 36-character hyphenated form.
    #[error("invalid UUID {0:?}: expected the 36-character hyphenated form")]
    InvalidUuid(String),
}

/// Problems parsing JSON strictly or canonicalising it with RFC 8785 (JCS).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CanonicalError {
    /// Not valid JSON (or a duplicate object key, which strict parsing rejects).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// An integer outside ±(2^53−1): JCS would silently round it, so it is refused.
    #[error(
        "integer {0} is outside ±(2^53-1) and cannot be canonicalised without losing precision"
    )]
    IntegerOutOfRange(String),
    /// NaN or ±infinity (cannot occur in parsed JSON, only in hand-built values).
    #[error("non-finite number")]
    NonFiniteNumber,
    /// Nesting deeper than [`crate::canonical::MAX_DEPTH`].
    #[error("JSON nesting deeper than {0} levels")]
    TooDeep(usize),
}

/// Problems with an Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Not 32 bytes.
    #[error("public key must be 32 bytes, got {0}")]
    Length(usize),
    /// The bytes do not decompress to a curve point.
    #[error("public key is not a valid curve point")]
    NotOnCurve,
    /// The point decompresses but the bytes are not its canonical encoding.
    #[error("public key is not canonically encoded")]
    NonCanonical,
    /// A small-order ("weak") point, for which signatures prove nothing.
    #[error("public key has small order")]
    SmallOrder,
    /// The point has a torsion component; honest keys never do.
    #[error("public key is not in the prime-order subgroup")]
    Torsion,
    /// Bad hex.
    #[error("public key hex: {0}")]
    Hex(#[from] HexError),
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// `verify_strict` rejected the signature.
    #[error("invalid Ed25519 signature")]
    Invalid,
}

/// Batch verification found bad signatures.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchVerifyError {
    /// At least one signature failed; `indices` lists every failing position, ascending.
    #[error("invalid signature at index {first}", first = indices.first().copied().unwrap_or_default())]
    Invalid {
        /// Positions (in the input slice) of all signatures that failed `verify_strict`.
        indices: Vec<usize>,
    },
}

/// Problems with a plaintext or VES-ENC-1 encrypted payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// `payload: null` (or a missing payload) for a plaintext event.
    #[error("payload must not be null")]
    NullPayload,
    /// The payload could not be canonicalised.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// Canonical payload or ciphertext larger than the limit.
    #[error("payload is {size} bytes, limit is {limit}")]
    TooLarge {
        /// Bytes found.
        size: usize,
        /// Limit in bytes.
        limit: usize,
    },
    /// The encrypted payload is malformed (names the offending field).
    #[error("malformed encrypted payload: {0}")]
    Structure(String),
    /// A preimage could not be encoded.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// No recipient entry carries the requested key id.
    #[error("no recipient entry for kid {0}")]
    RecipientNotFound(u32),
    /// Unwrapping the data key or decrypting the payload failed (wrong key or tampering).
    #[error("decryption failed")]
    DecryptionFailed,
    /// Encryption failed (bad recipient key or RNG failure).
    #[error("encryption failed: {0}")]
    EncryptionFailed(String),
    /// The decrypted plaintext is not `salt || JCS(payload)`.
    #[error("decrypted payload is not canonical JSON")]
    NonCanonicalPlaintext,
    /// Recomputed `payload_plain_hash` differs from the claimed one.
    #[error("payload_plain_hash mismatch")]
    PlainHashMismatch,
    /// Recomputed `payload_cipher_hash` differs from the claimed one.
    #[error("payload_cipher_hash mismatch")]
    CipherHashMismatch,
}

/// Problems building or verifying Merkle trees and proofs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// A proof was requested from, or claims, an empty tree.
    #[error("tree has no leaves")]
    Empty,
    /// Leaf index not below the leaf count.
    #[error("leaf index {index} out of range for {leaf_count} leaves")]
    IndexOutOfRange {
        /// Index asked for.
        index: u64,
        /// Leaves in the tree.
        leaf_count: u64,
    },
    /// Number of sibling hashes does not match the tree depth.
    #[error("proof has {actual} siblings, tree depth is {expected}")]
    ProofLength {
        /// Depth of the padded tree.
        expected: usize,
        /// Siblings supplied.
        actual: usize,
    },
    /// More leaves than a `U32` leaf count can describe.
    #[error("too many leaves: {0}")]
    TooManyLeaves(usize),
    /// The recomputed root differs from the expected one.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
}

/// Problems with stream commitments.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommitmentError {
    /// A commitment must cover at least one event.
    #[error("a commitment must cover at least one event")]
    EmptyRange,
    /// `seq_start` is not `previous seq_end + 1` (or 1 for the first commitment).
    #[error("commitment must start at sequence {expected}, got {actual}")]
    NotContiguous {
        /// Required start.
        expected: u64,
        /// Start given.
        actual: u64,
    },
    /// `seq_end − seq_start + 1` differs from the number of leaves.
    #[error("range {seq_start}..={seq_end} does not match {leaf_count} leaves")]
    LeafCountMismatch {
        /// First sequence number.
        seq_start: u64,
        /// Last sequence number.
        seq_end: u64,
        /// Leaves supplied.
        leaf_count: u64,
    },
    /// The previous commitment belongs to another stream.
    #[error("previous commitment belongs to another stream")]
    StreamMismatch,
    /// `prev_state_root` does not chain to the previous commitment.
    #[error("prev_state_root does not match the previous commitment")]
    PrevStateRootMismatch,
    /// Recomputed Merkle root or state root differs from the stored one.
    #[error("{0} does not match its recomputation")]
    RootMismatch(&'static str),
    /// Merkle error while building.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// Why an agent key cannot be used at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyValidityError {
    /// The key has been revoked.
    #[error("agent key revoked")]
    Revoked,
    /// The time is before `valid_from`.
    #[error("agent key not yet valid")]
    NotYetValid,
    /// The time is after `valid_to`.
    #[error("agent key expired")]
    Expired,
    /// The record belongs to another tenant, agent or key id.
    #[error("agent key record does not match the event's tenant, agent or key id")]
    WrongKey,
}

/// Problems verifying a signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    /// `signatureAlg` is not `ed25519`.
    #[error("unsupported receipt signature algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `receiptHash` differs from the recomputed hash.
    #[error("receipt hash mismatch")]
    HashMismatch,
    /// The sequencer signature does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Problems with the event signing hash itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigningError {
    /// `ves_version` is neither 1 nor 2.
    #[error("unsupported ves_version {0}")]
    UnsupportedVersion(u32),
    /// A field could not be encoded.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
}

/// Umbrella error converting from every module error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum VesError {
    #[error(transparent)]
    Hex(#[from] HexError),
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    BatchVerify(#[from] BatchVerifyError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
    #[error(transparent)]
    KeyValidity(#[from] KeyValidityError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// Envelope JSON has the wrong shape (missing field, wrong type, unknown field).
    #[error("invalid envelope: {0}")]
    Envelope(String),
}
