//! `cargo xtask qemu`: the card image in QEMU, UART0 connected to vpcd
//! (pcscd's virtual reader), its defmt log decoded by `defmt-print`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use tamga_testkit::pcscd::Pcscd;
use tamga_testkit::qemu::{Qemu, link_host};

use crate::board::{Image, build};
use crate::check::pcsc_missing;
use crate::cmd::{arg_value, have, port_arg, root, run};

/// `cargo xtask qemu [--port N] [--flash PATH] [--seed N] [--no-quickack]`.
pub fn qemu(args: &[String]) -> Result<(), String> {
    let port = port_arg(args)?;
    let flash = arg_value(args, "--flash")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/mps2/flash.bin"));
    let seed = match arg_value(args, "--seed") {
        Some(s) => Some(s.parse().map_err(|_| format!("bad seed {s}"))?),
        None => None,
    };
    if let Some(missing) = pcsc_missing() {
        return Err(format!(
            "missing {missing}; install: apt-get install qemu-system-arm pcscd vsmartcard-vpcd opensc"
        ));
    }
    let elf = build(Image::Card)?;
    let _pcscd = Pcscd::ensure()?;
    let host = link_host(!args.iter().any(|a| a == "--no-quickack"));
    let decoder = have("defmt-print");
    let q = Qemu {
        elf: elf.clone(),
        vpcd: Some((host.clone(), port)),
        flash: Some(flash.clone()),
        seed,
        stack_report: Some(root().join("target/mps2/stack.txt")),
        icount: false,
        log: (!decoder).then(|| root().join("target/mps2/defmt.bin")),
    };
    println!(
        "tamga-mps2 on vpcd {host}:{port} (reader \"{}\"), flash {}; Ctrl-C stops",
        tamga_testkit::vpcd::reader(port),
        flash.display()
    );
    let mut cmd = q.command()?;
    if !decoder {
        println!(
            "defmt-print not found (cargo install defmt-print): raw log in target/mps2/defmt.bin, \
             decode with: defmt-print -e {} < target/mps2/defmt.bin",
            elf.display()
        );
        return run(&mut cmd);
    }
    let mut qemu = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let log = qemu.stdout.take().ok_or("no QEMU stdout")?;
    let mut printer = Command::new("defmt-print")
        .arg("-e")
        .arg(&elf)
        .stdin(log)
        .spawn()
        .map_err(|e| format!("cannot start defmt-print: {e}"))?;
    let status = qemu.wait().map_err(|e| e.to_string())?;
    let _ = printer.wait();
    if status.success() {
        Ok(())
    } else {
        Err(format!("QEMU exited: {status}"))
    }
}
