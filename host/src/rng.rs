//! Random bytes from the operating system.

use crate::error::{Error, Result};

/// Fills `buf` from the OS random number generator ([`Error::Rng`] when it fails).
pub fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Rng(e.to_string()))
}
