//! Arithmetic in GF(p) for the pseudo-Mersenne primes of the GOST curves,
//! p = 2^(32·N) − C with a small C (617 for CryptoPro-A, 569 for
//! tc26-512-A).
//!
//! An element is N little-endian 32-bit words kept below 2^(32·N), not always
//! below p (a sum or product is folded back with 2^(32·N) ≡ C, never divided);
//! [`Fe::canonical`] gives the unique representative. Every operation is
//! constant-time in the values: carries are folded by multiplying them with
//! C, never by branching on them, and the only data-dependent choice (the
//! final subtraction of p) is a masked select.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// An element of GF(2^(32·N) − C).
#[derive(Copy, Clone, Debug)]
pub struct Fe<const N: usize, const C: u32>(pub(crate) [u32; N]);

/// `a·b + c + d` as (low, high) words; never overflows.
#[inline(always)]
pub(crate) fn mac(a: u32, b: u32, c: u32, d: u32) -> (u32, u32) {
    split(u64::from(a) * u64::from(b) + u64::from(c) + u64::from(d))
}

/// A double word as (low, high).
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "taking the low word, then the high one, is the point"
)]
pub(crate) fn split(t: u64) -> (u32, u32) {
    (t as u32, (t >> 32) as u32)
}

/// `words += k` carried through every word (constant-time); returns the carry
/// out of the top word.
#[inline(always)]
fn add_word<const N: usize>(words: &mut [u32; N], k: u32) -> u32 {
    let mut carry = k;
    for w in words.iter_mut() {
        let (s, c) = split(u64::from(*w) + u64::from(carry));
        *w = s;
        carry = c;
    }
    carry
}

/// `words -= k` borrowed through every word (constant-time); returns the
/// borrow out of the top word (0 or 1).
#[inline(always)]
fn sub_word<const N: usize>(words: &mut [u32; N], k: u32) -> u32 {
    let mut borrow = k;
    for w in words.iter_mut() {
        let (d, b) = w.overflowing_sub(borrow);
        *w = d;
        borrow = u32::from(b);
    }
    borrow
}

/// `acc += x·k` over x's words (the first `x.len()` words of `acc`); returns
/// the carry word.
/// Four products per step: on the Cortex-M4 each is one UMAAL and the carry
/// stays in a register (the firmware is built for size, so the compiler
/// unrolls nothing itself).
#[inline(always)]
fn mul_add_row(acc: &mut [u32], x: &[u32], k: u32) -> u32 {
    let mut carry = 0;
    let Some(acc) = acc.get_mut(..x.len()) else {
        return 0;
    };
    let mut accs = acc.chunks_exact_mut(4);
    let mut xs = x.chunks_exact(4);
    for (a, v) in (&mut accs).zip(&mut xs) {
        if let ([a0, a1, a2, a3], [v0, v1, v2, v3]) = (a, v) {
            (*a0, carry) = mac(*v0, k, *a0, carry);
            (*a1, carry) = mac(*v1, k, *a1, carry);
            (*a2, carry) = mac(*v2, k, *a2, carry);
            (*a3, carry) = mac(*v3, k, *a3, carry);
        }
    }
    for (a, &v) in accs.into_remainder().iter_mut().zip(xs.remainder()) {
        (*a, carry) = mac(v, k, *a, carry);
    }
    carry
}

impl<const N: usize, const C: u32> Fe<N, C> {
    /// Zero.
    pub const ZERO: Self = Fe([0; N]);
    /// One.
    pub const ONE: Self = {
        let mut w = [0; N];
        w[0] = 1;
        Fe(w)
    };
    /// The modulus p = 2^(32·N) − C as words.
    pub const P: [u32; N] = {
        let mut w = [u32::MAX; N];
        w[0] = 0u32.wrapping_sub(C);
        w
    };
    /// Bytes of an element.
    pub const BYTES: usize = 4 * N;

    /// The element with these words (any value below 2^(32·N); it is taken
    /// modulo p).
    pub const fn from_words(w: [u32; N]) -> Self {
        Fe(w)
    }

    /// The element of a little-endian byte string of exactly [`Self::BYTES`]
    /// bytes, if it is below p.
    pub fn from_le_bytes(bytes: &[u8]) -> Option<Self> {
        let w = words_from_le(bytes)?;
        let fe = Fe(w);
        bool::from(fe.is_canonical()).then_some(fe)
    }

    /// The canonical little-endian bytes into `out` ([`Self::BYTES`] long).
    pub fn write_le(&self, out: &mut [u8]) {
        for (chunk, w) in out.chunks_exact_mut(4).zip(self.canonical().0) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
    }

    /// Whether the words are already below p.
    fn is_canonical(&self) -> Choice {
        let mut t = self.0;
        // x < p  ⇔  x + C < 2^(32·N)
        Choice::from(u8::from(add_word(&mut t, C) == 0))
    }

    /// The representative below p.
    pub fn canonical(&self) -> Self {
        let mut t = self.0;
        // x < 2^(32·N) < 2p, so one subtraction of p (adding C, dropping the
        // carry) is enough; it is kept only when it did not underflow.
        let over = add_word(&mut t, C);
        let keep = Choice::from(u8::try_from(over).unwrap_or(1));
        let mut r = self.0;
        for (r, t) in r.iter_mut().zip(t) {
            r.conditional_assign(&t, keep);
        }
        Fe(r)
    }

    /// Whether the element is zero (mod p).
    pub fn is_zero(&self) -> Choice {
        self.canonical().0.ct_eq(&[0; N])
    }

    /// `self + rhs`.
    #[inline]
    pub fn add(&self, rhs: &Self) -> Self {
        let mut r = self.0;
        let mut carry = 0;
        for (r, b) in r.iter_mut().zip(rhs.0) {
            let (s, c) = split(u64::from(*r) + u64::from(b) + u64::from(carry));
            *r = s;
            carry = c;
        }
        // 2^(32·N) ≡ C. A second carry leaves a value below 2C in word 0.
        let carry = add_word(&mut r, carry * C);
        r[0] += carry * C;
        Fe(r)
    }

    /// `self − rhs`.
    #[inline]
    pub fn sub(&self, rhs: &Self) -> Self {
        let mut r = self.0;
        let mut borrow = 0u32;
        for (r, b) in r.iter_mut().zip(rhs.0) {
            let (d1, b1) = r.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(borrow);
            *r = d2;
            borrow = u32::from(b1 | b2);
        }
        // A borrow added 2^(32·N) ≡ C too much. A second borrow leaves word 0
        // at least 2^32 − C, so the last subtraction cannot borrow.
        let borrow = sub_word(&mut r, borrow * C);
        r[0] -= borrow * C;
        Fe(r)
    }

    /// `2·self`.
    #[inline]
    pub fn double(&self) -> Self {
        self.add(self)
    }

    /// `3·self`.
    #[inline]
    pub fn triple(&self) -> Self {
        self.double().add(self)
    }

    /// `−self`.
    pub fn neg(&self) -> Self {
        Self::ZERO.sub(self)
    }

    /// `self · rhs`.
    pub fn mul(&self, rhs: &Self) -> Self {
        let mut wide = [[0u32; N]; 2];
        let t = wide.as_flattened_mut();
        for (i, &a) in self.0.iter().enumerate() {
            if let Some(row) = t.get_mut(i..) {
                let carry = mul_add_row(row, &rhs.0, a);
                if let Some(top) = row.get_mut(N) {
                    *top = carry;
                }
            }
        }
        let [lo, hi] = wide;
        Self::reduce(lo, &hi)
    }

    /// `self²`: each cross product once, doubled, plus the squares.
    pub fn square(&self) -> Self {
        let a = &self.0;
        let mut wide = [[0u32; N]; 2];
        let t = wide.as_flattened_mut();
        for (i, &ai) in a.iter().enumerate() {
            let (Some(row), Some(rest)) = (t.get_mut(2 * i + 1..), a.get(i + 1..)) else {
                continue;
            };
            let carry = mul_add_row(row, rest, ai);
            if let Some(top) = row.get_mut(N - 1 - i) {
                *top = carry;
            }
        }
        // Double the cross products and add the squares a_i² at word 2i.
        let mut carry = 0u32;
        let mut shifted = 0u32;
        for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
            if let [lo, hi] = pair {
                let (sq_lo, sq_hi) = split(u64::from(ai) * u64::from(ai));
                let d_lo = (*lo << 1) | shifted;
                let d_hi = (*hi << 1) | (*lo >> 31);
                shifted = *hi >> 31;
                let (s, c) = split(u64::from(d_lo) + u64::from(sq_lo) + u64::from(carry));
                *lo = s;
                let (s, c) = split(u64::from(d_hi) + u64::from(sq_hi) + u64::from(c));
                *hi = s;
                carry = c;
            }
        }
        let [lo, hi] = wide;
        Self::reduce(lo, &hi)
    }

    /// `lo + hi·2^(32·N)` modulo p: hi·C is folded into lo twice.
    #[inline(always)]
    fn reduce(mut lo: [u32; N], hi: &[u32; N]) -> Self {
        let mut carry = 0;
        for (l, &h) in lo.iter_mut().zip(hi) {
            (*l, carry) = mac(h, C, *l, carry);
        }
        let carry = add_word(&mut lo, carry * C);
        lo[0] += carry * C;
        Fe(lo)
    }

    /// `self^exp` for a public exponent (little-endian words), by 4-bit
    /// windows: the exponent's bits choose table entries, the base's never
    /// choose anything.
    pub fn pow_public(&self, exp: &[u32; N]) -> Self {
        let mut table = [Self::ONE; 16];
        for i in 1..16 {
            table[i] = table[i - 1].mul(self);
        }
        let mut r = Self::ONE;
        for w in exp.iter().rev() {
            for nibble in (0..8).rev() {
                r = r.square().square().square().square();
                let idx = (w >> (4 * nibble)) & 15;
                if let Some(t) = table.get(idx as usize) {
                    r = r.mul(t);
                }
            }
        }
        r
    }

    /// `self⁻¹` (Fermat: self^(p−2)); zero for zero.
    pub fn invert(&self) -> Self {
        let mut e = Self::P;
        e[0] -= 2;
        self.pow_public(&e)
    }
}

impl<const N: usize, const C: u32> ConditionallySelectable for Fe<N, C> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        let mut r = a.0;
        for (r, &b) in r.iter_mut().zip(&b.0) {
            r.conditional_assign(&b, choice);
        }
        Fe(r)
    }
}

impl<const N: usize, const C: u32> ConstantTimeEq for Fe<N, C> {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.canonical().0.ct_eq(&other.canonical().0)
    }
}

impl<const N: usize, const C: u32> Default for Fe<N, C> {
    fn default() -> Self {
        Self::ZERO
    }
}

/// N little-endian words from exactly 4·N little-endian bytes.
pub(crate) fn words_from_le<const N: usize>(bytes: &[u8]) -> Option<[u32; N]> {
    if bytes.len() != 4 * N {
        return None;
    }
    let mut w = [0u32; N];
    for (w, chunk) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes(chunk.try_into().ok()?);
    }
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::{NonZero, U512, U1024, Uint};
    use proptest::prelude::*;

    type F = Fe<16, 569>;
    type G = Fe<8, 617>;

    fn big<const N: usize>(w: &[u32; N]) -> U1024 {
        let mut bytes = [0u8; 128];
        for (i, w) in w.iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        U1024::from_le_slice(&bytes)
    }

    fn p<const N: usize, const C: u32>() -> NonZero<U1024> {
        NonZero::new(big(&Fe::<N, C>::P)).unwrap()
    }

    fn check<const N: usize, const C: u32>(a: [u32; N], b: [u32; N]) {
        let (fa, fb) = (Fe::<N, C>(a), Fe::<N, C>(b));
        let m = p::<N, C>();
        let (ba, bb) = (big(&a), big(&b));
        let red = |x: U1024| x.rem(&m);
        let want_mul = red(ba.concatenating_mul(&bb).resize::<{ U1024::LIMBS }>());
        let _ = Uint::<1>::ONE;
        assert_eq!(big(&fa.mul(&fb).canonical().0), want_mul, "mul");
        assert_eq!(
            big(&fa.square().canonical().0),
            red(ba.concatenating_mul(&ba).resize()),
            "square"
        );
        assert_eq!(
            big(&fa.add(&fb).canonical().0),
            red(ba.wrapping_add(&bb)),
            "add"
        );
        let want_sub = red(red(ba).wrapping_add(&m.get()).wrapping_sub(&red(bb)));
        assert_eq!(big(&fa.sub(&fb).canonical().0), want_sub, "sub");
        if !bool::from(fa.is_zero()) {
            assert!(bool::from(fa.mul(&fa.invert()).ct_eq(&Fe::ONE)), "invert");
        }
        let _ = U512::ZERO;
    }

    proptest! {
        #[test]
        fn field_512_matches_bignum(a in prop::array::uniform16(any::<u32>()), b in prop::array::uniform16(any::<u32>())) {
            check::<16, 569>(a, b);
        }

        #[test]
        fn field_256_matches_bignum(a in prop::array::uniform8(any::<u32>()), b in prop::array::uniform8(any::<u32>())) {
            check::<8, 617>(a, b);
        }
    }

    #[test]
    fn edges() {
        for a in [[u32::MAX; 16], F::P, [0; 16], {
            let mut w = F::P;
            w[0] -= 1;
            w
        }] {
            for b in [[u32::MAX; 16], F::P, [1; 16], [0; 16]] {
                check::<16, 569>(a, b);
            }
        }
        for a in [[u32::MAX; 8], G::P, [0; 8]] {
            check::<8, 617>(a, [u32::MAX; 8]);
        }
    }
}
