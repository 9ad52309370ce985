//! The multiply-accumulate kernel under the field products (and, on the
//! Cortex-M4 board, under RSA): two rows of 32-bit word products per pass,
//! `row += x·k1 + x·k2·2^32 + carry + ext·2^(32·n)`; whole field operations
//! for both curves' fields ([`fe256_mul`], [`fe256_add`], [`fe256_sub`]
//! modulo 2^256 − c; [`fe512_mul`], [`fe512_add`], [`fe512_sub`] modulo
//! 2^512 − c), unrolled in assembly on ARMv7E-M, where the generic code
//! spent over half of a product outside its word products and most of a
//! sum in loop and copy overhead (135 and 478 instructions for the products
//! with their reduction instead of about 440 and 1,070; 28 and 62 for a sum
//! or difference instead of about 140 and 250); and the comb's constant-time
//! table scan ([`select31`]).
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
//! Cortex-M4 whatever its operands. The 256-bit routines have no branch at
//! all and fixed addresses; their carries are folded by masks and by MUL
//! (one cycle on the Cortex-M4).

use crate::field::{mac, split};
use subtle::ConstantTimeEq;

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

#[cfg(all(target_arch = "arm", feature = "armv7em"))]
mod asm256 {
    // `tamga_fe256_mul(out, a, b, c)`: out = a·b modulo 2^256 − c, reduced
    // exactly as `field::mul_mod` does. Two passes of 8 rows over four words
    // of b held in r3–r6 (a·b[0..4] into t[0..12], then t[4..16] +=
    // a·b[4..8]); a row is one word of a (two loaded by LDRD) times those
    // four words, a chain of UMAALs through a window of four accumulators
    // and a carry, the finished low word stored (pairs by STRD) to t on the
    // stack. In the second pass rows 4–7 start their carry with t[8..12] from
    // the first (the free addend of a UMAAL chain's first step). Then
    // t[0..8] + t[8..16]·c by a UMAAL chain, the carry times c added, and
    // a second carry times c added to word 0 (masked, no branch). 135
    // instructions; every address is a fixed offset from an argument or sp.
    //
    // Stack: t[0..16] at sp, then the pushed r0 (out), r1, r3 (c) at sp + 64,
    // + 68, + 72.
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe256_mul,\"ax\",%progbits",
        ".global tamga_fe256_mul",
        ".type tamga_fe256_mul,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe256_mul:",
        "push {{r0, r1, r3-r11, lr}}",
        "sub sp, sp, #64",
        "ldm r2!, {{r3, r4, r5, r6}}",
        "ldrd r7, lr, [r1]",
        "umull r8, r9, r7, r3",
        "mov.w r10, #0",
        "umaal r9, r10, r7, r4",
        "mov.w r11, #0",
        "umaal r10, r11, r7, r5",
        "mov.w r12, #0",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #0]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #8]",
        "ldrd r7, lr, [r1, #16]",
        "mov.w r10, #0",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "mov.w r11, #0",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #16]",
        "ldrd r7, lr, [r1, #24]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #24]",
        "strd r10, r11, [sp, #32]",
        "strd r12, r0, [sp, #40]",
        "ldm r2, {{r3, r4, r5, r6}}",
        "ldrd r8, r9, [sp, #16]",
        "ldrd r10, r11, [sp, #24]",
        "ldrd r7, lr, [r1]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #16]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #24]",
        "ldrd r7, lr, [r1, #16]",
        "ldr r10, [sp, #32]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #36]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #32]",
        "ldrd r7, lr, [r1, #24]",
        "ldr r12, [sp, #40]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #44]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "ldr lr, [sp, #72]",
        "ldm sp, {{r1, r2, r3, r4}}",
        "ldrd r5, r6, [sp, #32]",
        "mov.w r7, #0",
        "umaal r1, r7, r5, lr",
        "umaal r2, r7, r6, lr",
        "umaal r3, r7, r8, lr",
        "umaal r4, r7, r9, lr",
        "ldrd r5, r6, [sp, #16]",
        "ldrd r8, r9, [sp, #24]",
        "umaal r5, r7, r10, lr",
        "umaal r6, r7, r11, lr",
        "umaal r8, r7, r12, lr",
        "umaal r9, r7, r0, lr",
        "mul r7, r7, lr",
        "adds r1, r1, r7",
        "adcs r2, r2, #0",
        "adcs r3, r3, #0",
        "adcs r4, r4, #0",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r8, r8, #0",
        "adcs r9, r9, #0",
        "sbc r7, r7, r7",
        "bic r7, lr, r7",
        "add r1, r1, r7",
        "ldr r10, [sp, #64]",
        "stm r10, {{r1, r2, r3, r4, r5, r6, r8, r9}}",
        "add sp, sp, #64",
        "pop {{r0, r1, r3-r11, pc}}",
        ".size tamga_fe256_mul, . - tamga_fe256_mul",
        ".popsection",
    );

    // `tamga_fe256_add(out, a, b, c)` / `tamga_fe256_sub`: out = a ± b
    // modulo 2^256 − c as `field::add_mod` / `sub_mod`: an ADCS (SBCS) chain
    // over two LDMs of four words each, the carry (borrow) times c folded
    // in by a mask (SBC, then BIC or AND with c), then the second one into
    // word 0. 28 instructions, no branch.
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe256_add,\"ax\",%progbits",
        ".global tamga_fe256_add",
        ".type tamga_fe256_add,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe256_add:",
        "push {{r4-r11, lr}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "adds r4, r4, r8",
        "adcs r5, r5, r9",
        "adcs r6, r6, r10",
        "adcs r7, r7, r11",
        "ldm r1, {{r8, r9, r10, r11}}",
        "ldm r2, {{r1, r2, r12, lr}}",
        "adcs r8, r8, r1",
        "adcs r9, r9, r2",
        "adcs r10, r10, r12",
        "adcs r11, r11, lr",
        "sbc r1, r1, r1",
        "bic r1, r3, r1",
        "adds r4, r4, r1",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r7, r7, #0",
        "adcs r8, r8, #0",
        "adcs r9, r9, #0",
        "adcs r10, r10, #0",
        "adcs r11, r11, #0",
        "sbc r1, r1, r1",
        "bic r1, r3, r1",
        "add r4, r4, r1",
        "stm r0, {{r4-r11}}",
        "pop {{r4-r11, pc}}",
        ".size tamga_fe256_add, . - tamga_fe256_add",
        ".popsection",
    );
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe256_sub,\"ax\",%progbits",
        ".global tamga_fe256_sub",
        ".type tamga_fe256_sub,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe256_sub:",
        "push {{r4-r11, lr}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "subs r4, r4, r8",
        "sbcs r5, r5, r9",
        "sbcs r6, r6, r10",
        "sbcs r7, r7, r11",
        "ldm r1, {{r8, r9, r10, r11}}",
        "ldm r2, {{r1, r2, r12, lr}}",
        "sbcs r8, r8, r1",
        "sbcs r9, r9, r2",
        "sbcs r10, r10, r12",
        "sbcs r11, r11, lr",
        "sbc r1, r1, r1",
        "and r1, r3, r1",
        "subs r4, r4, r1",
        "sbcs r5, r5, #0",
        "sbcs r6, r6, #0",
        "sbcs r7, r7, #0",
        "sbcs r8, r8, #0",
        "sbcs r9, r9, #0",
        "sbcs r10, r10, #0",
        "sbcs r11, r11, #0",
        "sbc r1, r1, r1",
        "and r1, r3, r1",
        "sub r4, r4, r1",
        "stm r0, {{r4-r11}}",
        "pop {{r4-r11, pc}}",
        ".size tamga_fe256_sub, . - tamga_fe256_sub",
        ".popsection",
    );

    unsafe extern "C" {
        /// See the assembly above.
        pub(super) fn tamga_fe256_mul(
            out: *mut [u32; 8],
            a: *const [u32; 8],
            b: *const [u32; 8],
            c: u32,
        );
        /// See the assembly above.
        pub(super) fn tamga_fe256_add(
            out: *mut [u32; 8],
            a: *const [u32; 8],
            b: *const [u32; 8],
            c: u32,
        );
        /// See the assembly above.
        pub(super) fn tamga_fe256_sub(
            out: *mut [u32; 8],
            a: *const [u32; 8],
            b: *const [u32; 8],
            c: u32,
        );
    }
}

/// Calls one of the field routines on M-word elements (8 or 16): `out` is
/// written whole.
#[cfg(all(target_arch = "arm", feature = "armv7em"))]
#[inline(always)]
fn call<const M: usize>(
    f: unsafe extern "C" fn(*mut [u32; M], *const [u32; M], *const [u32; M], u32),
    a: &[u32; M],
    b: &[u32; M],
    c: u32,
) -> [u32; M] {
    let mut out = core::mem::MaybeUninit::<[u32; M]>::uninit();
    // SAFETY: the routine reads the M words of a and of b, writes the M
    // words of out (a fresh local, so no overlap with a or b), preserves
    // r4–r11, lr and sp (AAPCS) and touches only its own stack frame
    // besides; so out is fully initialised when it returns.
    unsafe {
        f(out.as_mut_ptr(), a, b, c);
        out.assume_init()
    }
}

/// `a · b` modulo 2^256 − c for c below 2^16, as [`fe256_mul_portable`]
/// gives it (below 2^256, not always below the modulus): the unrolled
/// UMAAL assembly on ARMv7E-M (feature `armv7em`), the portable code
/// elsewhere. Constant-time.
#[inline(always)]
pub fn fe256_mul(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm256::tamga_fe256_mul, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe256_mul_portable(a, b, c)
    }
}

/// `a + b` modulo 2^256 − c for c below 2^16, as [`fe256_add_portable`]
/// gives it: assembly on ARMv7E-M (feature `armv7em`). Constant-time.
#[inline(always)]
pub fn fe256_add(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm256::tamga_fe256_add, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe256_add_portable(a, b, c)
    }
}

/// `a − b` modulo 2^256 − c for c below 2^16, as [`fe256_sub_portable`]
/// gives it: assembly on ARMv7E-M (feature `armv7em`). Constant-time.
#[inline(always)]
pub fn fe256_sub(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm256::tamga_fe256_sub, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe256_sub_portable(a, b, c)
    }
}

/// The portable field product for 8 words (the one every N uses): what
/// [`fe256_mul`] must give, for the board's check of its assembly.
pub fn fe256_mul_portable(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    crate::field::mul_mod(a, b, c)
}

/// The portable field sum for 8 words: what [`fe256_add`] must give.
pub fn fe256_add_portable(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    crate::field::add_mod(a, b, c)
}

/// The portable field difference for 8 words: what [`fe256_sub`] must give.
pub fn fe256_sub_portable(a: &[u32; 8], b: &[u32; 8], c: u32) -> [u32; 8] {
    crate::field::sub_mod(a, b, c)
}

#[cfg(all(target_arch = "arm", feature = "armv7em"))]
mod asm512 {
    // `tamga_fe512_mul(out, a, b, c)`: out = a·b modulo 2^512 − c, reduced
    // exactly as `field::mul_mod` does: the rows of `tamga_fe256_mul` in
    // four passes over quads of b (t[4k..4k + 20] += a·b[4k..4k + 4]; in
    // passes 1–3, rows 4–15 start their carry with the word of t the pass
    // before left there), t[0..32] on the stack; then t[0..16] +
    // t[16..32]·c in chunks of four stored to out, the carry times c added
    // through out, and the second carry times c into word 0 (masked). 478
    // instructions, no branch, fixed addresses.
    //
    // Stack: t[0..32] at sp, then the pushed r0 (out), r1, r3 (c) at
    // sp + 128, + 132, + 136.
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe512_mul,\"ax\",%progbits",
        ".global tamga_fe512_mul",
        ".type tamga_fe512_mul,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe512_mul:",
        "push {{r0, r1, r3-r11, lr}}",
        "sub sp, sp, #128",
        "ldm r2!, {{r3, r4, r5, r6}}",
        "ldrd r7, lr, [r1]",
        "umull r8, r9, r7, r3",
        "mov.w r10, #0",
        "umaal r9, r10, r7, r4",
        "mov.w r11, #0",
        "umaal r10, r11, r7, r5",
        "mov.w r12, #0",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #0]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #8]",
        "ldrd r7, lr, [r1, #16]",
        "mov.w r10, #0",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "mov.w r11, #0",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #16]",
        "ldrd r7, lr, [r1, #24]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #24]",
        "ldrd r7, lr, [r1, #32]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #32]",
        "ldrd r7, lr, [r1, #40]",
        "mov.w r10, #0",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "mov.w r11, #0",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #40]",
        "ldrd r7, lr, [r1, #48]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #48]",
        "ldrd r7, lr, [r1, #56]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #56]",
        "strd r12, r0, [sp, #64]",
        "strd r8, r9, [sp, #72]",
        "ldm r2!, {{r3, r4, r5, r6}}",
        "ldrd r8, r9, [sp, #16]",
        "ldrd r10, r11, [sp, #24]",
        "ldrd r7, lr, [r1, #0]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #16]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #24]",
        "ldrd r7, lr, [r1, #16]",
        "ldr r10, [sp, #32]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #36]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #32]",
        "ldrd r7, lr, [r1, #24]",
        "ldr r12, [sp, #40]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #44]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #40]",
        "ldrd r7, lr, [r1, #32]",
        "ldr r8, [sp, #48]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #52]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #48]",
        "ldrd r7, lr, [r1, #40]",
        "ldr r10, [sp, #56]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #60]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #56]",
        "ldrd r7, lr, [r1, #48]",
        "ldr r12, [sp, #64]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #68]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #64]",
        "ldrd r7, lr, [r1, #56]",
        "ldr r8, [sp, #72]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #76]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #72]",
        "strd r12, r0, [sp, #80]",
        "strd r8, r9, [sp, #88]",
        "ldm r2!, {{r3, r4, r5, r6}}",
        "ldrd r8, r9, [sp, #32]",
        "ldrd r10, r11, [sp, #40]",
        "ldrd r7, lr, [r1, #0]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #32]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #40]",
        "ldrd r7, lr, [r1, #16]",
        "ldr r10, [sp, #48]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #52]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #48]",
        "ldrd r7, lr, [r1, #24]",
        "ldr r12, [sp, #56]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #60]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #56]",
        "ldrd r7, lr, [r1, #32]",
        "ldr r8, [sp, #64]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #68]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #64]",
        "ldrd r7, lr, [r1, #40]",
        "ldr r10, [sp, #72]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #76]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #72]",
        "ldrd r7, lr, [r1, #48]",
        "ldr r12, [sp, #80]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #84]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #80]",
        "ldrd r7, lr, [r1, #56]",
        "ldr r8, [sp, #88]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #92]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #88]",
        "strd r12, r0, [sp, #96]",
        "strd r8, r9, [sp, #104]",
        "ldm r2!, {{r3, r4, r5, r6}}",
        "ldrd r8, r9, [sp, #48]",
        "ldrd r10, r11, [sp, #56]",
        "ldrd r7, lr, [r1, #0]",
        "mov.w r12, #0",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "mov.w r0, #0",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #48]",
        "ldrd r7, lr, [r1, #8]",
        "mov.w r8, #0",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "mov.w r9, #0",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #56]",
        "ldrd r7, lr, [r1, #16]",
        "ldr r10, [sp, #64]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #68]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #64]",
        "ldrd r7, lr, [r1, #24]",
        "ldr r12, [sp, #72]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #76]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #72]",
        "ldrd r7, lr, [r1, #32]",
        "ldr r8, [sp, #80]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #84]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #80]",
        "ldrd r7, lr, [r1, #40]",
        "ldr r10, [sp, #88]",
        "umaal r12, r10, r7, r3",
        "umaal r0, r10, r7, r4",
        "umaal r8, r10, r7, r5",
        "umaal r9, r10, r7, r6",
        "ldr r11, [sp, #92]",
        "umaal r0, r11, lr, r3",
        "umaal r8, r11, lr, r4",
        "umaal r9, r11, lr, r5",
        "umaal r10, r11, lr, r6",
        "strd r12, r0, [sp, #88]",
        "ldrd r7, lr, [r1, #48]",
        "ldr r12, [sp, #96]",
        "umaal r8, r12, r7, r3",
        "umaal r9, r12, r7, r4",
        "umaal r10, r12, r7, r5",
        "umaal r11, r12, r7, r6",
        "ldr r0, [sp, #100]",
        "umaal r9, r0, lr, r3",
        "umaal r10, r0, lr, r4",
        "umaal r11, r0, lr, r5",
        "umaal r12, r0, lr, r6",
        "strd r8, r9, [sp, #96]",
        "ldrd r7, lr, [r1, #56]",
        "ldr r8, [sp, #104]",
        "umaal r10, r8, r7, r3",
        "umaal r11, r8, r7, r4",
        "umaal r12, r8, r7, r5",
        "umaal r0, r8, r7, r6",
        "ldr r9, [sp, #108]",
        "umaal r11, r9, lr, r3",
        "umaal r12, r9, lr, r4",
        "umaal r0, r9, lr, r5",
        "umaal r8, r9, lr, r6",
        "strd r10, r11, [sp, #104]",
        "strd r12, r0, [sp, #112]",
        "strd r8, r9, [sp, #120]",
        "ldr lr, [sp, #136]",
        "ldr r0, [sp, #128]",
        "mov.w r12, #0",
        "ldrd r1, r2, [sp, #0]",
        "ldrd r3, r4, [sp, #8]",
        "ldrd r5, r6, [sp, #64]",
        "ldrd r7, r8, [sp, #72]",
        "umaal r1, r12, r5, lr",
        "umaal r2, r12, r6, lr",
        "umaal r3, r12, r7, lr",
        "umaal r4, r12, r8, lr",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldrd r1, r2, [sp, #16]",
        "ldrd r3, r4, [sp, #24]",
        "ldrd r5, r6, [sp, #80]",
        "ldrd r7, r8, [sp, #88]",
        "umaal r1, r12, r5, lr",
        "umaal r2, r12, r6, lr",
        "umaal r3, r12, r7, lr",
        "umaal r4, r12, r8, lr",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldrd r1, r2, [sp, #32]",
        "ldrd r3, r4, [sp, #40]",
        "ldrd r5, r6, [sp, #96]",
        "ldrd r7, r8, [sp, #104]",
        "umaal r1, r12, r5, lr",
        "umaal r2, r12, r6, lr",
        "umaal r3, r12, r7, lr",
        "umaal r4, r12, r8, lr",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldrd r1, r2, [sp, #48]",
        "ldrd r3, r4, [sp, #56]",
        "ldrd r5, r6, [sp, #112]",
        "ldrd r7, r8, [sp, #120]",
        "umaal r1, r12, r5, lr",
        "umaal r2, r12, r6, lr",
        "umaal r3, r12, r7, lr",
        "umaal r4, r12, r8, lr",
        "stm r0!, {{r1, r2, r3, r4}}",
        "mul r12, r12, lr",
        "sub r0, r0, #64",
        "ldm r0, {{r1, r2, r3, r4}}",
        "adds r1, r1, r12",
        "adcs r2, r2, #0",
        "adcs r3, r3, #0",
        "adcs r4, r4, #0",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldm r0, {{r1, r2, r3, r4}}",
        "adcs r1, r1, #0",
        "adcs r2, r2, #0",
        "adcs r3, r3, #0",
        "adcs r4, r4, #0",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldm r0, {{r1, r2, r3, r4}}",
        "adcs r1, r1, #0",
        "adcs r2, r2, #0",
        "adcs r3, r3, #0",
        "adcs r4, r4, #0",
        "stm r0!, {{r1, r2, r3, r4}}",
        "ldm r0, {{r1, r2, r3, r4}}",
        "adcs r1, r1, #0",
        "adcs r2, r2, #0",
        "adcs r3, r3, #0",
        "adcs r4, r4, #0",
        "stm r0!, {{r1, r2, r3, r4}}",
        "sbc r12, r12, r12",
        "bic r12, lr, r12",
        "ldr r1, [r0, #-64]",
        "add r1, r1, r12",
        "str r1, [r0, #-64]",
        "add sp, sp, #128",
        "pop {{r0, r1, r3-r11, pc}}",
        ".size tamga_fe512_mul, . - tamga_fe512_mul",
        ".popsection",
    );

    // `tamga_fe512_add(out, a, b, c)` / `tamga_fe512_sub`: out = a ± b
    // modulo 2^512 − c as `field::add_mod` / `sub_mod`: the ADCS (SBCS)
    // chain in four LDM/STM chunks into out, the carry (borrow) times c by
    // a mask added through out, the second one into word 0. 62
    // instructions, no branch.
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe512_add,\"ax\",%progbits",
        ".global tamga_fe512_add",
        ".type tamga_fe512_add,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe512_add:",
        "push {{r4-r11, lr}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "adds r4, r4, r8",
        "adcs r5, r5, r9",
        "adcs r6, r6, r10",
        "adcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "adcs r4, r4, r8",
        "adcs r5, r5, r9",
        "adcs r6, r6, r10",
        "adcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "adcs r4, r4, r8",
        "adcs r5, r5, r9",
        "adcs r6, r6, r10",
        "adcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "adcs r4, r4, r8",
        "adcs r5, r5, r9",
        "adcs r6, r6, r10",
        "adcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "sbc r1, r1, r1",
        "bic r1, r3, r1",
        "sub r0, r0, #64",
        "ldm r0, {{r4, r5, r6, r7}}",
        "adds r4, r4, r1",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "adcs r4, r4, #0",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "adcs r4, r4, #0",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "adcs r4, r4, #0",
        "adcs r5, r5, #0",
        "adcs r6, r6, #0",
        "adcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "sbc r1, r1, r1",
        "bic r1, r3, r1",
        "ldr r4, [r0, #-64]",
        "add r4, r4, r1",
        "str r4, [r0, #-64]",
        "pop {{r4-r11, pc}}",
        ".size tamga_fe512_add, . - tamga_fe512_add",
        ".popsection",
    );
    core::arch::global_asm!(
        ".pushsection .text.tamga_fe512_sub,\"ax\",%progbits",
        ".global tamga_fe512_sub",
        ".type tamga_fe512_sub,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_fe512_sub:",
        "push {{r4-r11, lr}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "subs r4, r4, r8",
        "sbcs r5, r5, r9",
        "sbcs r6, r6, r10",
        "sbcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "sbcs r4, r4, r8",
        "sbcs r5, r5, r9",
        "sbcs r6, r6, r10",
        "sbcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "sbcs r4, r4, r8",
        "sbcs r5, r5, r9",
        "sbcs r6, r6, r10",
        "sbcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r1!, {{r4, r5, r6, r7}}",
        "ldm r2!, {{r8, r9, r10, r11}}",
        "sbcs r4, r4, r8",
        "sbcs r5, r5, r9",
        "sbcs r6, r6, r10",
        "sbcs r7, r7, r11",
        "stm r0!, {{r4, r5, r6, r7}}",
        "sbc r1, r1, r1",
        "and r1, r3, r1",
        "sub r0, r0, #64",
        "ldm r0, {{r4, r5, r6, r7}}",
        "subs r4, r4, r1",
        "sbcs r5, r5, #0",
        "sbcs r6, r6, #0",
        "sbcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "sbcs r4, r4, #0",
        "sbcs r5, r5, #0",
        "sbcs r6, r6, #0",
        "sbcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "sbcs r4, r4, #0",
        "sbcs r5, r5, #0",
        "sbcs r6, r6, #0",
        "sbcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "ldm r0, {{r4, r5, r6, r7}}",
        "sbcs r4, r4, #0",
        "sbcs r5, r5, #0",
        "sbcs r6, r6, #0",
        "sbcs r7, r7, #0",
        "stm r0!, {{r4, r5, r6, r7}}",
        "sbc r1, r1, r1",
        "and r1, r3, r1",
        "ldr r4, [r0, #-64]",
        "sub r4, r4, r1",
        "str r4, [r0, #-64]",
        "pop {{r4-r11, pc}}",
        ".size tamga_fe512_sub, . - tamga_fe512_sub",
        ".popsection",
    );

    unsafe extern "C" {
        /// See the assembly above.
        pub(super) fn tamga_fe512_mul(
            out: *mut [u32; 16],
            a: *const [u32; 16],
            b: *const [u32; 16],
            c: u32,
        );
        /// See the assembly above.
        pub(super) fn tamga_fe512_add(
            out: *mut [u32; 16],
            a: *const [u32; 16],
            b: *const [u32; 16],
            c: u32,
        );
        /// See the assembly above.
        pub(super) fn tamga_fe512_sub(
            out: *mut [u32; 16],
            a: *const [u32; 16],
            b: *const [u32; 16],
            c: u32,
        );
    }
}

/// `a · b` modulo 2^512 − c for c below 2^16, as [`fe512_mul_portable`]
/// gives it (below 2^512, not always below the modulus): unrolled UMAAL
/// assembly on ARMv7E-M (feature `armv7em`), the portable code elsewhere.
/// Constant-time.
#[inline(always)]
pub fn fe512_mul(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm512::tamga_fe512_mul, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe512_mul_portable(a, b, c)
    }
}

/// `a + b` modulo 2^512 − c for c below 2^16, as [`fe512_add_portable`]
/// gives it: assembly on ARMv7E-M (feature `armv7em`). Constant-time.
#[inline(always)]
pub fn fe512_add(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm512::tamga_fe512_add, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe512_add_portable(a, b, c)
    }
}

/// `a − b` modulo 2^512 − c for c below 2^16, as [`fe512_sub_portable`]
/// gives it: assembly on ARMv7E-M (feature `armv7em`). Constant-time.
#[inline(always)]
pub fn fe512_sub(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        call(asm512::tamga_fe512_sub, a, b, c)
    }
    #[cfg(not(all(target_arch = "arm", feature = "armv7em")))]
    {
        fe512_sub_portable(a, b, c)
    }
}

/// The portable field product for 16 words: what [`fe512_mul`] must give.
pub fn fe512_mul_portable(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    crate::field::mul_mod(a, b, c)
}

/// The portable field sum for 16 words: what [`fe512_add`] must give.
pub fn fe512_add_portable(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    crate::field::add_mod(a, b, c)
}

/// The portable field difference for 16 words: what [`fe512_sub`] must
/// give.
pub fn fe512_sub_portable(a: &[u32; 16], b: &[u32; 16], c: u32) -> [u32; 16] {
    crate::field::sub_mod(a, b, c)
}

#[cfg(all(target_arch = "arm", feature = "armv7em"))]
mod select_asm {
    // `tamga_select31_<w>(out, table, idx)`: out[..w] = the entry idx − 1 of
    // a table of 31 entries of w words (zeros for idx 0 or above 31), every
    // entry read. For each chunk of eight words: eight accumulators, and for
    // entry j = 1..=31 the bit [idx − j = 0] as CLZ(idx − j) >> 5, added in
    // as acc += word·bit (MLA, one cycle on the Cortex-M4); the entry's
    // words by LDRD, the last one post-indexed by the entry's size. 17
    // instructions per entry and chunk; the branches count entries and
    // chunks only, every address is the table plus a position.
    //
    // Stack: the pushed r0 (out, advanced by a chunk), r1 (the chunk's
    // first word in entry 1), r2 (idx), r3 (chunks left).
    core::arch::global_asm!(
        ".pushsection .text.tamga_select31_16,\"ax\",%progbits",
        ".global tamga_select31_16",
        ".type tamga_select31_16,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_select31_16:",
        "movs r3, #2",
        "push {{r0-r11, lr}}",
        "1:",
        "ldr r1, [sp, #4]",
        "ldr r3, [sp, #8]",
        "sub r3, r3, #1",
        "movs r2, #31",
        "mov.w r4, #0",
        "mov.w r5, #0",
        "mov.w r6, #0",
        "mov.w r7, #0",
        "mov.w r8, #0",
        "mov.w r9, #0",
        "mov.w r10, #0",
        "mov.w r11, #0",
        "2:",
        "clz r0, r3",
        "lsr r0, r0, #5",
        "sub r3, r3, #1",
        "ldrd r12, lr, [r1, #8]",
        "mla r6, r12, r0, r6",
        "mla r7, lr, r0, r7",
        "ldrd r12, lr, [r1, #16]",
        "mla r8, r12, r0, r8",
        "mla r9, lr, r0, r9",
        "ldrd r12, lr, [r1, #24]",
        "mla r10, r12, r0, r10",
        "mla r11, lr, r0, r11",
        "ldrd r12, lr, [r1], #64",
        "mla r4, r12, r0, r4",
        "mla r5, lr, r0, r5",
        "subs r2, r2, #1",
        "bne 2b",
        "ldr r0, [sp]",
        "stm r0!, {{r4-r11}}",
        "str r0, [sp]",
        "ldr r1, [sp, #4]",
        "add r1, r1, #32",
        "str r1, [sp, #4]",
        "ldr r3, [sp, #12]",
        "subs r3, r3, #1",
        "str r3, [sp, #12]",
        "bne 1b",
        "add sp, sp, #16",
        "pop {{r4-r11, pc}}",
        ".size tamga_select31_16, . - tamga_select31_16",
        ".popsection",
    );
    core::arch::global_asm!(
        ".pushsection .text.tamga_select31_32,\"ax\",%progbits",
        ".global tamga_select31_32",
        ".type tamga_select31_32,%function",
        ".syntax unified",
        ".thumb_func",
        "tamga_select31_32:",
        "movs r3, #4",
        "push {{r0-r11, lr}}",
        "1:",
        "ldr r1, [sp, #4]",
        "ldr r3, [sp, #8]",
        "sub r3, r3, #1",
        "movs r2, #31",
        "mov.w r4, #0",
        "mov.w r5, #0",
        "mov.w r6, #0",
        "mov.w r7, #0",
        "mov.w r8, #0",
        "mov.w r9, #0",
        "mov.w r10, #0",
        "mov.w r11, #0",
        "2:",
        "clz r0, r3",
        "lsr r0, r0, #5",
        "sub r3, r3, #1",
        "ldrd r12, lr, [r1, #8]",
        "mla r6, r12, r0, r6",
        "mla r7, lr, r0, r7",
        "ldrd r12, lr, [r1, #16]",
        "mla r8, r12, r0, r8",
        "mla r9, lr, r0, r9",
        "ldrd r12, lr, [r1, #24]",
        "mla r10, r12, r0, r10",
        "mla r11, lr, r0, r11",
        "ldrd r12, lr, [r1], #128",
        "mla r4, r12, r0, r4",
        "mla r5, lr, r0, r5",
        "subs r2, r2, #1",
        "bne 2b",
        "ldr r0, [sp]",
        "stm r0!, {{r4-r11}}",
        "str r0, [sp]",
        "ldr r1, [sp, #4]",
        "add r1, r1, #32",
        "str r1, [sp, #4]",
        "ldr r3, [sp, #12]",
        "subs r3, r3, #1",
        "str r3, [sp, #12]",
        "bne 1b",
        "add sp, sp, #16",
        "pop {{r4-r11, pc}}",
        ".size tamga_select31_32, . - tamga_select31_32",
        ".popsection",
    );

    unsafe extern "C" {
        /// See the assembly above.
        pub(super) fn tamga_select31_16(out: *mut u32, table: *const u32, idx: u32);
        /// See the assembly above.
        pub(super) fn tamga_select31_32(out: *mut u32, table: *const u32, idx: u32);
    }
}

/// Entries in a table that [`select31`] scans (the comb's
/// [`crate::COMB_POINTS`]).
pub const SELECT_ENTRIES: usize = 31;
const _: () = assert!(SELECT_ENTRIES == crate::COMB_POINTS);

/// `out` = entry `idx − 1` of `table`, [`SELECT_ENTRIES`] entries of
/// `out.len()` words one after the other (zeros for idx 0 or above 31), in
/// constant time: every word of the table is read, whatever idx. The
/// assembly on ARMv7E-M (feature `armv7em`) for entries of 16 or 32 words
/// (the comb points of both curves), [`select31_portable`] otherwise or
/// when `table` is not exactly 31 entries long.
#[inline(always)]
pub fn select31(table: &[u32], idx: u32, out: &mut [u32]) {
    #[cfg(all(target_arch = "arm", feature = "armv7em"))]
    {
        let w = out.len();
        if table.len() == SELECT_ENTRIES * w && (w == 16 || w == 32) {
            // SAFETY: table holds 31 entries of w words and out w words, as
            // the routine reads and writes; it preserves r4–r11, lr and sp
            // (AAPCS) and touches only its own stack frame besides.
            unsafe {
                if w == 16 {
                    select_asm::tamga_select31_16(out.as_mut_ptr(), table.as_ptr(), idx);
                } else {
                    select_asm::tamga_select31_32(out.as_mut_ptr(), table.as_ptr(), idx);
                }
            }
            return;
        }
    }
    select31_portable(table, idx, out);
}

/// The portable [`select31`]: a mask per entry (all ones for the one whose
/// number j = 1..=31 is idx), every word of every entry masked and ORed in.
#[inline(always)]
pub fn select31_portable(table: &[u32], idx: u32, out: &mut [u32]) {
    out.fill(0);
    let w = out.len();
    if w == 0 {
        return;
    }
    let mut masks = [0u32; SELECT_ENTRIES];
    for (j, m) in (1u32..).zip(masks.iter_mut()) {
        *m = 0u32.wrapping_sub(u32::from(j.ct_eq(&idx).unwrap_u8()));
    }
    for (entry, &m) in table.chunks_exact(w).zip(&masks) {
        for (o, v) in out.iter_mut().zip(entry) {
            *o |= v & m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SELECT_ENTRIES, select31};

    #[test]
    fn select31_picks_entry_idx_minus_one() {
        for w in [16usize, 32, 3] {
            let mut table = [0u32; 31 * 32];
            let mut x = 0x9E37_79B9u32;
            for v in table.iter_mut() {
                x = x.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F);
                *v = x;
            }
            let t = &table[..SELECT_ENTRIES * w];
            for idx in 0..40u32 {
                let mut out = [7u32; 32];
                select31(t, idx, &mut out[..w]);
                let want: &[u32] = match idx {
                    1..=31 => &t[(idx as usize - 1) * w..idx as usize * w],
                    _ => &[0; 32][..w],
                };
                assert_eq!(&out[..w], want, "w {w}, idx {idx}");
            }
        }
    }
}
