//! Host board for `tamga-firmware`: NOR flash (simulated in RAM with power-cut
//! injection, or backed by a file) and random number generators.
//!
//! - [`SimFlash`]: RAM flash with strict NOR semantics and torn program/erase
//!   injection ([`SimFlash::cut_after`]). It is `Clone`, and clones share the same
//!   memory (`Arc<Mutex<..>>`): keep a clone, give another to the store/applet, cut
//!   power, drop the store and mount again on the same content.
//! - [`FileFlash`]: the same strict semantics, persisted in a file (every program
//!   and erase is written through and `fsync`ed).
//! - [`OsRng`]: the operating system RNG as a `rand_core` `CryptoRng`.
//! - `SeededRng` (feature `test-rng`): a deterministic ChaCha20 RNG, **for tests
//!   and benchmarks only**.
//!
//! With the feature `emu`, the emulated card on this board:
//!
//! - [`emu::EmuCard`]: the firmware on a [`FileFlash`] (what `tamga` opens for an
//!   `emu:PATH` card);
//! - [`vpcd::run`]: that card on vsmartcard's vpcd, so pcscd shows it in a reader
//!   (`tamga-vcard`);
//! - [`trace`]: the APDU trace it writes (secrets masked), which `tamga trace` reads.

#[cfg(feature = "emu")]
pub mod emu;
mod file;
mod rng;
mod sim;
#[cfg(feature = "emu")]
pub mod trace;
#[cfg(feature = "emu")]
pub mod vpcd;

#[cfg(feature = "emu")]
pub use emu::EmuCard;
pub use file::FileFlash;
pub use rng::OsRng;
#[cfg(feature = "test-rng")]
pub use rng::SeededRng;
pub use sim::SimFlash;

use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};

/// Errors of the host flashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// Offset or length not a multiple of `READ_SIZE`/`WRITE_SIZE`/`ERASE_SIZE`.
    NotAligned,
    /// Access beyond the end of the flash.
    OutOfBounds,
    /// Program of a write unit that is not erased (strict NOR: program once per erase).
    NotErased,
    /// The power is off (a cut was injected); call [`SimFlash::power_on`].
    PowerOff,
    /// Host I/O error ([`FileFlash`]).
    Io,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

impl std::fmt::Display for FlashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for FlashError {}

/// Check `offset..offset+len` against alignment `unit` and `capacity`.
fn check(offset: u32, len: usize, unit: usize, capacity: usize) -> Result<(), FlashError> {
    let offset = offset as usize;
    if !offset.is_multiple_of(unit) || !len.is_multiple_of(unit) {
        return Err(FlashError::NotAligned);
    }
    match offset.checked_add(len) {
        Some(end) if end <= capacity => Ok(()),
        _ => Err(FlashError::OutOfBounds),
    }
}

/// Validate erase bounds: `from <= to`, both multiples of `erase`, within `capacity`.
fn check_erase(from: u32, to: u32, erase: usize, capacity: usize) -> Result<(), FlashError> {
    if from > to {
        return Err(FlashError::OutOfBounds);
    }
    check(from, (to - from) as usize, erase, capacity)
}
