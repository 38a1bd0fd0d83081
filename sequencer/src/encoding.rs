//! Byte encodings used in every VES preimage (`U8`, `U32`, `U64`, `UUID`, `STR`), the
//! fixed-size byte types [`Hash32`] and [`Sig64`], and hex / UUID text parsing.
//!
//! Text forms: hashes and signatures are written as `0x` + lowercase hex; on input the
//! prefix is optional and any case is accepted ([`HexMode::Lenient`]); [`HexMode::Strict`]
//! demands the canonical written form. UUIDs must use the 36-character hyphenated form
//! (any case) and are written in lowercase.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{EncodingError, HexError};

/// How strictly to parse hex text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HexMode {
    /// Optional `0x`, any case, exact length.
    #[default]
    Lenient,
    /// Required `0x`, lowercase only, exact length.
    Strict,
}

/// Parses exactly `N` bytes of hex.
pub fn parse_hex_array<const N: usize>(text: &str, mode: HexMode) -> Result<[u8; N], HexError> {
    let digits = match (text.strip_prefix("0x"), mode) {
        (Some(rest), _) => rest,
        (None, HexMode::Lenient) => text,
        (None, HexMode::Strict) => return Err(HexError::NotCanonical),
    };
    if digits.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            actual: digits.len(),
        });
    }
    if mode == HexMode::Strict && digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(HexError::NotCanonical);
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| HexError::InvalidDigit)?;
    Ok(out)
}

/// Formats bytes as `0x` + lowercase hex.
pub fn to_prefixed_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses a UUID in the 36-character hyphenated form (any case).
pub fn parse_uuid(text: &str) -> Result<Uuid, EncodingError> {
    if text.len() != 36 {
        return Err(EncodingError::InvalidUuid(text.to_owned()));
    }
    Uuid::try_parse(text).map_err(|_| EncodingError::InvalidUuid(text.to_owned()))
}

macro_rules! fixed_bytes {
    ($name:ident, $len:expr, $what:literal) => {
        #[doc = concat!("A ", $what, " (", stringify!($len), " bytes); JSON form `0x` + lowercase hex.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Byte length.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Parses hex text in the given mode.
            pub fn parse(text: &str, mode: HexMode) -> Result<Self, HexError> {
                parse_hex_array::<$len>(text, mode).map(Self)
            }

            /// Lowercase hex without prefix.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
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
                write!(f, "{}(0x{})", stringify!($name), hex::encode(self.0))
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(text: &str) -> Result<Self, HexError> {
                Self::parse(text, HexMode::Lenient)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text, HexMode::Lenient).map_err(serde::de::Error::custom)
            }
        }
    };
}

fixed_bytes!(Hash32, 32, "SHA-256 digest");
fixed_bytes!(Sig64, 64, "Ed25519 signature");

impl Hash32 {
    /// 32 zero bytes (the cipher hash of plaintext events, the empty Merkle root, the first
    /// `prev_state_root`).
    pub const ZERO: Hash32 = Hash32([0u8; 32]);
}

/// Incremental preimage builder that hashes with SHA-256 and can also record the bytes
/// (for golden tests that compare whole preimages).
#[derive(Clone, Default)]
pub struct Preimage {
    hasher: Sha256,
    recorded: Option<Vec<u8>>,
}

impl Preimage {
    /// Starts a preimage with a domain prefix.
    pub fn new(domain: &[u8]) -> Self {
        let mut p = Self::default();
        p.bytes(domain);
        p
    }

    /// Starts a preimage that also keeps a copy of every byte written.
    pub fn recording(domain: &[u8]) -> Self {
        let mut p = Self {
            hasher: Sha256::new(),
            recorded: Some(Vec::new()),
        };
        p.bytes(domain);
        p
    }

    /// Raw bytes.
    pub fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.hasher.update(data);
        if let Some(rec) = self.recorded.as_mut() {
            rec.extend_from_slice(data);
        }
        self
    }

    /// `U8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    /// `U32`, big-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    /// `U64`, big-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    /// `UUID`: the 16 bytes in RFC 4122 order.
    pub fn uuid(&mut self, v: &Uuid) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// `STR(s)`: `U32(byte length) || UTF-8 bytes`.
    pub fn str(&mut self, s: &str) -> Result<&mut Self, EncodingError> {
        let len = u32::try_from(s.len()).map_err(|_| EncodingError::StringTooLong(s.len()))?;
        Ok(self.u32(len).bytes(s.as_bytes()))
    }

    /// Length-prefixed bytes: `U32(len) || bytes`.
    pub fn len_prefixed(&mut self, data: &[u8]) -> Result<&mut Self, EncodingError> {
        let len =
            u32::try_from(data.len()).map_err(|_| EncodingError::StringTooLong(data.len()))?;
        Ok(self.u32(len).bytes(data))
    }

    /// The recorded bytes, if this preimage was started with [`Preimage::recording`].
    pub fn recorded(&self) -> Option<&[u8]> {
        self.recorded.as_deref()
    }

    /// SHA-256 of everything written.
    pub fn finish(self) -> Hash32 {
        Hash32(self.hasher.finalize().into())
    }
}

/// `SHA256(domain || parts...)`.
pub fn domain_hash(domain: &[u8], parts: &[&[u8]]) -> Hash32 {
    let mut p = Preimage::new(domain);
    for part in parts {
        p.bytes(part);
    }
    p.finish()
}

/// Serde helpers for UUIDs in hyphenated form (strict on input, lowercase on output).
pub mod serde_uuid {
    use super::*;

    /// Serializes as lowercase hyphenated text.
    pub fn serialize<S: Serializer>(v: &Uuid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&v.hyphenated())
    }

    /// Deserializes from the 36-character hyphenated form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_uuid(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde helpers for optional UUIDs (`null` or absent = `None`; use with `#[serde(default)]`).
pub mod serde_uuid_opt {
    use super::*;

    /// Serializes `Some` as lowercase hyphenated text, `None` as `null`.
    pub fn serialize<S: Serializer>(v: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(u) => s.collect_str(&u.hyphenated()),
            None => s.serialize_none(),
        }
    }

    /// Deserializes `null` as `None`, text via [`parse_uuid`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
        let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        text.map(|t| parse_uuid(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_modes() {
        let lower = format!("0x{}", "ab".repeat(32));
        let upper = "AB".repeat(32);
        assert!(Hash32::parse(&lower, HexMode::Strict).is_ok());
        assert_eq!(
            Hash32::parse(&upper, HexMode::Lenient),
            Hash32::parse(&lower, HexMode::Lenient)
        );
        assert_eq!(
            Hash32::parse(&upper, HexMode::Strict),
            Err(HexError::NotCanonical)
        );
        assert_eq!(
            Hash32::parse(&format!("0x{upper}"), HexMode::Strict),
            Err(HexError::NotCanonical)
        );
        assert_eq!(
            Hash32::parse("0xabc", HexMode::Lenient),
            Err(HexError::Length {
                expected: 64,
                actual: 3
            })
        );
        assert_eq!(
            Hash32::parse(&"zz".repeat(32), HexMode::Lenient),
            Err(HexError::InvalidDigit)
        );
        assert_eq!(Hash32([0xab; 32]).to_string(), lower);
    }

    #[test]
    fn writers_are_big_endian() {
        let mut p = Preimage::recording(b"D");
        p.u8(1).u32(2).u64(3);
        p.str("é").unwrap();
        let want = [
            b"D".as_slice(),
            &[1],
            &[0, 0, 0, 2],
            &[0, 0, 0, 0, 0, 0, 0, 3],
            &[0, 0, 0, 2, 0xc3, 0xa9],
        ]
        .concat();
        assert_eq!(p.recorded().unwrap(), want.as_slice());
    }

    #[test]
    fn uuid_forms() {
        let u = parse_uuid("00000000-0000-0000-0000-00000000000A").unwrap();
        assert_eq!(u.as_bytes()[15], 0x0a);
        assert!(parse_uuid("000000000000000000000000000000aa").is_err());
        assert!(parse_uuid("{00000000-0000-0000-0000-0000000000aa}").is_err());
    }
}
