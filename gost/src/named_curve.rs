//! A curve chosen at run time: the card, the CA and the PKI pick the curve
//! by the key's algorithm, and the two curves are different types.

use rand_core::CryptoRng;

use crate::{CRYPTOPRO_A, Error, TC26_512_A};

/// One of the two curves, with their operations on byte slices.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NamedCurve {
    /// CryptoPro-A (GOST 34.310-2004).
    CryptoProA,
    /// tc26-512-A (GOST 34.10-2015, 512-bit).
    Tc26_512A,
}

/// `$body` with `$c` bound to the curve of `$named`.
macro_rules! on {
    ($named:expr, |$c:ident| $body:expr) => {
        match $named {
            NamedCurve::CryptoProA => {
                let $c = &CRYPTOPRO_A;
                $body
            }
            NamedCurve::Tc26_512A => {
                let $c = &TC26_512_A;
                $body
            }
        }
    };
}

impl NamedCurve {
    /// Bytes of a scalar, coordinate, digest or signature half.
    pub const fn scalar_len(self) -> usize {
        match self {
            NamedCurve::CryptoProA => 32,
            NamedCurve::Tc26_512A => 64,
        }
    }

    /// [`crate::Curve::generate`] on this curve.
    pub fn generate<R: CryptoRng + ?Sized>(
        self,
        rng: &mut R,
        private: &mut [u8],
        public: &mut [u8],
    ) -> Result<(), Error> {
        on!(self, |c| c.generate(rng, private, public))
    }

    /// [`crate::Curve::public_key`] on this curve.
    pub fn public_key(self, d: &[u8], out: &mut [u8]) -> Result<(), Error> {
        on!(self, |c| c.public_key(d, out))
    }

    /// [`crate::Curve::public_point`] on this curve: whether `public` is a
    /// point on it.
    pub fn check_point(self, public: &[u8]) -> Result<(), Error> {
        on!(self, |c| c.public_point(public).map(|_| ()))
    }

    /// [`crate::Curve::sign`] on this curve.
    pub fn sign(
        self,
        d: &[u8],
        digest: &[u8],
        entropy: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        on!(self, |c| c.sign(d, digest, entropy, out))
    }

    /// [`crate::Curve::verify`] on this curve.
    pub fn verify(self, public: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), Error> {
        on!(self, |c| c.verify(public, digest, signature))
    }
}
