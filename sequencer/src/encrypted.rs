//! VES-ENC-1 encrypted payloads (`payload_kind = 1`).
//!
//! Content: AES-256-GCM under a fresh 32-byte data key over `salt[16] || JCS(payload)`, with
//! the 32-byte `payload_aad` as AEAD associated data. Key wrapping: per recipient, HPKE
//! (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, sealing the
//! data key with `info = payload_aad` and empty AEAD associated data.
//!
//! JSON form (`payload_encrypted`), binary fields base64url without padding:
//! `{enc_version:1, aead:"AES-256-GCM", nonce_b64u, ciphertext_b64u, tag_b64u,
//!   hpke:{mode:"base",kem:"X25519-HKDF-SHA256",kdf:"HKDF-SHA256",aead:"AES-256-GCM"},
//!   recipients:[{recipient_kid, enc_b64u, ct_b64u}]}` with recipients sorted by kid, unique.
//!
//! The sequencer cannot open the payload; it checks the structure
//! ([`PayloadEncrypted::decode`]) and recomputes the cipher hash ([`verify_cipher_hash`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use crate::canonical::{canonicalize_to_vec, parse_strict_slice};
use crate::context::EventContext;
use crate::domain;
use crate::encoding::{Hash32, Preimage};
use crate::error::{EncodingError, PayloadError};
use crate::payload::{canonical_payload, plain_hash_of_canonical, MAX_PAYLOAD_BYTES};

/// The only defined `enc_version`.
pub const ENC_VERSION: u32 = 1;
/// Content AEAD and HPKE AEAD identifier.
pub const AEAD_AES_256_GCM: &str = "AES-256-GCM";
/// HPKE mode identifier.
pub const HPKE_MODE_BASE: &str = "base";
/// HPKE KEM identifier.
pub const HPKE_KEM: &str = "X25519-HKDF-SHA256";
/// HPKE KDF identifier.
pub const HPKE_KDF: &str = "HKDF-SHA256";
/// Salt prepended to the canonical payload before encryption.
pub const SALT_LEN: usize = 16;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// HPKE encapsulated key length (X25519).
pub const ENC_LEN: usize = 32;
/// Wrapped data key length (32-byte key + 16-byte tag).
pub const WRAPPED_KEY_LEN: usize = 48;

/// HPKE suite description carried in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpkeParams {
    /// Must be `base`.
    pub mode: String,
    /// Must be `X25519-HKDF-SHA256`.
    pub kem: String,
    /// Must be `HKDF-SHA256`.
    pub kdf: String,
    /// Must be `AES-256-GCM`.
    pub aead: String,
}

impl Default for HpkeParams {
    fn default() -> Self {
        Self {
            mode: HPKE_MODE_BASE.to_owned(),
            kem: HPKE_KEM.to_owned(),
            kdf: HPKE_KDF.to_owned(),
            aead: AEAD_AES_256_GCM.to_owned(),
        }
    }
}

/// One recipient's wrapped data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientEntry {
    /// Recipient key id.
    pub recipient_kid: u32,
    /// HPKE encapsulated key, 32 bytes, base64url.
    pub enc_b64u: String,
    /// HPKE ciphertext of the data key, 48 bytes, base64url.
    pub ct_b64u: String,
}

/// Wire form of a VES-ENC-1 payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadEncrypted {
    /// Must be 1.
    pub enc_version: u32,
    /// Must be `AES-256-GCM`.
    pub aead: String,
    /// 12-byte nonce.
    pub nonce_b64u: String,
    /// Ciphertext of `salt || JCS(payload)` without the tag.
    pub ciphertext_b64u: String,
    /// 16-byte GCM tag.
    pub tag_b64u: String,
    /// HPKE suite.
    pub hpke: HpkeParams,
    /// Wrapped keys, sorted by `recipient_kid`, unique, at least one.
    pub recipients: Vec<RecipientEntry>,
}

/// Decoded, structurally valid [`PayloadEncrypted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedParts {
    /// AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext without tag.
    pub ciphertext: Vec<u8>,
    /// AES-GCM tag.
    pub tag: [u8; TAG_LEN],
    /// `(kid, enc, wrapped key)`, ascending by kid.
    pub recipients: Vec<(u32, [u8; ENC_LEN], [u8; WRAPPED_KEY_LEN])>,
}

fn structure(msg: impl Into<String>) -> PayloadError {
    PayloadError::Structure(msg.into())
}

fn b64_fixed<const N: usize>(field: &str, text: &str) -> Result<[u8; N], PayloadError> {
    let bytes = b64(field, text)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| structure(format!("{field} must be {N} bytes, got {}", bytes.len())))
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, PayloadError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| structure(format!("{field}: invalid base64url: {e}")))
}

impl PayloadEncrypted {
    /// Checks the structure and decodes the binary fields.
    pub fn decode(&self) -> Result<EncryptedParts, PayloadError> {
        if self.enc_version != ENC_VERSION {
            return Err(structure(format!(
                "unsupported enc_version {}",
                self.enc_version
            )));
        }
        if self.aead != AEAD_AES_256_GCM {
            return Err(structure(format!("unsupported aead {:?}", self.aead)));
        }
        if self.hpke != HpkeParams::default() {
            return Err(structure("unsupported hpke parameters"));
        }
        let nonce = b64_fixed::<NONCE_LEN>("nonce_b64u", &self.nonce_b64u)?;
        let tag = b64_fixed::<TAG_LEN>("tag_b64u", &self.tag_b64u)?;
        let ciphertext = b64("ciphertext_b64u", &self.ciphertext_b64u)?;
        if ciphertext.len() <= SALT_LEN {
            return Err(structure(
                "ciphertext shorter than salt plus one byte of JSON",
            ));
        }
        if ciphertext.len() - SALT_LEN > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge {
                size: ciphertext.len() - SALT_LEN,
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        if self.recipients.is_empty() {
            return Err(structure("recipients must not be empty"));
        }
        let mut recipients = Vec::with_capacity(self.recipients.len());
        for (i, r) in self.recipients.iter().enumerate() {
            if i > 0 && self.recipients[i - 1].recipient_kid >= r.recipient_kid {
                return Err(structure(
                    "recipients must be sorted by recipient_kid and unique",
                ));
            }
            let enc = b64_fixed::<ENC_LEN>("enc_b64u", &r.enc_b64u)?;
            let ct = b64_fixed::<WRAPPED_KEY_LEN>("ct_b64u", &r.ct_b64u)?;
            recipients.push((r.recipient_kid, enc, ct));
        }
        Ok(EncryptedParts {
            nonce,
            ciphertext,
            tag,
            recipients,
        })
    }
}

/// `payload_aad = SHA256("VES_PAYLOAD_AAD_V1" || UUID tenant || UUID store || UUID event_id ||
/// UUID source_agent_id || U32 agent_key_id || STR entity_type || STR entity_id ||
/// STR event_type || STR created_at || payload_plain_hash)`.
pub fn payload_aad(ctx: &EventContext<'_>, plain_hash: &Hash32) -> Result<Hash32, EncodingError> {
    let mut p = Preimage::new(domain::PAYLOAD_AAD);
    p.uuid(&ctx.tenant_id)
        .uuid(&ctx.store_id)
        .uuid(&ctx.event_id)
        .uuid(&ctx.source_agent_id)
        .u32(ctx.agent_key_id);
    p.str(ctx.entity_type)?
        .str(ctx.entity_id)?
        .str(ctx.event_type)?
        .str(ctx.created_at)?
        .bytes(&plain_hash.0);
    Ok(p.finish())
}

/// `SHA256("VES_RECIPIENTS_V1" || (U32 kid || U32 len(enc) || enc || U32 len(ct) || ct)...)`.
pub fn recipients_hash(parts: &EncryptedParts) -> Result<Hash32, EncodingError> {
    let mut p = Preimage::new(domain::RECIPIENTS);
    for (kid, enc, ct) in &parts.recipients {
        p.u32(*kid).len_prefixed(enc)?.len_prefixed(ct)?;
    }
    Ok(p.finish())
}

/// `SHA256("VES_PAYLOAD_CIPHER_V1" || U32(1) || nonce || payload_aad || U32 len(ct) || ct ||
/// tag || recipients_hash)`.
pub fn payload_cipher_hash(parts: &EncryptedParts, aad: &Hash32) -> Result<Hash32, EncodingError> {
    let rh = recipients_hash(parts)?;
    let mut p = Preimage::new(domain::PAYLOAD_CIPHER);
    p.u32(ENC_VERSION).bytes(&parts.nonce).bytes(&aad.0);
    p.len_prefixed(&parts.ciphertext)?
        .bytes(&parts.tag)
        .bytes(&rh.0);
    Ok(p.finish())
}

/// What the sequencer checks for an encrypted event: valid structure and
/// `payload_cipher_hash` equal to its recomputation from the claimed plain hash.
pub fn verify_cipher_hash(
    encrypted: &PayloadEncrypted,
    ctx: &EventContext<'_>,
    claimed_plain_hash: &Hash32,
    claimed_cipher_hash: &Hash32,
) -> Result<(), PayloadError> {
    let parts = encrypted.decode()?;
    let aad = payload_aad(ctx, claimed_plain_hash)?;
    if payload_cipher_hash(&parts, &aad)? != *claimed_cipher_hash {
        return Err(PayloadError::CipherHashMismatch);
    }
    Ok(())
}

/// A recipient's X25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientPublicKey(pub [u8; 32]);

/// A recipient's X25519 secret key (zeroed on drop).
#[derive(Clone)]
pub struct RecipientSecretKey([u8; 32]);

impl RecipientSecretKey {
    /// Wraps raw secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<RecipientPublicKey, PayloadError> {
        let sk = hpke_secret(&self.0)?;
        Ok(RecipientPublicKey(array32(
            &X25519HkdfSha256::sk_to_pk(&sk).to_bytes(),
        )))
    }
}

impl Drop for RecipientSecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for RecipientSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecipientSecretKey(..)")
    }
}

/// Generates a fresh X25519 recipient key pair.
pub fn generate_recipient_keypair<R: CryptoRng + RngCore>(
    rng: &mut R,
) -> (RecipientSecretKey, RecipientPublicKey) {
    let (sk, pk) = X25519HkdfSha256::gen_keypair(rng);
    (
        RecipientSecretKey(array32(&sk.to_bytes())),
        RecipientPublicKey(array32(&pk.to_bytes())),
    )
}

fn array32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = bytes.len().min(32);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

fn hpke_secret(
    bytes: &[u8; 32],
) -> Result<<X25519HkdfSha256 as hpke::Kem>::PrivateKey, PayloadError> {
    <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(bytes)
        .map_err(|e| PayloadError::EncryptionFailed(format!("recipient secret key: {e}")))
}

/// Result of [`seal_payload`]: the JSON to send plus the two hashes the event signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPayload {
    /// `payload_encrypted` for the envelope.
    pub payload_encrypted: PayloadEncrypted,
    /// Salted plain hash.
    pub payload_plain_hash: Hash32,
    /// Cipher hash.
    pub payload_cipher_hash: Hash32,
}

/// Encrypts `payload` for `recipients` (key id, X25519 public key) with the OS RNG.
pub fn seal_payload(
    payload: &Value,
    ctx: &EventContext<'_>,
    recipients: &[(u32, RecipientPublicKey)],
) -> Result<SealedPayload, PayloadError> {
    seal_payload_with_rng(payload, ctx, recipients, &mut rand::rngs::OsRng)
}

/// [`seal_payload`] with a caller-supplied RNG.
pub fn seal_payload_with_rng<R: CryptoRng + RngCore>(
    payload: &Value,
    ctx: &EventContext<'_>,
    recipients: &[(u32, RecipientPublicKey)],
    rng: &mut R,
) -> Result<SealedPayload, PayloadError> {
    let jcs = canonical_payload(payload)?;
    let mut sorted: Vec<(u32, RecipientPublicKey)> = recipients.to_vec();
    sorted.sort_by_key(|(kid, _)| *kid);
    if sorted.is_empty() || sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(structure("recipients must be non-empty with unique kids"));
    }

    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    let mut dek = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    rng.fill_bytes(dek.as_mut());

    let plain_hash = plain_hash_of_canonical(&salt, &jcs);
    let aad = payload_aad(ctx, &plain_hash)?;

    let mut plaintext = Zeroizing::new(Vec::with_capacity(SALT_LEN + jcs.len()));
    plaintext.extend_from_slice(&salt);
    plaintext.extend_from_slice(&jcs);
    let cipher = Aes256Gcm::new_from_slice(dek.as_ref())
        .map_err(|e| PayloadError::EncryptionFailed(e.to_string()))?;
    let mut sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &aad.0,
            },
        )
        .map_err(|e| PayloadError::EncryptionFailed(e.to_string()))?;
    let tag_start = sealed.len().saturating_sub(TAG_LEN);
    let tag = b64_fixed_from_slice(&sealed[tag_start..])?;
    sealed.truncate(tag_start);

    let mut entries = Vec::with_capacity(sorted.len());
    let mut wrapped = Vec::with_capacity(sorted.len());
    for (kid, pk) in &sorted {
        let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&pk.0)
            .map_err(|e| PayloadError::EncryptionFailed(format!("recipient {kid}: {e}")))?;
        let (enc, ct) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &pk,
            &aad.0,
            dek.as_ref(),
            &[],
            rng,
        )
        .map_err(|e| PayloadError::EncryptionFailed(format!("recipient {kid}: {e}")))?;
        let enc = enc.to_bytes();
        entries.push(RecipientEntry {
            recipient_kid: *kid,
            enc_b64u: URL_SAFE_NO_PAD.encode(enc.as_slice()),
            ct_b64u: URL_SAFE_NO_PAD.encode(&ct),
        });
        let ct: [u8; WRAPPED_KEY_LEN] = ct
            .as_slice()
            .try_into()
            .map_err(|_| PayloadError::EncryptionFailed("unexpected HPKE output".into()))?;
        wrapped.push((*kid, array32(enc.as_slice()), ct));
    }

    let parts = EncryptedParts {
        nonce,
        ciphertext: sealed,
        tag,
        recipients: wrapped,
    };
    let cipher_hash = payload_cipher_hash(&parts, &aad)?;
    Ok(SealedPayload {
        payload_encrypted: PayloadEncrypted {
            enc_version: ENC_VERSION,
            aead: AEAD_AES_256_GCM.to_owned(),
            nonce_b64u: URL_SAFE_NO_PAD.encode(parts.nonce),
            ciphertext_b64u: URL_SAFE_NO_PAD.encode(&parts.ciphertext),
            tag_b64u: URL_SAFE_NO_PAD.encode(parts.tag),
            hpke: HpkeParams::default(),
            recipients: entries,
        },
        payload_plain_hash: plain_hash,
        payload_cipher_hash: cipher_hash,
    })
}

fn b64_fixed_from_slice(bytes: &[u8]) -> Result<[u8; TAG_LEN], PayloadError> {
    bytes
        .try_into()
        .map_err(|_| PayloadError::EncryptionFailed("unexpected AEAD output".into()))
}

/// Decrypts as recipient `kid`, checks that the plaintext is `salt || JCS(payload)` and that
/// its hash equals `expected_plain_hash`, and returns the payload.
pub fn open_payload(
    encrypted: &PayloadEncrypted,
    ctx: &EventContext<'_>,
    expected_plain_hash: &Hash32,
    kid: u32,
    secret: &RecipientSecretKey,
) -> Result<Value, PayloadError> {
    let parts = encrypted.decode()?;
    let (_, enc, ct) = parts
        .recipients
        .iter()
        .find(|(k, _, _)| *k == kid)
        .ok_or(PayloadError::RecipientNotFound(kid))?;
    let aad = payload_aad(ctx, expected_plain_hash)?;
    let sk = hpke_secret(&secret.0)?;
    let encapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| PayloadError::DecryptionFailed)?;
    let dek = Zeroizing::new(
        hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &sk,
            &encapped,
            &aad.0,
            ct,
            &[],
        )
        .map_err(|_| PayloadError::DecryptionFailed)?,
    );
    let cipher =
        Aes256Gcm::new_from_slice(dek.as_slice()).map_err(|_| PayloadError::DecryptionFailed)?;
    let mut sealed = Vec::with_capacity(parts.ciphertext.len() + TAG_LEN);
    sealed.extend_from_slice(&parts.ciphertext);
    sealed.extend_from_slice(&parts.tag);
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&parts.nonce),
                Payload {
                    msg: &sealed,
                    aad: &aad.0,
                },
            )
            .map_err(|_| PayloadError::DecryptionFailed)?,
    );
    let (salt, json) = plaintext.split_at(SALT_LEN.min(plaintext.len()));
    let value = parse_strict_slice(json).map_err(|_| PayloadError::NonCanonicalPlaintext)?;
    if value.is_null() || canonicalize_to_vec(&value)? != json {
        return Err(PayloadError::NonCanonicalPlaintext);
    }
    if plain_hash_of_canonical(salt, json) != *expected_plain_hash {
        return Err(PayloadError::PlainHashMismatch);
    }
    Ok(value)
}
