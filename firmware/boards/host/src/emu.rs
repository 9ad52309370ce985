//! The emulated card: `tamga-firmware` on a file-backed NOR flash, so its
//! state survives between commands and between processes.

use std::path::{Path, PathBuf};

use tamga_firmware::Applet;

use crate::{FileFlash, OsRng};

/// Size of the emulated card's flash file.
pub const FLASH_SIZE: usize = 256 * 1024;

/// Room for the longest response the applet gives to one command.
const RESPONSE_MAX: usize = 4096;

/// The firmware, emulated.
pub struct EmuCard {
    applet: Applet<FileFlash, OsRng>,
    path: PathBuf,
}

/// Why an emulated card cannot be opened.
#[derive(Debug)]
pub struct OpenError {
    /// The flash file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "emulated card {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for OpenError {}

impl EmuCard {
    /// Open (or create) the card whose flash is the file at `path`. With
    /// `sync` every flash operation is `fsync`ed; without it a killed process
    /// still loses nothing, an OS crash may.
    pub fn open(path: impl AsRef<Path>, sync: bool) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let err = |reason: String| OpenError {
            path: path.clone(),
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

    /// Process one command APDU; the response with its status word.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut reply = vec![0u8; RESPONSE_MAX];
        let n = self.applet.process(apdu, &mut reply);
        reply.truncate(n);
        reply
    }

    /// Reset the card: its volatile state (PIN verified, chains) is lost.
    pub fn reset(&mut self) {
        self.applet.reset();
    }

    /// The flash file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
