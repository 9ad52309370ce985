//! Host-side cost of the applet's main operations, in instructions.
//!
//! `cargo bench -p tamga-firmware` re-runs this binary under
//! `valgrind --tool=callgrind`, collecting only inside `measured()`, once per
//! operation, and prints instructions per `Applet::process` call. Instruction
//! counts repeat exactly on a noisy machine, unlike seconds. Without valgrind
//! it prints wall-clock medians instead and says so.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use tamga_board_host::{SeededRng, SimFlash};
use tamga_firmware::Applet;
use tamga_firmware::spec::{Algorithm, defaults};

type Card = Applet<SimFlash, SeededRng>;

/// Calls of the operation per measurement.
const REPS: u32 = 20;

struct Op {
    name: &'static str,
    setup: fn(&mut Card),
    apdu: fn() -> Vec<u8>,
}

fn send(card: &mut Card, apdu: &[u8]) -> u16 {
    let mut reply = [0u8; 512];
    let n = card.process(apdu, &mut reply);
    u16::from_be_bytes([reply[n - 2], reply[n - 1]])
}

fn selected(card: &mut Card) {
    let mut a = vec![0x00, 0xA4, 0x04, 0x00, 0x0B];
    a.extend_from_slice(&tamga_firmware::spec::PIV_AID);
    assert_eq!(send(card, &a), 0x9000);
}

fn admin(card: &mut Card) {
    selected(card);
    let mut reply = [0u8; 64];
    let n = card.process(
        &[0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00],
        &mut reply,
    );
    assert!(n == 14);
    let mut w = reply[4..12].to_vec();
    tamga_firmware::crypto::mgmt_crypt(Algorithm::Tdes, &defaults::MANAGEMENT_KEY, &mut w, false)
        .unwrap();
    let mut a = vec![0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x80, 0x08];
    a.extend_from_slice(&w);
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
    let mut a = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    a.extend_from_slice(b"123456\xFF\xFF");
    a
}

fn gen_apdu() -> Vec<u8> {
    vec![0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11]
}

fn sign_apdu() -> Vec<u8> {
    let mut a = vec![
        0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20,
    ];
    a.extend_from_slice(&[0x5A; 32]);
    a.push(0x00);
    a
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
            apdu: || vec![0x00, 0x20, 0x00, 0x80],
        },
        Op {
            name: "GET DATA (empty: absent object, 6A82)",
            setup: selected,
            apdu: || {
                vec![
                    0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x07, 0x00,
                ]
            },
        },
        Op {
            name: "GET DATA (CHUID)",
            setup: selected,
            apdu: || {
                vec![
                    0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00,
                ]
            },
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
            sw == 0x9000 || sw == 0x6A82 || sw == 0x63C3,
            "{}: {sw:04X}",
            op.name
        );
    }
    best
}

fn main() {
    let ops = ops();
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
        return;
    }
    println!("{:<42} {:>14}", "operation", "instructions");
    let dir = std::env::temp_dir().join(format!("tamga-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for op in &ops {
        let out = dir.join("callgrind.out");
        let status = Command::new("valgrind")
            .args(["--tool=callgrind", "--toggle-collect=*measured*"])
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .env("TAMGA_BENCH_OP", op.name)
            .output()
            .expect("valgrind runs");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let text = std::fs::read_to_string(&out).expect("callgrind output");
        let total: u64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("totals: ")
                    .or_else(|| l.strip_prefix("summary: "))
            })
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("callgrind totals");
        println!("{:<42} {:>14}", op.name, total / u64::from(REPS));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
