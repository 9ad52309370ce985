//! What Tamga's test suites (host tests, `tamga-hil`) and `cargo xtask` share:
//!
//! - [`pcscd`]: is the PC/SC stack here, start pcscd with one policy (without
//!   `-a`: it would log APDUs, PINs included), wait for a reader's state, a
//!   private pcscd in its own mount namespace;
//! - [`vpcd`]: vpcd's ports and the reader names pcscd gives them;
//! - [`qemu`]: the QEMU command line of the Cortex-M4 card (`tamga-mps2`);
//! - [`pty`]: a pseudo-terminal whose typist answers text-mode PIN dialogs.
//!
//! Test support only (`publish = false`); errors are one-line strings.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod gost_engine;
pub mod pcscd;
pub mod pty;
pub mod qemu;
pub mod vectors;
pub mod vpcd;
pub mod xml;

/// Where `program` is on PATH or in `/usr/sbin`, `/sbin` (or `program`
/// itself, when it is a path that exists).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).exists().then(|| program.into());
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// `openssl args…`, which must succeed (else a panic with its stderr): its
/// standard output.
pub fn openssl<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Installs the npm packages of the Node project in `dir` from its lockfile
/// (`npm ci`) unless they are there; one test process at a time (a lock
/// file beside it), so tests that share the project may start together.
pub fn npm_ci(dir: &std::path::Path, probe: &str) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let lock_path = dir.join(".npm-ci.lock");
    let lock =
        std::fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` drops.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "flock {}: {}",
            lock_path.display(),
            std::io::Error::last_os_error()
        ));
    }
    if dir.join("node_modules").join(probe).exists() {
        return Ok(());
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("npm (Node.js) does not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "npm ci in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
