//! Stack high-water mark by stack painting.
//!
//! `cortex-m-rt` (feature `paint-stack`) fills the whole stack region, from
//! the end of `.bss`/`.uninit` (`_stack_end`) to the top of RAM
//! (`_stack_start`), with `0xCCCC_CCCC` before `main`. The deepest point the
//! stack reached is the lowest word that no longer holds the pattern.
//! [`repaint`] restores the pattern below the current frame, so that the
//! mark of the serving loop can be told apart from that of the boot.

use core::ptr;

use cortex_m_rt::STACK_PAINT_VALUE;

// Bounds of the stack region, defined by cortex-m-rt's `link.x`; only their
// addresses are used.
unsafe extern "C" {
    static _stack_end: u32;
    static _stack_start: u32;
}

fn bounds() -> (usize, usize) {
    (
        (&raw const _stack_end) as usize,
        (&raw const _stack_start) as usize,
    )
}

/// Bytes reserved for the stack: the RAM above `.data`, `.bss` and `.uninit`.
pub fn capacity() -> usize {
    let (lo, hi) = bounds();
    hi - lo
}

/// The most stack used, in bytes, since the last paint.
pub fn high_water() -> usize {
    let (lo, hi) = bounds();
    let mut p = lo;
    while p < hi {
        // SAFETY: `p` is a word-aligned address inside the stack region of
        // RAM (linker symbols), readable at any time; volatile because the
        // compiler does not know the stack's contents.
        if unsafe { ptr::read_volatile(p as *const u32) } != STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    hi - p
}

/// Paint the unused stack below the caller again.
#[inline(never)]
pub fn repaint() {
    let (lo, _) = bounds();
    // Leave a margin below the current stack pointer for this function's own
    // (leaf, register-only) code.
    let top = (cortex_m::register::msp::read() as usize).saturating_sub(64) & !3;
    let mut p = lo;
    while p < top {
        // SAFETY: [lo, top) lies below the stack pointer, in the stack region:
        // no live data is stored there, and nothing else uses it.
        unsafe { ptr::write_volatile(p as *mut u32, STACK_PAINT_VALUE) };
        p += 4;
    }
}
