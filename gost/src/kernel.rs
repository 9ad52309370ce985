//! The multiply-accumulate kernel under the field products (and, on the
//! Cortex-M4 board, under RSA): two rows of 32-bit word products per pass,
//! `row += x·k1 + x·k2·2^32 + carry + ext·2^(32·n)`.
//!
//! On ARMv7E-M (the DSP extension: UMAAL; stable Rust cannot test for it, so
//! the board says so with the crate feature `armv7em`) it is Thumb-2 assembly, each word
//! of `x` and of the row loaded and the row stored once per two UMAALs, with
//! `LDM`/`STM` of two words and the loop unrolled to four words: about two
//! instructions per word product against about four for the portable loop at
//! opt-level "s" (which spills its carries and multipliers). Elsewhere, and
//! for odd lengths, the portable loop. The bench image checks that the two
//! agree on random rows and on whole signatures.
//!
//! Constant-time: the only branches depend on the length (public); every
//! address is the row or `x` plus a position; UMAAL takes one cycle on the
//! Cortex-M4 whatever its operands.

use crate::field::{mac, split};

/// The portable kernel: `row += x·k1 + x·k2·2^32 + carry + ext·2^(32·n)` for
/// `n = x.len()` and a `row` of n + 2 words (a shorter row takes only the
/// words it has); returns the carry out of word n + 1 (0 or 1 whenever the
/// caller's bounds keep the sum in n + 3 words).
#[inline(always)]
pub fn mac_row2_portable(
    row: &mut [u32],
    x: &[u32],
    k1: u32,
    k2: u32,
    carry: u32,
    ext: u32,
) -> u32 {
    let n = x.len();
    let Some((body, top)) = (n <= row.len()).then(|| row.split_at_mut(n)) else {
        return 0;
    };
    let (mut c1, mut c2, mut prev) = (carry, 0u32, 0u32);
    let mut rows = body.chunks_exact_mut(4);
    let mut xs = x.chunks_exact(4);
    for (r, v) in (&mut rows).zip(&mut xs) {
        if let ([r0, r1, r2, r3], [v0, v1, v2, v3]) = (r, v) {
            let (s, h) = mac(*v0, k1, *r0, c1);
            let (s, g) = mac(prev, k2, s, c2);
            *r0 = s;
            let (s, h) = mac(*v1, k1, *r1, h);
            let (s, g) = mac(*v0, k2, s, g);
            *r1 = s;
            let (s, h) = mac(*v2, k1, *r2, h);
            let (s, g) = mac(*v1, k2, s, g);
            *r2 = s;
            let (s, h) = mac(*v3, k1, *r3, h);
            let (s, g) = mac(*v2, k2, s, g);
            *r3 = s;
            (c1, c2, prev) = (h, g, *v3);
        }
    }
    for (r, &v) in rows.into_remainder().iter_mut().zip(xs.remainder()) {
        let (s, h) = mac(v, k1, *r, c1);
        let (s, g) = mac(prev, k2, s, c2);
        *r = s;
        (c1, c2, prev) = (h, g, v);
    }
    top_words(top, prev, k2, c1, c2, ext)
}

/// Words n and n + 1 of a two-row pass: the last x·k2 product, both carries
/// and ext; returns the carry out of word n + 1.
#[inline(always)]
fn top_words(top: &mut [u32], prev: u32, k2: u32, c1: u32, c2: u32, ext: u32) -> u32 {
    let [below, above, ..] = top else { return 0 };
    let (s, g) = mac(prev, k2, *below, c2);
    let (s, k) = split(u64::from(s) + u64::from(c1) + u64::from(ext));
    *below = s;
    let (s, k) = split(u64::from(*above) + u64::from(g) + u64::from(k));
    *above = s;
    k
}

#[cfg(all(target_arch = "arm", feature = "armv7em"))]
mod asm {
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
        pub(super) fn tamga_mac2(row: *mut u32, x: *const u32, n: usize, state: *mut [u32; 3]);
    }
}

/// [`mac_row2_portable`]'s results, on the assembly loop where there is one
/// (feature `armv7em` on ARM, an even `x.len()`, a row of exactly
/// `x.len() + 2` words).
#[inline(always)]
pub fn mac_row2(row: &mut [u32], x: &[u32], k1: u32, k2: u32, carry: u32, ext: u32) -> u32 {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        let n = x.len();
        if n.is_multiple_of(2) && row.len() == n + 2 {
            let (body, top) = row.split_at_mut(n);
            let mut state = [k1, k2, carry];
            // SAFETY: `body` and `x` are both n words (n even, as the loop
            // needs); the assembly reads x[..n] and state, reads and writes
            // body[..n] and state, preserves r4–r11 and the stack (AAPCS),
            // and touches nothing else. The slices do not overlap (one is
            // borrowed mutably).
            unsafe { asm::tamga_mac2(body.as_mut_ptr(), x.as_ptr(), n, &mut state) };
            let [c2, c1, prev] = state;
            return top_words(top, prev, k2, c1, c2, ext);
        }
    }
    mac_row2_portable(row, x, k1, k2, carry, ext)
}
