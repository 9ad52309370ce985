//! A QEMU process serving the card, killed by its pid when dropped.

use std::io::Read;
use std::process::{Child, Stdio};

use tamga_testkit::qemu::Qemu;

/// A running QEMU, killed (by its pid) on drop.
pub struct Running(Child);

impl Running {
    /// Start QEMU.
    pub fn start(q: &Qemu) -> Result<Self, String> {
        let mut cmd = q.command()?;
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
        Ok(Running(child))
    }

    /// Fails if QEMU has exited, with its stderr.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(e) = self.0.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                Err(format!("QEMU exited ({status}): {}", err.trim()))
            }
            Err(e) => Err(format!("QEMU: {e}")),
        }
    }

    /// Stop QEMU (like pulling the card).
    pub fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
