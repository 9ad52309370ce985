//! The firmware on an emulated Cortex-M4 (`firmware/boards/qemu-mps2`):
//!
//! - `qemu`: build the board image and run it in QEMU, its UART0 connected to
//!   vpcd (pcscd's virtual reader), its defmt log decoded by `defmt-print`;
//! - `qemu-check`: the PC/SC check CI runs (also the integration test
//!   `tests/qemu_pcsc.rs`): QEMU + pcscd + vpcd, ATR through `opensc-tool`,
//!   APDUs, persistence across a restart, per-APDU latency, stack report;
//! - `size`: the footprint table (sections of the image, measured stack);
//! - `bench-m4`: instructions per operation under `-icount shift=0`.
//!
//! Self-contained (the integration test includes this file as a module).

use crate::qemu_cmd::{BIN, Qemu, cargo, link_host, run};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The embedded target of the board.
const TARGET: &str = "thumbv7em-none-eabihf";
/// The board crate, relative to the repository root.
const BOARD_DIR: &str = "firmware/boards/qemu-mps2";
/// vpcd's first port (reader `Virtual PCD 00 00`); port + n is reader `00 0n`.
pub const VPCD_PORT: u16 = 35963;
/// pcscd's driver for vpcd (Debian `vsmartcard-vpcd`).
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// The board's ATR (`tamga_spec::atr::ATR_MCU`, sent by
/// `firmware/boards/qemu-mps2/src/vpcd.rs`) as `opensc-tool -a` prints it.
pub fn atr() -> String {
    let hex: Vec<String> = tamga_spec::atr::ATR_MCU
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex.join(":")
}
/// Clock of the reference MCU for the millisecond column of `bench-m4`.
const MHZ: u64 = 48;

/// The repository root.
pub fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

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

/// pcscd, started by us (stopped on drop) or already running (left alone).
pub struct Pcscd(Option<Child>);

impl Pcscd {
    /// Start pcscd unless one runs.
    pub fn ensure() -> Result<Self, String> {
        let running = Command::new("pgrep")
            // Live processes only (not a zombie left by a killed parent).
            .args(["-x", "-r", "R,S,D", "pcscd"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if running {
            return Ok(Pcscd(None));
        }
        let child = Command::new("pcscd")
            .arg("-f")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start pcscd: {e}"))?;
        println!("started pcscd (pid {})", child.id());
        let pcscd = Pcscd(Some(child));
        // Wait until it has loaded the vpcd driver (its readers are listed).
        let start = Instant::now();
        loop {
            let listed = Command::new("opensc-tool").arg("-l").output();
            if listed.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Virtual PCD")) {
                return Ok(pcscd);
            }
            if start.elapsed() > Duration::from_secs(15) {
                return Err("pcscd started but lists no vpcd reader".into());
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running QEMU, killed (by its pid) on drop.
pub struct Running(Child);

impl Running {
    /// Start QEMU.
    pub fn start(q: &Qemu) -> Result<Self, String> {
        let mut cmd = q.command()?;
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
        Ok(Running(child))
    }

    /// Fails if QEMU has exited, with its stderr.
    fn alive(&mut self) -> Result<(), String> {
        match self.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(e) = self.0.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                Err(format!("QEMU exited ({status}): {}", err.trim()))
            }
            Err(e) => Err(format!("QEMU: {e}")),
        }
    }

    /// Stop QEMU (like pulling the card).
    pub fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The PC/SC reader name of a vpcd port.
pub fn reader(port: u16) -> String {
    format!("Virtual PCD 00 {:02}", port.saturating_sub(VPCD_PORT))
}

/// `opensc-tool -r <reader> <args>`: (success, stdout + stderr).
fn opensc_tool(reader: &str, args: &[&str]) -> (bool, String) {
    match Command::new("opensc-tool")
        .args(["-r", reader])
        .args(args)
        .output()
    {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// Wait until pcscd shows the card's ATR in `reader` (pcscd polls vpcd about
/// every 0.5 s).
fn wait_for_atr(reader: &str, qemu: &mut Running, timeout: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        qemu.alive()?;
        let (ok, out) = opensc_tool(reader, &["-a"]);
        if ok && out.to_lowercase().contains(&atr()) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return Err(format!(
                "no ATR in {reader} after {timeout:?}: {}",
                out.trim()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Wait until pcscd has noticed that the card is gone.
fn wait_for_removal(reader: &str, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    while reader_busy(reader) {
        if start.elapsed() > timeout {
            return Err(format!(
                "{reader} still shows a card {timeout:?} after QEMU stopped"
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Is a card already present in `reader` (someone else's)?
fn reader_busy(reader: &str) -> bool {
    opensc_tool(reader, &["-a"]).0
}

/// What the PC/SC check needs that is missing, if anything.
pub fn pcsc_missing() -> Option<String> {
    let mut missing: Vec<&str> = ["qemu-system-arm", "pcscd", "opensc-tool"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    if !Path::new(VPCD_DRIVER).exists() {
        missing.push("vpcd (vsmartcard-vpcd)");
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// Result of the PC/SC check.
pub enum Outcome {
    /// Passed; a summary.
    Passed(String),
    /// Not run: tools missing.
    Skipped(String),
}

/// Parse the `SW1=0x.., SW2=0x..` lines `opensc-tool -s` prints.
fn status_words(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let i = l.find("SW1=0x")?;
            let sw1 = l.get(i + 6..i + 8)?;
            let j = l.find("SW2=0x")?;
            let sw2 = l.get(j + 6..j + 8)?;
            Some(format!("{sw1}{sw2}").to_uppercase())
        })
        .collect()
}

/// The `n`-th response block `opensc-tool -s` prints (hex dump lines), as
/// one line.
fn response_data(out: &str, n: usize) -> String {
    let block = out.split("Received").nth(n + 1).unwrap_or("");
    let block = block.split("Sending").next().unwrap_or("");
    block
        .lines()
        .skip(1)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

const SELECT: &str = "00A4040005A000000308";
const VERSION: &str = "00FD0000";
const SERIAL: &str = "00F80000";
const VERIFY_STATUS: &str = "0020008000";
/// VERIFY with the default PIN 123456.
const VERIFY_PIN: &str = "0020008008313233343536FFFF";

/// An RSA-2048 raw private operation (signature or decryption) by `slot`
/// through command chaining (the ATR announces no extended lengths):
/// `7C 82 0106 { 82 00, 81 82 0100 <block> }` with a PKCS#1 v1.5-shaped
/// block, split into a 255-byte link and the rest.
fn rsa_private_apdus(slot: u8) -> [String; 2] {
    let mut data = vec![0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00];
    data.extend([0x00, 0x01]);
    data.extend(std::iter::repeat_n(0xFF, 221));
    data.push(0x00);
    data.extend(std::iter::repeat_n(0x5A, 32));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let (first, rest) = data.split_at(255);
    [
        format!("108707{slot:02X}FF{}", hex(first)),
        format!("008707{slot:02X}{:02X}{}00", rest.len(), hex(rest)),
    ]
}

/// ECDH with the P-256 key in 9E (PIN policy never) against the curve's
/// generator G: `7C 45 { 82 00, 85 41 04 Gx Gy }`; the answer is 9E's public x.
const ECDH_9E: &str = concat!(
    "0087119E47",
    "7C45820085410",
    "46B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
    "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    "00"
);
/// GET METADATA of slot 9A.
const METADATA_9A: &str = "00F7009A00";

/// The PC/SC check: QEMU running the card image connected to vpcd on `port`,
/// pcscd (started if needed) showing its ATR, APDUs through pcscd, the card's
/// serial surviving a restart (persistent flash), per-APDU latency, and the
/// stack report at power-off.
pub fn pcsc_check(port: u16, quickack: bool) -> Result<Outcome, String> {
    if let Some(missing) = pcsc_missing() {
        return Ok(Outcome::Skipped(format!(
            "missing {missing} (Debian: qemu-system-arm pcscd vsmartcard-vpcd opensc)"
        )));
    }
    let elf = build(Image::Card)?;
    let _pcscd = Pcscd::ensure()?;
    let reader = reader(port);
    let dir = root().join(format!("target/mps2/check-{port}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let flash = dir.join("flash.bin");
    let stack = dir.join("stack.txt");
    let host = link_host(quickack);
    let q = Qemu {
        elf,
        vpcd: Some((host.clone(), port)),
        flash: Some(flash.clone()),
        seed: None,
        stack_report: Some(stack.clone()),
        icount: false,
        log: Some(dir.join("defmt.bin")),
    };
    // pcscd needs a moment to create its readers after starting.
    let start = Instant::now();
    while reader_busy(&reader) {
        if start.elapsed() > Duration::from_secs(3) {
            return Err(format!(
                "{reader} already holds a card: is another emulator on port {port}?"
            ));
        }
        thread::sleep(Duration::from_millis(200));
    }
    let mut summary = String::new();

    // First boot: blank flash.
    let mut qemu = Running::start(&q)?;
    let t = wait_for_atr(&reader, &mut qemu, Duration::from_secs(30))?;
    let _ = writeln!(
        summary,
        "ATR {} in {reader} after {:.1} s",
        atr(),
        t.as_secs_f64()
    );
    let (ok, out) = opensc_tool(
        &reader,
        &[
            "-s",
            SELECT,
            "-s",
            VERSION,
            "-s",
            SERIAL,
            "-s",
            VERIFY_STATUS,
        ],
    );
    let sws = status_words(&out);
    if !ok || sws != ["9000", "9000", "9000", "63C3"] {
        return Err(format!("unexpected answers {sws:?}:\n{out}"));
    }
    let serial = response_data(&out, 2);
    let _ = writeln!(
        summary,
        "SELECT, GET VERSION, GET SERIAL ({serial}), VERIFY status: {sws:?}"
    );
    if serial.is_empty() {
        return Err(format!("no serial:\n{out}"));
    }

    // Per-APDU latency of the link: 100 empty VERIFYs in one connection.
    let mut args = vec!["-s", SELECT];
    args.extend(std::iter::repeat_n(["-s", VERIFY_STATUS], 100).flatten());
    let t = Instant::now();
    let (ok, out) = opensc_tool(&reader, &args);
    let per = t.elapsed().as_secs_f64() * 1000.0 / 101.0;
    if !ok || status_words(&out).iter().filter(|s| *s == "63C3").count() != 100 {
        return Err(format!("latency run failed:\n{out}"));
    }
    let _ = writeln!(
        summary,
        "link ({host}): {per:.2} ms per APDU (100 VERIFY, pcscd + vpcd + QEMU)"
    );

    // A key generated through yubico-piv-tool, if installed.
    if have("yubico-piv-tool") {
        piv_generate(&reader, "9e", "ECCP256")?;
        let _ = writeln!(summary, "yubico-piv-tool: P-256 key generated in slot 9E");
        if have("openssl") {
            cert_roundtrip(&reader, &dir)?;
            let _ = writeln!(
                summary,
                "certificate written to slot 9E (chained PUT DATA) and read back identical"
            );
        }
    }

    // RSA-2048 (the deepest stack): key generation in 9A through
    // yubico-piv-tool, then a raw signature with it.
    if have("yubico-piv-tool") {
        let t = Instant::now();
        piv_generate(&reader, "9a", "RSA2048")?;
        let keygen = t.elapsed().as_secs_f64();
        // An imported RSA-2048 key (checked on the card by a trial private
        // operation) in 9D.
        if have("openssl") {
            let key = dir.join("rsa-key.pem");
            run(Command::new("openssl")
                .args(["genrsa", "-out"])
                .arg(&key)
                .arg("2048")
                .stderr(Stdio::null()))?;
            piv_import(&reader, "import-key", "9d", &key)?;
            let _ = writeln!(summary, "yubico-piv-tool: RSA-2048 key imported in slot 9D");
        }
        // Every private-key path of the applet, for the stack measurement:
        // RSA sign (9A), RSA decrypt (9D), P-256 ECDH (9E), GET METADATA.
        let [sign1, sign2] = rsa_private_apdus(0x9A);
        let [dec1, dec2] = rsa_private_apdus(0x9D);
        // OpenSC's PIV driver would slip its own APDUs into the chains.
        let mut args = vec!["-c", "default", "-s", SELECT, "-s", VERIFY_PIN];
        args.extend(["-s", &sign1, "-s", &sign2]);
        if have("openssl") {
            args.extend(["-s", &dec1, "-s", &dec2]);
        }
        args.extend(["-s", ECDH_9E, "-s", METADATA_9A]);
        let (ok, out) = opensc_tool(&reader, &args);
        let sws = status_words(&out);
        if !ok || sws.len() != args.len() / 2 - 1 || !sws.iter().all(|sw| sw_success(sw)) {
            return Err(format!(
                "RSA-2048 sign/decrypt through chaining, ECDH or GET METADATA failed {sws:?}:\n{out}"
            ));
        }
        let _ = writeln!(
            summary,
            "yubico-piv-tool: RSA-2048 key generated in slot 9A ({keygen:.1} s in QEMU); RSA sign (9A) and decrypt (9D) through command chains, ECDH (9E), GET METADATA: {sws:?}"
        );
    }

    // The stack report is written when pcscd powers the idle card off.
    let start = Instant::now();
    while !stack.exists() && start.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(200));
    }
    match fs::read_to_string(&stack) {
        Ok(s) => {
            let _ = fs::copy(&stack, root().join("target/mps2/stack.txt"));
            let _ = writeln!(summary, "stack (bytes): {}", s.trim());
        }
        Err(_) => summary.push_str("stack: no report (the card was not powered off)\n"),
    }

    // Second boot on the same flash: same card.
    qemu.stop();
    wait_for_removal(&reader, Duration::from_secs(10))?;
    let mut qemu = Running::start(&q)?;
    wait_for_atr(&reader, &mut qemu, Duration::from_secs(30))?;
    let (ok, out) = opensc_tool(&reader, &["-s", SELECT, "-s", SERIAL]);
    if !ok || response_data(&out, 1) != serial {
        return Err(format!(
            "serial after restart differs (flash not persistent?):\n{out}"
        ));
    }
    let _ = writeln!(
        summary,
        "restart on the same flash file: same serial {serial}"
    );
    if have("yubico-piv-tool") && have("openssl") {
        let (ok, back) = read_certificate(&reader, &dir)?;
        if !ok || back != der_of(&dir.join("cert.pem"))? {
            return Err("certificate in slot 9E lost or changed across the restart".into());
        }
        summary.push_str("certificate in slot 9E unchanged after the restart\n");
    }
    qemu.stop();
    Ok(Outcome::Passed(summary))
}

/// Generate a key in `slot` with yubico-piv-tool (default management key).
fn piv_generate(reader: &str, slot: &str, alg: &str) -> Result<(), String> {
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", "generate", "-s", slot, "-A", alg])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !text.contains("BEGIN PUBLIC KEY") {
        return Err(format!(
            "yubico-piv-tool generate {alg} in {slot} failed: {text}{}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// `yubico-piv-tool -a <action> -s <slot> -i <file>` (import-key,
/// import-certificate) with the default management key.
fn piv_import(reader: &str, action: &str, slot: &str, file: &Path) -> Result<(), String> {
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", action, "-s", slot, "-i"])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!(
            "yubico-piv-tool {action} in {slot} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// A certificate's DER bytes (`openssl x509`).
fn der_of(pem: &Path) -> Result<Vec<u8>, String> {
    let o = Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(pem)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "openssl x509 {}: {}",
            pem.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(o.stdout)
}

/// Read slot 9E's certificate with yubico-piv-tool: (success, DER).
fn read_certificate(reader: &str, dir: &Path) -> Result<(bool, Vec<u8>), String> {
    let back = dir.join("cert-read.pem");
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", "read-certificate", "-s", "9e", "-o"])
        .arg(&back)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Ok((false, Vec::new()));
    }
    Ok((true, der_of(&back)?))
}

/// Write a self-signed certificate to slot 9E (yubico-piv-tool, chained
/// PUT DATA through pcscd) and read it back.
fn cert_roundtrip(reader: &str, dir: &Path) -> Result<(), String> {
    let key = dir.join("cert-key.pem");
    let cert = dir.join("cert.pem");
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Tamga QEMU check",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null()))?;
    piv_import(reader, "import-certificate", "9e", &cert)?;
    let (ok, back) = read_certificate(reader, dir)?;
    if !ok || back != der_of(&cert)? {
        return Err("certificate read back from slot 9E differs".into());
    }
    Ok(())
}

/// Whether a status word (hex) is a success: 9000, or 61xx (more data).
fn sw_success(sw: &str) -> bool {
    sw == "9000" || sw.starts_with("61")
}

/// The value after `name` in `args`.
pub fn arg_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `cargo xtask qemu [--port N] [--flash PATH] [--seed N] [--no-quickack]`.
pub fn qemu(args: &[String]) -> Result<(), String> {
    let port: u16 = match arg_value(args, "--port") {
        Some(p) => p.parse().map_err(|_| format!("bad port {p}"))?,
        None => VPCD_PORT,
    };
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
        reader(port),
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

/// `cargo xtask qemu-check [--port N] [--no-quickack]`.
pub fn qemu_check(args: &[String]) -> Result<(), String> {
    let port: u16 = match arg_value(args, "--port") {
        Some(p) => p.parse().map_err(|_| format!("bad port {p}"))?,
        None => VPCD_PORT,
    };
    match pcsc_check(port, !args.iter().any(|a| a == "--no-quickack"))? {
        Outcome::Passed(s) => {
            println!("PC/SC check passed:\n{s}");
            Ok(())
        }
        Outcome::Skipped(why) => {
            println!("PC/SC check SKIPPED: {why}");
            Ok(())
        }
    }
}

/// Run an image that exits by itself; its semihosting stdout, line by line.
fn run_to_exit(q: &Qemu, timeout: Duration) -> Result<Vec<String>, String> {
    let mut cmd = q.command()?;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let out = child.stdout.take().ok_or("no QEMU stdout")?;
    let reader = thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let lines = reader.join().map_err(|_| "reader thread failed")?;
            return if status.success() {
                Ok(lines)
            } else {
                Err(format!("QEMU exited with {status}: {}", lines.join("\n")))
            };
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("QEMU did not finish within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The benchmark image's output.
struct BenchRun {
    /// (operation, instructions, SW).
    rows: Vec<(String, u64, String)>,
    /// Instructions measured for the 2,000,000-instruction calibration loop.
    calibration: Option<u64>,
    /// Peak stack of the run and the stack region, in bytes.
    stack: Option<(u64, u64)>,
}

/// The RNG seed of `bench-m4`'s table (and of `size`'s stack measurement).
const BENCH_SEED: u64 = 7;
/// Default number of seeds of `bench-m4`'s RSA-2048 key generation sweep.
const RSA_SEEDS: u64 = 21;
/// The operation whose instructions the seed sweep collects.
const RSA_KEYGEN: &str = "GENERATE RSA-2048 (9C)";

fn bench_run(image: Image, icount: bool, seed: u64) -> Result<BenchRun, String> {
    let elf = build(image)?;
    let q = Qemu {
        elf,
        vpcd: None,
        flash: None,
        seed: Some(seed),
        stack_report: None,
        icount,
        log: Some(PathBuf::from("/dev/null")),
    };
    let lines = run_to_exit(&q, Duration::from_secs(1800))?;
    let mut run = BenchRun {
        rows: Vec::new(),
        calibration: None,
        stack: None,
    };
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        match f.as_slice() {
            ["BENCH", name, n, sw] => {
                run.rows
                    .push(((*name).into(), n.parse().unwrap_or(0), (*sw).into()));
            }
            ["CALIB", _, n, _] => run.calibration = n.parse().ok(),
            ["STACK", peak, cap] => {
                run.stack = Some((peak.parse().unwrap_or(0), cap.parse().unwrap_or(0)));
            }
            _ => {}
        }
    }
    Ok(run)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `cargo xtask bench-m4 [--rsa-seeds N]`: instructions per operation on the
/// Cortex-M4 build (RNG seed 7), both P-256 backends compared, then the
/// RSA-2048 key generation over seeds 1..=N (default 21, 0 to skip): one run
/// of the bench image per seed, median and max.
pub fn bench_m4(args: &[String]) -> Result<(), String> {
    if !have("qemu-system-arm") {
        return Err("qemu-system-arm not found (apt-get install qemu-system-arm)".into());
    }
    let seeds = match arg_value(args, "--rsa-seeds") {
        Some(s) => s.parse().map_err(|_| format!("bad --rsa-seeds {s}"))?,
        None => RSA_SEEDS,
    };
    let run = bench_run(Image::Bench, true, BENCH_SEED)?;
    if let Some(c) = run.calibration {
        println!(
            "calibration: a 2,000,000-instruction loop measured {} instructions",
            thousands(c)
        );
    }
    println!(
        "\nCortex-M4 (thumbv7em-none-eabihf, opt-level s, LTO), QEMU mps2-an386 -icount shift=0;\n\
         one Applet::process call each; ms at {MHZ} MHz assumes one instruction per cycle\n"
    );
    println!("| operation | instructions | ms @ {MHZ} MHz | SW | goal |");
    println!("| --- | ---: | ---: | --- | --- |");
    for (name, n, sw) in &run.rows {
        let goal = if name.starts_with("P-256 sign") {
            if *n <= 1_000_000 {
                "<= 1 M: met"
            } else {
                "<= 1 M: MISSED"
            }
        } else if name.starts_with("VERIFY (empty") || name.starts_with("GET DATA (absent") {
            if *n <= 50_000 {
                "<= 50 k: met"
            } else {
                "<= 50 k: MISSED"
            }
        } else {
            ""
        };
        if sw_success(sw) || sw == "63C3" || sw == "6A82" {
            println!(
                "| {name} | {} | {:.2} | {sw} | {goal} |",
                thousands(*n),
                *n as f64 / (MHZ * 1000) as f64
            );
        } else {
            println!("| {name} | not measured | | {sw} | |");
        }
    }
    if seeds > 0 {
        rsa_sweep(Image::Bench, seeds, &run)?;
    }
    Ok(())
}

/// RSA-2048 key generation instructions for seeds 1..=`seeds` (the run of
/// seed [`BENCH_SEED`] is reused): median and max, seconds at [`MHZ`] MHz.
fn rsa_sweep(image: Image, seeds: u64, seed7: &BenchRun) -> Result<(), String> {
    let keygen = |run: &BenchRun| {
        run.rows
            .iter()
            .find(|(name, _, sw)| name == RSA_KEYGEN && sw_success(sw))
            .map(|(_, n, _)| *n)
    };
    let started = Instant::now();
    let mut counts = Vec::new();
    for seed in 1..=seeds {
        let n = if seed == BENCH_SEED {
            keygen(seed7)
        } else {
            keygen(&bench_run(image, true, seed)?)
        }
        .ok_or_else(|| format!("seed {seed}: {RSA_KEYGEN} failed"))?;
        counts.push((seed, n));
    }
    let secs = |n: u64| n as f64 / (MHZ * 1_000_000) as f64;
    println!(
        "
RSA-2048 key generation, seeds 1..={seeds} (instructions, s @ {MHZ} MHz):"
    );
    for (seed, n) in &counts {
        println!(
            "  seed {seed:>3}: {:>15} {:>8.1} s",
            thousands(*n),
            secs(*n)
        );
    }
    let mut sorted: Vec<u64> = counts.iter().map(|c| c.1).collect();
    sorted.sort_unstable();
    // Median of an even count: the mean of the middle two.
    let len = sorted.len();
    let median = if len % 2 == 1 {
        sorted[len / 2]
    } else {
        (sorted[len / 2 - 1] + sorted[len / 2]) / 2
    };
    let max = sorted[len - 1];
    let goal = if secs(median) <= 30.0 {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "| {RSA_KEYGEN}, median / max over {seeds} seeds | {} / {} | {:.1} s / {:.1} s | goal median <= 30 s: {goal} |",
        thousands(median),
        thousands(max),
        secs(median),
        secs(max)
    );
    println!("(sweep took {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Section sizes of an ELF32 little-endian file: (name, address, size).
fn sections(elf: &Path) -> Result<Vec<(String, u32, u32)>, String> {
    let b = fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let bad = || format!("{}: not an ELF32 LE file", elf.display());
    if b.get(..6) != Some(&[0x7F, b'E', b'L', b'F', 1, 1][..]) {
        return Err(bad());
    }
    let shoff = u32_at(0x20).ok_or_else(bad)? as usize;
    let shentsize = u16_at(0x2E).ok_or_else(bad)? as usize;
    let shnum = u16_at(0x30).ok_or_else(bad)? as usize;
    let shstrndx = u16_at(0x32).ok_or_else(bad)? as usize;
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u32_at(header(shstrndx) + 16).ok_or_else(bad)? as usize;
    let mut out = Vec::new();
    for i in 1..shnum {
        let h = header(i);
        let name_off = u32_at(h).ok_or_else(bad)? as usize;
        let name = b
            .get(strtab + name_off..)
            .and_then(|s| s.split(|&c| c == 0).next())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default();
        let addr = u32_at(h + 12).ok_or_else(bad)?;
        let size = u32_at(h + 20).ok_or_else(bad)?;
        out.push((name, addr, size));
    }
    Ok(out)
}

fn kib(n: u64) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

/// `cargo xtask size`: the card image's footprint.
pub fn size() -> Result<(), String> {
    let elf = build(Image::Card)?;
    let secs = sections(&elf)?;
    let get = |n: &str| secs.iter().find(|s| s.0 == n).map_or(0, |s| u64::from(s.2));
    let (vt, text, rodata, data, bss, uninit) = (
        get(".vector_table"),
        get(".text"),
        get(".rodata"),
        get(".data"),
        get(".bss"),
        get(".uninit"),
    );
    let flash = vt + text + rodata + data;
    let ram_static = data + bss + uninit;

    // Peak stack of the card image: boot, and serving the PC/SC check's
    // workload (P-256 and RSA-2048 key generation and signatures, a chained
    // certificate write, a restart), read back from the stack painting when
    // pcscd powers the card off. The benchmark image's peak is shown too; it
    // holds the applet on its stack, so it is not the card's figure.
    let session = match pcsc_check(VPCD_PORT, true)? {
        Outcome::Passed(_) => fs::read_to_string(root().join("target/mps2/stack.txt"))
            .ok()
            .and_then(|s| {
                let field = |k: &str| {
                    s.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .and_then(|v| v.parse::<u64>().ok())
                };
                Some((field("boot=")?, field("peak=")?))
            }),
        Outcome::Skipped(why) => {
            println!("no PC/SC session, so no card stack measurement: {why}");
            None
        }
    };
    let bench = if have("qemu-system-arm") {
        bench_run(Image::Bench, false, BENCH_SEED)?.stack
    } else {
        None
    };

    println!("\ntamga-mps2 (card image), {}\n", elf.display());
    println!("| section | bytes | |");
    println!("| --- | ---: | --- |");
    println!("| .vector_table | {vt} | flash |");
    println!("| .text | {text} | flash |");
    println!("| .rodata | {rodata} | flash |");
    println!("| .data | {data} | flash (load image) and RAM |");
    println!("| .bss | {bss} | RAM |");
    if uninit > 0 {
        println!("| .uninit | {uninit} | RAM |");
    }
    let mut peak = 0;
    if let Some((boot, p)) = session {
        println!("| stack, peak: boot (store mount, applet init) | {boot} | RAM, measured |");
        println!(
            "| stack, peak: serving the PC/SC check (P-256 keygen, sign, ECDH; RSA-2048 keygen, import, sign, decrypt; GET METADATA; chained PUT DATA) | {p} | RAM, measured |"
        );
        peak = peak.max(p).max(boot);
    }
    if let Some((p, _)) = bench {
        println!(
            "| stack, peak: benchmark image (applet on its stack; not in the total) | {p} | RAM, measured |"
        );
    }
    println!("| store (emulated NOR flash, 32 x 2 KiB pages) | 65536 | flash, outside the image |");
    let flash_ok = if flash <= 128 * 1024 { "met" } else { "MISSED" };
    let ram = ram_static + peak;
    let ram_ok = if ram <= 16 * 1024 { "met" } else { "MISSED" };
    println!(
        "\nflash (image): {flash} bytes = {} (goal <= 128 KiB: {flash_ok})",
        kib(flash)
    );
    println!(
        "RAM: {ram_static} static + {peak} peak stack = {ram} bytes = {} (goal <= 16 KiB: {ram_ok})",
        kib(ram)
    );
    if session.is_none() {
        println!("(card stack not measured: the RAM total is the static part only)");
    }
    Ok(())
}
