//! The applet's P-256 arithmetic on the P256-Cortex-M4 assembly
//! (`p256-cortex-m4-sys`, C + Thumb-2 assembly, constant-time).
//!
//! `cargo xtask bench-m4` measured sign at 0.27 M instructions against 12.5 M
//! for RustCrypto's portable `p256` on this core, so the board uses it. The
//! applet still draws the scalars, derives the hedged RFC 6979 nonce and
//! encodes DER; this module only converts between the applet's 32-byte
//! big-endian values and the library's little-endian `u32` words. The bench
//! image checks that both backends give the same key and signature.

use p256_cortex_m4_sys as sys;
use tamga_firmware::crypto::{EC_POINT_LEN, EC_PRIVATE_LEN, P256, RsaKernel, Word};
use zeroize::Zeroize;

/// [`P256`] on P256-Cortex-M4.
#[derive(Copy, Clone, Debug, Default)]
pub struct M4P256;

/// Big-endian bytes to the library's little-endian words.
fn words(bytes: &[u8; 32]) -> [u32; 8] {
    let mut w = [0u32; 8];
    for (dst, chunk) in w.iter_mut().rev().zip(bytes.chunks_exact(4)) {
        *dst = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    w
}

/// The library's little-endian words to big-endian bytes in `out`.
fn bytes(w: &[u32; 8], out: &mut [u8]) {
    for (chunk, src) in out.chunks_exact_mut(4).zip(w.iter().rev()) {
        chunk.copy_from_slice(&src.to_be_bytes());
    }
}

/// [`EC_POINT_LEN`] as the C library's length type.
#[allow(
    clippy::cast_possible_truncation,
    reason = "an uncompressed P-256 point is 65 bytes"
)]
const POINT_LEN: u32 = EC_POINT_LEN as u32;

fn point(x: &[u32; 8], y: &[u32; 8]) -> [u8; EC_POINT_LEN] {
    let mut out = [0u8; EC_POINT_LEN];
    out[0] = 0x04;
    bytes(x, &mut out[1..33]);
    bytes(y, &mut out[33..]);
    out
}

/// The board's RSA kernel: the Thumb-2 assembly of [`crate::rsakernel`].
impl RsaKernel for M4P256 {
    #[inline(always)]
    fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
        crate::rsakernel::mac_row2(row, x, k1, k2, carry, ext)
    }
}

impl P256 for M4P256 {
    fn public(&self, private: &[u8; EC_PRIVATE_LEN]) -> Option<[u8; EC_POINT_LEN]> {
        let mut d = words(private);
        let (mut x, mut y) = ([0u32; 8], [0u32; 8]);
        // SAFETY: `x`, `y` and `d` are live arrays of 8 words, as the C API
        // requires; it reads `d` and writes only `x` and `y`.
        let ok = unsafe { sys::p256_keygen(x.as_mut_ptr(), y.as_mut_ptr(), d.as_ptr()) };
        d.zeroize();
        ok.then(|| point(&x, &y))
    }

    fn sign(&self, private: &[u8; EC_PRIVATE_LEN], z: &[u8; 32], k: &[u8; 32]) -> Option<[u8; 64]> {
        let mut d = words(private);
        let mut kw = words(k);
        // The library takes k from any 256-bit value; the applet's contract
        // is k in [1, n − 1], as RFC 6979 gives.
        // SAFETY: `kw` is 8 readable words; the function only reads it.
        let k_ok = unsafe { sys::P256_check_range_n(kw.as_ptr()) };
        let (mut r, mut s) = ([0u32; 8], [0u32; 8]);
        // SAFETY: `r`, `s`, `d` and `kw` are live arrays of 8 words and `z`
        // is 32 readable bytes; the function reads `z`, `d`, `kw` and
        // writes only `r` and `s`.
        let ok = k_ok
            && unsafe {
                sys::p256_sign(
                    r.as_mut_ptr(),
                    s.as_mut_ptr(),
                    z.as_ptr(),
                    32,
                    d.as_ptr(),
                    kw.as_ptr(),
                )
            };
        d.zeroize();
        kw.zeroize();
        if !ok {
            return None;
        }
        let mut out = [0u8; 64];
        bytes(&r, &mut out[..32]);
        bytes(&s, &mut out[32..]);
        Some(out)
    }

    fn ecdh(&self, private: &[u8; EC_PRIVATE_LEN], peer: &[u8; EC_POINT_LEN]) -> Option<[u8; 32]> {
        let (mut x, mut y) = ([0u32; 8], [0u32; 8]);
        // SAFETY: `x`, `y` are 8 writable words, `peer` is 65 readable bytes
        // (its length is passed); the function validates the encoding and
        // that the point is on the curve.
        let on_curve = peer[0] == 0x04
            && unsafe {
                sys::p256_octet_string_to_point(
                    x.as_mut_ptr(),
                    y.as_mut_ptr(),
                    peer.as_ptr(),
                    POINT_LEN,
                )
            };
        if !on_curve {
            return None;
        }
        let mut d = words(private);
        let mut shared = [0u8; 32];
        // SAFETY: `shared` is 32 writable bytes; `d`, `x`, `y` are 8 readable
        // words each; the function checks the point again and writes only
        // `shared`.
        let ok = unsafe {
            sys::p256_ecdh_calc_shared_secret(
                shared.as_mut_ptr(),
                d.as_ptr(),
                x.as_ptr(),
                y.as_ptr(),
            )
        };
        d.zeroize();
        if ok {
            Some(shared)
        } else {
            shared.zeroize();
            None
        }
    }
}
