//! An emulated card in this process: the board's [`tamga_board_host::EmuCard`]
//! (tamga-firmware on a file-backed NOR flash) as a [`Transport`].

use std::path::Path;

pub use tamga_board_host::emu::FLASH_SIZE;

use super::Transport;
use crate::error::{Error, Result};

/// The firmware, emulated.
pub struct EmuCard(tamga_board_host::EmuCard);

impl EmuCard {
    /// Open (or create) the emulated card whose flash is the file at `path`;
    /// every flash operation is `fsync`ed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// Like [`EmuCard::open`]; `fsync` per flash operation only when `sync`
    /// (without it a killed process still loses nothing, an OS crash may).
    pub fn open_with(path: impl AsRef<Path>, sync: bool) -> Result<Self> {
        tamga_board_host::EmuCard::open(path, sync)
            .map(EmuCard)
            .map_err(|e| Error::Emulator {
                path: e.path.display().to_string(),
                reason: e.reason,
            })
    }
}

impl Transport for EmuCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        Ok(self.0.transmit(apdu))
    }

    fn reset(&mut self) -> Result<()> {
        self.0.reset();
        Ok(())
    }

    fn describe(&self) -> String {
        format!("emulated card {}", self.0.path().display())
    }
}
