//! GOST R 34.10 elliptic-curve signatures as Kazakhstan's NCA uses them,
//! for the card, the host and the CA alike: `no_std`, no heap, constant-time
//! where secrets flow.
//!
//! Two generations (see `GOST.md` in the project's shared notes):
//! - GOST 34.10-2015, 512 bits: curve [`TC26_512_A`], digest Streebog-512;
//! - GOST 34.310-2004: curve [`CRYPTOPRO_A`], digest GOST 34.311-95 (GOST R
//!   34.11-94 with the test S-box: [`hash::Gost94Test`]).
//!
//! Everything is in the NCA's byte order: private keys, coordinates and the
//! signature halves are little-endian; a public key is X ‖ Y, a signature
//! r ‖ s; the digest is read as a little-endian integer e (mod q; 0 becomes
//! 1).
//!
//! ```
//! use tamga_gost::{TC26_512_A, hash::{Digest, Streebog512}};
//! # let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! # use rand_core::SeedableRng;
//! let (mut d, mut q) = ([0u8; 64], [0u8; 128]);
//! TC26_512_A.generate(&mut rng, &mut d, &mut q)?;
//! let digest = Streebog512::digest(b"document");
//! let mut sig = [0u8; 128];
//! TC26_512_A.sign(&d, &digest, b"fresh entropy", &mut sig)?;
//! TC26_512_A.verify(&q, &digest, &sig)?;
//! # Ok::<(), tamga_gost::Error>(())
//! ```
#![no_std]

mod curve;
mod field;
pub mod hash;
pub mod kernel;
mod named_curve;
mod point;
mod scalar;
mod sign;
mod tables;

pub use curve::{COMB_POINTS, COMB_TEETH, CRYPTOPRO_A, CryptoProA, Curve, TC26_512_A, Tc26_512A};
pub use named_curve::NamedCurve;

/// Why a GOST operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A key, digest, signature or output buffer of the wrong length.
    Length,
    /// A private key or nonce outside [1, q − 1] (or one giving r = 0 or s = 0).
    Range,
    /// A public key whose coordinates are not below p or not on the curve.
    NotOnCurve,
    /// The signature does not verify.
    BadSignature,
    /// The RNG gave no usable private key in 8 draws (or the nonce
    /// generator none in 8).
    Rng,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Length => "wrong length for this GOST curve",
            Error::Range => "scalar out of range",
            Error::NotOnCurve => "public key not on the curve",
            Error::BadSignature => "GOST signature does not verify",
            Error::Rng => "the random number generator gave no usable value",
        })
    }
}

impl core::error::Error for Error {}
