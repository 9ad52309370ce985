//! Montgomery arithmetic modulo an odd number of `L` words: the 1024-bit
//! primes (the hot path of RSA signing and key generation) and the 2048-bit
//! modulus (blinding and the fault check).
//!
//! Words are `crypto-bigint`'s native limbs (32 bits on the Cortex-M4, where
//! each word product compiles to one UMAAL), the product is CIOS (coarsely
//! integrated operand scanning) on fixed arrays, the 1024-bit square has its
//! own routine, and everything is constant-time in the values: no branch or
//! index depends on an operand or an exponent bit (the final subtraction and
//! the window table lookup are masked). Unlike `crypto-bigint`'s
//! `FixedMontyForm`, a value is a bare `[Word; L]` and the modulus constants
//! are computed here in a few squarings, so the exponentiation keeps one copy
//! of them and a 16-entry window table on the stack.
//!
//! The two-row loop under the fast product, square and reduction
//! ([`mac_row2`]) is the [`RsaKernel`] a board may replace with assembly; the
//! methods built on it take the kernel as a type parameter `K`.

use crate::crypto::RsaKernel;
use crypto_bigint::{Odd, U1024, Uint, WideWord, Word};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// Words of a 1024-bit number.
pub const N: usize = U1024::LIMBS;
/// A 1024-bit number, least significant word first.
pub type Words = [Word; N];
/// A 2048-bit number, least significant word first.
pub type Wide = [Word; 2 * N];

const WORD_BITS: u32 = Word::BITS;
/// Exponent bits per window of [`Modulus::pow`].
const WINDOW: u32 = 4;

/// `a·b + c + d` as (low, high) words; never overflows.
#[inline(always)]
fn mac(a: Word, b: Word, c: Word, d: Word) -> (Word, Word) {
    split(WideWord::from(a) * WideWord::from(b) + WideWord::from(c) + WideWord::from(d))
}

/// A double word as (low, high) words.
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "taking the low word, then the high one, is the point"
)]
fn split(t: WideWord) -> (Word, Word) {
    (t as Word, (t >> WORD_BITS) as Word)
}

/// `row += x·k` over the common length; returns the carry word. Unrolled by
/// four by hand (the firmware is built for size, so the compiler does not
/// unroll): the carry stays in a register across four UMAALs on the M4.
#[inline(always)]
fn mac_row(row: &mut [Word], x: &[Word], k: Word) -> Word {
    let mut carry = 0;
    let mut rows = row.chunks_exact_mut(4);
    let mut xs = x.chunks_exact(4);
    for (r, v) in (&mut rows).zip(&mut xs) {
        if let ([r0, r1, r2, r3], [v0, v1, v2, v3]) = (r, v) {
            let (lo, c) = mac(*v0, k, *r0, carry);
            *r0 = lo;
            let (lo, c) = mac(*v1, k, *r1, c);
            *r1 = lo;
            let (lo, c) = mac(*v2, k, *r2, c);
            *r2 = lo;
            let (lo, c) = mac(*v3, k, *r3, c);
            *r3 = lo;
            carry = c;
        }
    }
    for (r, &v) in rows.into_remainder().iter_mut().zip(xs.remainder()) {
        let (lo, c) = mac(v, k, *r, carry);
        *r = lo;
        carry = c;
    }
    carry
}

/// `row = (row + x·k) / 2^w` over the common length, for a `k` that makes
/// the low word vanish: word j of the sum is stored at j − 1 (the low word is
/// dropped; the last word is left for the caller, who adds the returned
/// carry to the words above). Unrolled by four like [`mac_row`].
#[inline(always)]
fn mac_row_shift(row: &mut [Word], x: &[Word], k: Word) -> Word {
    let mut carry = 0;
    // Where the low word of the next chunk goes (none for the first chunk:
    // that word is the vanishing one). Depends only on the position.
    let mut prev: Option<&mut Word> = None;
    let mut rows = row.chunks_exact_mut(4);
    let mut xs = x.chunks_exact(4);
    for (r, v) in (&mut rows).zip(&mut xs) {
        if let ([r0, r1, r2, r3], [v0, v1, v2, v3]) = (r, v) {
            let (lo, c) = mac(*v0, k, *r0, carry);
            if let Some(p) = prev {
                *p = lo;
            }
            let (lo, c) = mac(*v1, k, *r1, c);
            *r0 = lo;
            let (lo, c) = mac(*v2, k, *r2, c);
            *r1 = lo;
            let (lo, c) = mac(*v3, k, *r3, c);
            *r2 = lo;
            carry = c;
            prev = Some(r3);
        }
    }
    for (r, &v) in rows.into_remainder().iter_mut().zip(xs.remainder()) {
        let (lo, c) = mac(v, k, *r, carry);
        if let Some(p) = prev {
            *p = lo;
        }
        carry = c;
        prev = Some(r);
    }
    carry
}

/// Two rows at once: `row += x·k1 + x·k2·2^w + carry + ext·2^(w·n)` for `n = x.len()`
/// and a `row` of n + 2 words; returns the carry out of the top word (0 or 1
/// where the caller's bounds keep the sum in n + 3 words). Each word of x is
/// loaded once for both products and each word of `row` is loaded and stored
/// once per two products (two UMAALs with their own carries on the M4).
#[inline(always)]
pub(crate) fn mac_row2(
    row: &mut [Word],
    x: &[Word],
    k1: Word,
    k2: Word,
    carry: Word,
    ext: Word,
) -> Word {
    let Some((top, rest)) = row.split_last_mut() else {
        return 0;
    };
    let Some((below, body)) = rest.split_last_mut() else {
        return 0;
    };
    let (mut c1, mut c2, mut prev): (Word, Word, Word) = (carry, 0, 0);
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
            c1 = h;
            c2 = g;
            prev = *v3;
        }
    }
    for (r, &v) in rows.into_remainder().iter_mut().zip(xs.remainder()) {
        let (s, h) = mac(v, k1, *r, c1);
        let (s, g) = mac(prev, k2, s, c2);
        *r = s;
        c1 = h;
        c2 = g;
        prev = v;
    }
    // Word n: the last x·k2 product, both carries and ext.
    let (s, g) = mac(prev, k2, *below, c2);
    let (s, k) = adc(s, c1, ext);
    *below = s;
    // Word n + 1.
    let (s, k) = adc(*top, g, k);
    *top = s;
    k
}

/// `a + b + carry` (carry 0 or 1) as (sum, carry).
#[inline(always)]
fn adc(a: Word, b: Word, carry: Word) -> (Word, Word) {
    split(WideWord::from(a) + WideWord::from(b) + WideWord::from(carry))
}

/// `a − b − borrow` (borrow 0 or 1) as (difference, borrow).
#[inline(always)]
fn sbb(a: Word, b: Word, borrow: Word) -> (Word, Word) {
    let t = WideWord::from(a)
        .wrapping_sub(WideWord::from(b))
        .wrapping_sub(WideWord::from(borrow));
    let (low, high) = split(t);
    (low, high & 1)
}

/// All ones if `bit` (0 or 1) is 1, else zero.
#[inline(always)]
fn mask_if_one(bit: Word) -> Word {
    mask(Choice::from(bit.to_le_bytes()[0]))
}

/// All ones if `carry` is 0 and `borrow` (0 or 1) is 1, else zero, without a
/// branch: a subtraction's result is to be dropped for the value before it.
#[inline(always)]
fn mask_keep(carry: Word, borrow: Word) -> Word {
    let carry_zero = ((carry | carry.wrapping_neg()) >> (WORD_BITS - 1)) ^ 1;
    mask_if_one(carry_zero & borrow)
}

/// All ones for a true `c`, else zero. `subtle`'s [`Choice`] passes through
/// an optimization barrier: without it LLVM recognizes the masked selections
/// as a choice between two values and compiles them to a select of the load
/// address (opt-level "s") or to a branch around a copy (opt-level 3), i.e.
/// to timing or address patterns that depend on secrets.
#[inline(always)]
fn mask(c: Choice) -> Word {
    Word::conditional_select(&0, &Word::MAX, c)
}

/// `out = a − b`, returning the borrow (0 or 1).
fn sub_into<const L: usize>(a: &[Word; L], b: &[Word; L], out: &mut [Word; L]) -> Word {
    let mut borrow = 0;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (d, br) = sbb(x, y, borrow);
        *o = d;
        borrow = br;
    }
    borrow
}

/// Number of words up to the highest nonzero one.
fn active_len(x: &[Word]) -> usize {
    x.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1)
}

/// Trailing zero bits of a nonzero number.
fn trailing_zeros(x: &[Word]) -> usize {
    let mut n = 0;
    for &w in x {
        if w != 0 {
            return n + w.trailing_zeros() as usize;
        }
        n += WORD_BITS as usize;
    }
    n
}

/// A bit count as (whole words, bits within a word).
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "the remainder is below WORD_BITS"
)]
fn word_and_bit(t: usize) -> (usize, u32) {
    (t / WORD_BITS as usize, (t % WORD_BITS as usize) as u32)
}

/// `x >>= t` in place.
fn shr_bits(x: &mut [Word], t: usize) {
    let (words, bits) = word_and_bit(t);
    if words > 0 {
        let len = x.len();
        x.copy_within(words.min(len).., 0);
        if let Some(top) = x.get_mut(len.saturating_sub(words)..) {
            top.fill(0);
        }
    }
    if bits > 0 {
        let mut carry = 0;
        for w in x.iter_mut().rev() {
            let next = *w << (WORD_BITS - bits);
            *w = (*w >> bits) | carry;
            carry = next;
        }
    }
}

/// `x <<= t` in place (t < w); returns the bits shifted out.
fn shl_bits(x: &mut [Word], t: u32) -> Word {
    if t == 0 {
        return 0;
    }
    let mut carry = 0;
    for w in x.iter_mut() {
        let next = *w >> (WORD_BITS - t);
        *w = (*w << t) | carry;
        carry = next;
    }
    carry
}

/// `x <<= t` for x of `len` words in use inside an array of L words (the
/// caller's bounds keep it below 2^(w·L)); returns the new length.
fn shl_len<const L: usize>(x: &mut [Word; L], len: usize, t: usize) -> Option<usize> {
    let (words, bits) = word_and_bit(t);
    let mut len = len;
    if words > 0 {
        let end = (len + words).min(L);
        x.copy_within(..end - words, words);
        x.get_mut(..words)?.fill(0);
        len = end;
    }
    let c = shl_bits(x.get_mut(..len)?, bits);
    grow(x, len, c)
}

/// Store a carry word above `len` words and return the new length in use.
fn grow<const L: usize>(x: &mut [Word; L], len: usize, carry: Word) -> Option<usize> {
    if carry != 0 {
        *x.get_mut(len)? = carry;
        return Some(len + 1);
    }
    Some(active_len(x.get(..len)?))
}

/// `x += y` over the common length; returns the carry.
fn add_words(x: &mut [Word], y: &[Word]) -> Word {
    let mut carry = 0;
    for (a, &b) in x.iter_mut().zip(y) {
        let (v, c) = adc(*a, b, carry);
        *a = v;
        carry = c;
    }
    carry
}

/// `x −= y` for x ≥ y (y no longer than x).
fn sub_words(x: &mut [Word], y: &[Word]) {
    let mut borrow = 0;
    let mut ys = y.iter();
    for a in x.iter_mut() {
        let b = ys.next().copied().unwrap_or(0);
        let (v, br) = sbb(*a, b, borrow);
        *a = v;
        borrow = br;
    }
}

/// Compare two numbers given by their words in use (no leading zero words).
fn cmp_words(x: &[Word], y: &[Word]) -> core::cmp::Ordering {
    x.len()
        .cmp(&y.len())
        .then_with(|| x.iter().rev().cmp(y.iter().rev()))
}

/// Set bit `i` of x.
fn set_bit<const L: usize>(x: &mut [Word; L], i: usize) -> Option<()> {
    *x.get_mut(i / WORD_BITS as usize)? |= 1 << (i % WORD_BITS as usize);
    Some(())
}

/// The words of a `Uint`.
pub fn words<const L: usize>(x: &Uint<L>) -> [Word; L] {
    *x.as_words()
}

/// A `Uint` from words.
pub fn uint<const L: usize>(w: &[Word; L]) -> Uint<L> {
    Uint::from_words(*w)
}

/// The full 2048-bit product `a·b` (schoolbook; no Karatsuba temporaries).
pub fn mul_wide(a: &Words, b: &Words) -> Wide {
    let mut out = [0; 2 * N];
    for (i, &bi) in b.iter().enumerate() {
        let mut carry = 0;
        if let Some(row) = out.get_mut(i..i + N) {
            for (o, &aj) in row.iter_mut().zip(a) {
                let (lo, hi) = mac(aj, bi, *o, carry);
                *o = lo;
                carry = hi;
            }
        }
        if let Some(top) = out.get_mut(i + N) {
            *top = carry;
        }
    }
    out
}

/// An odd modulus of `L` words with its Montgomery constants (R = 2^(w·L)).
pub struct Modulus<const L: usize> {
    m: [Word; L],
    /// −m^-1 mod 2^w.
    m_inv: Word,
    /// R² mod m.
    r2: [Word; L],
    /// R mod m: one in Montgomery form.
    one: [Word; L],
}

impl<const L: usize> Drop for Modulus<L> {
    fn drop(&mut self) {
        self.m.zeroize();
        self.r2.zeroize();
        self.one.zeroize();
    }
}

impl<const L: usize> Modulus<L> {
    /// The constants of `m`, which must have its top bit set (all moduli
    /// here do: primes above √2·2^1023, a 2048-bit n; for any other odd `m`
    /// the arithmetic is wrong but nothing panics). Constant-time, and small:
    /// −m^-1 mod 2^w by Newton's iteration, R mod m = R − m, and R² mod m from
    /// 2R mod m by log2(w·L) Montgomery squarings.
    #[inline(never)]
    pub fn new(m: &Odd<Uint<L>>) -> Self {
        Self::with_square(m, |md, x| md.mul(x, x))
    }

    /// [`Modulus::new`] with `square` (a Montgomery square of a value below
    /// m) for the squarings.
    #[inline(always)]
    fn with_square(m: &Odd<Uint<L>>, square: impl Fn(&Self, &[Word; L]) -> [Word; L]) -> Self {
        let mw = words(m.as_ref());
        let m0 = mw.first().copied().unwrap_or(1);
        // m0·m0 ≡ 1 mod 8: 3 correct bits, doubling with every step.
        let mut inv = m0;
        for _ in 0..5 {
            inv = inv.wrapping_mul((2 as Word).wrapping_sub(m0.wrapping_mul(inv)));
        }
        let mut one = [0; L];
        sub_into(&[0; L], &mw, &mut one);
        let mut md = Modulus {
            m: mw,
            m_inv: inv.wrapping_neg(),
            r2: [0; L],
            one,
        };
        // x = R·2^t mod m, t = 1, 2, 4, … up to w·L (a power of two here).
        let mut x = md.add(&one, &one);
        let mut t = 1usize;
        while t < Word::BITS as usize * L {
            x = square(&md, &x);
            t *= 2;
        }
        md.r2 = x;
        md
    }

    /// The modulus.
    pub fn modulus(&self) -> &[Word; L] {
        &self.m
    }

    /// One in Montgomery form.
    pub fn one(&self) -> [Word; L] {
        self.one
    }

    /// m − one: minus one in Montgomery form.
    pub fn minus_one(&self) -> [Word; L] {
        let mut out = [0; L];
        sub_into(&self.m, &self.one, &mut out);
        out
    }

    /// `x − m` if that is not negative (or `top` is set), else `x`: brings a
    /// value below 2m (with its carry word `top`) below m.
    fn reduce_once(&self, x: &[Word; L], top: Word) -> [Word; L] {
        let mut out = [0; L];
        let borrow = sub_into(x, &self.m, &mut out);
        // Keep x only if the subtraction borrowed and there was no carry
        // (every word of out is overwritten: no trace of the other value).
        let keep_x = mask_keep(top, borrow);
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v & keep_x) | (*o & !keep_x);
        }
        out
    }

    /// Montgomery product `a·b·R^-1 mod m`, for `a·b < R·m` (e.g. both
    /// below m, or one below R and the other below m). CIOS as two passes
    /// per word of b, each a [`mac_row`]-style loop unrolled by four: t += a·b_i,
    /// then t = (t + q·m) / 2^w with the shift folded into the stores.
    #[inline(never)]
    pub fn mul(&self, a: &[Word; L], b: &[Word; L]) -> [Word; L] {
        let mut t = [0 as Word; L];
        // t < 2m between the rows: one extra bit, kept in `top`.
        let mut top: Word = 0;
        for &bi in b {
            let c1 = mac_row(&mut t, a, bi);
            // The (L + 1)-word t + a·bi is below 2^w·R + 2R: two top words.
            let (hi, hi2) = adc(top, c1, 0);
            // q makes the low word of t + q·m vanish.
            let q = t.first().copied().unwrap_or(0).wrapping_mul(self.m_inv);
            let c2 = mac_row_shift(&mut t, &self.m, q);
            let (v, k) = adc(hi, c2, 0);
            if let Some(last) = t.last_mut() {
                *last = v;
            }
            top = hi2 + k;
        }
        let out = self.reduce_once(&t, top);
        t.zeroize();
        out
    }

    /// `x` (any value below R) in Montgomery form: `x·R mod m`.
    pub fn enter_monty(&self, x: &[Word; L]) -> [Word; L] {
        self.mul(x, &self.r2)
    }

    /// A Montgomery-form value back to normal form (the tests' reference for
    /// every length; the firmware uses [`Modulus::monty_out`]).
    #[cfg(test)]
    pub fn leave_monty(&self, x: &[Word; L]) -> [Word; L] {
        let mut one = [0; L];
        if let Some(w) = one.first_mut() {
            *w = 1;
        }
        self.mul(x, &one)
    }

    /// `(a + b) mod m` for a, b < m.
    pub fn add(&self, a: &[Word; L], b: &[Word; L]) -> [Word; L] {
        let mut s = [0; L];
        let mut carry = 0;
        for ((o, &x), &y) in s.iter_mut().zip(a).zip(b) {
            let (v, c) = adc(x, y, carry);
            *o = v;
            carry = c;
        }
        let out = self.reduce_once(&s, carry);
        s.zeroize();
        out
    }

    /// `(a − b) mod m` for a, b < m.
    pub fn sub(&self, a: &[Word; L], b: &[Word; L]) -> [Word; L] {
        let mut d = [0; L];
        let borrow = sub_into(a, b, &mut d);
        // Add m back if it borrowed.
        let mask = mask_if_one(borrow);
        let mut carry = 0;
        for (o, &mj) in d.iter_mut().zip(&self.m) {
            let (v, c) = adc(*o, mj & mask, carry);
            *o = v;
            carry = c;
        }
        d
    }

    /// `a^-1 mod m` for `0 < a < m`, in VARIABLE time (for values that are
    /// uniformly random and independent of any secret, such as the blinding
    /// value r·t of `rsa2048`); `None` if gcd(a, m) ≠ 1. Kaliski's almost
    /// inverse (binary, on the words in use only: u and v shrink, r and s
    /// grow) gives a^-1·2^k, then at most two Montgomery products remove
    /// 2^k. The result is checked (a·a^-1 = 1) before it is returned.
    #[inline(never)]
    pub fn invert_vartime(&self, a: &[Word; L]) -> Option<[Word; L]> {
        let bits = WORD_BITS as usize * L;
        // n = u·s + v·r throughout, u and v odd after each step's shifts.
        let mut u = self.m;
        let mut v = *a;
        let mut r = [0 as Word; L];
        let mut s = [0 as Word; L];
        *s.first_mut()? = 1;
        let (mut lu, mut lv, mut lr, mut ls) = (L, active_len(&v), 0, 1);
        let mut k = 0usize;
        let mut r_top: Word = 0;
        // v even at the start: shift it (r = 0 stays 0).
        if lv == 0 {
            return None;
        }
        let t = trailing_zeros(v.get(..lv)?);
        shr_bits(v.get_mut(..lv)?, t);
        k += t;
        lv = active_len(v.get(..lv)?);
        while lv > 0 {
            // u, v odd here.
            if cmp_words(u.get(..lu)?, v.get(..lv)?) == core::cmp::Ordering::Greater {
                // u = (u − v) / 2^t, r = r + s, s = s·2^t.
                sub_words(u.get_mut(..lu)?, v.get(..lv)?);
                let l = lr.max(ls);
                let c = add_words(r.get_mut(..l)?, s.get(..l)?);
                lr = grow(&mut r, l, c)?;
                lu = active_len(u.get(..lu)?);
                let t = trailing_zeros(u.get(..lu)?);
                shr_bits(u.get_mut(..lu)?, t);
                lu = active_len(u.get(..lu)?);
                ls = shl_len(&mut s, ls, t)?;
                k += t;
            } else {
                // v = (v − u) / 2^t, s = s + r, r = r·2^t (the last step
                // may carry r out of L words: r < 2m).
                sub_words(v.get_mut(..lv)?, u.get(..lu)?);
                let l = lr.max(ls);
                let c = add_words(s.get_mut(..l)?, r.get(..l)?);
                ls = grow(&mut s, l, c)?;
                lv = active_len(v.get(..lv)?);
                if lv == 0 {
                    // v was u: gcd is u, r doubles once more.
                    if lu != 1 || u.first() != Some(&1) {
                        return None;
                    }
                    r_top = shl_bits(r.get_mut(..L)?, 1);
                    k += 1;
                    break;
                }
                let t = trailing_zeros(v.get(..lv)?);
                shr_bits(v.get_mut(..lv)?, t);
                lv = active_len(v.get(..lv)?);
                lr = shl_len(&mut r, lr, t)?;
                k += t;
            }
        }
        // r < 2m: bring it below m, then x = m − r = a^-1·2^k mod m (u and v
        // are free again and hold the scratch values).
        let borrow = sub_into(&r, &self.m, &mut u);
        if r_top == 1 || borrow == 0 {
            r = u;
        }
        sub_into(&self.m, &r, &mut u);
        // x·2^-k: one product by 2^(B−k) if k ≤ B (B = w·L), else one by
        // 2^(2B−k) and one by 1; both powers are below 2^(B−1) < m.
        v.fill(0);
        let mut one = [0 as Word; L];
        *one.first_mut()? = 1;
        let out = if k >= 1 && k <= bits {
            set_bit(&mut v, bits - k)?;
            self.mul(&u, &v)
        } else if k > bits && k < 2 * bits {
            set_bit(&mut v, 2 * bits - k)?;
            self.mul(&self.mul(&u, &v), &one)
        } else {
            return None;
        };
        // a · a^-1 · R · R^-1 = 1.
        (self.mul(&self.enter_monty(a), &out) == one).then_some(out)
    }

    /// `x mod m` for any x < 2^1024 when m > 2^1023 (one conditional subtraction).
    pub fn reduce(&self, x: &[Word; L]) -> [Word; L] {
        self.reduce_once(x, 0)
    }
}

/// The square, the full product and the two-rows-at-a-time reduction for
/// the 1024-bit primes and the 2048-bit modulus (a macro: each needs a
/// double-length buffer, which a const generic cannot size).
macro_rules! wide_ops {
    ($l:expr) => {
        impl Modulus<{ $l }> {
            /// `x = x²·R^-1 mod m` for x < m: the cross products once, doubled,
            /// plus the diagonal (L²/2 + L word products instead of L²), then a
            /// separate reduction of the 2L-word square. In place: the
            /// exponentiations keep no second copy of the accumulator.
            pub fn square_assign<K: RsaKernel>(&self, x: &mut [Word; $l]) {
                let a: &[Word; $l] = x;
                let mut t = [0 as Word; 2 * $l];
                // Cross products a_i·a_j, i < j, rows i and i + 1 at once: a_i·a_(i+1)
                // at word 2i + 1, then a_i·a[i+2..] + a_(i+1)·a[i+2..]·2^w from word
                // 2i + 2 up to word L + i + 1 (the words from L + i up are still zero).
                for (k, pair) in a.chunks_exact(2).enumerate() {
                    let i = 2 * k;
                    if let ([a0, a1], Some(rest)) = (pair, a.get(i + 2..)) {
                        let mut carry = 0;
                        if let Some(w) = t.get_mut(2 * i + 1) {
                            let (lo, hi) = mac(*a0, *a1, *w, 0);
                            *w = lo;
                            carry = hi;
                        }
                        if let Some(row) = t.get_mut(2 * i + 2..$l + i + 2) {
                            K::mac_row2(row, rest, *a0, *a1, carry, 0);
                        }
                    }
                }
                // Double (a² < 2^(2wL): nothing is shifted out) and add the squares
                // a_i² at word 2i, in one pass.
                let (mut shifted, mut carry) = (0, 0);
                for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
                    if let [lo_w, hi_w] = pair {
                        let lo2 = (*lo_w << 1) | shifted;
                        let hi2 = (*hi_w << 1) | (*lo_w >> (WORD_BITS - 1));
                        shifted = *hi_w >> (WORD_BITS - 1);
                        let (lo, hi) = mac(ai, ai, lo2, carry);
                        *lo_w = lo;
                        let (h, c) = adc(hi2, hi, 0);
                        *hi_w = h;
                        carry = c;
                    }
                }
                *x = self.redc::<K>(&mut t);
                t.zeroize();
            }

            /// Montgomery product `a·b·R^-1 mod m` (as [`Modulus::mul`]) by the full
            /// 2L-word product, two rows of b at a time, and the reduction of
            /// `redc`: the hot path of the exponentiations.
            pub fn mul_full<K: RsaKernel>(&self, a: &[Word; $l], b: &[Word; $l]) -> [Word; $l] {
                let mut t = [0 as Word; 2 * $l];
                for (i, pair) in b.chunks_exact(2).enumerate() {
                    if let ([b0, b1], Some(row)) = (pair, t.get_mut(2 * i..2 * i + $l + 2)) {
                        K::mac_row2(row, a, *b0, *b1, 0, 0);
                    }
                }
                let out = self.redc::<K>(&mut t);
                t.zeroize();
                out
            }

            /// [`Modulus::new`] by the squares of `K`.
            #[inline(never)]
            pub fn with_kernel<K: RsaKernel>(m: &Odd<Uint<{ $l }>>) -> Self {
                Self::with_square(m, |md, x| {
                    let mut y = *x;
                    md.square_assign::<K>(&mut y);
                    y
                })
            }

            /// `x` (any value below R) in Montgomery form, `x·R mod m`, by
            /// [`Self::mul_full`] (as [`Modulus::enter_monty`]).
            pub fn monty_in<K: RsaKernel>(&self, x: &[Word; $l]) -> [Word; $l] {
                self.mul_full::<K>(x, &self.r2)
            }

            /// A Montgomery-form value (below m) back to normal form, as
            /// `leave_monty` (the tests' reference): the reduction alone (x·R^-1 mod m).
            pub fn monty_out<K: RsaKernel>(&self, x: &[Word; $l]) -> [Word; $l] {
                let mut t = [0 as Word; 2 * $l];
                if let Some(lo) = t.get_mut(..$l) {
                    lo.copy_from_slice(x);
                }
                let out = self.redc::<K>(&mut t);
                t.zeroize();
                out
            }

            /// Montgomery reduction of a 2L-word `t < m·R`: `t·R^-1 mod m`, two
            /// words at a time (q for the second word is computed from the first
            /// word's q before the double row runs). `t` is left scrambled.
            fn redc<K: RsaKernel>(&self, t: &mut [Word; 2 * $l]) -> [Word; $l] {
                const { assert!($l.is_multiple_of(2)) };
                let [m0, m1, ..] = self.m;
                let mut ext: Word = 0;
                for i in (0..$l).step_by(2) {
                    let (t0, t1) = (
                        t.get(i).copied().unwrap_or(0),
                        t.get(i + 1).copied().unwrap_or(0),
                    );
                    let q1 = t0.wrapping_mul(self.m_inv);
                    // Word i + 1 once q1·m is added: its q.
                    let (_, c) = mac(q1, m0, t0, 0);
                    let (s, _) = mac(q1, m1, t1, c);
                    let q2 = s.wrapping_mul(self.m_inv);
                    // Words i .. i + L + 1; ext is the carry into word i + L from the
                    // previous double row.
                    if let Some(row) = t.get_mut(i..i + $l + 2) {
                        ext = K::mac_row2(row, &self.m, q1, q2, 0, ext);
                    }
                }
                match t.get($l..).and_then(|hi| <&[Word; $l]>::try_from(hi).ok()) {
                    Some(hi) => self.reduce_once(hi, ext),
                    None => [0; $l],
                }
            }
        }
    };
}

wide_ops!(N);
wide_ops!(2 * N);

impl Modulus<N> {
    /// Montgomery square `a²·R^-1 mod m` for a < m ([`Modulus::square_assign`]
    /// on a copy).
    pub fn square<K: RsaKernel>(&self, a: &Words) -> Words {
        let mut x = *a;
        self.square_assign::<K>(&mut x);
        x
    }

    /// `x = 2x mod m` if `bit` is 1, unchanged if it is 0 (x < m), without a
    /// branch: x + (x masked) and its difference with m in one pass, then a
    /// masked choice.
    fn double_if(&self, x: &mut Words, bit: Word) {
        let mask = mask_if_one(bit);
        let mut d = [0 as Word; N];
        let (mut carry, mut borrow) = (0, 0);
        for ((xj, dj), &mj) in x.iter_mut().zip(d.iter_mut()).zip(&self.m) {
            let (s, c) = adc(*xj, *xj & mask, carry);
            let (v, b) = sbb(s, mj, borrow);
            *xj = s;
            *dj = v;
            carry = c;
            borrow = b;
        }
        // Keep the sum only if the subtraction borrowed and there was no carry.
        let keep = mask_keep(carry, borrow);
        for (xj, &dj) in x.iter_mut().zip(&d) {
            *xj = (*xj & keep) | (dj & !keep);
        }
        d.zeroize();
    }

    /// `2^exp` in Montgomery form, constant-time: per exponent bit one
    /// squaring and a masked doubling, no window table and no
    /// multiplications (Miller–Rabin with base 2).
    pub fn pow2<K: RsaKernel>(&self, exp: &Words) -> Words {
        let mut acc = self.one;
        for &w in exp.iter().rev() {
            for k in (0..WORD_BITS).rev() {
                self.square_assign::<K>(&mut acc);
                self.double_if(&mut acc, (w >> k) & 1);
            }
        }
        acc
    }

    /// `base^exp` for `base` in Montgomery form (result in Montgomery form):
    /// fixed 4-bit windows over all 1024 exponent bits (dedicated squarings), every window
    /// multiplies, and the table entry is read by a masked scan of all 16.
    pub fn pow<K: RsaKernel>(&self, base: &Words, exp: &Words) -> Words {
        let mut table = [[0 as Word; N]; 1 << WINDOW];
        // table[i] = base^i, each entry from the one before it.
        if let Some((first, rest)) = table.split_first_mut() {
            *first = self.one;
            let mut prev: &Words = first;
            for entry in rest.iter_mut() {
                *entry = self.mul_full::<K>(prev, base);
                prev = entry;
            }
        }
        let mut acc = self.one;
        let mut chosen = [0 as Word; N];
        let windows_per_word = WORD_BITS / WINDOW;
        for (wi, &w) in exp.iter().enumerate().rev() {
            for k in (0..windows_per_word).rev() {
                let idx = (w >> (k * WINDOW)) & ((1 << WINDOW) - 1);
                if wi + 1 != N || k + 1 != windows_per_word {
                    for _ in 0..WINDOW {
                        self.square_assign::<K>(&mut acc);
                    }
                }
                // One mask per entry, then four words of the choice at a time
                // across all entries (the four words stay in registers; not
                // unrolled by the compiler at -Os).
                let mut masks = [0 as Word; 1 << WINDOW];
                for (e, m) in masks.iter_mut().enumerate() {
                    *m = mask((e as Word).ct_eq(&idx));
                }
                for (j, c) in chosen.chunks_exact_mut(4).enumerate() {
                    let mut v = [0 as Word; 4];
                    for (entry, &mask) in table.iter().zip(&masks) {
                        if let Some([e0, e1, e2, e3]) = entry.get(4 * j..4 * j + 4) {
                            v[0] |= e0 & mask;
                            v[1] |= e1 & mask;
                            v[2] |= e2 & mask;
                            v[3] |= e3 & mask;
                        }
                    }
                    c.copy_from_slice(&v);
                }
                masks.zeroize();
                acc = self.mul_full::<K>(&acc, &chosen);
            }
        }
        chosen.zeroize();
        for entry in table.iter_mut() {
            entry.zeroize();
        }
        acc
    }

    /// `x mod m` for a 2048-bit x when m > 2^1023: `hi·R + lo` computed as
    /// `mul(hi, R²) + (lo mod m)`.
    pub fn reduce_wide(&self, x: &Wide) -> Words {
        let mut lo = [0; N];
        let mut hi = [0; N];
        let (l, h) = x.split_at(N);
        lo.copy_from_slice(l);
        hi.copy_from_slice(h);
        let hi_r = self.mul(&hi, &self.r2);
        let lo_red = self.reduce(&lo);
        let out = self.add(&hi_r, &lo_red);
        lo.zeroize();
        hi.zeroize();
        out
    }
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test data: small counters as bytes"
)]
mod tests {
    use super::*;
    use crate::crypto::SoftP256 as S;
    use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
    use crypto_bigint::{NonZero, U2048};

    fn sample(seed: u8) -> U1024 {
        let mut b = [0u8; 128];
        let mut x = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
        for v in b.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *v = x as u8;
        }
        U1024::from_be_slice(&b)
    }

    fn modulus(seed: u8) -> Odd<U1024> {
        let m = sample(seed).bitor(&U1024::ONE).bitor(&U1024::ONE.shl(1023));
        Odd::new(m).unwrap()
    }

    /// A deterministic word stream for the tests (xorshift32).
    fn xorshift(seed: u32) -> impl FnMut() -> Word {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        move || {
            let mut w: Word = 0;
            for _ in 0..Word::BITS / 32 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                w = w.checked_shl(32).unwrap_or(0) | Word::from(x);
            }
            w
        }
    }

    /// A random odd modulus of `L` words with its top bit set.
    fn odd_top_bit<const L: usize>(next: &mut impl FnMut() -> Word) -> [Word; L] {
        let mut mw = [0 as Word; L];
        mw.iter_mut().for_each(|w| *w = next());
        mw[0] |= 1;
        mw[L - 1] |= 1 << (WORD_BITS - 1);
        mw
    }

    /// `mul` against crypto-bigint for `L` words (a power of two, as
    /// `Modulus::new` requires; lengths below four take the remainder loops), with the largest carries
    /// (m − 1 squared, m of all ones) and random values.
    fn mul_matches<const L: usize>(seed: u32) {
        let mut next = xorshift(seed);
        let mw = odd_top_bit::<L>(&mut next);
        for m in [mw, [Word::MAX; L]] {
            let m = Odd::new(Uint::<L>::from_words(m)).unwrap();
            let params = FixedMontyParams::new(m);
            let md = Modulus::new(&m);
            assert_eq!(uint(&md.r2), *params.r2());
            let mut a = [0 as Word; L];
            a.iter_mut().for_each(|w| *w = next());
            let a = md.reduce(&a);
            for (x, y) in [
                (a, a),
                (a, md.minus_one()),
                (md.minus_one(), md.minus_one()),
            ] {
                let want = FixedMontyForm::new(&uint(&x), &params)
                    .mul(&FixedMontyForm::new(&uint(&y), &params))
                    .retrieve();
                let got = md.leave_monty(&md.mul(&md.enter_monty(&x), &md.enter_monty(&y)));
                assert_eq!(uint(&got), want);
            }
            assert_eq!(md.mul(&md.minus_one(), &md.minus_one()), md.one());
        }
    }

    /// `invert_vartime` against crypto-bigint for `L` words.
    fn inverse_matches<const L: usize>(seed: u32) {
        let mut next = xorshift(seed);
        let mw = odd_top_bit::<L>(&mut next);
        let m = Odd::new(Uint::<L>::from_words(mw)).unwrap();
        let md = Modulus::new(&m);
        let check = |a: [Word; L]| {
            let want = uint(&a).invert_odd_mod(&m).into_option().map(|v| words(&v));
            assert_eq!(md.invert_vartime(&a), want, "a = {a:x?}");
        };
        let mut small = [0 as Word; L];
        small[0] = 1;
        check(small);
        small[0] = 2;
        check(small);
        check(md.minus_one());
        check(md.one());
        for _ in 0..20 {
            let mut a = [0 as Word; L];
            a.iter_mut().for_each(|w| *w = next());
            check(md.reduce(&a));
        }
        // A high power of two (many trailing zero words).
        let mut a = [0 as Word; L];
        a[L - 1] = 1 << (WORD_BITS - 2);
        check(a);
        // Not invertible: 2^B − 1 is a multiple of 3 (B is even); and zero.
        let md3 = Modulus::new(&Odd::new(Uint::<L>::MAX).unwrap());
        let mut a = [0 as Word; L];
        assert_eq!(md3.invert_vartime(&a), None);
        a[0] = 3;
        assert_eq!(md3.invert_vartime(&a), None);
        a[0] = 2;
        assert_eq!(
            md3.invert_vartime(&a),
            words(&Uint::<L>::MAX.shr(1).wrapping_add(&Uint::ONE)).into()
        );
    }

    #[test]
    fn invert_vartime_agrees_with_crypto_bigint() {
        for s in 1..6 {
            inverse_matches::<1>(s);
            inverse_matches::<2>(s);
            inverse_matches::<8>(s);
            inverse_matches::<{ 2 * N }>(s);
        }
    }

    #[test]
    fn wide_ops_2048_agree_with_mul() {
        for seed in 1..6u8 {
            // A 2048-bit odd modulus with its top bit set, and values below it.
            let m = U2048::from_words(core::array::from_fn(|i| {
                words(&sample(seed.wrapping_add((i / N) as u8 * 100)))[i % N]
            }))
            .bitor(&U2048::ONE)
            .bitor(&U2048::ONE.shl(2047));
            let m = Odd::new(m).unwrap();
            let md = Modulus::<{ 2 * N }>::new(&m);
            let fast = Modulus::<{ 2 * N }>::with_kernel::<S>(&m);
            assert_eq!((fast.r2, fast.one, fast.m_inv), (md.r2, md.one, md.m_inv));
            let a = md.reduce_once(
                &words(&m.as_ref().wrapping_sub(&U2048::from_u8(7)).shr(1)),
                0,
            );
            let b = md.mul(&a, &md.r2);
            for (x, y) in [
                (a, b),
                (b, b),
                (md.minus_one(), md.minus_one()),
                (md.minus_one(), a),
            ] {
                assert_eq!(md.mul_full::<S>(&x, &y), md.mul(&x, &y));
                let mut sq = x;
                md.square_assign::<S>(&mut sq);
                assert_eq!(sq, md.mul(&x, &x));
                assert_eq!(md.monty_in::<S>(&x), md.enter_monty(&x));
                assert_eq!(md.monty_out::<S>(&x), md.leave_monty(&x));
                assert_eq!(md.monty_out::<S>(&md.monty_in::<S>(&x)), x);
            }
        }
    }

    #[test]
    fn mul_word_lengths() {
        for s in 1..4 {
            mul_matches::<1>(s);
            mul_matches::<2>(s);
            mul_matches::<8>(s);
            mul_matches::<{ 2 * N }>(s);
        }
    }

    #[test]
    fn agrees_with_crypto_bigint() {
        for s in 1..6u8 {
            let m = modulus(s);
            let params = FixedMontyParams::new(m);
            let md = Modulus::new(&m);
            assert_eq!(uint(&md.r2), *params.r2());
            assert_eq!(uint(&md.one), *params.one());
            assert_eq!(md.m_inv, params.mod_neg_inv().0);
            let fast = Modulus::<N>::with_kernel::<S>(&m);
            assert_eq!(uint(&fast.r2), *params.r2());
            assert_eq!((fast.one, fast.m_inv), (md.one, md.m_inv));
            let nz = NonZero::new(*m.as_ref()).unwrap();
            let a = sample(s + 50).rem(&nz);
            let b = sample(s + 90).rem(&nz);
            let e = sample(s + 130);
            let am = md.enter_monty(&words(&a));
            let bm = md.enter_monty(&words(&b));
            let want = FixedMontyForm::new(&a, &params).mul(&FixedMontyForm::new(&b, &params));
            assert_eq!(uint(&md.leave_monty(&md.mul(&am, &bm))), want.retrieve());
            assert_eq!(md.square::<S>(&am), md.mul(&am, &am));
            // The fast conversions against crypto-bigint's.
            assert_eq!(
                uint(&md.monty_in::<S>(&words(&a))),
                FixedMontyForm::new(&a, &params).as_montgomery().clone()
            );
            assert_eq!(
                md.monty_in::<S>(&words(&U1024::MAX)),
                md.enter_monty(&words(&U1024::MAX))
            );
            assert_eq!(uint(&md.monty_out::<S>(&am)), a);
            assert_eq!(
                md.monty_out::<S>(&md.minus_one()),
                md.leave_monty(&md.minus_one())
            );
            assert_eq!(md.mul_full::<S>(&am, &bm), md.mul(&am, &bm));
            let mo = md.minus_one();
            assert_eq!(md.mul_full::<S>(&mo, &mo), md.one());
            assert_eq!(md.mul_full::<S>(&mo, &am), md.mul(&mo, &am));
            assert_eq!(md.square::<S>(&md.minus_one()), md.one());
            let two = md.enter_monty(&words(&U1024::from_u8(2)));
            assert_eq!(md.pow2::<S>(&words(&e)), md.pow::<S>(&two, &words(&e)));
            let want = FixedMontyForm::new(&a, &params).pow(&e).retrieve();
            assert_eq!(uint(&md.leave_monty(&md.pow::<S>(&am, &words(&e)))), want);
            assert_eq!(uint(&md.add(&words(&a), &words(&b))), a.add_mod(&b, &nz));
            assert_eq!(uint(&md.sub(&words(&a), &words(&b))), a.sub_mod(&b, &nz));
            let wide: U2048 = a.concatenating_mul(&b);
            assert_eq!(uint(&md.reduce_wide(&mul_wide(&words(&a), &words(&b)))), {
                let r: U1024 = wide.rem(&nz);
                r
            });
            assert_eq!(*wide.as_words(), mul_wide(&words(&a), &words(&b)));
            // Values above m reduce with one subtraction.
            let big = U1024::MAX;
            assert_eq!(uint(&md.reduce(&words(&big))), big.rem(&nz));
            assert_eq!(
                uint(&md.leave_monty(&md.minus_one())),
                m.as_ref().wrapping_sub(&U1024::ONE)
            );
        }
    }
}
