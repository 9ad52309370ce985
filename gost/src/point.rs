//! Points of a short Weierstrass curve y² = x³ − 3x + b: affine points and
//! homogeneous projective ones (X : Y : Z), with the complete formulas of
//! Renes, Costello and Batina ("Complete addition formulas for prime order
//! elliptic curves", 2016, algorithms 4, 5 and 6 for a = −3). Complete means
//! no exceptional case: doubling through addition, the identity and P + (−P)
//! all give the right answer with the same sequence of operations, so a
//! scalar multiplication needs no branch on the scalar.

use crate::field::Fe;
use subtle::{Choice, ConditionallySelectable};

/// An affine point (x, y) other than the identity (`repr(C)`: x's words,
/// then y's, so a table of points is scanned as plain words).
#[derive(Copy, Clone, Debug, Default)]
#[repr(C)]
pub struct Affine<const N: usize, const C: u32> {
    /// x coordinate.
    pub x: Fe<N, C>,
    /// y coordinate.
    pub y: Fe<N, C>,
}

/// A projective point (X : Y : Z); the identity is (0 : 1 : 0).
#[derive(Copy, Clone, Debug)]
pub struct Projective<const N: usize, const C: u32> {
    x: Fe<N, C>,
    y: Fe<N, C>,
    z: Fe<N, C>,
}

impl<const N: usize, const C: u32> Affine<N, C> {
    /// The point with these coordinate words (for tables and constants).
    pub const fn from_words(x: [u32; N], y: [u32; N]) -> Self {
        Affine {
            x: Fe::from_words(x),
            y: Fe::from_words(y),
        }
    }

    /// Whether y² = x³ − 3x + b.
    pub fn is_on_curve(&self, b: &Fe<N, C>) -> bool {
        let rhs = self.x.square().mul(&self.x).sub(&self.x.triple()).add(b);
        self.y.square().sub(&rhs).is_zero().into()
    }
}

impl<const N: usize, const C: u32> ConditionallySelectable for Affine<N, C> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Affine {
            x: Fe::conditional_select(&a.x, &b.x, choice),
            y: Fe::conditional_select(&a.y, &b.y, choice),
        }
    }
}

impl<const N: usize, const C: u32> ConditionallySelectable for Projective<N, C> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        let mut r = *a;
        r.conditional_assign(b, choice);
        r
    }

    /// In place, with one mask for all 3·N words.
    fn conditional_assign(&mut self, other: &Self, choice: Choice) {
        let mask = 0u32.wrapping_sub(u32::from(choice.unwrap_u8()));
        for (s, o) in [
            (&mut self.x, &other.x),
            (&mut self.y, &other.y),
            (&mut self.z, &other.z),
        ] {
            for (w, v) in s.0.iter_mut().zip(&o.0) {
                *w ^= mask & (*w ^ v);
            }
        }
    }
}

impl<const N: usize, const C: u32> From<&Affine<N, C>> for Projective<N, C> {
    fn from(p: &Affine<N, C>) -> Self {
        Projective {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }
}

impl<const N: usize, const C: u32> Projective<N, C> {
    /// The identity (0 : 1 : 0).
    pub const IDENTITY: Self = Projective {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    /// Whether this is the identity.
    pub fn is_identity(&self) -> Choice {
        self.z.is_zero()
    }

    /// The affine form (one inversion); `None` for the identity.
    pub fn affine(&self) -> Option<Affine<N, C>> {
        if bool::from(self.is_identity()) {
            return None;
        }
        let zi = self.z.invert();
        Some(Affine {
            x: self.x.mul(&zi).canonical(),
            y: self.y.mul(&zi).canonical(),
        })
    }

    /// `self + rhs` (RCB algorithm 4: 12 products, 2 of them by b).
    pub fn add(&self, rhs: &Self, b: &Fe<N, C>) -> Self {
        let (x1, y1, z1) = (&self.x, &self.y, &self.z);
        let (x2, y2, z2) = (&rhs.x, &rhs.y, &rhs.z);
        let xx = x1.mul(x2);
        let yy = y1.mul(y2);
        let zz = z1.mul(z2);
        let xy = x1.add(y1).mul(&x2.add(y2)).sub(&xx.add(&yy));
        let yz = y1.add(z1).mul(&y2.add(z2)).sub(&yy.add(&zz));
        let xz = x1.add(z1).mul(&x2.add(z2)).sub(&xx.add(&zz));
        Self::add_tail(&xx, &yy, &zz, &xy, &yz, &xz, b)
    }

    /// `self + rhs` for an affine `rhs` (RCB algorithm 5: 11 products).
    pub fn add_affine(&self, rhs: &Affine<N, C>, b: &Fe<N, C>) -> Self {
        let (x1, y1, z1) = (&self.x, &self.y, &self.z);
        let xx = x1.mul(&rhs.x);
        let yy = y1.mul(&rhs.y);
        let xy = x1.add(y1).mul(&rhs.x.add(&rhs.y)).sub(&xx.add(&yy));
        let yz = rhs.y.mul(z1).add(y1);
        let xz = rhs.x.mul(z1).add(x1);
        Self::add_tail(&xx, &yy, z1, &xy, &yz, &xz, b)
    }

    /// The part algorithms 4 and 5 share, from the products XX, YY, ZZ and
    /// the pair sums XY, YZ, XZ (each X1Y2 + X2Y1 and so on).
    #[inline(always)]
    fn add_tail(
        xx: &Fe<N, C>,
        yy: &Fe<N, C>,
        zz: &Fe<N, C>,
        xy: &Fe<N, C>,
        yz: &Fe<N, C>,
        xz: &Fe<N, C>,
        b: &Fe<N, C>,
    ) -> Self {
        let bzz3 = xz.sub(&b.mul(zz)).triple();
        let y_minus = yy.sub(&bzz3);
        let y_plus = yy.add(&bzz3);
        let zz3 = zz.triple();
        let bxz3 = b.mul(xz).sub(&zz3.add(xx)).triple();
        let xx3_zz3 = xx.triple().sub(&zz3);
        Projective {
            x: y_plus.mul(xy).sub(&yz.mul(&bxz3)),
            y: y_plus.mul(&y_minus).add(&xx3_zz3.mul(&bxz3)),
            z: y_minus.mul(yz).add(&xy.mul(&xx3_zz3)),
        }
    }

    /// `2·self` (RCB algorithm 6: 8 products and 3 squares).
    pub fn double(&self, b: &Fe<N, C>) -> Self {
        let (x, y, z) = (&self.x, &self.y, &self.z);
        let xx = x.square();
        let yy = y.square();
        let zz = z.square();
        let xy2 = x.mul(y).double();
        let xz2 = x.mul(z).double();
        let bzz3 = b.mul(&zz).sub(&xz2).triple();
        let y_minus = yy.sub(&bzz3);
        let y_plus = yy.add(&bzz3);
        let zz3 = zz.triple();
        let bxz6 = b.mul(&xz2).sub(&zz3.add(&xx)).triple();
        let xx3_zz3 = xx.triple().sub(&zz3);
        let yz2 = y.mul(z).double();
        Projective {
            x: y_minus.mul(&xy2).sub(&bxz6.mul(&yz2)),
            y: y_plus.mul(&y_minus).add(&xx3_zz3.mul(&bxz6)),
            z: yz2.mul(&yy).double().double(),
        }
    }
}
