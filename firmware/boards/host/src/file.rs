//! NOR flash persisted in a file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::{FlashError, check, check_erase};

/// NOR flash backed by a file, with the strict semantics of [`crate::SimFlash`]
/// (program only erased units, aligned accesses) and `READ_SIZE` 1.
///
/// Every program and erase is written through to the file before returning,
/// so a killed process (a power cut, for the emulated card) loses nothing; with
/// [`FileFlash::open`] each one is also `fsync`ed, so it survives an OS crash
/// too ([`FileFlash::open_unsynced`] skips that, for low-latency labs). A RAM copy
/// serves reads. Programmed-unit tracking is by content (a unit is erased when it
/// reads all `0xFF`), since it is not persisted.
///
/// Const parameters: `WRITE` = `WRITE_SIZE` (default 4), `ERASE` = `ERASE_SIZE`
/// (default 2048).
#[derive(Debug)]
pub struct FileFlash<const WRITE: usize = 4, const ERASE: usize = 2048> {
    file: File,
    mem: Vec<u8>,
    /// `fsync` after every program and erase.
    sync: bool,
}

impl<const WRITE: usize, const ERASE: usize> FileFlash<WRITE, ERASE> {
    /// Open the flash file at `path`, creating it `0xFF`-filled with `size` bytes if
    /// it does not exist. An existing file must be exactly `size` bytes long
    /// (`InvalidData` otherwise). `size` must be a positive multiple of `ERASE`
    /// (`InvalidInput`).
    pub fn open(path: impl AsRef<Path>, size: usize) -> io::Result<Self> {
        Self::open_with(path, size, true)
    }

    /// Like [`FileFlash::open`], without an `fsync` per operation: every write
    /// still reaches the operating system at once (a killed process loses
    /// nothing), only an OS crash or host power loss can lose the latest ones.
    pub fn open_unsynced(path: impl AsRef<Path>, size: usize) -> io::Result<Self> {
        Self::open_with(path, size, false)
    }

    fn open_with(path: impl AsRef<Path>, size: usize, sync: bool) -> io::Result<Self> {
        if size == 0 || !size.is_multiple_of(ERASE) || !ERASE.is_multiple_of(WRITE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "flash size must be a positive multiple of the erase size",
            ));
        }
        let path = path.as_ref();
        // The card's keys are in this file: its owner only may read it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let len = file.metadata()?.len();
        let mem = if len == 0 {
            let mem = vec![0xFF; size];
            file.write_all_at(&mem, 0)?;
            file.sync_all()?;
            mem
        } else if len == size as u64 {
            let mut mem = vec![0; size];
            file.read_exact_at(&mut mem, 0)?;
            mem
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {len} bytes, expected {size}", path.display()),
            ));
        };
        Ok(FileFlash { file, mem, sync })
    }

    fn persist(&self, offset: usize, len: usize) -> Result<(), FlashError> {
        self.file
            .write_all_at(&self.mem[offset..offset + len], offset as u64)
            .and_then(|()| {
                if self.sync {
                    self.file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|_| FlashError::Io)
    }
}

impl<const WRITE: usize, const ERASE: usize> ErrorType for FileFlash<WRITE, ERASE> {
    type Error = FlashError;
}

impl<const WRITE: usize, const ERASE: usize> ReadNorFlash for FileFlash<WRITE, ERASE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        check(offset, bytes.len(), 1, self.mem.len())?;
        let o = offset as usize;
        bytes.copy_from_slice(&self.mem[o..o + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const WRITE: usize, const ERASE: usize> NorFlash for FileFlash<WRITE, ERASE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        check_erase(from, to, ERASE, self.mem.len())?;
        let (from, to) = (from as usize, to as usize);
        self.mem[from..to].fill(0xFF);
        self.persist(from, to - from)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        check(offset, bytes.len(), WRITE, self.mem.len())?;
        let o = offset as usize;
        if self.mem[o..o + bytes.len()].iter().any(|&b| b != 0xFF) {
            return Err(FlashError::NotErased);
        }
        self.mem[o..o + bytes.len()].copy_from_slice(bytes);
        self.persist(o, bytes.len())
    }
}
