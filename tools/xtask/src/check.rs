//! `cargo xtask qemu-check`, the PC/SC check CI runs (also the integration
//! test `tests/qemu_pcsc.rs`): QEMU + pcscd + vpcd, the ATR through
//! `opensc-tool`, APDUs, persistence across a restart, per-APDU latency, the
//! stack report. `cargo xtask size` measures the card's stack with it.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tamga_spec::{Algorithm, KeyRef, defaults};
use tamga_testkit::pcscd::{Pcscd, VPCD_DRIVER};
use tamga_testkit::qemu::{Qemu, link_host};

use crate::apdus;
use crate::board::{Image, build};
use crate::cmd::{have, port_arg, root, run};
use crate::opensc::{opensc_tool, reader_busy, response_data, status_words, sw_success};
use crate::piv_tool::{cert_roundtrip, der_of, piv_generate, piv_import, read_certificate};
use crate::running::Running;

/// The board's ATR (`tamga_spec::atr::ATR_MCU`, sent by
/// `firmware/boards/qemu-mps2/src/vpcd.rs`) as `opensc-tool -a` prints it.
pub fn atr() -> String {
    let hex: Vec<String> = tamga_spec::atr::ATR_MCU
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex.join(":")
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
    let reader = tamga_testkit::vpcd::reader(port);
    let (select, serial_cmd) = (apdus::select(), apdus::serial());
    let verify_status = apdus::verify_status();
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
            &select,
            "-s",
            &apdus::version(),
            "-s",
            &serial_cmd,
            "-s",
            &verify_status,
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
    let mut args = vec!["-s", select.as_str()];
    args.extend(std::iter::repeat_n(["-s", verify_status.as_str()], 100).flatten());
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
        let [sign1, sign2] = apdus::rsa_private(KeyRef::Authentication);
        let [dec1, dec2] = apdus::rsa_private(KeyRef::KeyManagement);
        let (verify_pin, ecdh, metadata) =
            (apdus::verify_pin(), apdus::ecdh_9e(), apdus::metadata_9a());
        // OpenSC's PIV driver would slip its own APDUs into the chains.
        let mut args = vec!["-c", "default", "-s", &select, "-s", &verify_pin];
        args.extend(["-s", &sign1, "-s", &sign2]);
        if have("openssl") {
            args.extend(["-s", &dec1, "-s", &dec2]);
        }
        args.extend(["-s", &ecdh, "-s", &metadata]);
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

    // GOST (both generations) through piv-tool, which authenticates with the
    // management key and then sends the APDUs in the same session: keys in
    // the retired slots 82 and 83, a signature with each.
    if have("piv-tool") {
        let key_file = dir.join("admin.key");
        let key_hex: Vec<String> = defaults::MANAGEMENT_KEY
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        fs::write(&key_file, key_hex.join(":") + "\n")
            .map_err(|e| format!("{}: {e}", key_file.display()))?;
        let mut apdu_list = vec![select.clone(), apdus::verify_pin()];
        for (slot, alg) in [
            (KeyRef::Retired(1), Algorithm::Gost2015_512),
            (KeyRef::Retired(2), Algorithm::Gost2004),
        ] {
            apdu_list.push(apdus::gost_generate(slot, alg));
            apdu_list.push(apdus::gost_sign(slot, alg));
        }
        let mut args = vec![
            "-r".to_string(),
            reader.clone(),
            "-A".into(),
            "M:9B:03".into(),
        ];
        for a in &apdu_list {
            args.push("-s".into());
            args.push(a.clone());
        }
        let o = Command::new("piv-tool")
            .args(&args)
            .env("PIV_EXT_AUTH_KEY", &key_file)
            .output()
            .map_err(|e| format!("piv-tool: {e}"))?;
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let sws = status_words(&out);
        if sws.len() != apdu_list.len() || !sws.iter().all(|sw| sw_success(sw)) {
            return Err(format!(
                "GOST keygen and sign through piv-tool failed {sws:?}:\n{out}"
            ));
        }
        let _ = writeln!(
            summary,
            "piv-tool: GOST-512 and GOST-2004 keys generated (82, 83) and each signed: {sws:?}"
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
    let (ok, out) = opensc_tool(&reader, &["-s", &select, "-s", &serial_cmd]);
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

/// `cargo xtask qemu-check [--port N] [--no-quickack]`.
pub fn qemu_check(args: &[String]) -> Result<(), String> {
    let port = port_arg(args)?;
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
