//! The digests of the two generations, re-exported from RustCrypto:
//! Streebog-512 (GOST R 34.11-2012) for GOST 34.10-2015, and GOST R 34.11-94
//! with the test S-box and zero IV (= GOST 34.311-95) for GOST 34.310-2004.
//! Bytes are as the hash outputs them, which is what GOST signing reads as a
//! little-endian integer.

pub use gost94::Gost94Test;
pub use streebog::{Digest, Streebog256, Streebog512};
