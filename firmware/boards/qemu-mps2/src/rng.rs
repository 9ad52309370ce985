//! The card's RNG on the emulator. **For the emulator only.**
//!
//! The emulated MCU has no TRNG. At boot the board reads 32 bytes from the
//! host's `/dev/urandom` through semihosting (`SYS_OPEN` + `SYS_READ`, via
//! `semihosting::experimental::random`) and keys a ChaCha20 generator with
//! them; nothing else feeds it. With `--seed N` on the semihosting command line
//! the key is derived from `N` instead (reproducible runs: benchmarks and
//! tests; every output is then known to anyone who knows `N`).
//!
//! On real silicon this is where the chip's TRNG plugs in: the board's
//! `Board::Rng` is the TRNG itself or a DRBG (e.g. ChaCha20, or the NIST
//! CTR_DRBG) reseeded from it; never a seed from outside the chip.

use core::convert::Infallible;

use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};

/// ChaCha20 keyed from the host (emulator only, see the module documentation).
pub struct EmuRng(ChaCha20Rng);

impl EmuRng {
    /// Keyed with 32 bytes of the host's `/dev/urandom`; `None` if the host
    /// cannot provide them (the card then refuses to start).
    pub fn from_host() -> Option<Self> {
        let mut key = [0u8; 32];
        semihosting::experimental::random::fill_bytes(&mut key).ok()?;
        if key == [0u8; 32] {
            return None;
        }
        let rng = ChaCha20Rng::from_seed(key);
        key.fill(0);
        Some(EmuRng(rng))
    }

    /// Keyed from a number: reproducible, for benchmarks and tests only.
    pub fn from_test_seed(seed: u64) -> Self {
        EmuRng(ChaCha20Rng::seed_from_u64(seed))
    }
}

impl TryRng for EmuRng {
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

impl TryCryptoRng for EmuRng {}
