//! Domain-separation prefixes: ASCII bytes, no terminator, prepended to every hashed preimage.

/// Plaintext payload hash.
pub const PAYLOAD_PLAIN: &[u8] = b"VES_PAYLOAD_PLAIN_V1";
/// AAD binding an encrypted payload to its event.
pub const PAYLOAD_AAD: &[u8] = b"VES_PAYLOAD_AAD_V1";
/// Ciphertext bundle hash.
pub const PAYLOAD_CIPHER: &[u8] = b"VES_PAYLOAD_CIPHER_V1";
/// Recipient list hash.
pub const RECIPIENTS: &[u8] = b"VES_RECIPIENTS_V1";
/// Event signing preimage, version 1 (also the inner preimage of version 2).
pub const EVENTSIG_V1: &[u8] = b"VES_EVENTSIG_V1";
/// Event signing hash, version 2 (outer hash).
pub const EVENTSIG_V2: &[u8] = b"VES_EVENTSIG_V2";
/// Sequencer receipt.
pub const RECEIPT: &[u8] = b"VES_RECEIPT_V1";
/// Merkle leaf.
pub const LEAF: &[u8] = b"VES_LEAF_V1";
/// Merkle padding leaf.
pub const PAD_LEAF: &[u8] = b"VES_PAD_LEAF_V1";
/// Merkle internal node.
pub const NODE: &[u8] = b"VES_NODE_V1";
/// Stream identifier.
pub const STREAM: &[u8] = b"VES_STREAM_V1";
/// Chained state root of a commitment.
pub const STATE_ROOT: &[u8] = b"VES_STATE_ROOT_V1";
/// Proof of possession of an agent key.
pub const POP: &[u8] = b"VES_POP_V1";

/// Every prefix with its name, for tests and tooling.
pub const ALL: [(&str, &[u8]); 13] = [
    ("VES_PAYLOAD_PLAIN_V1", PAYLOAD_PLAIN),
    ("VES_PAYLOAD_AAD_V1", PAYLOAD_AAD),
    ("VES_PAYLOAD_CIPHER_V1", PAYLOAD_CIPHER),
    ("VES_RECIPIENTS_V1", RECIPIENTS),
    ("VES_EVENTSIG_V1", EVENTSIG_V1),
    ("VES_EVENTSIG_V2", EVENTSIG_V2),
    ("VES_RECEIPT_V1", RECEIPT),
    ("VES_LEAF_V1", LEAF),
    ("VES_PAD_LEAF_V1", PAD_LEAF),
    ("VES_NODE_V1", NODE),
    ("VES_STREAM_V1", STREAM),
    ("VES_STATE_ROOT_V1", STATE_ROOT),
    ("VES_POP_V1", POP),
];
