//! An emulated card in this process: tamga-firmware on a file-backed NOR flash,
//! so its state survives between commands.

use std::path::{Path, PathBuf};

use tamga_board_host::{FileFlash, OsRng};
use tamga_firmware::Applet;

use super::Transport;
use crate::error::{Error, Result};

/// Size of the emulated card's flash file.
pub const FLASH_SIZE: usize = 256 * 1024;

/// The firmware, emulated.
pub struct EmuCard {
    applet: Applet<FileFlash, OsRng>,
    path: PathBuf,
}

impl EmuCard {
    /// Open (or create) the emulated card whose flash is the file at `path`;
    /// every flash operation is `fsync`ed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// Like [`EmuCard::open`]; `fsync` per flash operation only when `sync`
    /// (without it a killed process still loses nothing, an OS crash may).
    pub fn open_with(path: impl AsRef<Path>, sync: bool) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let err = |reason: String| Error::Emulator {
            path: path.display().to_string(),
            reason,
        };
        if path.as_os_str().is_empty() {
            return Err(err("empty path: use emu:PATH".into()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(err(format!("directory {} does not exist", dir.display())));
        }
        let flash = if sync {
            FileFlash::open(&path, FLASH_SIZE)
        } else {
            FileFlash::open_unsynced(&path, FLASH_SIZE)
        }
        .map_err(|e| err(e.to_string()))?;
        let applet = Applet::new(flash, OsRng).map_err(|e| err(format!("{e:?}")))?;
        Ok(EmuCard { applet, path })
    }
}

impl Transport for EmuCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let mut reply = vec![0u8; 4096];
        let n = self.applet.process(apdu, &mut reply);
        reply.truncate(n);
        Ok(reply)
    }

    fn reset(&mut self) -> Result<()> {
        self.applet.reset();
        Ok(())
    }

    fn describe(&self) -> String {
        format!("emulated card {}", self.path.display())
    }
}
