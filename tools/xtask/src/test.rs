//! `cargo xtask test`: everything CI checks — the Debian packages the suites
//! need (installed when root), formatting and lints, the firmware for
//! Cortex-M4, every test suite with nextest (JUnit in
//! `target/nextest/ci/junit.xml`), the doc tests; `cargo doc` and `cargo deny`.
//! Every cargo step runs `--locked`.

use std::process::Command;

use tamga_testkit::pcscd::Pcscd;

use crate::board;
use crate::cmd::{cargo, run};

/// Debian packages the test suites use.
pub const PACKAGES: &[&str] = &[
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
    "libengine-gost-openssl1.1",
    "pcsc-tools",
    "libpcsclite-dev",
    "iproute2",
    "pinentry-tty",
    "libnss3-tools",
    "chromium",
    "xmlsec1",
    "libxml2-utils",
];

/// The embedded target the firmware must keep building for.
pub const EMBEDDED_TARGET: &str = "thumbv7em-none-eabihf";

/// APDU sequences the firmware property test runs in `test`.
const PROP_CASES: &str = "100000";

/// Random sessions the fuzz harness runs on stable in `test`.
const FUZZ_SESSIONS: &str = "30000";

fn step(what: &str) {
    println!("\n==> {what}");
}

fn cargo_ok(args: &[&str]) -> Result<(), String> {
    run(cargo().args(args))
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
    if !tamga_testkit::is_root() {
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

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo xtask test`.
pub fn test() -> Result<(), String> {
    step("Debian packages");
    install_packages()?;
    step(&format!("Rust target {EMBEDDED_TARGET}"));
    run(Command::new("rustup").args(["target", "add", EMBEDDED_TARGET]))?;
    step("cargo fmt --check");
    cargo_ok(&["fmt", "--all", "--check"])?;
    step("cargo clippy");
    cargo_ok(&[
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    step("cargo doc (warnings are errors)");
    run(cargo()
        .args(["doc", "--locked", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    step("cargo deny");
    crate::deny::deny()?;
    step("crate layering");
    crate::deps::deps()?;
    step(&format!("firmware for {EMBEDDED_TARGET} (release)"));
    cargo_ok(&[
        "build",
        "--locked",
        "-p",
        "tamga-firmware",
        "--target",
        EMBEDDED_TARGET,
        "--release",
    ])?;
    step(&format!(
        "board tamga-mps2 for {EMBEDDED_TARGET}: fmt, build, clippy"
    ));
    board::board_checks()?;
    step(&format!(
        "tests (property test: {PROP_CASES} APDU sequences; fuzz harness: {FUZZ_SESSIONS} random sessions)"
    ));
    // One pcscd for the whole suite, stopped afterwards if we started it
    // (the fixtures would otherwise start one and leave it running).
    let _pcscd = Pcscd::ensure()?;
    if has_nextest() {
        run(cargo()
            .args([
                "nextest",
                "run",
                "--locked",
                "--workspace",
                "--profile",
                "ci",
                "--no-tests",
                "fail",
            ])
            .env("TAMGA_PROP_CASES", PROP_CASES)
            .env("TAMGA_FUZZ_SESSIONS", FUZZ_SESSIONS)
            .env("TAMGA_QEMU_IMAGE", board::Image::Card.elf()))?;
    } else {
        println!("cargo-nextest not found: running cargo test (no JUnit output)");
        run(cargo()
            .args(["test", "--locked", "--workspace", "--all-targets"])
            .env("TAMGA_PROP_CASES", PROP_CASES)
            .env("TAMGA_FUZZ_SESSIONS", FUZZ_SESSIONS)
            .env("TAMGA_QEMU_IMAGE", board::Image::Card.elf()))?;
    }
    step("doc tests");
    cargo_ok(&["test", "--locked", "--workspace", "--doc"])?;
    Ok(())
}
