//! The cryptography the applet uses: PIN hashing, management-key ciphers, P-256
//! (behind the [`P256`] backend a board may replace) and the multiply-accumulate
//! kernel of RSA ([`RsaKernel`], which the same backend may replace).

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser, KeyInit};
use p256::elliptic_curve::sec1::ToSec1Point;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use tamga_spec::Algorithm;
use zeroize::Zeroize;

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

/// The P-256 arithmetic behind the applet's EC keys.
///
/// [`SoftP256`] (RustCrypto `p256`, portable) is the default; a board may
/// supply a faster one (the QEMU Cortex-M4 board uses the P256-Cortex-M4
/// assembly). The applet keeps everything else: drawing private scalars,
/// the hedged RFC 6979 nonce, the hash truncation and the DER encoding, so
/// two correct backends give the same key pair and the same signature for
/// the same inputs. Scalars and coordinates are 32-byte big-endian.
///
/// A backend is also the applet's [`RsaKernel`]: the portable one unless the
/// board overrides it (`impl RsaKernel for MyBackend {}` keeps the default).
pub trait P256: RsaKernel {
    /// The uncompressed public point (`04 ‖ x ‖ y`) of `private`; `None` if
    /// `private` is 0 or not below the group order n.
    fn public(&self, private: &[u8; EC_PRIVATE_LEN]) -> Option<[u8; EC_POINT_LEN]>;
    /// The ECDSA signature `r ‖ s` of `z` (the hash's leftmost 32 bytes as an
    /// integer, not reduced) with nonce `k`; `None` if `k` or `private` is
    /// not in [1, n − 1], or r or s is zero (the caller then draws a new k).
    fn sign(&self, private: &[u8; EC_PRIVATE_LEN], z: &[u8; 32], k: &[u8; 32]) -> Option<[u8; 64]>;
    /// The x coordinate of `private`·`peer`; `None` if `peer` is not an
    /// uncompressed point on the curve.
    fn ecdh(&self, private: &[u8; EC_PRIVATE_LEN], peer: &[u8; EC_POINT_LEN]) -> Option<[u8; 32]>;
}

/// A word of the RSA arithmetic (`crypto-bigint`'s limb: 32 bits on the
/// Cortex-M4, 64 on most hosts).
pub use crypto_bigint::Word;

/// The inner loop of the RSA arithmetic (Montgomery products, squares and
/// reductions of `rsa2048`), which a board may replace with assembly.
///
/// [`RsaKernel::mac_row2`] is the only operation; its default is the portable
/// [`mac_row2`], and every implementation must give exactly its results for
/// all inputs, in time and memory accesses that depend only on the lengths
/// (the words are secret). The bench image of the QEMU board checks its
/// assembly against the default.
pub trait RsaKernel {
    /// Two rows at once: `row += x·k1 + x·k2·2^w + carry + ext·2^(w·n)` for
    /// `n = x.len()`, `w = Word::BITS`, and a `row` of `n + 2` words; returns
    /// the carry out of the top word. See [`mac_row2`].
    #[inline(always)]
    fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
        mac_row2(row, x, k1, k2, carry, ext)
    }

    /// Tell a constant-time checker that `words`, computed from the key, are
    /// public from here on: the private operation calls it on values that
    /// leave the card anyway (the checked result and its re-encryption). The
    /// default does nothing; the memcheck test (`tests/ct.rs`) marks the
    /// words defined.
    #[inline(always)]
    fn declassify(words: &[Word]) {
        let _ = words;
    }
}

/// The portable [`RsaKernel::mac_row2`]: `row += x·k1 + x·k2·2^w + carry +
/// ext·2^(w·n)` for `n = x.len()` and a `row` of `n + 2` words (a shorter row
/// takes only the words it has, a longer one is only touched in its first
/// `n + 2` words: callers pass exactly n + 2); returns the carry out of word
/// n + 1 (0 or 1 whenever the caller's bounds keep the sum in n + 3 words).
/// Constant-time: no branch or address depends on a word's value.
#[inline(always)]
pub fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
    crate::monty::mac_row2(row, x, k1, k2, carry, ext)
}

/// [`P256`] with RustCrypto's `p256` (portable, constant-time).
#[derive(Copy, Clone, Debug, Default)]
pub struct SoftP256;

/// The portable kernel.
impl RsaKernel for SoftP256 {}

impl P256 for SoftP256 {
    fn public(&self, private: &[u8; EC_PRIVATE_LEN]) -> Option<[u8; EC_POINT_LEN]> {
        let secret = p256::SecretKey::from_slice(private).ok()?;
        let point = secret.public_key().to_sec1_point(false);
        point.as_bytes().try_into().ok()
    }

    fn sign(&self, private: &[u8; EC_PRIVATE_LEN], z: &[u8; 32], k: &[u8; 32]) -> Option<[u8; 64]> {
        let d = p256::NonZeroScalar::from_repr((*private).into()).into_option()?;
        let k = p256::NonZeroScalar::from_repr((*k).into()).into_option()?;
        let (sig, _) = ecdsa::hazmat::sign_prehashed::<p256::NistP256>(&d, &k, z).ok()?;
        Some(sig.to_bytes().into())
    }

    fn ecdh(&self, private: &[u8; EC_PRIVATE_LEN], peer: &[u8; EC_POINT_LEN]) -> Option<[u8; 32]> {
        let secret = p256::SecretKey::from_slice(private).ok()?;
        let peer = p256::PublicKey::from_sec1_bytes(peer).ok()?;
        let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        Some(out)
    }
}

/// A fresh P-256 key pair: (private scalar, uncompressed public point). The
/// scalar is 32 random bytes, redrawn until it is in [1, n − 1].
pub fn ec_generate<E: P256, R: CryptoRng>(
    ec: &E,
    rng: &mut R,
) -> ([u8; EC_PRIVATE_LEN], [u8; EC_POINT_LEN]) {
    let mut private = [0u8; EC_PRIVATE_LEN];
    loop {
        rng.fill_bytes(&mut private);
        if let Some(point) = ec.public(&private) {
            return (private, point);
        }
    }
}

/// The public point of a private scalar; an error for 0 or a scalar ≥ n.
pub fn ec_public<E: P256>(ec: &E, private: &[u8]) -> Result<[u8; EC_POINT_LEN], CryptoError> {
    let private: &[u8; EC_PRIVATE_LEN] = private.try_into().map_err(|_| CryptoError::Input)?;
    ec.public(private).ok_or(CryptoError::Input)
}

/// ECDSA over a host-supplied hash (16 to 64 bytes, truncated to the group
/// order's bit length); the DER signature goes into `out`, its length is returned.
///
/// The nonce is RFC 6979's, hedged with `entropy` from the card's RNG: a
/// repeated hash never reuses a nonce, and a fault cannot be replayed against
/// a purely deterministic one.
pub fn ec_sign<E: P256>(
    ec: &E,
    private: &[u8],
    hash: &[u8],
    entropy: &[u8; 32],
    out: &mut [u8],
) -> Result<usize, CryptoError> {
    if !(16..=64).contains(&hash.len()) {
        return Err(CryptoError::Input);
    }
    let private: &[u8; EC_PRIVATE_LEN] = private.try_into().map_err(|_| CryptoError::Input)?;
    // bits2int: the leftmost 256 bits, or the whole shorter hash as an integer.
    let mut z = [0u8; 32];
    let take = hash.len().min(32);
    let (src, dst) = (hash.get(..take), z.get_mut(32 - take..));
    if let (Some(src), Some(dst)) = (src, dst) {
        dst.copy_from_slice(src);
    }
    let order = <p256::NistP256 as p256::elliptic_curve::Curve>::ORDER;
    let mut kgen = rfc6979::KGenerator::<Sha256, p256::U256>::new(private, hash, entropy, &order);
    let mut k = [0u8; 32];
    // A k that gives r = 0 or s = 0 has probability ~2^-256 (~2^-32 for
    // P256-Cortex-M4's own check); the bound only keeps this loop finite.
    let mut rs = None;
    for _ in 0..8 {
        kgen.fill_next_k(&mut k);
        rs = ec.sign(private, &z, &k);
        if rs.is_some() {
            break;
        }
    }
    k.zeroize();
    let rs = rs.ok_or(CryptoError::Failed)?;
    let sig =
        ecdsa::Signature::<p256::NistP256>::from_slice(&rs).map_err(|_| CryptoError::Failed)?;
    let sig = sig.to_der();
    let der = sig.as_bytes();
    let dst = out.get_mut(..der.len()).ok_or(CryptoError::Input)?;
    dst.copy_from_slice(der);
    Ok(der.len())
}

/// Longest GOST private scalar (GOST 34.10-2015, 512 bits).
pub const GOST_PRIVATE_MAX: usize = 64;
/// Longest GOST public key X ‖ Y (and signature r ‖ s).
pub const GOST_PAIR_MAX: usize = 2 * GOST_PRIVATE_MAX;

/// The GOST curve of `alg`, or [`CryptoError::Algorithm`].
fn gost_curve(alg: Algorithm) -> Result<tamga_gost::NamedCurve, CryptoError> {
    match alg {
        Algorithm::Gost2004 => Ok(tamga_gost::NamedCurve::CryptoProA),
        Algorithm::Gost2015_512 => Ok(tamga_gost::NamedCurve::Tc26_512A),
        _ => Err(CryptoError::Algorithm),
    }
}

/// A GOST failure as the card sees it: an RNG that gave nothing usable is
/// a failed generation, anything else bad input.
fn gost_error(e: tamga_gost::Error) -> CryptoError {
    match e {
        tamga_gost::Error::Rng => CryptoError::Failed,
        _ => CryptoError::Input,
    }
}

/// A fresh GOST key pair of `alg` (little-endian scalar into `private`,
/// X_le ‖ Y_le into `public`, each exactly the curve's length).
pub fn gost_generate<R: CryptoRng>(
    alg: Algorithm,
    rng: &mut R,
    private: &mut [u8],
    public: &mut [u8],
) -> Result<(), CryptoError> {
    gost_curve(alg)?
        .generate(rng, private, public)
        .map_err(gost_error)
}

/// The GOST public key of a private scalar; an error for a scalar outside
/// [1, q − 1] or of the wrong length.
pub fn gost_public(alg: Algorithm, private: &[u8], public: &mut [u8]) -> Result<(), CryptoError> {
    gost_curve(alg)?
        .public_key(private, public)
        .map_err(gost_error)
}

/// Whether `public` (X_le ‖ Y_le) is a point on `alg`'s curve.
pub fn gost_check_point(alg: Algorithm, public: &[u8]) -> Result<(), CryptoError> {
    gost_curve(alg)?.check_point(public).map_err(gost_error)
}

/// The GOST signature r_le ‖ s_le of a digest of exactly the curve's length
/// (as the hash outputs it; the card reads it as e, little-endian, mod q),
/// with the nonce hedged by `entropy`.
pub fn gost_sign(
    alg: Algorithm,
    private: &[u8],
    digest: &[u8],
    entropy: &[u8; 32],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    gost_curve(alg)?
        .sign(private, digest, entropy, out)
        .map_err(gost_error)
}

/// ECDH with a peer's uncompressed point: the shared x coordinate.
pub fn ec_ecdh<E: P256>(ec: &E, private: &[u8], peer: &[u8]) -> Result<[u8; 32], CryptoError> {
    let private: &[u8; EC_PRIVATE_LEN] = private.try_into().map_err(|_| CryptoError::Input)?;
    let peer: &[u8; EC_POINT_LEN] = peer.try_into().map_err(|_| CryptoError::Input)?;
    ec.ecdh(private, peer).ok_or(CryptoError::Input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::Curve;

    /// The backend split keeps the signature of the undivided RustCrypto
    /// call (same RFC 6979 nonce, same truncation) for every hash length.
    #[test]
    fn sign_matches_rustcrypto_rfc6979() {
        let private = [0x42u8; 32];
        let d = p256::NonZeroScalar::from_repr(private.into()).unwrap();
        let entropy = [7u8; 32];
        for len in [16usize, 20, 31, 32, 48, 64] {
            let mut buf = [0u8; 64];
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (i.to_le_bytes()[0]).wrapping_mul(37) ^ 0xA5;
            }
            let hash = &buf[..len];
            let (want, _) =
                ecdsa::hazmat::sign_prehashed_rfc6979::<p256::NistP256, Sha256>(&d, hash, &entropy);
            let mut out = [0u8; EC_SIG_MAX];
            let n = ec_sign(&SoftP256, &private, hash, &entropy, &mut out).unwrap();
            assert_eq!(&out[..n], want.to_der().as_bytes(), "hash of {len} bytes");
        }
        let mut out = [0u8; EC_SIG_MAX];
        assert_eq!(
            ec_sign(&SoftP256, &private, &[0; 15], &entropy, &mut out),
            Err(CryptoError::Input)
        );
        assert_eq!(
            ec_sign(&SoftP256, &[0; 32], &[0; 32], &entropy, &mut out),
            Err(CryptoError::Failed)
        );
    }

    #[test]
    fn out_of_range_scalars_are_refused() {
        let order = p256::NistP256::ORDER.to_be_bytes();
        assert_eq!(ec_public(&SoftP256, &[0; 32]), Err(CryptoError::Input));
        assert_eq!(
            ec_public(&SoftP256, order.as_ref()),
            Err(CryptoError::Input)
        );
        assert_eq!(ec_public(&SoftP256, &[1; 31]), Err(CryptoError::Input));
        let mut one = [0u8; 32];
        one[31] = 1;
        let g = ec_public(&SoftP256, &one).unwrap();
        assert_eq!(g[0], 0x04);
        assert!(ec_ecdh(&SoftP256, &one, &g[..64]).is_err());
        assert_eq!(&ec_ecdh(&SoftP256, &one, &g).unwrap(), &g[1..33]);
    }
}
