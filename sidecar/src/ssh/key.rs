//! OpenSSH public keys (`type base64 [comment]`): parsing of the wire-format blob, validation
//! per key type, and `ssh-keygen`-style SHA256 fingerprints.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Largest accepted public key line.
pub const MAX_KEY_LEN: usize = 16 * 1024;
/// Smallest accepted RSA modulus.
pub const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 16384;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("public key is too long (at most {MAX_KEY_LEN} bytes)")]
    TooLong,
    #[error("public key contains control characters")]
    ControlChars,
    #[error("public key must be 'type base64 [comment]'")]
    Format,
    #[error("unsupported key type {0:?}")]
    UnsupportedType(String),
    #[error("key blob is not valid base64")]
    Base64,
    #[error("key blob is malformed: {0}")]
    Malformed(&'static str),
    #[error("key blob type {blob:?} does not match declared type {declared:?}")]
    TypeMismatch { declared: String, blob: String },
    #[error("RSA modulus is {0} bits; at least {MIN_RSA_BITS} required")]
    WeakRsa(usize),
}

/// A validated public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub key_type: String,
    pub blob: Vec<u8>,
    pub comment: Option<String>,
}

impl PublicKey {
    /// `SHA256:<base64 without padding of sha256(blob)>`, as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }

    /// The canonical `authorized_keys` line (no options).
    pub fn line(&self) -> String {
        let b64 = STANDARD.encode(&self.blob);
        match &self.comment {
            Some(c) => format!("{} {b64} {c}", self.key_type),
            None => format!("{} {b64}", self.key_type),
        }
    }
}

const TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// True for the key types we accept.
pub fn supported_type(t: &str) -> bool {
    TYPES.contains(&t)
}

/// Parses and validates one public key line.
pub fn parse(line: &str) -> Result<PublicKey, KeyError> {
    if line.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong);
    }
    let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r');
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(KeyError::ControlChars);
    }
    let mut parts = line.splitn(3, [' ', '\t']);
    let key_type = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(KeyError::Format)?;
    let b64 = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(KeyError::Format)?;
    let comment = parts
        .next()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if !supported_type(key_type) {
        return Err(KeyError::UnsupportedType(key_type.to_string()));
    }
    let blob = STANDARD.decode(b64).map_err(|_| KeyError::Base64)?;
    validate_blob(key_type, &blob)?;
    Ok(PublicKey {
        key_type: key_type.to_string(),
        blob,
        comment,
    })
}

/// Reader over SSH wire-format fields.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn string(&mut self) -> Result<&'a [u8], KeyError> {
        let len_bytes: [u8; 4] = self
            .0
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Malformed("truncated length"))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let data = self
            .0
            .get(4..4 + len)
            .ok_or(KeyError::Malformed("truncated field"))?;
        self.0 = &self.0[4 + len..];
        Ok(data)
    }

    fn end(&self) -> Result<(), KeyError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(KeyError::Malformed("trailing bytes"))
        }
    }
}

fn expect_len(field: &[u8], len: usize, what: &'static str) -> Result<(), KeyError> {
    if field.len() == len {
        Ok(())
    } else {
        Err(KeyError::Malformed(what))
    }
}

fn ec_point(w: &mut Wire<'_>, curve: &str) -> Result<(), KeyError> {
    let name = w.string()?;
    if name != curve.as_bytes() {
        return Err(KeyError::Malformed("curve name does not match key type"));
    }
    let q = w.string()?;
    let len = match curve {
        "nistp256" => 65,
        "nistp384" => 97,
        _ => 133,
    };
    expect_len(q, len, "EC point has the wrong length")?;
    if q.first() != Some(&4) {
        return Err(KeyError::Malformed("EC point is not uncompressed"));
    }
    Ok(())
}

/// Bits in a positive mpint (leading zero bytes ignored).
fn mpint_bits(m: &[u8]) -> usize {
    let m = match m.iter().position(|&b| b != 0) {
        Some(i) => &m[i..],
        None => return 0,
    };
    (m.len() - 1) * 8 + (8 - m[0].leading_zeros() as usize)
}

fn validate_blob(declared: &str, blob: &[u8]) -> Result<(), KeyError> {
    let mut w = Wire(blob);
    let inner = w.string()?;
    if inner != declared.as_bytes() {
        return Err(KeyError::TypeMismatch {
            declared: declared.to_string(),
            blob: String::from_utf8_lossy(inner).into_owned(),
        });
    }
    match declared {
        "ssh-ed25519" => expect_len(w.string()?, 32, "ed25519 key must be 32 bytes")?,
        "sk-ssh-ed25519@openssh.com" => {
            expect_len(w.string()?, 32, "ed25519 key must be 32 bytes")?;
            w.string()?; // application
        }
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            ec_point(&mut w, "nistp256")?;
            w.string()?; // application
        }
        "ssh-rsa" => {
            let e = w.string()?;
            if mpint_bits(e) == 0 || e.first().is_some_and(|b| b & 0x80 != 0) {
                return Err(KeyError::Malformed("bad RSA exponent"));
            }
            let n = w.string()?;
            if n.first().is_some_and(|b| b & 0x80 != 0) {
                return Err(KeyError::Malformed("negative RSA modulus"));
            }
            let bits = mpint_bits(n);
            if bits < MIN_RSA_BITS {
                return Err(KeyError::WeakRsa(bits));
            }
            if bits > MAX_RSA_BITS {
                return Err(KeyError::Malformed("RSA modulus too large"));
            }
        }
        t => {
            let curve = t.strip_prefix("ecdsa-sha2-").unwrap_or_default();
            ec_point(&mut w, curve)?;
        }
    }
    w.end()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU test@example";
    pub const ED25519_FP: &str = "SHA256:bFj0KDRa54MKlctRZkt5WyK8ySWhpig6gpoxQ0Z5MHk";
    pub const ECDSA256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGOMi380nj7D8nHt/JltUx28LtOqwsHwk8+xIM+IVF9zXsEefFCEAG282wAwU1j/CyW80BOXrZaapCYc+oHv7yE= root@vm";
    pub const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDOApaWp5lMTF2hBIzcjrjuTWVOt9Ar8I4zFF9V96rPYEYN/eA6FjbwbneFMViRtJf1t0mrVX+zN6uTxFd3T/xtmaAajNtYIK8+x1JOj2aODfEeLBnX2xQLguujAeXLx6p9V0T/fWOgIjWYxRD4/iYNYy7xQRfDoDw1JIXvp44E1Q== root@vm";
    pub const RSA2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCu5NMcI5+y17fu0P1ARW2zMAOQsLrWgWUHXUh+XlUeMGLXo0R+LUVYQttRIzbwWHarfQQzA8jydflN9nnNVbHWSiqfd4ZmrHgcw9AM9dUVQKWrg1Z6VYrpeQ2iOJBRwJxQBOaiSwtsza582DoW2LJ6fftDIlwYps3zIQOGjK7qVw/P30ITQx1VfpvCB2B7xbGADHC/YUrKMDcLFJy+r3nVnMBv4KDQHCbNZhiCUb8bpxeKCtI+uejtecL6mahhlg1aM8EDh2b7zHcCgqo3XfcslWjoRs/2oFDf3OW+k7i/96MaQR2KNuhY9lsePrE53ELarvp9EDzFsm06VgheMmn1 rsa";

    #[test]
    fn fingerprints_match_ssh_keygen() {
        // Expected values printed by `ssh-keygen -lf` for these keys.
        let k = parse(ED25519).expect("ed25519");
        assert_eq!(k.fingerprint(), ED25519_FP);
        assert_eq!(k.comment.as_deref(), Some("test@example"));
        assert_eq!(k.line(), ED25519);
        let k = parse(ECDSA256).expect("ecdsa");
        assert_eq!(
            k.fingerprint(),
            "SHA256:xZz8ro2VOBGp5MhViviiceeTIgC0wXFHsef9jNnHfNc"
        );
        let k = parse(RSA2048).expect("rsa");
        assert_eq!(
            k.fingerprint(),
            "SHA256:4sKvelyR00gFZcxqJV4egmY7Mag4y0ZJdAlGb8lb89U"
        );
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(parse(RSA1024), Err(KeyError::WeakRsa(1024)));
        assert!(matches!(
            parse("ssh-dss AAAAB3NzaC1kc3MAAACBAP"),
            Err(KeyError::UnsupportedType(_))
        ));
        let mismatched = ED25519.replacen("ssh-ed25519", "ssh-rsa", 1);
        assert!(matches!(
            parse(&mismatched),
            Err(KeyError::TypeMismatch { .. })
        ));
        assert_eq!(parse("ssh-ed25519 !!!"), Err(KeyError::Base64));
        assert_eq!(parse("ssh-ed25519"), Err(KeyError::Format));
        assert_eq!(
            parse(&format!("{ED25519}\nssh-rsa x")),
            Err(KeyError::ControlChars)
        );
        // Truncated blob.
        let short = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS";
        assert!(matches!(
            parse(short),
            Err(KeyError::Malformed(_)) | Err(KeyError::Base64)
        ));
        assert_eq!(parse(&"a".repeat(MAX_KEY_LEN + 1)), Err(KeyError::TooLong));
        assert_eq!(mpint_bits(&[0, 0x80, 0]), 16);
    }
}
