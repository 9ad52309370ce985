//! Instruction counts of the applet's operations on the Cortex-M4 build.
//!
//! Run under QEMU with `-icount shift=0`: virtual time then advances exactly
//! 1 ns per executed instruction. The CMSDK APB timer 0 counts down at the
//! 25 MHz peripheral clock of the MPS2 board, so one timer tick is 40
//! instructions. Each operation is one `Applet::process` call, timed by
//! reading the timer before and after; the cost of the two reads (measured)
//! is subtracted. A calibration loop of known length checks the scale.
//! Results go to the semihosting console as `BENCH|name|instructions|SW`,
//! then QEMU exits.
//!
//! Besides the applet's operations, the image compares the backends the board
//! plugs into the applet with the portable ones, and exits non-zero if they
//! disagree: P-256 (exit 4) and the RSA kernel (exit 5: random rows, then a
//! whole RSA-2048 signature of the same key with the portable kernel, which
//! also gives that kernel's instruction count) and the GOST kernels (exit
//! 6: the field operations and the table scan against the portable code,
//! signatures of a fixed key and nonce on both curves against the portable
//! code's, a hedged signature that must verify).

use core::ptr;

use semihosting::println;
use tamga_firmware::Applet;
use tamga_firmware::crypto::{self, P256};
use tamga_firmware::spec::{Algorithm, PIV_AID, defaults};

use crate::config::Config;
use crate::flash::EmuFlash;
use crate::rng::EmuRng;
use crate::stack;

const TIMER0: usize = 0x4000_0000;
const CTRL: usize = 0x00;
const VALUE: usize = 0x04;
const RELOAD: usize = 0x08;
/// Instructions per timer tick: 1 ns per instruction (`-icount shift=0`),
/// 40 ns per tick at 25 MHz.
const INSNS_PER_TICK: u64 = 40;

fn timer_write(offset: usize, value: u32) {
    // SAFETY: TIMER0 is the CMSDK APB timer 0 of the MPS2 board; the
    // benchmark is its only user; MMIO needs a volatile access.
    unsafe { ptr::write_volatile((TIMER0 + offset) as *mut u32, value) }
}

#[inline(always)]
fn now() -> u32 {
    // SAFETY: as in `timer_write`.
    unsafe { ptr::read_volatile((TIMER0 + VALUE) as *const u32) }
}

/// The card under test, with the board's backend unless told otherwise.
struct Bench<E: P256 = crate::Ec> {
    card: Applet<EmuFlash, EmuRng, E>,
    reply: [u8; 514],
    /// Length of the last reply.
    last: usize,
    overhead: u64,
}

impl<E: P256> Bench<E> {
    /// Send an APDU, return (instructions, SW).
    #[inline(never)]
    fn measure(&mut self, apdu: &[u8]) -> (u64, u16) {
        let t0 = now();
        let n = self.card.process(apdu, &mut self.reply);
        let t1 = now();
        self.last = n;
        let ticks = u64::from(t0.wrapping_sub(t1));
        let sw = match self.reply.get(n.saturating_sub(2)..n) {
            Some([a, b]) => u16::from_be_bytes([*a, *b]),
            _ => 0,
        };
        ((ticks * INSNS_PER_TICK).saturating_sub(self.overhead), sw)
    }

    fn send(&mut self, apdu: &[u8]) -> u16 {
        self.measure(apdu).1
    }

    fn report(&mut self, name: &str, apdu: &[u8]) -> u16 {
        let (insns, sw) = self.measure(apdu);
        println!("BENCH|{name}|{insns}|{sw:04X}");
        sw
    }
}

/// Two back-to-back timer reads, in instructions.
#[inline(never)]
fn overhead() -> u64 {
    let t0 = now();
    let t1 = now();
    u64::from(t0.wrapping_sub(t1)) * INSNS_PER_TICK
}

/// A loop of exactly 2 instructions per iteration (`subs`, `bne`).
#[inline(never)]
fn spin(iterations: u32) {
    // SAFETY: register-only loop, no memory access.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {0}, {0}, #1",
            "bne 1b",
            inout(reg) iterations => _,
            options(nomem, nostack)
        );
    }
}

/// GENERAL AUTHENTICATE with a GOST key, `00 87 alg slot Lc 7C LL 82 00 81 L
/// <digest> 00` with L = 64 (GOST-512) or 32 (GOST-2004): the APDU and its
/// length.
fn sign_gost(alg: Algorithm, slot: u8) -> ([u8; 76], usize) {
    let len = alg.gost_len().unwrap_or(0);
    let (Ok(l), Ok(lc)) = (u8::try_from(len), u8::try_from(len + 6)) else {
        return ([0; 76], 0);
    };
    let mut a = [0x5A; 76];
    a[..11].copy_from_slice(&[
        0x00,
        0x87,
        alg.to_u8(),
        slot,
        lc,
        0x7C,
        lc - 2,
        0x82,
        0x00,
        0x81,
        l,
    ]);
    let end = 11 + len;
    if let Some(le) = a.get_mut(end) {
        *le = 0x00;
    }
    (a, end + 1)
}

fn select() -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..5].copy_from_slice(&[0x00, 0xA4, 0x04, 0x00, 0x0B]);
    a[5..].copy_from_slice(&PIV_AID);
    a
}

const VERIFY_PIN: [u8; 13] = [
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];

fn sign_p256() -> [u8; 44] {
    let mut a = [0x5A; 44];
    a[..11].copy_from_slice(&[
        0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20,
    ]);
    a[43] = 0x00;
    a
}

/// RSA-2048 sign, extended APDU: 7C 82 0106 { 82 00, 81 82 0100 <256> }.
fn sign_rsa() -> [u8; 275] {
    let mut a = [0u8; 275];
    a[..17].copy_from_slice(&[
        0x00, 0x87, 0x07, 0x9C, 0x00, 0x01, 0x0A, 0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82,
        0x01, 0x00,
    ]);
    // A PKCS#1 v1.5-shaped block: 00 01 FF.. 00 <digest>.
    a[18] = 0x01;
    a[19..240].fill(0xFF);
    a[241..273].fill(0x5A);
    a
}

fn authenticate_admin(b: &mut Bench) -> bool {
    let n = b.card.process(
        &[0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00],
        &mut b.reply,
    );
    if n != 14 {
        return false;
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&b.reply[4..12]);
    if tamga_firmware::crypto::mgmt_crypt(Algorithm::Tdes, &defaults::MANAGEMENT_KEY, &mut w, false)
        .is_err()
    {
        return false;
    }
    let mut a = [0u8; 17];
    a[..9].copy_from_slice(&[0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x80, 0x08]);
    a[9..].copy_from_slice(&w);
    b.send(&a) == 0x9000
}

/// Run the benchmark, print the results and stop QEMU.
pub fn run(config: &Config) -> ! {
    timer_write(CTRL, 0);
    timer_write(RELOAD, u32::MAX);
    timer_write(VALUE, u32::MAX);
    timer_write(CTRL, 1);

    let o = overhead();
    let t0 = now();
    spin(1_000_000);
    let t1 = now();
    let calib = u64::from(t0.wrapping_sub(t1)) * INSNS_PER_TICK;
    println!("CALIB|2000000 instructions (spin loop)|{calib}|timer reads {o}");

    let Some(flash) = EmuFlash::open(None) else {
        semihosting::process::exit(2)
    };
    let rng = EmuRng::from_test_seed(config.seed.unwrap_or(7));
    let Ok(card) = Applet::with_p256(flash, rng, crate::Ec::default()) else {
        semihosting::process::exit(3)
    };
    let mut b = Bench {
        card,
        reply: [0; 514],
        last: 0,
        overhead: o,
    };

    b.report("SELECT PIV", &select());
    b.report("VERIFY (empty: status only)", &[0x00, 0x20, 0x00, 0x80]);
    b.report(
        "GET DATA (absent object)",
        &[
            0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x07, 0x00,
        ],
    );
    b.report(
        "GET DATA (CHUID)",
        &[
            0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00,
        ],
    );
    b.report("VERIFY (right PIN, 2 flash commits)", &VERIFY_PIN);
    if !authenticate_admin(&mut b) {
        println!("BENCH|management key authentication|0|6982");
    }
    b.report(
        "GENERATE P-256 (9A)",
        &[0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11],
    );
    b.report("P-256 sign (9A)", &sign_p256());
    // GOST: 34.10-2015 512 in 9D, 34.310-2004 in 82 (PIN once: verified above).
    for (generate, sign, alg, slot) in [
        (
            "GENERATE GOST-512 (9D)",
            "GOST-512 sign (9D)",
            Algorithm::Gost2015_512,
            0x9D,
        ),
        (
            "GENERATE GOST-2004 (82)",
            "GOST-2004 sign (82)",
            Algorithm::Gost2004,
            0x82,
        ),
    ] {
        let gen_gost = [
            0x00,
            0x47,
            0x00,
            slot,
            0x05,
            0xAC,
            0x03,
            0x80,
            0x01,
            alg.to_u8(),
        ];
        b.report(generate, &gen_gost);
        let (apdu, n) = sign_gost(alg, slot);
        b.report(sign, apdu.get(..n).unwrap_or(&[]));
    }

    // RSA-2048: measured once the firmware supports it.
    let gen_rsa = [0x00, 0x47, 0x00, 0x9C, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x07];
    let sw = b.report("GENERATE RSA-2048 (9C)", &gen_rsa);
    // The signature (the whole reply), for the portable kernel's run.
    let mut signature = [0u8; 514];
    let mut signed = 0;
    if sw == 0x9000 || sw >> 8 == 0x61 {
        b.card.reset();
        b.send(&select());
        b.send(&VERIFY_PIN);
        if b.report("RSA-2048 sign (9C)", &sign_rsa()) == 0x9000 {
            signature = b.reply;
            signed = b.last;
        }
    }

    backends(&mut b);
    gost_kernels();
    #[cfg(feature = "p256-m4")]
    rsa_kernels(b, config, signature.get(..signed).unwrap_or(&[]));
    #[cfg(not(feature = "p256-m4"))]
    let _ = (signature, signed);

    let peak = stack::high_water();
    println!("STACK|{peak}|{}", stack::capacity());
    semihosting::process::exit(0)
}

/// The P-256 primitives alone, per backend, through the applet's own
/// functions (scalar drawing, RFC 6979 nonce, DER): RustCrypto `p256` and,
/// with the feature `p256-m4`, the P256-Cortex-M4 assembly the card uses.
/// Both must give the same key, public point, signature and ECDH secret for
/// the same RNG and entropy; if they do not, the benchmark exits with 4.
fn backends(b: &mut Bench) {
    let _soft = backend(b, "RustCrypto p256", &tamga_firmware::crypto::SoftP256);
    #[cfg(feature = "p256-m4")]
    {
        let m4 = backend(b, "P256-Cortex-M4", &crate::p256m4::M4P256);
        let agree = _soft.is_some() && _soft == m4;
        println!(
            "BENCH|backends agree (key, point, signature, ECDH)|0|{}",
            if agree { "9000" } else { "6F00" }
        );
        if !agree {
            semihosting::process::exit(4);
        }
    }
}

/// What one backend produced: private scalar, public point, DER signature, ECDH x.
type Outputs = ([u8; 32], [u8; 65], [u8; 80], [u8; 32]);

fn backend<E: P256>(b: &Bench, name: &str, ec: &E) -> Option<Outputs> {
    let mut rng = EmuRng::from_test_seed(11);
    let hash = [0x5A; 32];
    let entropy = [0x33; 32];
    let t0 = now();
    let (private, public) = crypto::ec_generate(ec, &mut rng);
    let t1 = now();
    let keygen = ticks(t0, t1, b.overhead);
    let mut der = [0u8; 80];
    let t0 = now();
    let signed = crypto::ec_sign(ec, &private, &hash, &entropy, &mut der);
    let t1 = now();
    let sign = ticks(t0, t1, b.overhead);
    let t0 = now();
    let shared = crypto::ec_ecdh(ec, &private, &public);
    let t1 = now();
    let ecdh = ticks(t0, t1, b.overhead);
    let sw = |ok: bool| if ok { "9000" } else { "6F00" };
    println!("BENCH|backend {name}: keygen|{keygen}|9000");
    println!(
        "BENCH|backend {name}: sign, RFC 6979 + DER|{sign}|{}",
        sw(signed.is_ok())
    );
    println!("BENCH|backend {name}: ECDH|{ecdh}|{}", sw(shared.is_ok()));
    Some((private, public, der, shared.ok()?))
}

fn ticks(t0: u32, t1: u32, overhead: u64) -> u64 {
    (u64::from(t0.wrapping_sub(t1)) * INSNS_PER_TICK).saturating_sub(overhead)
}

/// r ‖ s of GOST-2004 (CryptoPro-A) for d = 11…11, digest 5A…5A and nonce
/// k = 22…22 (each 32 bytes), as the portable code (on the host) gives it.
const GOST2004_FIXED: &str = "9428e3191c46f22bce7b03b97997b7f4e58fa79a32b3b51675dce807643e6090\
bc8a81d865aed416ec1f3723b402b85f35b978704e2068ed637fbff808fdfe80";
/// r ‖ s of GOST-512 (tc26-512-A) for d = 11…11, digest 5A…5A and nonce
/// k = 22…22 (each 64 bytes), as the portable code (on the host) gives it.
const GOST512_FIXED: &str = "3fae212a82cabba347f367a058db941f0406761c36d798a25aa14e4857c728d9\
e138425abe087ffa09d3a8b87d0667574dc57315b75c559f4bbc152b3ea0acfd\
34a0793901c3abd395c8ab287ab6aa15e43d6e07e82a59ee2981fec8fce72416\
c039f9a0166297e68031c86a913bc5009e0333905bbf1dfc8eccd0f33b1735f1";

/// Whether `bytes` are the hex string `hex` (lowercase).
fn is_hex(bytes: &[u8], hex: &str) -> bool {
    let digit = |n: u8| b"0123456789abcdef".get(usize::from(n)).copied();
    bytes.len() * 2 == hex.len()
        && bytes
            .iter()
            .zip(hex.as_bytes().chunks_exact(2))
            .all(|(b, h)| digit(b >> 4) == h.first().copied() && digit(b & 15) == h.get(1).copied())
}

/// The GOST kernels of the board against the portable code: random words
/// and edge cases (0, all ones, p − 1, p, values just below 2^256 or
/// 2^512) through the 256- and 512-bit products, sums and differences, and
/// the comb's table scan for every index; then a signature of a
/// fixed key and nonce on each curve against the portable code's, and a
/// hedged GOST-2004 signature that must verify. Exits with 6 on a mismatch.
fn gost_kernels() {
    use tamga_gost::kernel::{
        fe256_add, fe256_add_portable, fe256_mul, fe256_mul_portable, fe256_sub,
        fe256_sub_portable, fe512_add, fe512_add_portable, fe512_mul, fe512_mul_portable,
        fe512_sub, fe512_sub_portable, select31, select31_portable,
    };
    use tamga_gost::{CRYPTOPRO_A, TC26_512_A};
    const C: u32 = 617;
    let mut x: u32 = 0x9E37_79B9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut p = [u32::MAX; 8];
    p[0] = 0u32.wrapping_sub(C);
    let mut p1 = p;
    p1[0] -= 1;
    let mut top = [u32::MAX; 8];
    top[0] = 0u32.wrapping_sub(2);
    let edges = [
        [0u32; 8],
        [u32::MAX; 8],
        p,
        p1,
        top,
        [1, 0, 0, 0, 0, 0, 0, 0],
    ];
    let mut agree = true;
    for round in 0..400usize {
        let mut pick = |i: usize| {
            edges.get(i).copied().unwrap_or_else(|| {
                let mut w = [0u32; 8];
                w.iter_mut().for_each(|w| *w = next());
                w
            })
        };
        let (a, c) = (pick(round % 12), pick((round / 12) % 12));
        agree &= fe256_mul(&a, &c, C) == fe256_mul_portable(&a, &c, C);
        agree &= fe256_add(&a, &c, C) == fe256_add_portable(&a, &c, C);
        agree &= fe256_sub(&a, &c, C) == fe256_sub_portable(&a, &c, C);
    }
    // The same for the 512-bit field (p = 2^512 − 569).
    const C512: u32 = 569;
    let mut p512 = [u32::MAX; 16];
    p512[0] = 0u32.wrapping_sub(C512);
    let mut p512m1 = p512;
    p512m1[0] -= 1;
    let mut one = [0u32; 16];
    one[0] = 1;
    let edges512 = [[0u32; 16], [u32::MAX; 16], p512, p512m1, one];
    for round in 0..300usize {
        let mut pick = |i: usize| {
            edges512.get(i).copied().unwrap_or_else(|| {
                let mut w = [0u32; 16];
                w.iter_mut().for_each(|w| *w = next());
                w
            })
        };
        let (a, c) = (pick(round % 10), pick((round / 10) % 10));
        agree &= fe512_mul(&a, &c, C512) == fe512_mul_portable(&a, &c, C512);
        agree &= fe512_add(&a, &c, C512) == fe512_add_portable(&a, &c, C512);
        agree &= fe512_sub(&a, &c, C512) == fe512_sub_portable(&a, &c, C512);
    }
    // The comb's table scan, both entry sizes, every index and two beyond.
    let mut table = [0u32; 31 * 32];
    table.iter_mut().for_each(|w| *w = next());
    for w in [16, 32] {
        let Some(t) = table.get(..31 * w) else {
            agree = false;
            continue;
        };
        for idx in 0..34u32 {
            let (mut got, mut want) = ([0u32; 32], [0u32; 32]);
            if let (Some(g), Some(v)) = (got.get_mut(..w), want.get_mut(..w)) {
                select31(t, idx, g);
                select31_portable(t, idx, v);
            }
            agree &= got == want;
        }
    }
    println!(
        "BENCH|GOST kernels agree (field words, table scan)|0|{}",
        if agree { "9000" } else { "6F00" }
    );
    let mut sig = [0u8; 128];
    let fixed_2004 = sig.get_mut(..64).is_some_and(|s| {
        CRYPTOPRO_A
            .sign_with_nonce(&[0x11; 32], &[0x5A; 32], &[0x22; 32], s)
            .is_ok()
            && is_hex(s, GOST2004_FIXED)
    });
    let fixed_512 = TC26_512_A
        .sign_with_nonce(&[0x11; 64], &[0x5A; 64], &[0x22; 64], &mut sig)
        .is_ok()
        && is_hex(&sig, GOST512_FIXED);
    let mut rng = EmuRng::from_test_seed(13);
    let (mut d, mut q) = ([0u8; 32], [0u8; 64]);
    let hedged = CRYPTOPRO_A.generate(&mut rng, &mut d, &mut q).is_ok()
        && sig.get_mut(..64).is_some_and(|s| {
            CRYPTOPRO_A.sign(&d, &[0xA5; 32], b"bench", s).is_ok()
                && CRYPTOPRO_A.verify(&q, &[0xA5; 32], s).is_ok()
                && CRYPTOPRO_A.verify(&q, &[0xA4; 32], s).is_err()
        });
    let signs = fixed_2004 && fixed_512 && hedged;
    println!(
        "BENCH|GOST signatures agree (fixed nonce; hedged one verifies)|0|{}",
        if signs { "9000" } else { "6F00" }
    );
    if !(agree && signs) {
        semihosting::process::exit(6);
    }
}

/// The board's RSA kernel against the portable one ([`crypto::mac_row2`]):
/// random rows of every length up to 67 words (odd lengths and rows of another
/// length take the portable code in the board's kernel too), random and
/// all-ones multipliers, carries and top words; then the key the card
/// generated signs the same block on a card with the portable kernel (the
/// same store, moved over): same reply, and its instruction count for
/// comparison. Exits with 5 on a mismatch.
#[cfg(feature = "p256-m4")]
fn rsa_kernels(b: Bench, config: &Config, signature: &[u8]) {
    use crypto::{RsaKernel, Word};
    let mut x: u32 = 0x2545_F491;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut agree = true;
    for n in 0..68usize {
        for round in 0..4 {
            let mut pick = || if round == 3 { Word::MAX } else { next() };
            let mut xs = [0 as Word; 68];
            let mut row = [0 as Word; 70];
            xs.iter_mut().for_each(|w| *w = pick());
            row.iter_mut().for_each(|w| *w = pick());
            let (k1, k2, carry, ext) = (pick(), pick(), pick(), pick());
            let mut want = row;
            let (Some(xs), Some(got_row), Some(want_row)) =
                (xs.get(..n), row.get_mut(..n + 2), want.get_mut(..n + 2))
            else {
                agree = false;
                continue;
            };
            let c1 = crate::Ec::mac_row2(got_row, xs, k1, k2, carry, ext);
            let c2 = crypto::mac_row2(want_row, xs, k1, k2, carry, ext);
            agree &= c1 == c2 && row == want;
        }
    }
    println!(
        "BENCH|RSA kernels agree (random rows)|0|{}",
        if agree { "9000" } else { "6F00" }
    );
    if !agree {
        semihosting::process::exit(5);
    }
    if signature.is_empty() {
        return;
    }
    let Bench { card, overhead, .. } = b;
    let rng = EmuRng::from_test_seed(config.seed.unwrap_or(7));
    let Ok(card) = Applet::with_p256(card.into_flash(), rng, crypto::SoftP256) else {
        semihosting::process::exit(3)
    };
    let mut b = Bench {
        card,
        reply: [0; 514],
        last: 0,
        overhead,
    };
    b.send(&select());
    b.send(&VERIFY_PIN);
    b.report("RSA-2048 sign (9C), portable Rust kernel", &sign_rsa());
    let same = b.reply.get(..b.last) == Some(signature);
    println!(
        "BENCH|RSA kernels agree (signature)|0|{}",
        if same { "9000" } else { "6F00" }
    );
    if !same {
        semihosting::process::exit(5);
    }
}
