//! The RSA-2048 private operation in constant time, checked by valgrind's
//! memcheck: the CRT key (p, q, dp, dq, qinv) is marked *undefined*, so
//! memcheck reports every branch and every memory address that depends on it
//! ("Conditional jump or move depends on uninitialised value(s)", "Use of
//! uninitialised value"). The operation declassifies only what leaves the
//! card anyway ([`RsaKernel::declassify`]: the checked result and its
//! re-encryption).
//!
//! The blinding values r and t come from the RNG and are not tracked here:
//! their rejection sampling and the inversion of u = r·t are variable-time by
//! design (see `rsa2048::random_inverse`), the exponentiations see only the
//! blinded block.
//!
//! The test runs this binary's ignored child tests under memcheck: the real
//! kernel must give zero errors, and a kernel that branches on a secret word
//! (same results) must give some — so the check can fail.

#![cfg(target_arch = "x86_64")]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use tamga_board_host::SeededRng;
use tamga_firmware::crypto::{RsaKernel, SoftP256, Word, mac_row2};
use tamga_firmware::rsa2048::{self, CRT_LEN, MODULUS_LEN};

/// Memcheck's client requests (`valgrind/memcheck.h`).
const MEMCHECK_BASE: u64 = (0x4D << 24) | (0x43 << 16); // 'M', 'C'
const MAKE_MEM_UNDEFINED: u64 = MEMCHECK_BASE + 1;
const MAKE_MEM_DEFINED: u64 = MEMCHECK_BASE + 2;
/// Valgrind's core request: nonzero under valgrind.
const RUNNING_ON_VALGRIND: u64 = 0x1001;

/// A valgrind client request (the x86-64 "special instruction" sequence of
/// `valgrind.h`); outside valgrind it does nothing and returns 0.
fn client_request(request: u64, addr: *const u8, len: usize) -> u64 {
    let args: [u64; 6] = [request, addr as u64, len as u64, 0, 0, 0];
    let mut result: u64 = 0;
    // SAFETY: the four rotations of rdi add up to 128 bits (rdi keeps its
    // value, declared clobbered anyway) and `xchg rbx, rbx` changes nothing;
    // under valgrind the request reads `args`, which outlives the call.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
    result
}

fn make_undefined(bytes: &[u8]) {
    client_request(MAKE_MEM_UNDEFINED, bytes.as_ptr(), bytes.len());
}

fn make_defined(words: &[Word]) {
    client_request(MAKE_MEM_DEFINED, words.as_ptr().cast(), size_of_val(words));
}

/// The portable kernel, declassifying for memcheck.
struct Checked;

impl RsaKernel for Checked {
    fn declassify(words: &[Word]) {
        make_defined(words);
    }
}

/// Branches taken by [`Leaky`] (keeps the branch in the code).
static LEAKS: AtomicUsize = AtomicUsize::new(0);

/// [`Checked`] whose inner loop branches on a (secret) word: same results.
struct Leaky;

impl RsaKernel for Leaky {
    fn mac_row2(row: &mut [Word], x: &[Word], k1: Word, k2: Word, carry: Word, ext: Word) -> Word {
        if k1 & 1 == 1 {
            LEAKS.fetch_add(1, Ordering::Relaxed);
        }
        mac_row2(row, x, k1, k2, carry, ext)
    }

    fn declassify(words: &[Word]) {
        make_defined(words);
    }
}

/// Environment variable naming the child's input file.
const INPUT: &str = "TAMGA_CT_INPUT";

/// The child's input: n, the CRT block, the block to sign and the expected
/// result, as four hex lines.
struct Input {
    n: [u8; MODULUS_LEN],
    crt: [u8; CRT_LEN],
    block: Vec<u8>,
    want: [u8; MODULUS_LEN],
}

fn read_input(path: &Path) -> Input {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<Vec<u8>> = text.lines().map(|l| hex::decode(l).unwrap()).collect();
    Input {
        n: lines[0].as_slice().try_into().unwrap(),
        crt: lines[1].as_slice().try_into().unwrap(),
        block: lines[2].clone(),
        want: lines[3].as_slice().try_into().unwrap(),
    }
}

/// Under memcheck: the key secret, one private operation with kernel `K`.
fn child<K: RsaKernel>() {
    let Some(path) = std::env::var_os(INPUT) else {
        eprintln!("run by rsa_private_is_constant_time_under_memcheck (needs {INPUT})");
        return;
    };
    assert_ne!(
        client_request(RUNNING_ON_VALGRIND, std::ptr::null(), 0),
        0,
        "not under valgrind"
    );
    let input = read_input(Path::new(&path));
    let crt = input.crt;
    make_undefined(&crt);
    let mut out = [0u8; MODULUS_LEN];
    let r = rsa2048::private::<K, _>(
        &input.n,
        &crt,
        &input.block,
        &mut SeededRng::new(9),
        &mut out,
    );
    assert!(r.is_ok());
    assert_eq!(
        out, input.want,
        "the checked kernel gives the same signature"
    );
}

#[test]
#[ignore = "run under valgrind by rsa_private_is_constant_time_under_memcheck"]
fn ct_child_checked() {
    child::<Checked>();
}

#[test]
#[ignore = "run under valgrind by rsa_private_is_constant_time_under_memcheck"]
fn ct_child_leaky() {
    child::<Leaky>();
}

/// Run child test `name` under memcheck: (errors memcheck counted, stderr).
fn memcheck(name: &str, input: &Path) -> (usize, String) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("valgrind")
        .args(["--tool=memcheck", "--track-origins=yes", "--num-callers=12"])
        .arg(&exe)
        .args(["--ignored", "--exact", name, "--test-threads=1"])
        .env(INPUT, input)
        .output()
        .expect("valgrind (Debian: valgrind) runs; cargo xtask test installs it");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} failed under memcheck:\n{stdout}\n{stderr}"
    );
    let errors = stderr
        .lines()
        .find_map(|l| l.split("ERROR SUMMARY: ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no memcheck summary:\n{stderr}"));
    (errors, stderr)
}

#[test]
fn rsa_private_is_constant_time_under_memcheck() {
    let parts = test_rsa_key();
    let parts: [&[u8]; 5] = std::array::from_fn(|i| parts[i].as_slice());
    let (mut n, mut crt) = ([0u8; MODULUS_LEN], [0u8; CRT_LEN]);
    rsa2048::import::<SoftP256, _>(parts, &mut SeededRng::new(7), &mut n, &mut crt).unwrap();
    let block = pkcs1v15_pad(&[0x6D; 32]);
    let mut want = [0u8; MODULUS_LEN];
    rsa2048::private::<SoftP256, _>(&n, &crt, &block, &mut SeededRng::new(9), &mut want).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    let lines = [
        hex::encode(n),
        hex::encode(crt),
        hex::encode(&block),
        hex::encode(want),
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();

    let (errors, log) = memcheck("ct_child_checked", &input);
    assert_eq!(
        errors, 0,
        "the private operation depends on the key:\n{log}"
    );
    let (leaks, log) = memcheck("ct_child_leaky", &input);
    assert!(
        leaks > 0 && log.contains("depends on uninitialised value"),
        "memcheck missed a branch on a key word:\n{log}"
    );
    println!(
        "memcheck, RSA-2048 private operation with the CRT key secret: {errors} errors; with a kernel branching on a key word: {leaks}"
    );
}
