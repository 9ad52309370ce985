//! The Cortex-M4 board crate (`firmware/boards/qemu-mps2`, its own workspace):
//! its two images, built for the embedded target, and `cargo xtask test`'s
//! board checks.

use std::path::PathBuf;
use std::process::Command;

use tamga_testkit::qemu::BIN;

use crate::cmd::{cargo, have, root, run};

/// The embedded target of the board.
pub const TARGET: &str = "thumbv7em-none-eabihf";
/// The board crate, relative to the repository root.
const BOARD_DIR: &str = "firmware/boards/qemu-mps2";

/// Which image to build.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// The card: vpcd on UART0, defmt on UART1.
    Card,
    /// The benchmark: runs the operations at boot, prints, exits.
    Bench,
}

impl Image {
    fn target_dir(self) -> PathBuf {
        root().join(match self {
            Image::Card => "target/mps2",
            Image::Bench => "target/mps2-bench",
        })
    }

    fn features(self) -> &'static [&'static str] {
        match self {
            Image::Card => &[],
            Image::Bench => &["--no-default-features", "--features", "bench,p256-m4"],
        }
    }

    /// The ELF file `build` produces.
    pub fn elf(self) -> PathBuf {
        self.target_dir().join(TARGET).join("release").join(BIN)
    }
}

/// A cargo command run in the board crate (its own workspace and
/// `.cargo/config.toml`: target, linker scripts, runner).
fn board_cargo(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.current_dir(root().join(BOARD_DIR))
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cmd
}

/// Build an image (release) and return its ELF.
pub fn build(image: Image) -> Result<PathBuf, String> {
    let dir = image.target_dir();
    let dir = dir.to_string_lossy();
    // P256-Cortex-M4 (the board's P-256) is C + assembly: clang for C, clang's
    // preprocessor and GNU as for the assembly (cshim/cc.sh).
    if !["clang-14", "clang"].into_iter().any(have) {
        return Err("the board's P-256 needs clang (Debian: clang-14)".into());
    }
    if !have("arm-none-eabi-as") {
        return Err("the board's P-256 needs GNU as (Debian: binutils-arm-none-eabi)".into());
    }
    run(&mut board_cargo(&image_args("build", image, &dir)))?;
    Ok(image.elf())
}

/// `cargo <command>` arguments for `image`: release, the embedded target, the
/// image's own target directory `dir` and its features.
fn image_args<'a>(command: &'a str, image: Image, dir: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--locked",
        "--release",
        "--target",
        TARGET,
        "--target-dir",
        dir,
    ];
    args.extend(image.features());
    args
}

/// `cargo xtask test`'s board step: format check, both images built, clippy
/// with `-D warnings` on both, for the embedded target.
pub fn board_checks() -> Result<(), String> {
    run(&mut board_cargo(&["fmt", "--check"]))?;
    build(Image::Card)?;
    build(Image::Bench)?;
    for image in [Image::Card, Image::Bench] {
        let dir = image.target_dir();
        let dir = dir.to_string_lossy();
        let mut args = image_args("clippy", image, &dir);
        args.extend(["--", "-D", "warnings"]);
        run(&mut board_cargo(&args))?;
    }
    Ok(())
}
