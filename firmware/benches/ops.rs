//! Host-side cost of the applet's main operations, in instructions.
//!
//! `cargo bench -p tamga-firmware` re-runs this binary under
//! `valgrind --tool=callgrind`, collecting only inside `measured()`, once per
//! operation, and prints instructions per `Applet::process` call. Instruction
//! counts repeat exactly on a noisy machine, unlike seconds. Without valgrind
//! it prints wall-clock medians instead and says so.
//!
//! RSA-2048 key generation is measured per seed: one callgrind process per
//! seed 1, 2, … `TAMGA_BENCH_RSA_SEEDS` (default 21) runs one generation on a
//! fresh card, and the bench prints the median and the maximum.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use tamga_board_host::{SeededRng, SimFlash};
use tamga_firmware::Applet;
use tamga_firmware::spec::apdu::{self, Form, Header, P1_SELECT_BY_NAME, P1P2_CURRENT_DF};
use tamga_firmware::spec::{Algorithm, Ins, KeyRef, ObjectTag, defaults, tags, tlv};

type Card = Applet<SimFlash, SeededRng>;

/// Calls of the operation per measurement.
const REPS: u32 = 20;

struct Op {
    name: &'static str,
    setup: fn(&mut Card),
    apdu: fn() -> Vec<u8>,
}

/// A command APDU (short form when it fits, extended otherwise).
fn cmd(ins: Ins, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
    apdu::to_vec(Header::new(ins.to_u8(), p1, p2), data, le, Form::Auto).unwrap()
}

/// GENERAL AUTHENTICATE with `alg` and `key`, template `7C { inner }`.
fn general_authenticate(alg: Algorithm, key: KeyRef, inner: &[u8], le: Option<usize>) -> Vec<u8> {
    let ins = Ins::GeneralAuthenticate;
    let template = tlv::to_vec(tags::DYN_AUTH, inner);
    cmd(ins, alg.to_u8(), key.to_u8(), &template, le)
}

/// GET DATA of an object, Le 256.
fn get_data(tag: ObjectTag) -> Vec<u8> {
    let (p1, p2) = P1P2_CURRENT_DF;
    cmd(Ins::GetData, p1, p2, &tag.tag_list(), Some(256))
}

fn send(card: &mut Card, apdu: &[u8]) -> u16 {
    let mut reply = [0u8; 512];
    let n = card.process(apdu, &mut reply);
    u16::from_be_bytes([reply[n - 2], reply[n - 1]])
}

fn selected(card: &mut Card) {
    let a = cmd(
        Ins::Select,
        P1_SELECT_BY_NAME,
        0x00,
        &tamga_firmware::spec::PIV_AID,
        None,
    );
    assert_eq!(send(card, &a), 0x9000);
}

fn admin(card: &mut Card) {
    selected(card);
    let mut reply = [0u8; 64];
    let (tdes, mgmt) = (Algorithm::Tdes, KeyRef::Management);
    let n = card.process(
        &general_authenticate(tdes, mgmt, &tlv::to_vec(tags::DYN_WITNESS, &[]), None),
        &mut reply,
    );
    assert!(n == 14);
    let mut w = reply[4..12].to_vec();
    tamga_firmware::crypto::mgmt_crypt(Algorithm::Tdes, &defaults::MANAGEMENT_KEY, &mut w, false)
        .unwrap();
    let witness = tlv::to_vec(tags::DYN_WITNESS, &w);
    let a = general_authenticate(tdes, mgmt, &witness, None);
    assert_eq!(send(card, &a), 0x9000);
}

fn with_key(card: &mut Card) {
    admin(card);
    assert_eq!(send(card, &gen_apdu()), 0x9000);
    card.reset();
    selected(card);
    assert_eq!(send(card, &verify_apdu()), 0x9000);
}

fn verify_apdu() -> Vec<u8> {
    cmd(
        Ins::Verify,
        0x00,
        KeyRef::Pin.to_u8(),
        b"123456\xFF\xFF",
        None,
    )
}

/// GENERATE in 9A with algorithm `alg`.
fn generate(alg: Algorithm) -> Vec<u8> {
    cmd(
        Ins::GenerateAsymmetric,
        0x00,
        KeyRef::Authentication.to_u8(),
        &tags::gen_control(alg.to_u8()),
        None,
    )
}

fn gen_rsa_apdu() -> Vec<u8> {
    generate(Algorithm::Rsa2048)
}

fn with_rsa_key(card: &mut Card) {
    admin(card);
    let mut reply = [0u8; 512];
    let n = card.process(&gen_rsa_apdu(), &mut reply);
    assert_eq!(&reply[n - 2..n], &[0x61, 0x0E]);
    card.reset();
    selected(card);
    assert_eq!(send(card, &verify_apdu()), 0x9000);
}

/// GENERAL AUTHENTICATE 07 9A with a PKCS#1 v1.5-shaped 256-byte block
/// (extended APDU).
fn rsa_sign_apdu() -> Vec<u8> {
    let mut block = vec![0x00, 0x01];
    block.resize(256 - 52, 0xFF);
    block.push(0x00);
    block.resize(256, 0x5A);
    sign_9a(Algorithm::Rsa2048, &block, 65_536)
}

/// GENERAL AUTHENTICATE with `alg` and slot 9A, asking for a response to
/// `block`, Le `le`.
fn sign_9a(alg: Algorithm, block: &[u8], le: usize) -> Vec<u8> {
    let template = tags::ask_response(tags::DYN_CHALLENGE, block);
    let slot = KeyRef::Authentication.to_u8();
    cmd(
        Ins::GeneralAuthenticate,
        alg.to_u8(),
        slot,
        &template,
        Some(le),
    )
}

/// GOST-512 in 9A (made by GENERATE, the PIN verified).
fn with_gost_key(card: &mut Card) {
    admin(card);
    assert_eq!(send(card, &generate(Algorithm::Gost2015_512)), 0x9000);
    card.reset();
    selected(card);
    assert_eq!(send(card, &verify_apdu()), 0x9000);
}

fn gen_apdu() -> Vec<u8> {
    generate(Algorithm::EccP256)
}

fn sign_apdu() -> Vec<u8> {
    sign_9a(Algorithm::EccP256, &[0x5A; 32], 256)
}

fn ops() -> Vec<Op> {
    vec![
        Op {
            name: "VERIFY (right PIN, 2 flash writes)",
            setup: selected,
            apdu: verify_apdu,
        },
        Op {
            name: "VERIFY (empty: status only, 63C3)",
            setup: selected,
            apdu: || cmd(Ins::Verify, 0x00, KeyRef::Pin.to_u8(), &[], None),
        },
        Op {
            name: "GET DATA (empty: absent object, 6A82)",
            setup: selected,
            apdu: || get_data(ObjectTag::CCC),
        },
        Op {
            name: "GET DATA (CHUID)",
            setup: selected,
            apdu: || get_data(ObjectTag::CHUID),
        },
        Op {
            name: "GENERATE P-256 (9A)",
            setup: admin,
            apdu: gen_apdu,
        },
        Op {
            name: "GENERAL AUTHENTICATE P-256 sign (9A)",
            setup: with_key,
            apdu: sign_apdu,
        },
        Op {
            name: "GENERATE GOST-512 (9A)",
            setup: admin,
            apdu: || generate(Algorithm::Gost2015_512),
        },
        Op {
            name: "GENERAL AUTHENTICATE GOST-512 sign (9A)",
            setup: with_gost_key,
            apdu: || sign_9a(Algorithm::Gost2015_512, &[0x5A; 64], 256),
        },
        Op {
            name: "GENERAL AUTHENTICATE RSA-2048 sign (9A)",
            setup: with_rsa_key,
            apdu: rsa_sign_apdu,
        },
    ]
}

/// The code under measurement; callgrind collects only inside this function.
#[inline(never)]
fn measured(card: &mut Card, apdu: &[u8], reply: &mut [u8]) -> usize {
    card.process(black_box(apdu), black_box(reply))
}

fn run_one(op: &Op) -> std::time::Duration {
    let mut card = Applet::new(SimFlash::<4, 1, 2048>::new(256 * 1024), SeededRng::new(7)).unwrap();
    (op.setup)(&mut card);
    let apdu = (op.apdu)();
    let mut reply = [0u8; 512];
    let mut best = std::time::Duration::MAX;
    for _ in 0..REPS {
        let t = Instant::now();
        let n = measured(&mut card, &apdu, &mut reply);
        best = best.min(t.elapsed());
        let sw = u16::from_be_bytes([reply[n - 2], reply[n - 1]]);
        assert!(
            sw == 0x9000 || sw == 0x6A82 || sw == 0x63C3 || sw == 0x6108,
            "{}: {sw:04X}",
            op.name
        );
    }
    best
}

/// Number of seeds for the RSA key generation figures.
fn rsa_seeds() -> u64 {
    std::env::var("TAMGA_BENCH_RSA_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
}

/// One RSA-2048 GENERATE per seed on a fresh card; returns wall-clock times.
fn run_keygens(seeds: impl Iterator<Item = u64>) -> Vec<std::time::Duration> {
    seeds
        .map(|seed| {
            let mut card = Applet::new(
                SimFlash::<4, 1, 2048>::new(256 * 1024),
                SeededRng::new(seed),
            )
            .unwrap();
            admin(&mut card);
            let apdu = gen_rsa_apdu();
            let mut reply = [0u8; 512];
            let t = Instant::now();
            let n = measured(&mut card, &apdu, &mut reply);
            let took = t.elapsed();
            assert_eq!(&reply[n - 2..n], &[0x61, 0x0E], "seed {seed}");
            took
        })
        .collect()
}

/// (median, max), `None` for no values (`TAMGA_BENCH_RSA_SEEDS=0`).
fn median_max<T: Ord + Copy>(mut v: Vec<T>) -> Option<(T, T)> {
    v.sort();
    Some((*v.get(v.len() / 2)?, *v.last()?))
}

/// Run this bench binary under callgrind with `env` set, collecting inside
/// `measured()` only; the instructions counted.
fn callgrind(exe: &std::path::Path, out: &std::path::Path, env: (&str, &str)) -> u64 {
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--toggle-collect=*measured*"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .env(env.0, env.1)
        .output()
        .expect("valgrind runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    callgrind_totals(&std::fs::read_to_string(out).expect("callgrind output"))
}

fn callgrind_totals(text: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals: ")
                .or_else(|| l.strip_prefix("summary: "))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("callgrind totals")
}

fn main() {
    let ops = ops();
    if let Some(seed) = std::env::var("TAMGA_BENCH_KEYGEN")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run_keygens(std::iter::once(seed));
        return;
    }
    if let Ok(name) = std::env::var("TAMGA_BENCH_OP") {
        let op = ops.iter().find(|o| o.name == name).expect("known op");
        run_one(op);
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok();
    println!("tamga-firmware host-side cost per Applet::process call (x86_64, release build)");
    if !valgrind {
        println!("valgrind not found: best wall-clock time of {REPS} calls (noisy)");
        for op in &ops {
            println!(
                "{:<42} {:>10.1} us",
                op.name,
                run_one(op).as_secs_f64() * 1e6
            );
        }
        if let Some((median, max)) = median_max(run_keygens(1..=rsa_seeds())) {
            println!(
                "{:<42} median {:.1} ms, max {:.1} ms over {} seeds",
                "GENERATE RSA-2048 (9A)",
                median.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3,
                rsa_seeds()
            );
        }
        return;
    }
    println!("{:<42} {:>14}", "operation", "instructions");
    let dir = std::env::temp_dir().join(format!("tamga-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for op in &ops {
        let out = dir.join("callgrind.out");
        let total = callgrind(&exe, &out, ("TAMGA_BENCH_OP", op.name));
        println!("{:<42} {:>14}", op.name, total / u64::from(REPS));
    }
    // RSA key generation: one process per seed.
    let counts: Vec<u64> = (1..=rsa_seeds())
        .map(|seed| {
            let out = dir.join(format!("keygen-{seed}.out"));
            callgrind(&exe, &out, ("TAMGA_BENCH_KEYGEN", &seed.to_string()))
        })
        .collect();
    let (seeds, min) = (counts.len(), counts.iter().copied().min());
    if let (Some((median, max)), Some(min)) = (median_max(counts), min) {
        println!(
            "{:<42} {:>14} median, {} max, {} min over {} seeds",
            "GENERATE RSA-2048 (9A)", median, max, min, seeds
        );
    } else {
        println!("GENERATE RSA-2048 (9A): skipped (TAMGA_BENCH_RSA_SEEDS=0)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
