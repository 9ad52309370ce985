//! Arithmetic modulo the group order q: Montgomery products on N 32-bit
//! words (CIOS), constant-time in the values. Only the few operations GOST
//! signing and verification need: reduction of a value below 2q, sums,
//! products and (for verification) the inverse.

use crate::field::{mac, split};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// A group order q (odd, 2^(32·N − 1) < q < 2^(32·N)) with its Montgomery
/// constants, all computed at compile time from q.
#[derive(Clone, Debug)]
pub struct Order<const N: usize> {
    /// q, little-endian words.
    pub q: [u32; N],
    /// −q⁻¹ mod 2^32.
    q_inv: u32,
    /// R² mod q for R = 2^(32·N).
    r2: [u32; N],
}

/// `a − b` over N words; returns the borrow (0 or 1).
#[inline(always)]
fn sub_n<const N: usize>(a: &mut [u32; N], b: &[u32; N]) -> u32 {
    let mut borrow = 0u32;
    for (a, &b) in a.iter_mut().zip(b) {
        let (d1, b1) = a.overflowing_sub(b);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *a = d2;
        borrow = u32::from(b1 | b2);
    }
    borrow
}

/// `a + b` over N words; returns the carry (0 or 1).
#[inline(always)]
fn add_n<const N: usize>(a: &mut [u32; N], b: &[u32; N]) -> u32 {
    let mut carry = 0;
    for (a, &b) in a.iter_mut().zip(b) {
        (*a, carry) = split(u64::from(*a) + u64::from(b) + u64::from(carry));
    }
    carry
}

/// `x mod q` for an `x + top·2^(32·N)` below 2q: q subtracted when that does
/// not underflow, by a masked select.
#[inline(always)]
fn reduce_once<const N: usize>(x: &[u32; N], top: u32, q: &[u32; N]) -> [u32; N] {
    let mut t = *x;
    let borrow = sub_n(&mut t, q);
    // Keep t when x + top·2^(32N) ≥ q: no borrow, or a borrow paid by top.
    let keep = Choice::from(u8::from((top | (borrow ^ 1)) & 1 == 1));
    let mut r = *x;
    for (r, t) in r.iter_mut().zip(t) {
        r.conditional_assign(&t, keep);
    }
    r
}

impl<const N: usize> Order<N> {
    /// The constants of an order given as little-endian words.
    pub const fn new(q: [u32; N]) -> Self {
        // −q⁻¹ mod 2^32 by Newton's iteration (each step doubles the bits).
        let mut inv: u32 = 1;
        let mut i = 0;
        while i < 5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(q[0].wrapping_mul(inv)));
            i += 1;
        }
        let q_inv = inv.wrapping_neg();
        // R² mod q: 2^(64N) by doubling 1 modulo q, 64N times.
        let mut r = [0u32; N];
        r[0] = 1;
        let mut k = 0;
        while k < 64 * N {
            // r = 2r mod q (r < q < 2^(32N), so 2r < 2q).
            let mut top = 0;
            let mut j = 0;
            while j < N {
                let w = r[j];
                r[j] = (w << 1) | top;
                top = w >> 31;
                j += 1;
            }
            // subtract q when 2r ≥ q
            let mut t = [0u32; N];
            let mut borrow = 0u32;
            j = 0;
            while j < N {
                let (d1, b1) = r[j].overflowing_sub(q[j]);
                let (d2, b2) = d1.overflowing_sub(borrow);
                t[j] = d2;
                borrow = (b1 | b2) as u32;
                j += 1;
            }
            if top == 1 || borrow == 0 {
                r = t;
            }
            k += 1;
        }
        Order { q, q_inv, r2: r }
    }

    /// Whether `x` is in [1, q − 1].
    pub fn in_range(&self, x: &[u32; N]) -> Choice {
        let mut t = *x;
        let below = sub_n(&mut t, &self.q);
        Choice::from(u8::try_from(below).unwrap_or(0)) & !x.ct_eq(&[0; N])
    }

    /// `x mod q` for any `x` below 2^(32·N) (which is below 2q).
    pub fn reduce(&self, x: &[u32; N]) -> [u32; N] {
        reduce_once(x, 0, &self.q)
    }

    /// `a + b mod q` for a, b below q.
    pub fn add(&self, a: &[u32; N], b: &[u32; N]) -> [u32; N] {
        let mut s = *a;
        let carry = add_n(&mut s, b);
        reduce_once(&s, carry, &self.q)
    }

    /// `q − a mod q` for a below q.
    pub fn neg(&self, a: &[u32; N]) -> [u32; N] {
        let mut r = self.q;
        sub_n(&mut r, a);
        self.reduce(&r)
    }

    /// The Montgomery product `a·b·R⁻¹ mod q` for a, b below q.
    pub fn mont_mul(&self, a: &[u32; N], b: &[u32; N]) -> [u32; N] {
        // t has N + 2 words: N here, then hi and top.
        let mut t = [0u32; N];
        let mut hi = 0u32;
        for &ai in a {
            let mut carry = 0;
            for (tj, &bj) in t.iter_mut().zip(b) {
                (*tj, carry) = mac(ai, bj, *tj, carry);
            }
            let top;
            (hi, top) = split(u64::from(hi) + u64::from(carry));
            let m = t[0].wrapping_mul(self.q_inv);
            // t = (t + m·q) / 2^32: word 0 vanishes, each word moves down.
            let (_, mut carry) = mac(m, self.q[0], t[0], 0);
            for j in 1..N {
                let (v, c) = mac(m, self.q[j], t[j], carry);
                t[j - 1] = v;
                carry = c;
            }
            let (v, c) = split(u64::from(hi) + u64::from(carry));
            t[N - 1] = v;
            hi = top + c;
        }
        reduce_once(&t, hi, &self.q)
    }

    /// `a·b mod q` for a, b below q (two Montgomery products: a·R, then ·b).
    pub fn mul(&self, a: &[u32; N], b: &[u32; N]) -> [u32; N] {
        self.mont_mul(&self.mont_mul(a, &self.r2), b)
    }

    /// `a⁻¹ mod q` for a nonzero a below q (Fermat: a^(q−2); the exponent is
    /// public, the base is not branched on).
    pub fn invert(&self, a: &[u32; N]) -> [u32; N] {
        let mut one = [0u32; N];
        one[0] = 1;
        // In Montgomery form: x̃ = x·R.
        let a_m = self.mont_mul(a, &self.r2);
        let one_m = self.mont_mul(&one, &self.r2);
        let mut table = [one_m; 16];
        for i in 1..16 {
            table[i] = self.mont_mul(&table[i - 1], &a_m);
        }
        let mut e = self.q;
        e[0] -= 2;
        let mut r = one_m;
        for w in e.iter().rev() {
            for nibble in (0..8).rev() {
                for _ in 0..4 {
                    r = self.mont_mul(&r, &r);
                }
                if let Some(t) = table.get(((w >> (4 * nibble)) & 15) as usize) {
                    r = self.mont_mul(&r, t);
                }
            }
        }
        self.mont_mul(&r, &one)
    }
}

#[cfg(test)]
mod tests {
    use crate::{CRYPTOPRO_A, TC26_512_A};
    use crypto_bigint::{NonZero, U1024};
    use proptest::prelude::*;

    fn big<const N: usize>(w: &[u32; N]) -> U1024 {
        let mut bytes = [0u8; 128];
        for (chunk, w) in bytes.chunks_exact_mut(4).zip(w) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        U1024::from_le_slice(&bytes)
    }

    fn check<const N: usize>(order: &super::Order<N>, a: [u32; N], b: [u32; N]) {
        let q = NonZero::new(big(&order.q)).unwrap();
        let (a, b) = (order.reduce(&a), order.reduce(&b));
        let (ba, bb) = (big(&a), big(&b));
        assert!(ba < q.get() && bb < q.get());
        let prod = ba
            .concatenating_mul(&bb)
            .resize::<{ U1024::LIMBS }>()
            .rem(&q);
        assert_eq!(big(&order.mul(&a, &b)), prod, "mul");
        assert_eq!(big(&order.add(&a, &b)), ba.wrapping_add(&bb).rem(&q), "add");
        assert_eq!(big(&order.add(&a, &order.neg(&a))), U1024::ZERO, "neg");
        if ba != U1024::ZERO {
            let inv = order.invert(&a);
            assert_eq!(big(&order.mul(&a, &inv)), U1024::ONE, "invert");
        }
    }

    proptest! {
        #[test]
        fn order_arithmetic_matches_bignum(
            a in prop::array::uniform16(any::<u32>()),
            b in prop::array::uniform16(any::<u32>()),
        ) {
            check(&TC26_512_A.order, a, b);
            let (a8, b8) = (a[..8].try_into().unwrap(), b[8..].try_into().unwrap());
            check(&CRYPTOPRO_A.order, a8, b8);
        }
    }

    #[test]
    fn range_is_one_to_q_minus_one() {
        let o = &TC26_512_A.order;
        let mut q1 = o.q;
        q1[0] -= 1;
        assert!(bool::from(o.in_range(&q1)));
        assert!(!bool::from(o.in_range(&o.q)));
        assert!(!bool::from(o.in_range(&[0; 16])));
        assert!(!bool::from(o.in_range(&[u32::MAX; 16])));
        let mut one = [0; 16];
        one[0] = 1;
        assert!(bool::from(o.in_range(&one)));
    }
}
