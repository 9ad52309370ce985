//! The card's store on emulated NOR flash, persisted to a host file.
//!
//! Geometry of an STM32L4-class part: 2 KiB pages (erase unit), 64-bit
//! double-word programming (write unit), a double-word may be programmed only
//! when erased (the part's PROGERR), byte reads. The 64 KiB region `STORE` of
//! `memory.x` (32 pages, i.e. two 32 KiB banks of `tamga-store`) is the flash
//! array: reads are plain memory reads, as on an MCU where flash is memory
//! mapped; erase and program change the array and are written through to the
//! host file with semihosting (`SYS_SEEK` + `SYS_WRITE`), one host write per
//! operation, so killing QEMU mid-command looks like a power cut between two
//! flash operations. At boot the file is read into the array (`SYS_READ`); a
//! missing or short file is a blank (erased) part.

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use semihosting::fs::{File, OpenOptions};
use semihosting::io::{Read, Seek, SeekFrom, Write};

/// Erase unit (one page).
pub const PAGE: usize = 2048;
/// Program unit (one double-word).
pub const WORD: usize = 8;

/// Why a flash operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlashError {
    /// Offset or length outside the array or not aligned to the unit.
    Bounds,
    /// Programming a double-word that is not erased.
    NotErased,
    /// The host file could not be written.
    Host,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::Bounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotErased | FlashError::Host => NorFlashErrorKind::Other,
        }
    }
}

/// The emulated flash.
pub struct EmuFlash {
    array: &'static mut [u8],
    file: Option<File>,
}

static TAKEN: AtomicBool = AtomicBool::new(false);

// Bounds of the `STORE` region, defined in `memory.x`; only their addresses
// are used.
unsafe extern "C" {
    static mut _tamga_store_start: u8;
    static _tamga_store_end: u8;
}

/// The `STORE` region of `memory.x`, once.
fn store_region() -> Option<&'static mut [u8]> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    let start = &raw mut _tamga_store_start;
    let end = &raw const _tamga_store_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: the linker script reserves [start, end) for the store and places
    // nothing else there; QEMU backs it with RAM. `TAKEN` makes this the only
    // reference to it for the whole run. Any byte pattern is a valid `u8`.
    Some(unsafe { core::slice::from_raw_parts_mut(start, len) })
}

impl EmuFlash {
    /// The flash backed by the host file `path` (created when missing). With
    /// `path` = `None` the flash lives in RAM only (benchmarks). `None` if the
    /// region is already taken or the file cannot be opened.
    pub fn open(path: Option<&CStr>) -> Option<Self> {
        let array = store_region()?;
        array.fill(0xFF);
        let Some(path) = path else {
            return Some(EmuFlash { array, file: None });
        };
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(_) => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .ok()?,
        };
        let mut got = 0;
        while got < array.len() {
            match file.read(array.get_mut(got..).unwrap_or(&mut [])) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        if got < array.len() {
            // New or short file: the rest of the part is erased.
            file.seek(SeekFrom::Start(got as u64)).ok()?;
            file.write_all(array.get(got..).unwrap_or(&[])).ok()?;
        }
        Some(EmuFlash {
            array,
            file: Some(file),
        })
    }

    fn persist(&mut self, offset: usize, len: usize) -> Result<(), FlashError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let bytes = self
            .array
            .get(offset..offset + len)
            .ok_or(FlashError::Bounds)?;
        file.seek(SeekFrom::Start(offset as u64))
            .map_err(|_| FlashError::Host)?;
        file.write_all(bytes).map_err(|_| FlashError::Host)
    }

    fn range(&self, offset: u32, len: usize, unit: usize) -> Result<usize, FlashError> {
        let offset = offset as usize;
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.array.len());
        if fits && offset.is_multiple_of(unit) && len.is_multiple_of(unit) {
            Ok(offset)
        } else {
            Err(FlashError::Bounds)
        }
    }
}

impl ErrorType for EmuFlash {
    type Error = FlashError;
}

impl ReadNorFlash for EmuFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let at = self.range(offset, bytes.len(), 1)?;
        let src = self
            .array
            .get(at..at + bytes.len())
            .ok_or(FlashError::Bounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.array.len()
    }
}

impl NorFlash for EmuFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = (to as usize)
            .checked_sub(from as usize)
            .ok_or(FlashError::Bounds)?;
        let at = self.range(from, len, PAGE)?;
        self.array
            .get_mut(at..at + len)
            .ok_or(FlashError::Bounds)?
            .fill(0xFF);
        self.persist(at, len)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let at = self.range(offset, bytes.len(), WORD)?;
        let dst = self
            .array
            .get_mut(at..at + bytes.len())
            .ok_or(FlashError::Bounds)?;
        if dst.iter().any(|&b| b != 0xFF) {
            return Err(FlashError::NotErased);
        }
        dst.copy_from_slice(bytes);
        self.persist(at, bytes.len())
    }
}
