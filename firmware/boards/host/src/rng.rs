//! Random number generators.

use std::convert::Infallible;

#[cfg(feature = "test-rng")]
use rand_chacha::ChaCha20Rng;
#[cfg(feature = "test-rng")]
use rand_core::SeedableRng;
use rand_core::{TryCryptoRng, TryRng};

/// The operating system's RNG (`getrandom`), a `rand_core` `CryptoRng`.
///
/// # Panics
/// Every method panics if the OS RNG fails (it practically never does on a
/// supported host; a card must not continue without randomness).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRng;

impl TryRng for OsRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(getrandom::u32().expect("OS RNG failed"))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(getrandom::u64().expect("OS RNG failed"))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        getrandom::fill(dst).expect("OS RNG failed");
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}

/// Deterministic ChaCha20 RNG from a `u64` seed: **for tests and benchmarks only**
/// (reproducible runs). Anyone who knows the seed knows every output; never use it
/// for real keys. Only with the feature `test-rng` (tests' dev-dependencies).
#[cfg(feature = "test-rng")]
#[derive(Clone, Debug)]
pub struct SeededRng(ChaCha20Rng);

#[cfg(feature = "test-rng")]
impl SeededRng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(ChaCha20Rng::seed_from_u64(seed))
    }
}

#[cfg(feature = "test-rng")]
impl TryRng for SeededRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0.try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dst)
    }
}

/// Marked crypto so it can stand in for [`OsRng`] where a `CryptoRng` is required
/// (tests only: see the type's documentation).
#[cfg(feature = "test-rng")]
impl TryCryptoRng for SeededRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    fn needs_crypto(_: &mut impl rand_core::CryptoRng) {}

    #[cfg(feature = "test-rng")]
    #[test]
    fn seeded_rng() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        needs_crypto(&mut a);
    }

    #[test]
    fn os_rng() {
        let mut os = OsRng;
        needs_crypto(&mut os);
        let mut buf = [0u8; 32];
        os.fill_bytes(&mut buf);
        assert_ne!(buf, [0u8; 32]);
    }
}
