//! The cryptography the applet uses: PIN hashing, management-key ciphers, P-256.

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser, KeyInit};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use tamga_spec::Algorithm;

/// Length of a P-256 private scalar.
pub const EC_PRIVATE_LEN: usize = 32;
/// Length of an uncompressed P-256 point.
pub const EC_POINT_LEN: usize = 65;
/// Longest DER ECDSA P-256 signature.
pub const EC_SIG_MAX: usize = 72;

/// Why a cryptographic operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// Bad input (length, point not on the curve, scalar out of range).
    Input,
    /// Unsupported algorithm.
    Algorithm,
    /// The fault check failed: the result of a private-key operation did not
    /// verify with the public key and was withheld.
    Fault,
    /// Key generation found no key within its bounds (a broken RNG), or no
    /// blinding factor could be drawn.
    Failed,
}

/// Hash of a PIN or PUK as stored: SHA-256 over a domain label, the card's salt
/// and the 8-byte padded reference data.
pub fn pin_hash(salt: &[u8; 16], padded: &[u8; 8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tamga pin v1");
    h.update(salt);
    h.update(padded);
    h.finalize().into()
}

fn crypt_block<C>(key: &[u8], block: &mut [u8], encrypt: bool) -> Result<(), CryptoError>
where
    C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt + BlockSizeUser,
{
    let cipher = C::new_from_slice(key).map_err(|_| CryptoError::Input)?;
    let mut b = Block::<C>::default();
    if block.len() != b.len() {
        return Err(CryptoError::Input);
    }
    b.copy_from_slice(block);
    if encrypt {
        cipher.encrypt_block(&mut b);
    } else {
        cipher.decrypt_block(&mut b);
    }
    block.copy_from_slice(&b);
    Ok(())
}

/// Encrypt (or decrypt) one block in place with a management key.
pub fn mgmt_crypt(
    alg: Algorithm,
    key: &[u8],
    block: &mut [u8],
    encrypt: bool,
) -> Result<(), CryptoError> {
    match alg {
        Algorithm::Tdes => crypt_block::<des::TdesEde3>(key, block, encrypt),
        Algorithm::Aes128 => crypt_block::<aes::Aes128>(key, block, encrypt),
        Algorithm::Aes192 => crypt_block::<aes::Aes192>(key, block, encrypt),
        Algorithm::Aes256 => crypt_block::<aes::Aes256>(key, block, encrypt),
        _ => Err(CryptoError::Algorithm),
    }
}

fn point_bytes(public: &p256::PublicKey) -> Result<[u8; EC_POINT_LEN], CryptoError> {
    let point = public.to_sec1_point(false);
    let mut out = [0u8; EC_POINT_LEN];
    let bytes = point.as_bytes();
    if bytes.len() != EC_POINT_LEN {
        return Err(CryptoError::Input);
    }
    out.copy_from_slice(bytes);
    Ok(out)
}

/// A fresh P-256 key pair: (private scalar, uncompressed public point).
pub fn ec_generate<R: CryptoRng>(rng: &mut R) -> ([u8; EC_PRIVATE_LEN], [u8; EC_POINT_LEN]) {
    loop {
        let secret = p256::SecretKey::generate_from_rng(rng);
        if let Ok(point) = point_bytes(&secret.public_key()) {
            return (secret.to_bytes().into(), point);
        }
    }
}

/// The public point of a private scalar; an error for 0 or a scalar ≥ n.
pub fn ec_public(private: &[u8]) -> Result<[u8; EC_POINT_LEN], CryptoError> {
    if private.len() != EC_PRIVATE_LEN {
        return Err(CryptoError::Input);
    }
    let secret = p256::SecretKey::from_slice(private).map_err(|_| CryptoError::Input)?;
    point_bytes(&secret.public_key())
}

/// ECDSA over a host-supplied hash (16 to 64 bytes, truncated to the group
/// order's bit length); the DER signature goes into `out`, its length is returned.
///
/// The nonce is RFC 6979's, hedged with `entropy` from the card's RNG: a
/// repeated hash never reuses a nonce, and a fault cannot be replayed against
/// a purely deterministic one.
pub fn ec_sign(
    private: &[u8],
    hash: &[u8],
    entropy: &[u8; 32],
    out: &mut [u8],
) -> Result<usize, CryptoError> {
    if !(16..=64).contains(&hash.len()) {
        return Err(CryptoError::Input);
    }
    let secret = p256::SecretKey::from_slice(private).map_err(|_| CryptoError::Input)?;
    let (sig, _) = ecdsa::hazmat::sign_prehashed_rfc6979::<p256::NistP256, Sha256>(
        &secret.to_nonzero_scalar(),
        hash,
        entropy,
    );
    let sig = sig.to_der();
    let der = sig.as_bytes();
    let dst = out.get_mut(..der.len()).ok_or(CryptoError::Input)?;
    dst.copy_from_slice(der);
    Ok(der.len())
}

/// ECDH with a peer's uncompressed point: the shared x coordinate.
pub fn ec_ecdh(private: &[u8], peer: &[u8]) -> Result<[u8; 32], CryptoError> {
    if peer.len() != EC_POINT_LEN {
        return Err(CryptoError::Input);
    }
    let secret = p256::SecretKey::from_slice(private).map_err(|_| CryptoError::Input)?;
    let peer = p256::PublicKey::from_sec1_bytes(peer).map_err(|_| CryptoError::Input)?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    let mut out = [0u8; 32];
    out.copy_from_slice(shared.raw_secret_bytes());
    Ok(out)
}
