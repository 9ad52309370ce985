//! Test-fixture support for the PC/SC stack: is pcscd with vsmartcard's vpcd
//! driver here, start pcscd when it is not running, wait for a reader state.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::pcsc;

/// vpcd's reader driver, as Debian installs it.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// pcscd's socket.
pub const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
/// Reader name of vpcd port 35963; port 35964 is `Virtual PCD 00 01`.
pub const VPCD_READER_0: &str = "Virtual PCD 00 00";

/// Why the PC/SC stack cannot be used here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new(VPCD_DRIVER).exists() {
        return Some(format!(
            "vsmartcard-vpcd is not installed ({VPCD_DRIVER} missing)"
        ));
    }
    if which("pcscd").is_none() {
        return Some("pcscd is not installed".into());
    }
    None
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

/// Make sure pcscd runs: start `pcscd -f` (detached; it stays up for the
/// rest of the machine's tests, one pcscd per machine) when its socket does
/// not answer, then wait until it lists readers.
pub fn ensure_pcscd() -> Result<()> {
    if pcsc::readers().is_ok() {
        return Ok(());
    }
    let exe = which("pcscd").ok_or_else(|| Error::Pcsc("pcscd is not installed".into()))?;
    std::process::Command::new(exe)
        .arg("-f")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::Pcsc(format!("cannot start pcscd: {e}")))?;
    wait_for(Duration::from_secs(10), || {
        pcsc::readers().map(|r| !r.is_empty()).unwrap_or(false)
    })
    .map_err(|_| Error::Pcsc(format!("pcscd did not come up (socket {PCSCD_SOCKET})")))
}

/// Wait until `reader` shows a card (`present`) or no card (`!present`).
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> Result<()> {
    wait_for(timeout, || {
        pcsc::readers()
            .map(|rs| rs.iter().any(|r| r.name == reader && r.card == present))
            .unwrap_or(false)
    })
    .map_err(|_| {
        Error::NoCard(format!(
            "reader {reader} did not {} a card in {timeout:?}",
            if present { "show" } else { "lose" }
        ))
    })
}

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> std::result::Result<(), ()> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(())
}
