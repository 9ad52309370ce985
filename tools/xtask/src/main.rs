//! Project tasks: `cargo xtask <task>`.
//!
//! - `test`: everything CI checks — installs the Debian packages the suites
//!   need (when root), checks formatting and lints, builds the firmware for
//!   Cortex-M4, runs every test suite with nextest (JUnit in
//!   `target/nextest/ci/junit.xml`) and the doc tests.
//! - `demo`: the embedded default scenario on an emulated card.
//! - `bench`: the firmware benchmark (instruction counts).
//! - `qemu` (`serve.rs`), `qemu-check` (`check.rs`), `size` (`size.rs`),
//!   `bench-m4` (`bench_m4.rs`): the firmware on an emulated Cortex-M4, whose
//!   images `board.rs` builds.
//! - `fuzz`: coverage-guided fuzzing of the applet (see `fuzz.rs`).
//!
//! The tasks live in the library (`src/lib.rs`), so that the integration test
//! `tests/qemu_pcsc.rs` runs the PC/SC check itself.

use std::env;
use std::process::{Command, ExitCode};

use xtask::cmd::{cargo, root, run};
use xtask::test::EMBEDDED_TARGET;
use xtask::{bench_agent, bench_m4, check, deny, deps, fuzz, serve, size, test};

fn usage() {
    eprintln!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         test    install test dependencies (as root), check formatting and lints, build the\n          \
                 firmware for {EMBEDDED_TARGET}, run every test suite\n  \
         demo    run the demo scenario on an emulated card (no hardware, no services)\n  \
         bench   print the firmware's host-side instruction counts\n  \
         bench-enroll  time an NCA enrolment through pcscd: tamga vs a yubico-piv-tool script\n  \
         bench-agent   tamga agent vs tamga sign: requests/s, time per signature, the agent's own part\n  \
         qemu [--port N] [--flash PATH] [--seed N] [--no-quickack]\n          \
                 run the firmware on an emulated Cortex-M4 (QEMU), connected to vpcd\n  \
         qemu-check [--port N]  the PC/SC check: QEMU + pcscd + vpcd, ATR, APDUs, restart\n  \
         size    footprint of the Cortex-M4 image (sections, measured stack); fails over budget\n  \
         deny    cargo deny: licenses, bans, sources; advisories with a local RustSec copy\n  \
         deps    the crate layering rules (README), checked on cargo metadata\n  \
         bench-m4 [--rsa-seeds N]  instructions per operation on the Cortex-M4 build (QEMU\n          \
                 -icount), both P-256 backends compared; RSA-2048 keygen median/max over\n          \
                 seeds 1..=N (default 21, 0: skip)\n  \
         fuzz [--seconds N]  coverage-guided fuzzing of the applet (libFuzzer, stable Rust;\n          \
                 default 60 s); corpus and findings under target/fuzz/"
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::test(),
        Some("demo") => cargo_task(&["run", "--quiet", "-p", "tamga", "--", "demo"]),
        Some("bench") => cargo_task(&["bench", "-p", "tamga-firmware", "--bench", "ops"]),
        Some("bench-enroll") => bench_enroll(),
        Some("bench-agent") => bench_agent::bench_agent(),
        Some("qemu") => serve::qemu(&args[1..]),
        Some("qemu-check") => check::qemu_check(&args[1..]),
        Some("size") => size::size(),
        Some("deny") => deny::deny(),
        Some("deps") => deps::deps(),
        Some("bench-m4") => bench_m4::bench_m4(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("-h" | "--help" | "help") => {
            usage();
            return ExitCode::SUCCESS;
        }
        _ => {
            usage();
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo <args>`.
fn cargo_task(args: &[&str]) -> Result<(), String> {
    run(cargo().args(args))
}

/// The enrolment benchmark (release build) through pcscd + vpcd.
fn bench_enroll() -> Result<(), String> {
    cargo_task(&[
        "build",
        "--release",
        "-p",
        "tamga",
        "-p",
        "tamga-vcard",
        "-p",
        "tamga-ca",
        "-p",
        "tamga-hil",
    ])?;
    run(&mut Command::new(
        root().join("target/release/bench-enroll"),
    ))
}
