//! `cargo xtask bench-enroll`: the full NCA enrolment (two keys generated on
//! the card, two requests signed on the card, two certificates written) through
//! pcscd + vpcd, done by `tamga enroll` and done the way a lab scripts it today
//! with Debian 12's tools: yubico-piv-tool generate, the request signed on the
//! card through OpenSC's PKCS#11 module (`openssl req -engine pkcs11`, the
//! public key handed to OpenSC in `PIV_9A_KEY`: yubico-piv-tool 2.2.0's own
//! `request-certificate` fails with OpenSSL 3 before it talks to any card,
//! Yubico issue #388), the CA (`tamga-ca issue`), yubico-piv-tool
//! import-certificate; on the same virtual card in the same run. Prints both times, their ratio, the APDUs and bytes on the wire of each
//! (from the card's trace), and the median and p95 round trip of an empty
//! VERIFY and a CHUID GET DATA through pcscd.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tamga::transport::Transport;
use tamga::{Error, Result};
use tamga_hil::{Card, Lab, Target, binary};
use tamga_spec::apdu::{self, Form, Header};
use tamga_spec::{Ins, KeyRef, ObjectTag};

const READER: &str = tamga_hil::SLOTS[0].1;
const RUNS: usize = 5;

fn run(cmd: &mut Command) -> Result<String> {
    run_with_input(cmd, b"")
}

/// Run with `input` on standard input (a PIN a tool asks for on the console).
fn run_with_input(cmd: &mut Command, input: &[u8]) -> Result<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Invalid(format!("{cmd:?}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Invalid(format!("{cmd:?}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// APDUs and bytes recorded in the trace from line `from` on.
fn wire(trace: &Path, from: usize) -> Result<(usize, u64, usize)> {
    let lines = tamga_board_host::trace::read(trace).map_err(|source| Error::Io {
        path: trace.display().to_string(),
        source,
    })?;
    let (mut apdus, mut bytes) = (0, 0u64);
    for l in lines.iter().skip(from) {
        match l.kind.as_str() {
            "cmd" => {
                apdus += 1;
                bytes += (l.hex.len() / 2 + l.masked) as u64;
            }
            "rsp" => bytes += (l.hex.len() / 2) as u64,
            _ => {}
        }
    }
    Ok((apdus, bytes, lines.len()))
}

fn applicant_json(i: usize) -> String {
    let iins = ["871008401427", "760212350620"];
    format!(
        r#"{{"iin":"{}","surname":"БЕНЧ","name":"ТЕСТ"}}"#,
        iins[i % 2]
    )
}

/// `tamga enroll` as an operator runs it.
fn tamga_flow(lab: &Lab, alg: &str, i: usize) -> Result<Duration> {
    let tamga = binary("tamga")?;
    let t = Instant::now();
    let app: serde_json::Value =
        serde_json::from_str(&applicant_json(i)).map_err(|e| Error::Invalid(e.to_string()))?;
    run(Command::new(&tamga)
        .args(["--card", READER, "--ca"])
        .arg(lab.dir.path().join("ca"))
        .args([
            "enroll",
            "--replace",
            "--alg",
            alg,
            "--iin",
            app["iin"].as_str().unwrap_or(""),
            "--surname",
            "БЕНЧ",
            "--name",
            "ТЕСТ",
        ])
        .env("TAMGA_PIN", "123456"))?;
    Ok(t.elapsed())
}

/// The same with yubico-piv-tool and the CA, step by step.
fn scripted_flow(lab: &Lab, alg: &str, i: usize) -> Result<Duration> {
    let ca = binary("tamga-ca")?;
    let dir = lab.dir.path();
    let ykalg = if alg == "p256" { "ECCP256" } else { "RSA2048" };
    let t = Instant::now();
    for (slot, profile) in [("9a", "individual-auth"), ("9c", "individual-sign")] {
        let pubkey = dir.join(format!("{slot}.pub"));
        let csr = dir.join(format!("{slot}.csr"));
        let cert = dir.join(format!("{slot}.crt"));
        let app = dir.join(format!("{slot}.json"));
        // A re-enrolment starts by removing the old certificate (OpenSC would
        // otherwise take the key from it).
        run(Command::new("yubico-piv-tool").args([
            "-r",
            READER,
            "-a",
            "delete-certificate",
            "-s",
            slot,
        ]))?;
        run(Command::new("yubico-piv-tool")
            .args([
                "-r", READER, "-a", "generate", "-s", slot, "-A", ykalg, "-o",
            ])
            .arg(&pubkey))?;
        let der = dir.join(format!("{slot}.der"));
        run(Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(&pubkey)
            .arg("-out")
            .arg(&der))?;
        let id = if slot == "9a" { "%01" } else { "%02" };
        // The signature key (9C) is PIN-always: OpenSC asks again, on the console.
        run_with_input(
            Command::new("openssl")
                .args([
                    "req",
                    "-new",
                    "-engine",
                    "pkcs11",
                    "-keyform",
                    "engine",
                    "-subj",
                    "/CN=BENCH",
                    "-key",
                ])
                .arg(format!("pkcs11:id={id};type=private;pin-value=123456"))
                .arg("-out")
                .arg(&csr)
                .env(format!("PIV_{}_KEY", slot.to_uppercase()), &der)
                .env(
                    "PKCS11_MODULE_PATH",
                    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
                )
                .env("OPENSSL_CONF", "/dev/null"),
            b"123456\n",
        )?;
        let csr_pem = std::fs::read_to_string(&csr).map_err(|e| Error::Invalid(e.to_string()))?;
        let json = format!(
            r#"{{"profile":"{profile}","applicant":{},"csr":{}}}"#,
            applicant_json(i),
            serde_json::to_string(&csr_pem).map_err(|e| Error::Invalid(e.to_string()))?
        );
        std::fs::write(&app, json).map_err(|e| Error::Invalid(e.to_string()))?;
        run(Command::new(&ca)
            .arg("--dir")
            .arg(dir.join("ca"))
            .args(["issue", "--application"])
            .arg(&app)
            .arg("--out")
            .arg(&cert))?;
        run(Command::new("yubico-piv-tool")
            .args(["-r", READER, "-a", "import-certificate", "-s", slot, "-i"])
            .arg(&cert))?;
    }
    Ok(t.elapsed())
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "p is in 0..=1, so the rounded index is in 0..len"
)]
fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<()> {
    if let Some(why) = Target::Vpcd.unavailable() {
        println!("bench-enroll: SKIPPED ({why})");
        return Ok(());
    }
    let _slots = tamga_hil::exclusive();
    let lab = Lab::new()?;
    let card = Card::start(&Target::Vpcd, lab.dir.path(), 0)?;
    println!("NCA enrolment through pcscd + vpcd (reader {READER}), median of {RUNS} runs");
    println!(
        "{:<8} {:<28} {:>10} {:>7} {:>8}",
        "keys", "flow", "time", "APDUs", "bytes"
    );
    for alg in ["p256", "rsa2048"] {
        let mut rows = vec![];
        for (name, flow) in [
            (
                "tamga enroll",
                tamga_flow as fn(&Lab, &str, usize) -> Result<Duration>,
            ),
            ("yubico-piv-tool + CA script", scripted_flow),
        ] {
            let (mut times, mut apdus, mut bytes) = (vec![], 0, 0);
            let runs = if alg == "rsa2048" { 2 } else { RUNS };
            for i in 0..runs {
                let (_, _, from) = wire(card.trace(), 0)?;
                times.push(flow(&lab, alg, i)?);
                let (a, b, _) = wire(card.trace(), from)?;
                apdus = a;
                bytes = b;
            }
            let m = median(&times);
            println!(
                "{alg:<8} {name:<28} {:>8.1} ms {apdus:>7} {bytes:>8}",
                m.as_secs_f64() * 1e3
            );
            rows.push(m);
        }
        println!(
            "{alg:<8} {:<28} {:>9.1}x",
            "ratio script / tamga",
            rows[1].as_secs_f64() / rows[0].as_secs_f64()
        );
    }
    // Round trips of single APDUs through pcscd.
    let mut t = tamga::transport::pcsc::PcscCard::open(Some(READER), Duration::ZERO)?;
    let cmd = |ins: Ins, (p1, p2): (u8, u8), data: &[u8], le: Option<usize>| {
        apdu::to_vec(Header::new(ins.to_u8(), p1, p2), data, le, Form::Auto)
            .expect("a short command")
    };
    let select = (apdu::P1_SELECT_BY_NAME, 0x00);
    t.transmit(&cmd(Ins::Select, select, &tamga_spec::PIV_AID[..5], None))?;
    let pin = (0x00, KeyRef::Pin.to_u8());
    let chuid = ObjectTag::CHUID.tag_list();
    for (name, apdu) in [
        ("empty VERIFY", cmd(Ins::Verify, pin, &[], None)),
        (
            "GET DATA CHUID",
            cmd(
                Ins::GetData,
                apdu::P1P2_CURRENT_DF,
                &chuid,
                Some(apdu::SHORT_LE_MAX),
            ),
        ),
    ] {
        let mut v = vec![];
        for _ in 0..500 {
            let s = Instant::now();
            t.transmit(&apdu)?;
            v.push(s.elapsed().as_secs_f64() * 1e3);
        }
        let med = percentile(&mut v, 0.5);
        let p95 = percentile(&mut v, 0.95);
        println!("round trip {name:<16} median {med:.3} ms, p95 {p95:.3} ms (500 APDUs)");
    }
    drop(t);
    drop(card);
    Ok(())
}
