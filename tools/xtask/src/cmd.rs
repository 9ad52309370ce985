//! Running commands, and where things are: the repository root, programs on
//! PATH, a task's `--name value` arguments.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Whether `program` is installed (on PATH, or in `/usr/sbin`, `/sbin`).
pub fn have(program: &str) -> bool {
    tamga_testkit::which(program).is_some()
}

/// A `cargo` command (the one running us, if any).
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Run a command to completion; its failure as one line.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// The value after `name` in `args`.
pub fn arg_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The vpcd port of `--port N` (default: vpcd's first port).
pub fn port_arg(args: &[String]) -> Result<u16, String> {
    match arg_value(args, "--port") {
        Some(p) => p.parse().map_err(|_| format!("bad port {p}")),
        None => Ok(tamga_testkit::vpcd::PORT),
    }
}
