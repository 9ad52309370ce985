//! The RSA multiply-accumulate kernel ([`RsaKernel::mac_row2`]) on the
//! Thumb-2 assembly loop of `tamga_gost::kernel` (the same loop under the
//! GOST field products): two rows of word products per pass, about two
//! instructions per word product against about four for the portable Rust
//! loop at opt-level "s". `cargo xtask bench-m4` prints the sign with both
//! kernels; the bench image checks that they agree on random rows and on a
//! whole signature.
//!
//! [`RsaKernel::mac_row2`]: tamga_firmware::crypto::RsaKernel::mac_row2

use tamga_firmware::crypto::Word;

/// [`tamga_firmware::crypto::mac_row2`] on the assembly loop (every caller in
/// the firmware has an even `x.len()` and a row of `x.len() + 2` words;
/// anything else takes the portable code). The board's word is 32 bits.
#[inline(always)]
pub fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
    tamga_gost::kernel::mac_row2(row, x, k1, k2, carry, ext)
}
