//! The RSA multiply-accumulate kernel ([`RsaKernel::mac_row2`]) in Thumb-2
//! assembly: two rows of word products per pass, each word of `x` and of the
//! row loaded and the row stored once per two UMAALs, with `LDM`/`STM` of two
//! words and the loop unrolled to four words. About two instructions per word
//! product against about four for the portable Rust loop at opt-level "s"
//! (which spills its carries and multipliers in the square). `cargo xtask
//! bench-m4` prints the sign with both kernels; the bench image checks that
//! they agree on random rows and on a whole signature.
//!
//! Constant-time: the only branches depend on the length (public); every
//! address is the row or `x` plus a position; UMAAL takes one cycle on the
//! Cortex-M4 whatever its operands.
//!
//! [`RsaKernel::mac_row2`]: tamga_firmware::crypto::RsaKernel::mac_row2

use tamga_firmware::crypto::{self, Word};

// `tamga_mac2(row, x, n, state)`: for j in 0..n (n even, x[-1] = 0),
// row[j] += x[j]·k1 + h + x[j − 1]·k2 + g with the two carries h (the k1 row)
// and g (the k2 row). In: state = [k1, k2, h]; out: state = [g, h, x[n − 1]]
// (x[-1] = 0 for n = 0).
//
// r0 row, r1 x, r2 count of four-word steps, r3 g, r4 k1, r5 k2, r6 h,
// r7–r10 x[j..j + 4], r11 r12 two words of the row. n ≡ 2 (mod 4) enters the
// loop at its second half with x[-1] in r8.
core::arch::global_asm!(
    ".pushsection .text.tamga_mac2,\"ax\",%progbits",
    ".global tamga_mac2",
    ".type tamga_mac2,%function",
    ".syntax unified",
    ".thumb_func",
    "tamga_mac2:",
    "push {{r3-r11, lr}}",
    "ldm r3, {{r4, r5, r6}}",
    "movs r3, #0",
    "mov.w r8, #0",
    "mov.w r10, #0",
    "cmp r2, #0",
    "beq 3f",
    "tst r2, #2",
    "add.w r2, r2, #2",
    "lsr.w r2, r2, #2",
    "bne 2f",
    "1:",
    "ldmia r1!, {{r7, r8}}",
    "ldmia r0, {{r11, r12}}",
    "umaal r11, r6, r7, r4",
    "umaal r11, r3, r10, r5",
    "umaal r12, r6, r8, r4",
    "umaal r12, r3, r7, r5",
    "stmia r0!, {{r11, r12}}",
    "2:",
    "ldmia r1!, {{r9, r10}}",
    "ldmia r0, {{r11, r12}}",
    "umaal r11, r6, r9, r4",
    "umaal r11, r3, r8, r5",
    "umaal r12, r6, r10, r4",
    "umaal r12, r3, r9, r5",
    "stmia r0!, {{r11, r12}}",
    "subs r2, r2, #1",
    "bne 1b",
    "3:",
    "ldr r7, [sp]",
    "stm r7, {{r3, r6, r10}}",
    "pop {{r3-r11, pc}}",
    ".size tamga_mac2, . - tamga_mac2",
    ".popsection",
);

unsafe extern "C" {
    /// See the assembly above.
    fn tamga_mac2(row: *mut Word, x: *const Word, n: usize, state: *mut [Word; 3]);
}

/// [`crypto::mac_row2`] on the assembly loop for an even `x.len()` and a row
/// of `x.len() + 2` words (every caller in the firmware); anything else takes
/// the portable code.
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "the word sums split into low and high words on purpose"
)]
pub fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
    let n = x.len();
    if !n.is_multiple_of(2) || row.len() != n + 2 {
        return crypto::mac_row2(row, x, k1, k2, carry, ext);
    }
    let Some((top, rest)) = row.split_last_mut() else {
        return 0;
    };
    let Some((below, body)) = rest.split_last_mut() else {
        return 0;
    };
    let mut state = [k1, k2, carry];
    // SAFETY: `body` and `x` are both n words (n even, as the loop needs);
    // the assembly reads x[..n] and state, reads and writes body[..n] and
    // state, preserves r4–r11 and the stack (AAPCS), and touches nothing
    // else. The slices do not overlap (one is borrowed mutably).
    unsafe { tamga_mac2(body.as_mut_ptr(), x.as_ptr(), n, &mut state) };
    let [c2, c1, prev] = state;
    // Word n: the last x·k2 product, both carries and ext; then word n + 1.
    let wide = |v: Word| u64::from(v);
    let t = wide(prev) * wide(k2) + wide(*below) + wide(c2);
    let (s, g) = (t as Word, (t >> Word::BITS) as Word);
    let t = wide(s) + wide(c1) + wide(ext);
    *below = t as Word;
    let t = wide(*top) + wide(g) + (t >> Word::BITS);
    *top = t as Word;
    (t >> Word::BITS) as Word
}
