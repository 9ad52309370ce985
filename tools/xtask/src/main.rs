//! Project tasks: `cargo xtask <task>`.
//!
//! - `test`: everything CI checks — installs the Debian packages the suites
//!   need (when root), checks formatting and lints, builds the firmware for
//!   Cortex-M4, runs every test suite with nextest (JUnit in
//!   `target/nextest/ci/junit.xml`) and the doc tests.
//! - `demo`: the embedded default scenario on an emulated card.
//! - `bench`: the firmware benchmark (instruction counts).
//! - `qemu`, `qemu-check`, `size`, `bench-m4`: the firmware on an emulated
//!   Cortex-M4 (see `qemu.rs`).
//! - `fuzz`: coverage-guided fuzzing of the applet (see `fuzz.rs`).

use std::env;
use std::process::{Command, ExitCode};

mod fuzz;
mod qemu;
mod qemu_cmd;

use qemu_cmd::run;

/// Debian packages the test suites use.
const PACKAGES: &[&str] = &[
    "valgrind",
    "openssl",
    "pkg-config",
    "qemu-system-arm",
    "clang-14",
    "binutils-arm-none-eabi",
    "pcscd",
    "vsmartcard-vpcd",
    "opensc",
    "opensc-pkcs11",
    "yubico-piv-tool",
    "ykcs11",
    "libengine-pkcs11-openssl",
    "pcsc-tools",
    "libpcsclite-dev",
    "iproute2",
];

/// The embedded target the firmware must keep building for.
const EMBEDDED_TARGET: &str = "thumbv7em-none-eabihf";

/// APDU sequences the firmware property test runs in `test`.
const PROP_CASES: &str = "100000";

/// Random sessions the fuzz harness runs on stable in `test`.
const FUZZ_SESSIONS: &str = "30000";

fn usage() {
    eprintln!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         test    install test dependencies (as root), check formatting and lints, build the\n          \
                 firmware for {EMBEDDED_TARGET}, run every test suite\n  \
         demo    run the demo scenario on an emulated card (no hardware, no services)\n  \
         bench   print the firmware's host-side instruction counts\n  \
         bench-enroll  time an NCA enrolment through pcscd: tamga vs a yubico-piv-tool script\n  \
         qemu [--port N] [--flash PATH] [--seed N] [--no-quickack]\n          \
                 run the firmware on an emulated Cortex-M4 (QEMU), connected to vpcd\n  \
         qemu-check [--port N]  the PC/SC check: QEMU + pcscd + vpcd, ATR, APDUs, restart\n  \
         size    footprint of the Cortex-M4 image (sections, measured stack)\n  \
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
        Some("test") => test(),
        Some("demo") => cargo(&["run", "--quiet", "-p", "tamga", "--", "demo"]),
        Some("bench") => cargo(&["bench", "-p", "tamga-firmware", "--bench", "ops"]),
        Some("bench-enroll") => bench_enroll(),
        Some("qemu") => qemu::qemu(&args[1..]),
        Some("qemu-check") => qemu::qemu_check(&args[1..]),
        Some("size") => qemu::size(),
        Some("bench-m4") => qemu::bench_m4(&args[1..]),
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

fn step(what: &str) {
    println!("\n==> {what}");
}

fn cargo(args: &[&str]) -> Result<(), String> {
    run(qemu_cmd::cargo().args(args))
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| o.stdout.ends_with(b"install ok installed"))
        .unwrap_or(false)
}

fn install_packages() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        println!("Debian packages present: {}", PACKAGES.join(" "));
        return Ok(());
    }
    if !qemu_cmd::is_root() {
        println!(
            "warning: not root, cannot install {}; tests needing them may fail",
            missing.join(" ")
        );
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The enrolment benchmark (release build) through pcscd + vpcd.
fn bench_enroll() -> Result<(), String> {
    cargo(&[
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
        qemu::root().join("target/release/bench-enroll"),
    ))
}

fn has_nextest() -> bool {
    qemu_cmd::cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn test() -> Result<(), String> {
    step("Debian packages");
    install_packages()?;
    step(&format!("Rust target {EMBEDDED_TARGET}"));
    run(Command::new("rustup").args(["target", "add", EMBEDDED_TARGET]))?;
    step("cargo fmt --check");
    cargo(&["fmt", "--all", "--check"])?;
    step("cargo clippy");
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    step(&format!("firmware for {EMBEDDED_TARGET} (release)"));
    cargo(&[
        "build",
        "-p",
        "tamga-firmware",
        "--target",
        EMBEDDED_TARGET,
        "--release",
    ])?;
    step(&format!(
        "board tamga-mps2 for {EMBEDDED_TARGET}: fmt, build, clippy"
    ));
    qemu::board_checks()?;
    step(&format!(
        "tests (property test: {PROP_CASES} APDU sequences; fuzz harness: {FUZZ_SESSIONS} random sessions)"
    ));
    // One pcscd for the whole suite, stopped afterwards if we started it
    // (the fixtures would otherwise start one and leave it running).
    let _pcscd = qemu::Pcscd::ensure()?;
    if has_nextest() {
        run(qemu_cmd::cargo()
            .args([
                "nextest",
                "run",
                "--workspace",
                "--profile",
                "ci",
                "--no-tests",
                "fail",
            ])
            .env("TAMGA_PROP_CASES", PROP_CASES)
            .env("TAMGA_FUZZ_SESSIONS", FUZZ_SESSIONS)
            .env("TAMGA_QEMU_IMAGE", qemu::Image::Card.elf()))?;
    } else {
        println!("cargo-nextest not found: running cargo test (no JUnit output)");
        run(qemu_cmd::cargo()
            .args(["test", "--workspace", "--all-targets"])
            .env("TAMGA_PROP_CASES", PROP_CASES)
            .env("TAMGA_FUZZ_SESSIONS", FUZZ_SESSIONS)
            .env("TAMGA_QEMU_IMAGE", qemu::Image::Card.elf()))?;
    }
    step("doc tests");
    cargo(&["test", "--workspace", "--doc"])?;
    Ok(())
}
