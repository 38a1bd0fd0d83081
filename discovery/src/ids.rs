//! Fixed-size identifiers used by the registry, written as lowercase `0x`-prefixed hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Keccak256};

/// A malformed hex identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 0x-prefixed hex of {expected} bytes: {reason}")]
pub struct HexError {
    /// Expected length in bytes.
    pub expected: usize,
    /// What was wrong.
    pub reason: String,
}

fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let err = |reason: &str| HexError {
        expected: N,
        reason: reason.to_string(),
    };
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| err("missing 0x prefix"))?;
    if digits.len() != 2 * N {
        return Err(err(&format!("{} hex digits, want {}", digits.len(), 2 * N)));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|e| err(&e.to_string()))?;
    Ok(out)
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                parse_hex::<$len>(s).map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// 32 bytes: agent ids, Ed25519 public keys, hashes and digests.
    Bytes32,
    32
);
hex_id!(
    /// A 20-byte EVM address (owner, operator).
    Address,
    20
);

/// The registry's agent id: `keccak256(public_key)` over the raw 32-byte Ed25519 key.
pub type AgentId = Bytes32;

/// Derives the agent id the registry uses from an Ed25519 public key.
pub fn agent_id_from_key(public_key: &[u8; 32]) -> AgentId {
    let digest = Keccak256::digest(public_key);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    Bytes32(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_hex() {
        let id = Bytes32([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text.len(), 66);
        assert_eq!(text.parse::<Bytes32>(), Ok(id));
        assert_eq!(
            text.to_uppercase()
                .replacen("0X", "0x", 1)
                .parse::<Bytes32>(),
            Ok(id)
        );
        assert!("ab".repeat(32).parse::<Bytes32>().is_err(), "no prefix");
        assert!("0xabcd".parse::<Bytes32>().is_err(), "short");
        assert!(format!("0x{}", "zz".repeat(32)).parse::<Bytes32>().is_err());
        let addr: Address = serde_json::from_str("\"0x00000000000000000000000000000000000000ff\"")
            .expect("address");
        assert_eq!(addr.0[19], 0xff);
    }

    #[test]
    fn agent_id_is_keccak256_of_key() {
        // keccak256 of 32 zero bytes.
        let id = agent_id_from_key(&[0u8; 32]);
        assert_eq!(
            id.to_string(),
            "0x290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"
        );
    }
}
