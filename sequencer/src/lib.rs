//! Verifiable Event Sync (VES): the protocol core, without I/O.
//!
//! Pinned by `shared/spec/VES.md`; golden tests use `shared/vectors/ves-v1.json`.
//!
//! * [`encoding`] – `U8/U32/U64/UUID/STR` preimage writers, [`Hash32`], [`Sig64`], hex.
//! * [`canonical`] – RFC 8785 JCS and strict JSON parsing (rejects integers beyond
//!   ±(2^53−1) and duplicate keys).
//! * [`domain`] – domain-separation prefixes.
//! * [`envelope`] – the event envelope as JSON (snake_case fields), client builder.
//! * [`payload`] / [`encrypted`] – plaintext payload hash; VES-ENC-1 seal, open and cipher
//!   hash check (AES-256-GCM + HPKE X25519/HKDF-SHA256/AES-256-GCM).
//! * [`signing`] – event signing hash V1/V2, sign, strict verify, batch verify.
//! * [`receipt`] – receipt hash and signed receipts.
//! * [`merkle`] – leaves, padding, roots and inclusion proofs.
//! * [`stream`] – stream id, state roots, chained commitments.
//! * [`keys`] – strict Ed25519 public keys, agent key records, proof of possession.
//! * [`validate`] – per-event ingest checks in spec order, rejection codes, batch shape.
//!
//! With I/O:
//!
//! * [`store`] – the [`EventStore`] trait and the durable SQLite and PostgreSQL backends.
//! * [`engine`] – the [`Sequencer`]: ingest semantics, keys, reads, commitments, live events.
//! * [`api`] – the REST API (axum) over a [`Sequencer`]: [`api::router`].
//! * [`client`] – [`client::VesClient`], the offline-first [`client::outbox::Outbox`],
//!   SSE subscription and client-side verification.
//! * [`cli`] – the `ves` command line tool.
//!
//! Signature verification is always `verify_strict` (see [`signing`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod canonical;
pub mod cli;
pub mod client;
pub mod context;
pub mod domain;
pub mod encoding;
pub mod encrypted;
pub mod engine;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod merkle;
pub mod parallel;
pub mod payload;
pub mod receipt;
pub mod signing;
pub mod store;
pub mod stream;
pub mod strict;
pub mod validate;

pub use canonical::{canonicalize, parse_strict, MAX_SAFE_INTEGER};
pub use context::EventContext;
pub use encoding::{Hash32, HexMode, Sig64};
pub use encrypted::{
    generate_recipient_keypair, open_payload, seal_payload, seal_payload_with_rng,
    verify_cipher_hash, PayloadEncrypted, RecipientPublicKey, RecipientSecretKey, SealedPayload,
};
pub use engine::{IncomingEvent, IngestOutcome, Sequencer, SequencerConfig};
pub use envelope::{EventEnvelope, NewEvent};
pub use error::VesError;
pub use keys::{pop_challenge, sign_pop, verify_pop, AgentKeyRecord, Ed25519PublicKey};
pub use merkle::{
    inclusion_proof, leaf_hash, merkle_root, node_hash, pad_leaf, verify_inclusion, MerkleProof,
    MerkleTree,
};
pub use payload::payload_plain_hash;
pub use receipt::{receipt_hash, ReceiptSubject, SignedReceipt};
pub use signing::{
    event_signing_hash, sign_event, verify_batch, verify_event_signature, BatchItem, SigningInput,
};
pub use store::{EventStore, PostgresOptions, PostgresStore, SqliteStore, StreamKey};
pub use stream::{state_root, stream_id, Commitment};
pub use strict::KeyVerifier;
pub use validate::{
    check_batch, check_event, check_event_structure, CheckedEvent, Rejection, RejectionReason,
    ValidationPolicy,
};

/// Re-export so callers can build keys without naming the dependency.
pub use ed25519_dalek::SigningKey;
