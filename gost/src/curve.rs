//! The two GOST curves the NCA uses, their parameters, and scalar
//! multiplication: a fixed-base comb for k·G (key generation and signing,
//! constant-time) and a window method for a public scalar times any point
//! (verification).

use crate::field::Fe;
use crate::point::{Affine, Projective};
use crate::scalar::Order;
use crate::tables;
use crypto_bigint::{U256, U512};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Teeth of the fixed-base comb: the table holds 2^W − 1 points.
pub const COMB_TEETH: usize = 5;
/// Points in a comb table (every nonzero combination of the teeth).
pub const COMB_POINTS: usize = (1 << COMB_TEETH) - 1;

/// A GOST curve y² = x³ − 3x + b over GF(2^(32·N) − C) with a base point G of
/// prime order q (both curves here have cofactor 1). `U` is the order as a
/// `crypto-bigint` integer, for the RFC 6979 nonce generator.
#[derive(Debug)]
pub struct Curve<const N: usize, const C: u32, U: 'static> {
    /// The curve's name as the standards write it.
    pub name: &'static str,
    pub(crate) b: Fe<N, C>,
    pub(crate) order: Order<N>,
    pub(crate) order_uint: U,
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "G is where the comb table comes from; the tables test reads it"
        )
    )]
    pub(crate) g: Affine<N, C>,
    /// `comb[0][j − 1]` = Σ over the set bits t of j of 2^(t·D)·G, D the
    /// comb's column count; `comb[1][j − 1]` = 2^E · `comb[0][j − 1]`,
    /// E = ⌈D / 2⌉ (two tables: half the doublings).
    pub(crate) comb: &'static [[Affine<N, C>; COMB_POINTS]; 2],
}

/// Little-endian words of a big-endian hex string of exactly 8·N digits.
/// Called only in the curves' statics, so it runs at compile time: a bad
/// literal fails the build (the asserts), never the card.
pub(crate) const fn words_from_be_hex<const N: usize>(hex: &str) -> [u32; N] {
    let s = hex.as_bytes();
    assert!(s.len() == 8 * N, "hex string of the wrong length");
    let mut w = [0u32; N];
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        };
        let bit = 4 * (s.len() - 1 - i);
        w[bit / 32] |= (v as u32) << (bit % 32);
        i += 1;
    }
    w
}

/// CryptoPro-A (RFC 4357; = id-tc26-gost-3410-2012-256-paramSetB), the curve
/// of GOST 34.310-2004 keys (Kazakh OID 1.2.398.3.10.1.1.1.1.1).
pub type CryptoProA = Curve<8, 617, U256>;
/// id-tc26-gost-3410-12-512-paramSetA (RFC 7836), the curve of GOST
/// 34.10-2015 512-bit keys (Kazakh OID 1.2.398.3.10.1.1.2.2.1).
pub type Tc26_512A = Curve<16, 569, U512>;

const CRYPTOPRO_A_Q: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893";
const TC26_512_A_Q: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\
27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275";

/// CryptoPro-A: p = 2^256 − 617, b = 166, G = (1, …).
pub static CRYPTOPRO_A: CryptoProA = Curve {
    name: "id-GostR3410-2001-CryptoPro-A-ParamSet",
    b: Fe::from_words(words_from_be_hex(
        "00000000000000000000000000000000000000000000000000000000000000A6",
    )),
    order: Order::new(words_from_be_hex(CRYPTOPRO_A_Q)),
    order_uint: U256::from_be_hex(CRYPTOPRO_A_Q),
    g: Affine::from_words(
        words_from_be_hex("0000000000000000000000000000000000000000000000000000000000000001"),
        words_from_be_hex("8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14"),
    ),
    comb: &tables::CRYPTOPRO_A_COMB,
};

/// tc26-512-A: p = 2^512 − 569, G = (3, …).
pub static TC26_512_A: Tc26_512A = Curve {
    name: "id-tc26-gost-3410-12-512-paramSetA",
    b: Fe::from_words(words_from_be_hex(
        "E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265\
EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
    )),
    order: Order::new(words_from_be_hex(TC26_512_A_Q)),
    order_uint: U512::from_be_hex(TC26_512_A_Q),
    g: Affine::from_words(
        words_from_be_hex(
            "0000000000000000000000000000000000000000000000000000000000000000\
0000000000000000000000000000000000000000000000000000000000000003",
        ),
        words_from_be_hex(
            "7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921\
DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4",
        ),
    ),
    comb: &tables::TC26_512_A_COMB,
};

/// Bit `i` of little-endian words (0 beyond the top).
#[inline(always)]
fn bit<const N: usize>(k: &[u32; N], i: usize) -> u32 {
    k.get(i / 32).map_or(0, |w| (w >> (i % 32)) & 1)
}

impl<const N: usize, const C: u32, U> Curve<N, C, U> {
    /// Bytes of a scalar or a coordinate.
    pub const SCALAR_BYTES: usize = 4 * N;
    /// Bytes of a public key (x ‖ y) or a signature (r ‖ s).
    pub const PAIR_BYTES: usize = 8 * N;
    /// Columns of the comb: ⌈32·N / W⌉.
    pub(crate) const COMB_COLUMNS: usize = (32 * N).div_ceil(COMB_TEETH);

    /// The group order q, little-endian words.
    pub fn order(&self) -> &[u32; N] {
        &self.order.q
    }

    /// Rows of the two-table comb: E = ⌈D / 2⌉.
    pub(crate) const COMB_ROWS: usize = Self::COMB_COLUMNS.div_ceil(2);

    /// The comb's table entry for the 5-bit index `idx` of `table`, by a scan
    /// of the whole table ([`crate::kernel::select31`], constant-time: every
    /// entry is read; entry 0, the identity, is not stored: zeros come back
    /// and the caller drops the sum).
    #[inline(always)]
    fn comb_entry(&self, table: usize, idx: u32) -> Affine<N, C> {
        let mut w = [[0u32; N]; 2];
        if let Some(t) = self.comb.get(table) {
            // SAFETY: `Affine` is `repr(C)` of two `Fe`, each
            // `repr(transparent)` over `[u32; N]`: the table is 31 · 2N
            // contiguous, initialised words without padding, borrowed for
            // as long as the slice.
            let words = unsafe {
                core::slice::from_raw_parts(t.as_ptr().cast::<u32>(), COMB_POINTS * 2 * N)
            };
            crate::kernel::select31(words, idx, w.as_flattened_mut());
        }
        let [x, y] = w;
        Affine::from_words(x, y)
    }

    /// `k·G` by the two-table comb, in constant time: each of the E rows
    /// costs one doubling, two scans of a whole table and two additions
    /// whose results are kept or not by a masked select.
    pub(crate) fn mul_base(&self, k: &[u32; N]) -> Projective<N, C> {
        let (d, e) = (Self::COMB_COLUMNS, Self::COMB_ROWS);
        let mut acc = Projective::IDENTITY;
        for col in (0..e).rev() {
            if col != e - 1 {
                acc = acc.double(&self.b);
            }
            for (table, column) in [(0, col), (1, col + e)] {
                let mut idx = 0u32;
                if column < d {
                    for tooth in 0..COMB_TEETH {
                        idx |= bit(k, tooth * d + column) << tooth;
                    }
                }
                let sum = acc.add_affine(&self.comb_entry(table, idx), &self.b);
                acc.conditional_assign(&sum, !idx.ct_eq(&0));
            }
        }
        acc
    }

    /// `k·P` for a public scalar `k` (4-bit windows, variable time).
    pub(crate) fn mul_public(&self, p: &Affine<N, C>, k: &[u32; N]) -> Projective<N, C> {
        let mut table = [Projective::IDENTITY; 16];
        for i in 1..16 {
            table[i] = table[i - 1].add_affine(p, &self.b);
        }
        let mut acc = Projective::IDENTITY;
        for w in k.iter().rev() {
            for nibble in (0..8).rev() {
                for _ in 0..4 {
                    acc = acc.double(&self.b);
                }
                let idx = ((w >> (4 * nibble)) & 15) as usize;
                if let Some(t) = table.get(idx).filter(|_| idx != 0) {
                    acc = acc.add(t, &self.b);
                }
            }
        }
        acc
    }

    /// The comb tables from G by plain doubling and addition (what
    /// `tables.rs` holds; the tables test checks it is current).
    #[cfg(test)]
    pub(crate) fn comb_table(&self) -> [[Affine<N, C>; COMB_POINTS]; 2] {
        let d = Self::COMB_COLUMNS;
        let mut teeth = [Projective::from(&self.g); COMB_TEETH];
        for t in 1..COMB_TEETH {
            let mut p = teeth[t - 1];
            for _ in 0..d {
                p = p.double(&self.b);
            }
            teeth[t] = p;
        }
        let mut out = [[Affine::default(); COMB_POINTS]; 2];
        for (j, slot) in (1usize..).zip(0..COMB_POINTS) {
            let mut acc = Projective::IDENTITY;
            for (t, tooth) in teeth.iter().enumerate() {
                if (j >> t) & 1 == 1 {
                    acc = acc.add(tooth, &self.b);
                }
            }
            let mut high = acc;
            for _ in 0..Self::COMB_ROWS {
                high = high.double(&self.b);
            }
            if let (Some(a), Some(h)) = (acc.affine(), high.affine()) {
                out[0][slot] = a;
                out[1][slot] = h;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_points_are_on_their_curves_and_have_order_q() {
        assert!(CRYPTOPRO_A.g.is_on_curve(&CRYPTOPRO_A.b));
        assert!(TC26_512_A.g.is_on_curve(&TC26_512_A.b));
        let g = Projective::from(&CRYPTOPRO_A.g);
        assert!(bool::from(
            CRYPTOPRO_A
                .mul_public(&CRYPTOPRO_A.g, CRYPTOPRO_A.order())
                .is_identity()
        ));
        assert!(!bool::from(g.is_identity()));
        assert!(bool::from(
            TC26_512_A
                .mul_public(&TC26_512_A.g, TC26_512_A.order())
                .is_identity()
        ));
    }
}
