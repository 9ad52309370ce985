//! The firmware on an emulated Cortex-M4 through PC/SC: QEMU runs the
//! `tamga-mps2` image with its UART connected to vpcd, pcscd shows the ATR,
//! APDUs go through pcscd, the card keeps its identity across a restart.
//!
//! Skips (with a visible message) when qemu-system-arm, pcscd, vpcd or
//! opensc-tool are missing; `cargo xtask test` installs them. Uses vpcd's
//! second port (reader `Virtual PCD 00 01`) so that a card on the first one
//! (`cargo xtask qemu`) is left alone.

use tamga_testkit::vpcd::SLOTS;
use xtask::check::{Outcome, pcsc_check};

#[test]
fn firmware_on_qemu_through_pcsc() {
    match pcsc_check(SLOTS[1].0, true) {
        Ok(Outcome::Passed(summary)) => println!("{summary}"),
        Ok(Outcome::Skipped(why)) => {
            eprintln!("SKIPPED firmware_on_qemu_through_pcsc: {why}");
            println!("SKIPPED firmware_on_qemu_through_pcsc: {why}");
        }
        Err(e) => panic!("{e}"),
    }
}
