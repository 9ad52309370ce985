//! The QEMU command line of the Cortex-M4 card (`tamga-mps2` on
//! `qemu-system-arm -M mps2-an386`), as `cargo xtask qemu` and the HIL
//! fixture's `qemu` target start it, and the fast loopback link to vpcd.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::is_root;

/// The board's binary.
pub const BIN: &str = "tamga-mps2";
/// A loopback address with a `quickack 1` route (see [`link_host`]).
pub const QUICKACK_HOST: &str = "127.0.0.2";

/// Escape a value for a QEMU option list (`,` is doubled).
fn qemu_opt(value: &str) -> String {
    value.replace(',', ",,")
}

/// How QEMU is started.
pub struct Qemu {
    /// The image.
    pub elf: PathBuf,
    /// vpcd's address; `None`: no reader link (benchmark).
    pub vpcd: Option<(String, u16)>,
    /// Host file of the card's flash; `None`: RAM only.
    pub flash: Option<PathBuf>,
    /// Reproducible RNG seed (tests only).
    pub seed: Option<u64>,
    /// Host file for the stack high-water mark.
    pub stack_report: Option<PathBuf>,
    /// `-icount shift=0`: one instruction per nanosecond of virtual time.
    pub icount: bool,
    /// Where UART1 (defmt) goes: a file, or QEMU's stdout.
    pub log: Option<PathBuf>,
}

impl Qemu {
    /// The QEMU command line.
    pub fn command(&self) -> Result<Command, String> {
        let mut sh = vec![
            "enable=on".to_string(),
            "target=native".into(),
            format!("arg={BIN}"),
        ];
        let mut arg = |k: &str, v: &str| -> Result<(), String> {
            if v.contains(' ') {
                return Err(format!(
                    "{k} {v}: no spaces in paths (semihosting command line)"
                ));
            }
            sh.push(format!("arg={k}"));
            sh.push(format!("arg={}", qemu_opt(v)));
            Ok(())
        };
        match &self.flash {
            Some(p) => arg("--flash", &p.to_string_lossy())?,
            None => arg("--flash", "-")?,
        }
        if let Some(seed) = self.seed {
            arg("--seed", &seed.to_string())?;
        }
        if let Some(p) = &self.stack_report {
            arg("--stack-report", &p.to_string_lossy())?;
        }
        let mut cmd = Command::new("qemu-system-arm");
        cmd.args(["-M", "mps2-an386", "-cpu", "cortex-m4", "-display", "none"])
            .args(["-monitor", "none", "-semihosting-config", &sh.join(",")]);
        if self.icount {
            cmd.args(["-icount", "shift=0"]);
        }
        match &self.vpcd {
            Some((host, port)) => {
                cmd.args([
                    "-chardev",
                    &format!(
                        "socket,id=u0,host={host},port={port},server=off,nodelay=on,reconnect=1"
                    ),
                    "-serial",
                    "chardev:u0",
                ]);
            }
            None => {
                cmd.args(["-serial", "null"]);
            }
        }
        match &self.log {
            Some(p) => cmd.args([
                "-chardev",
                &format!("file,id=log,path={}", qemu_opt(&p.to_string_lossy())),
                "-serial",
                "chardev:log",
            ]),
            None => cmd.args([
                "-chardev",
                "stdio,id=log,signal=off",
                "-serial",
                "chardev:log",
            ]),
        };
        cmd.arg("-kernel").arg(&self.elf).stdin(Stdio::null());
        Ok(cmd)
    }
}

/// The address QEMU connects to vpcd on.
///
/// Debian's vpcd sends the length and the APDU in two writes; the receiving
/// socket's delayed ACK then holds the second write for ~40 ms, and QEMU's
/// socket chardev can set `nodelay` but not `TCP_QUICKACK`. A route with
/// `quickack 1` to a dedicated loopback address (`127.0.0.2`) turns delayed
/// ACKs off for that connection only: 0.14 ms instead of 50 ms per APDU. As
/// root it is added when missing (and left in place); otherwise the link uses
/// 127.0.0.1 and is slow.
pub fn link_host(quickack: bool) -> String {
    if !quickack {
        return "127.0.0.1".into();
    }
    let shown = Command::new("ip")
        .args(["route", "show", "table", "local", QUICKACK_HOST])
        .output();
    if shown
        .as_ref()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("quickack 1"))
    {
        return QUICKACK_HOST.into();
    }
    if is_root() && shown.is_ok() {
        let added = Command::new("ip")
            .args(["route", "replace", "table", "local", "local", QUICKACK_HOST])
            .args([
                "dev",
                "lo",
                "proto",
                "kernel",
                "scope",
                "host",
                "src",
                QUICKACK_HOST,
            ])
            .args(["quickack", "1"])
            .status();
        if added.is_ok_and(|s| s.success()) {
            println!(
                "added route: local {QUICKACK_HOST} dev lo quickack 1 (no delayed ACKs on the vpcd link)"
            );
            return QUICKACK_HOST.into();
        }
    }
    println!(
        "warning: no `quickack 1` route to {QUICKACK_HOST} (needs root and iproute2): \
         the vpcd link waits ~40 ms per APDU on delayed ACKs"
    );
    "127.0.0.1".into()
}
