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

/// An element of GF(2^(32·N) − C) (`repr(transparent)`: the comb tables are
/// scanned as plain words).
#[derive(Copy, Clone, Debug)]
#[repr(transparent)]
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

/// `a + b + carry` (carry 0 or 1) as (sum, carry).
#[inline(always)]
fn adc(a: u32, b: u32, carry: u32) -> (u32, u32) {
    split(u64::from(a) + u64::from(b) + u64::from(carry))
}

/// `a − b − borrow` (borrow 0 or 1) as (difference, borrow).
#[inline(always)]
fn sbb(a: u32, b: u32, borrow: u32) -> (u32, u32) {
    // In double words the borrow is the high word's low bit: SUBS/SBC.
    let t = u64::from(a)
        .wrapping_sub(u64::from(b))
        .wrapping_sub(u64::from(borrow));
    let (d, high) = split(t);
    (d, high & 1)
}

/// `a += b` word by word, four words per step (the firmware is built for
/// size, so the compiler unrolls nothing itself); returns the carry.
#[inline(always)]
fn add_words(a: &mut [u32], b: &[u32]) -> u32 {
    let mut c = 0;
    let mut aa = a.chunks_exact_mut(4);
    let mut bb = b.chunks_exact(4);
    for (x, y) in (&mut aa).zip(&mut bb) {
        if let ([x0, x1, x2, x3], [y0, y1, y2, y3]) = (x, y) {
            (*x0, c) = adc(*x0, *y0, c);
            (*x1, c) = adc(*x1, *y1, c);
            (*x2, c) = adc(*x2, *y2, c);
            (*x3, c) = adc(*x3, *y3, c);
        }
    }
    for (x, &y) in aa.into_remainder().iter_mut().zip(bb.remainder()) {
        (*x, c) = adc(*x, y, c);
    }
    c
}

/// `a −= b` word by word, four words per step; returns the borrow.
#[inline(always)]
fn sub_words(a: &mut [u32], b: &[u32]) -> u32 {
    let mut c = 0;
    let mut aa = a.chunks_exact_mut(4);
    let mut bb = b.chunks_exact(4);
    for (x, y) in (&mut aa).zip(&mut bb) {
        if let ([x0, x1, x2, x3], [y0, y1, y2, y3]) = (x, y) {
            (*x0, c) = sbb(*x0, *y0, c);
            (*x1, c) = sbb(*x1, *y1, c);
            (*x2, c) = sbb(*x2, *y2, c);
            (*x3, c) = sbb(*x3, *y3, c);
        }
    }
    for (x, &y) in aa.into_remainder().iter_mut().zip(bb.remainder()) {
        (*x, c) = sbb(*x, y, c);
    }
    c
}

/// `words += k` carried through every word (constant-time); returns the carry
/// out of the top word.
#[inline(always)]
fn add_word(words: &mut [u32], k: u32) -> u32 {
    let (first, rest) = match words.split_first_mut() {
        Some(x) => x,
        None => return k,
    };
    let (s, mut c) = adc(*first, k, 0);
    *first = s;
    let mut ww = rest.chunks_exact_mut(4);
    for w in &mut ww {
        if let [w0, w1, w2, w3] = w {
            (*w0, c) = adc(*w0, 0, c);
            (*w1, c) = adc(*w1, 0, c);
            (*w2, c) = adc(*w2, 0, c);
            (*w3, c) = adc(*w3, 0, c);
        }
    }
    for w in ww.into_remainder() {
        (*w, c) = adc(*w, 0, c);
    }
    c
}

/// `words −= k` borrowed through every word (constant-time); returns the
/// borrow out of the top word.
#[inline(always)]
fn sub_word(words: &mut [u32], k: u32) -> u32 {
    let (first, rest) = match words.split_first_mut() {
        Some(x) => x,
        None => return k,
    };
    let (d, mut c) = sbb(*first, k, 0);
    *first = d;
    let mut ww = rest.chunks_exact_mut(4);
    for w in &mut ww {
        if let [w0, w1, w2, w3] = w {
            (*w0, c) = sbb(*w0, 0, c);
            (*w1, c) = sbb(*w1, 0, c);
            (*w2, c) = sbb(*w2, 0, c);
            (*w3, c) = sbb(*w3, 0, c);
        }
    }
    for w in ww.into_remainder() {
        (*w, c) = sbb(*w, 0, c);
    }
    c
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

    /// `self + rhs` (on the Cortex-M4 kernel for N = 8 and 16).
    #[inline]
    pub fn add(&self, rhs: &Self) -> Self {
        #[cfg(all(target_arch = "arm", feature = "armv7em"))]
        if let Some(r) = on_kernel(
            &self.0,
            &rhs.0,
            crate::kernel::fe256_add,
            crate::kernel::fe512_add,
            C,
        ) {
            return Fe(r);
        }
        Fe(add_mod(&self.0, &rhs.0, C))
    }

    /// `self − rhs` (on the Cortex-M4 kernel for N = 8 and 16).
    #[inline]
    pub fn sub(&self, rhs: &Self) -> Self {
        #[cfg(all(target_arch = "arm", feature = "armv7em"))]
        if let Some(r) = on_kernel(
            &self.0,
            &rhs.0,
            crate::kernel::fe256_sub,
            crate::kernel::fe512_sub,
            C,
        ) {
            return Fe(r);
        }
        Fe(sub_mod(&self.0, &rhs.0, C))
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

    /// `self · rhs`: the 2N-word product, then reduced (for N = 8 and 16 on
    /// the Cortex-M4 kernel, unrolled; otherwise two rows at a time).
    pub fn mul(&self, rhs: &Self) -> Self {
        #[cfg(all(target_arch = "arm", feature = "armv7em"))]
        if let Some(r) = on_kernel(
            &self.0,
            &rhs.0,
            crate::kernel::fe256_mul,
            crate::kernel::fe512_mul,
            C,
        ) {
            return Fe(r);
        }
        Fe(mul_mod(&self.0, &rhs.0, C))
    }

    /// `self²` (the product: a dedicated square, half the word products
    /// but a doubling pass and uneven rows, measured slower on the M4).
    pub fn square(&self) -> Self {
        self.mul(self)
    }

    /// `self^(2^k)`: k squarings.
    fn square_n(&self, k: usize) -> Self {
        let mut r = *self;
        for _ in 0..k {
            r = r.square();
        }
        r
    }

    /// `self⁻¹` (Fermat: self^(p−2)); zero for zero. p − 2 = 2^n − m with
    /// m = C + 2 < 2^10, so self^(p−2) = (self^(2^(n−10) − 1))^(2^10) ·
    /// self^(2^10 − m): the all-ones part by an addition chain (n − 11
    /// squarings and ~15 products), the 10-bit rest by square-and-multiply
    /// (its bits are public).
    pub fn invert(&self) -> Self {
        let n = 32 * N;
        let k = n - 10;
        // f[j] = self^(2^(2^j) − 1), for 2^j ≤ k.
        let mut f = [*self; 10];
        let mut top = 0;
        while (2usize << top) <= k {
            f[top + 1] = f[top].square_n(1 << top).mul(&f[top]);
            top += 1;
        }
        // self^(2^k − 1), combining the set bits of k below the top one.
        let mut acc = f[top];
        for j in (0..top).rev() {
            if (k >> j) & 1 == 1 {
                acc = acc.square_n(1 << j).mul(&f[j]);
            }
        }
        // The low 10 bits: 2^10 − m, m = C + 2.
        let low = 1024 - (C as usize + 2);
        let mut r = acc;
        for bit in (0..10).rev() {
            r = r.square();
            if (low >> bit) & 1 == 1 {
                r = r.mul(self);
            }
        }
        r
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

/// `a + b` modulo 2^(32·N) − c, below 2^(32·N) (c below 2^16).
#[inline(always)]
pub(crate) fn add_mod<const N: usize>(a: &[u32; N], b: &[u32; N], c: u32) -> [u32; N] {
    let mut r = *a;
    let carry = add_words(&mut r, b);
    // 2^(32·N) ≡ c. A second carry leaves a value below 2c in word 0.
    let carry = add_word(&mut r, carry * c);
    if let Some(w) = r.first_mut() {
        *w = w.wrapping_add(carry * c);
    }
    r
}

/// `a − b` modulo 2^(32·N) − c, below 2^(32·N) (c below 2^16).
#[inline(always)]
pub(crate) fn sub_mod<const N: usize>(a: &[u32; N], b: &[u32; N], c: u32) -> [u32; N] {
    let mut r = *a;
    let borrow = sub_words(&mut r, b);
    // A borrow added 2^(32·N) ≡ c too much. A second borrow leaves word 0
    // at least 2^32 − c, so the last subtraction cannot borrow.
    let borrow = sub_word(&mut r, borrow * c);
    if let Some(w) = r.first_mut() {
        *w = w.wrapping_sub(borrow * c);
    }
    r
}

/// `a · b` modulo 2^(32·N) − c, below 2^(32·N) (c below 2^16): the 2N-word
/// product two rows at a time, then reduced.
#[inline(always)]
pub(crate) fn mul_mod<const N: usize>(a: &[u32; N], b: &[u32; N], c: u32) -> [u32; N] {
    let mut wide = [[0u32; N]; 2];
    let t = wide.as_flattened_mut();
    // Pair i (words 2i, 2i + 1) adds into words 2i ..= 2i + N + 1, the
    // last pair exactly up to the top word.
    for (i, pair) in (0..).step_by(2).zip(a.chunks_exact(2)) {
        if let (Some(row), [k0, k1]) = (t.get_mut(i..i + N + 2), pair) {
            crate::kernel::mac_row2(row, b, *k0, *k1, 0, 0);
        }
    }
    let [lo, hi] = wide;
    reduce(lo, &hi, c)
}

/// `lo + hi·2^(32·N)` modulo 2^(32·N) − c: hi·c is folded into lo twice.
#[inline(always)]
fn reduce<const N: usize>(mut lo: [u32; N], hi: &[u32; N], c: u32) -> [u32; N] {
    let mut carry = 0;
    let mut ll = lo.chunks_exact_mut(4);
    let mut hh = hi.chunks_exact(4);
    for (l, h) in (&mut ll).zip(&mut hh) {
        if let ([l0, l1, l2, l3], [h0, h1, h2, h3]) = (l, h) {
            (*l0, carry) = mac(*h0, c, *l0, carry);
            (*l1, carry) = mac(*h1, c, *l1, carry);
            (*l2, carry) = mac(*h2, c, *l2, carry);
            (*l3, carry) = mac(*h3, c, *l3, carry);
        }
    }
    for (l, &h) in ll.into_remainder().iter_mut().zip(hh.remainder()) {
        (*l, carry) = mac(h, c, *l, carry);
    }
    let carry = add_word(&mut lo, carry.wrapping_mul(c));
    if let Some(w) = lo.first_mut() {
        *w = w.wrapping_add(carry.wrapping_mul(c));
    }
    lo
}

/// `op8` or `op16` (the Cortex-M4 kernel's routine for 8- or 16-word
/// elements) on a and b when N is 8 or 16; `None` for other N. The
/// conversions are between arrays of the same length, so the compiler
/// resolves them for each N and keeps one call.
#[cfg(all(target_arch = "arm", feature = "armv7em"))]
#[inline(always)]
fn on_kernel<const N: usize>(
    a: &[u32; N],
    b: &[u32; N],
    op8: fn(&[u32; 8], &[u32; 8], u32) -> [u32; 8],
    op16: fn(&[u32; 16], &[u32; 16], u32) -> [u32; 16],
    c: u32,
) -> Option<[u32; N]> {
    if let (Ok(a8), Ok(b8)) = (<&[u32; 8]>::try_from(&a[..]), <&[u32; 8]>::try_from(&b[..])) {
        return op8(a8, b8, c).as_slice().try_into().ok();
    }
    if let (Ok(a16), Ok(b16)) = (
        <&[u32; 16]>::try_from(&a[..]),
        <&[u32; 16]>::try_from(&b[..]),
    ) {
        return op16(a16, b16, c).as_slice().try_into().ok();
    }
    None
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
