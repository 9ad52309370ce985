//! RSA-2048 without a heap: key generation (FIPS 186-5 A.1.3 with B.3.3
//! probable primes), import of a CRT key, and the raw private operation with
//! CRT, base blinding and a fault check.
//!
//! Big integers are `crypto-bigint`'s fixed-size `Uint`s on the stack: the
//! modulus is a [`U2048`] (256 bytes), the primes and CRT exponents are
//! [`U1024`]s. `crypto-bigint` supplies the gcd, the divisions of key
//! generation and the modular inverses (constant-time safegcd); all modular
//! multiplication runs on `crate::monty`, a lean constant-time CIOS Montgomery
//! multiplier with a dedicated squaring and a fixed 4-bit window, which keeps
//! one copy of the modulus constants and 2 KiB of window table on the stack.
//! Prime generation is this module's own literal FIPS 186-5 B.3.3 loop (fresh
//! candidates, the √2 bound, gcd(p − 1, e), |p − q|, the iteration cap), which
//! `crypto-primes`' sieving generator does not follow; the number of
//! Miller–Rabin rounds is Table B.1's, checked against `crypto-primes`'
//! implementation of the error formula in the tests, which also check every
//! generated prime with `crypto-primes`.
//!
//! Keys cross this module's boundary as big-endian bytes: the modulus `n`
//! (256 bytes) and the CRT block `p ‖ q ‖ dp ‖ dq ‖ qinv` (5 × 128 bytes).
//! The public exponent is always [`PUBLIC_EXPONENT`].

use crypto_bigint::{NonZero, Odd, RandomMod, U1024, U2048, Word};
use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::crypto::{CryptoError, RsaKernel};
use crate::monty::{self, Modulus, mul_wide, uint, words};

/// Length of the modulus and of every block the private key operates on.
pub const MODULUS_LEN: usize = 256;
/// Length of a prime and of each CRT value.
pub const PRIME_LEN: usize = 128;
/// Length of the CRT block `p ‖ q ‖ dp ‖ dq ‖ qinv`.
pub const CRT_LEN: usize = 5 * PRIME_LEN;
/// The public exponent of every Tamga RSA key.
pub const PUBLIC_EXPONENT: u32 = 65_537;
/// [`PUBLIC_EXPONENT`] as the minimal big-endian bytes sent in tag `82`.
pub const EXPONENT_BYTES: [u8; 3] = [0x01, 0x00, 0x01];

/// Bit length of the modulus.
const NLEN: u32 = 2048;
/// Bit length of each prime.
const PLEN: u32 = NLEN / 2;

/// Miller–Rabin rounds with random bases for a 1024-bit probable prime:
/// FIPS 186-5 Table B.1 (p, q for nlen = 2048, M-R tests only) asks for 5.
/// A test checks that `crypto-primes`' implementation of the error formula of
/// Appendix C.1 (2^-112 for 1024-bit candidates) needs no more.
pub const MR_ROUNDS: usize = 5;

/// FIPS 186-5 B.3.3 step 4.7 / 5.8: at most 5·nlen/2 candidates per prime.
const MAX_CANDIDATES: u32 = 5 * NLEN / 2;
/// Draws rejected for lying below √2·2^1023 (B.3.3 step 4.4) do not count
/// as candidates; bound them too, so that a stuck RNG cannot hang the card.
const MAX_DRAWS: u32 = 8 * MAX_CANDIDATES;
/// The top 64 bits of ⌊√2·2^1023⌋. A candidate whose top 64 bits exceed this
/// is above √2·2^1023 (one whose top bits are equal is rejected: a 2^-64
/// stricter bound, still inside B.3.3's interval).
const SQRT2_TOP64: u64 = 0xB504_F333_F9DE_6484;
/// Key generation attempts (pairs of primes) before giving up; a pair is
/// only redrawn when d ≤ 2^1024 (B.3.3 / A.1.3 step 3), which practically
/// never happens.
const MAX_PAIRS: u32 = 4;

/// Words of a [`U2048`].
const L2: usize = U2048::LIMBS;
/// The 2048-bit modulus with its Montgomery constants.
type Modulus2048 = Modulus<L2>;

/// Odd primes below this bound are tried as factors before Miller–Rabin.
const SIEVE_BOUND: usize = 8192;
/// Number of odd primes below [`SIEVE_BOUND`].
const SMALL_PRIME_COUNT: usize = count_small_primes();
/// The odd primes below [`SIEVE_BOUND`], computed at compile time.
static SMALL_PRIMES: [u16; SMALL_PRIME_COUNT] = small_primes();

// Evaluated at compile time only: an index out of range is a build error.
#[allow(clippy::indexing_slicing)]
const fn sieve() -> [bool; SIEVE_BOUND] {
    let mut composite = [false; SIEVE_BOUND];
    let mut i = 2;
    while i * i < SIEVE_BOUND {
        if !composite[i] {
            let mut j = i * i;
            while j < SIEVE_BOUND {
                composite[j] = true;
                j += i;
            }
        }
        i += 1;
    }
    composite
}

// Evaluated at compile time only: an index out of range is a build error.
#[allow(clippy::indexing_slicing)]
const fn count_small_primes() -> usize {
    let c = sieve();
    let mut n = 0;
    let mut i = 3;
    while i < SIEVE_BOUND {
        if !c[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

// Evaluated at compile time only: an index out of range is a build error,
// and every prime is below SIEVE_BOUND, which fits a u16.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const fn small_primes() -> [u16; SMALL_PRIME_COUNT] {
    let c = sieve();
    let mut out = [0u16; SMALL_PRIME_COUNT];
    let mut n = 0;
    let mut i = 3;
    while i < SIEVE_BOUND {
        if !c[i] {
            out[n] = i as u16;
            n += 1;
        }
        i += 1;
    }
    out
}

/// `bytes` (big-endian) modulo a small `m`, 16 bits at a time.
fn rem_small(bytes: &[u8; PRIME_LEN], m: u32) -> u32 {
    let mut r = 0u32;
    for pair in bytes.chunks_exact(2) {
        let hi = u32::from(pair.first().copied().unwrap_or(0));
        let lo = u32::from(pair.get(1).copied().unwrap_or(0));
        r = ((r << 16) | (hi << 8) | lo) % m;
    }
    r
}

/// Whether a small prime divides the candidate, or `candidate − 1` is a
/// multiple of `e` (B.3.3 step 4.5: gcd(p − 1, e) = 1 for the prime e).
fn sieved_out(bytes: &[u8; PRIME_LEN]) -> bool {
    // 65537 · 2^16 overflows 32 bits: fold bytewise for e.
    let mut r = 0u32;
    for b in bytes {
        r = ((r << 8) | u32::from(*b)) % PUBLIC_EXPONENT;
    }
    r == 1
        || SMALL_PRIMES
            .iter()
            .any(|&p| rem_small(bytes, u32::from(p)) == 0)
}

/// Whether `z = b^m` (Montgomery form) passes a Miller–Rabin round for a
/// candidate w with w − 1 = 2^a·m: z = ±1, or −1 among z^2, …, z^(2^(a−1)).
fn mr_passes<K: RsaKernel>(md: &Modulus<{ monty::N }>, mut z: monty::Words, a: u32) -> bool {
    let one = md.one();
    let minus_one = md.minus_one();
    let mut passed = z == one || z == minus_one;
    let mut j = 1;
    while !passed && j < a {
        z = md.square::<K>(&z);
        if z == minus_one {
            passed = true;
        } else if z == one {
            break;
        }
        j += 1;
    }
    z.zeroize();
    passed
}

/// Miller–Rabin with `MR_ROUNDS` random bases (FIPS 186-5 B.3.1), after a
/// round with base 2. The base-2 round is a filter, not one of the rounds
/// Table B.1 counts: a prime always passes it, so the accepted candidates
/// and their tests are those of B.3.3, but it needs no window table and no
/// multiplications ([`Modulus::pow2`]), and nearly every composite that
/// survives trial division fails it, so rejecting one costs ~20% less. The
/// Montgomery constants and the exponentiations are constant-time; only the
/// early exits (a composite is discarded anyway) and the position of the −1
/// in the squaring chain depend on the candidate. `tick` is called between
/// the exponentiations (a prime needs six: ~1.6 s at 48 MHz in all).
#[inline(never)]
fn miller_rabin<K: RsaKernel, R: CryptoRng + ?Sized>(
    w: &Odd<U1024>,
    rng: &mut R,
    tick: &mut dyn FnMut(),
) -> bool {
    let md = Modulus::<{ monty::N }>::with_kernel::<K>(w);
    let mut w1 = w.get().wrapping_sub(&U1024::ONE);
    let a = w1.trailing_zeros();
    let mut m = words(&w1.shr(a));
    w1.zeroize();
    // Bases uniform in [2, w − 2].
    let range = w.get().wrapping_sub(&U1024::from_u8(3));
    let Some(range) = NonZero::new(range).into_option() else {
        m.zeroize();
        return false;
    };
    let mut prime = true;
    for round in 0..MR_ROUNDS {
        let mut b = U1024::random_mod_vartime(rng, &range).wrapping_add(&U1024::from_u8(2));
        // Base 2 after the first base is drawn: the RNG is used as without
        // the filter (the candidates and keys are the same).
        if round == 0 {
            if !mr_passes::<K>(&md, md.pow2::<K>(&m), a) {
                b.zeroize();
                prime = false;
                break;
            }
            tick();
        }
        let z = md.pow::<K>(&md.monty_in::<K>(&words(&b)), &m);
        b.zeroize();
        if !mr_passes::<K>(&md, z, a) {
            prime = false;
            break;
        }
        tick();
    }
    m.zeroize();
    prime
}

/// One probable prime p of 1024 bits with p > √2·2^1023, gcd(p − 1, e) = 1
/// and, for the second prime, |p − q| > 2^(nlen/2 − 100) (FIPS 186-5 B.3.3
/// steps 4 and 5). `tick` is called between candidates.
fn probable_prime<K: RsaKernel, R: CryptoRng + ?Sized>(
    rng: &mut R,
    other: Option<&U1024>,
    tick: &mut dyn FnMut(),
) -> Result<U1024, CryptoError> {
    let min_distance = U1024::ONE.shl(PLEN - 100);
    let mut bytes = [0u8; PRIME_LEN];
    let mut candidates = 0u32;
    let mut draws = 0u32;
    let result = loop {
        if candidates >= MAX_CANDIDATES || draws >= MAX_DRAWS {
            break Err(CryptoError::Failed);
        }
        draws += 1;
        rng.fill_bytes(&mut bytes);
        if let Some(last) = bytes.last_mut() {
            *last |= 1;
        }
        let mut top = [0u8; 8];
        top.copy_from_slice(bytes.get(..8).unwrap_or(&[0; 8]));
        if u64::from_be_bytes(top) <= SQRT2_TOP64 {
            continue;
        }
        let mut p = U1024::from_be_slice(&bytes);
        if let Some(q) = other {
            let mut d = if p > *q {
                p.wrapping_sub(q)
            } else {
                q.wrapping_sub(&p)
            };
            let close = d <= min_distance;
            d.zeroize();
            if close {
                p.zeroize();
                continue;
            }
        }
        candidates += 1;
        if candidates.is_multiple_of(32) {
            tick();
        }
        if sieved_out(&bytes) {
            p.zeroize();
            continue;
        }
        tick();
        let Some(odd) = Odd::new(p).into_option() else {
            continue;
        };
        if miller_rabin::<K, _>(&odd, rng, tick) {
            break Ok(p);
        }
        p.zeroize();
    };
    bytes.zeroize();
    result
}

/// The CRT block's parts, in order.
const P: usize = 0;
const Q: usize = 1;
const DP: usize = 2;
const DQ: usize = 3;
const QINV: usize = 4;

/// Part `i` of the CRT block.
fn part(crt: &[u8; CRT_LEN], i: usize) -> U1024 {
    let mut b = [0u8; PRIME_LEN];
    if let Some(s) = crt.get(i * PRIME_LEN..(i + 1) * PRIME_LEN) {
        b.copy_from_slice(s);
    }
    let v = U1024::from_be_slice(&b);
    b.zeroize();
    v
}

/// Prime `i` of the CRT block as a modulus. Every valid key's primes are odd:
/// setting the low bit keeps the prime out of a branch (the bit is public,
/// the rest stays secret; `tests/ct.rs` checks it), and a corrupted even prime
/// gives a wrong result, which the fault check withholds. The value is odd by
/// construction, so the default (one) never applies, and neither case branches.
fn odd_part(crt: &[u8; CRT_LEN], i: usize) -> Odd<U1024> {
    Odd::new(part(crt, i) | U1024::ONE).unwrap_or_default()
}

/// Write part `i` of the CRT block.
fn set_part(crt: &mut [u8; CRT_LEN], i: usize, v: &U1024) {
    let mut b = v.to_be_bytes();
    if let Some(s) = crt.get_mut(i * PRIME_LEN..(i + 1) * PRIME_LEN) {
        s.copy_from_slice(b.as_ref());
    }
    b.as_mut().zeroize();
}

/// `x^e` for e = 65537 in Montgomery form: sixteen squarings and one
/// multiplication.
fn pow_e<K: RsaKernel>(md: &Modulus2048, x: &[Word; L2]) -> [Word; L2] {
    let mut y = *x;
    for _ in 0..16 {
        md.square_assign::<K>(&mut y);
    }
    md.mul_full::<K>(&y, x)
}

/// Length of `k·m + 1` for a 2048-bit `m` and `k < e < 2^24`.
const KL_LEN: usize = MODULUS_LEN + 3;

/// `e^-1 mod m` for an even `m` of at most 256 bytes (big-endian) with
/// gcd(m, e) = 1, written to `out` (as long as `m`), as `(k·m + 1) / e` with
/// `k = −m^-1 mod e`, by byte-wise long multiplication and division (no wide
/// integer type). False if `e` divides `m` (`out` is then zero).
#[inline(never)]
fn invert_e(m: &[u8], out: &mut [u8]) -> bool {
    out.fill(0);
    let len = m.len();
    if len > MODULUS_LEN || out.len() != len {
        return false;
    }
    let e = PUBLIC_EXPONENT;
    let t = m.iter().fold(0u32, |r, &b| ((r << 8) | u32::from(b)) % e);
    if t == 0 {
        return false;
    }
    // t^(e−2) mod e is t^-1 (e is prime).
    let e64 = u64::from(e);
    let mut inv = 1u64;
    let mut base = u64::from(t);
    let mut k = e64 - 2;
    while k > 0 {
        if k & 1 == 1 {
            inv = inv * base % e64;
        }
        base = base * base % e64;
        k >>= 1;
    }
    let k = (e64 - inv) % e64;
    // x = k·m + 1, in the last len + 3 bytes of the buffer.
    let mut buf = [0u8; KL_LEN];
    let Some(x) = buf.get_mut(MODULUS_LEN - len..) else {
        return false;
    };
    let mut carry = 1u64;
    for (dst, &b) in x.iter_mut().rev().zip(m.iter().rev()) {
        let v = u64::from(b) * k + carry;
        *dst = v.to_le_bytes()[0];
        carry = v >> 8;
    }
    for dst in x.iter_mut().take(KL_LEN - MODULUS_LEN).rev() {
        *dst = carry.to_le_bytes()[0];
        carry >>= 8;
    }
    // d = x / e, exactly, in place (each quotient byte replaces a byte
    // already consumed).
    let mut r = 0u32;
    for b in x.iter_mut() {
        r = (r << 8) | u32::from(*b);
        // r < 256·e, so the quotient is one byte.
        *b = (r / e).to_le_bytes()[0];
        r %= e;
    }
    let (head, tail) = x.split_at(KL_LEN - MODULUS_LEN);
    let ok = r == 0 && head.iter().all(|&b| b == 0);
    if ok {
        out.copy_from_slice(tail);
    }
    buf.zeroize();
    ok
}

/// Whether d = e^-1 mod λ(n), λ(n) = lcm(p − 1, q − 1) = (p − 1)/g · (q − 1),
/// exists and exceeds 2^(nlen/2) (FIPS 186-5 A.1.3 step 3). Only the check:
/// the key keeps dp and dq, which [`invert_e`] computes directly.
#[inline(never)]
fn private_exponent_ok(pm: &U1024, qm: &U1024) -> bool {
    let Some(g) = NonZero::new(pm.gcd(qm)).into_option() else {
        return false;
    };
    let (mut pg, _) = pm.div_rem(&g);
    let mut lambda = uint::<L2>(&mul_wide(&words(&pg), &words(qm))).to_be_bytes();
    pg.zeroize();
    let mut db = [0u8; MODULUS_LEN];
    let ok = invert_e(lambda.as_ref(), &mut db);
    lambda.as_mut().zeroize();
    let mut d = U2048::from_be_slice(&db);
    db.zeroize();
    let big = d > U2048::ONE.shl(PLEN);
    d.zeroize();
    ok && big
}

/// Write the key of two primes: n, and (p, q, dp, dq, qinv) with p > q by
/// convention; false if d = e^-1 mod λ(n) is not above 2^(nlen/2) (FIPS
/// 186-5 A.1.3 step 3: the caller draws new primes). dp and dq are e's
/// inverses modulo p − 1 and q − 1 (which is d reduced modulo them). Not
/// inlined: its frame is not on the stack while the primes are searched;
/// each stage is a call of its own.
#[inline(never)]
fn crt_from_primes(
    p: &U1024,
    q: &U1024,
    n: &mut [u8; MODULUS_LEN],
    crt: &mut [u8; CRT_LEN],
) -> bool {
    let (p, q) = if q > p { (q, p) } else { (p, q) };
    let mut pm = p.wrapping_sub(&U1024::ONE);
    let mut qm = q.wrapping_sub(&U1024::ONE);
    let ok = private_exponent_ok(&pm, &qm) && crt_parts(p, q, &pm, &qm, crt);
    pm.zeroize();
    qm.zeroize();
    if !ok {
        crt.zeroize();
        return false;
    }
    n.copy_from_slice(
        uint::<L2>(&mul_wide(&words(p), &words(q)))
            .to_be_bytes()
            .as_ref(),
    );
    true
}

/// The CRT block of p > q: p, q, dp = e^-1 mod p − 1, dq = e^-1 mod q − 1,
/// qinv = q^-1 mod p.
#[inline(never)]
fn crt_parts(p: &U1024, q: &U1024, pm: &U1024, qm: &U1024, crt: &mut [u8; CRT_LEN]) -> bool {
    set_part(crt, P, p);
    set_part(crt, Q, q);
    let mut ok = true;
    for (i, m) in [(DP, pm), (DQ, qm)] {
        let mut mb = m.to_be_bytes();
        if let Some(out) = crt.get_mut(i * PRIME_LEN..(i + 1) * PRIME_LEN) {
            ok &= invert_e(mb.as_ref(), out);
        }
        mb.as_mut().zeroize();
    }
    let Some(op) = Odd::new(*p).into_option() else {
        return false;
    };
    let Some(mut qinv) = q.invert_odd_mod(&op).into_option() else {
        return false;
    };
    set_part(crt, QINV, &qinv);
    qinv.zeroize();
    ok
}

/// Generate an RSA-2048 key with e = 65537 (FIPS 186-5 A.1.3, primes by
/// B.3.3) into the caller's modulus and CRT block (zero on an error). `tick`
/// is called often (at least every few hundred milliseconds on a Cortex-M4)
/// so that a board can keep its reader link alive.
#[inline(never)]
pub fn generate<K: RsaKernel, R: CryptoRng + ?Sized>(
    rng: &mut R,
    tick: &mut dyn FnMut(),
    n: &mut [u8; MODULUS_LEN],
    crt: &mut [u8; CRT_LEN],
) -> Result<(), CryptoError> {
    n.fill(0);
    crt.fill(0);
    for _ in 0..MAX_PAIRS {
        let mut p = probable_prime::<K, _>(rng, None, tick)?;
        let q = probable_prime::<K, _>(rng, Some(&p), tick);
        let Ok(mut q) = q else {
            p.zeroize();
            return Err(CryptoError::Failed);
        };
        let ok = crt_from_primes(&p, &q, n, crt);
        p.zeroize();
        q.zeroize();
        if ok {
            return Ok(());
        }
    }
    Err(CryptoError::Failed)
}

/// A big-endian value of at most 128 bytes (leading zeros may be omitted)
/// into part `i` of the CRT block.
fn import_part(bytes: &[u8], crt: &mut [u8; CRT_LEN], i: usize) -> Result<(), CryptoError> {
    if bytes.is_empty() || bytes.len() > PRIME_LEN {
        return Err(CryptoError::Input);
    }
    crt.get_mut((i + 1) * PRIME_LEN - bytes.len()..(i + 1) * PRIME_LEN)
        .ok_or(CryptoError::Input)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Check an imported CRT key (`[p, q, dp, dq, qinv]`, tags 01–05 of IMPORT
/// KEY, e = 65537) and write its modulus to `n_out` and its CRT block to
/// `crt_out`: p and q odd with a 2048-bit product, dp < p − 1, dq < q − 1,
/// qinv < p the inverse of q modulo p, and a trial private operation that
/// passes the fault check (which it only does if dp and dq
/// are e's inverses modulo p − 1 and q − 1 and p, q are the primes of n).
pub fn import<K: RsaKernel, R: CryptoRng + ?Sized>(
    [p, q, dp, dq, qinv]: [&[u8]; 5],
    rng: &mut R,
    n_out: &mut [u8; MODULUS_LEN],
    crt_out: &mut [u8; CRT_LEN],
) -> Result<(), CryptoError> {
    let r = import_into(p, q, dp, dq, qinv, n_out, crt_out).and_then(|()| {
        // A trial signature: p and q must really be the primes of n (the
        // fault check fails otherwise).
        let mut probe = [0u8; MODULUS_LEN];
        probe[MODULUS_LEN - 1] = 2;
        let mut out = [0u8; MODULUS_LEN];
        let r =
            private::<K, _>(n_out, crt_out, &probe, rng, &mut out).map_err(|_| CryptoError::Input);
        out.zeroize();
        r
    });
    if r.is_err() {
        crt_out.zeroize();
    }
    r
}

/// The checks of [`import`] but the trial operation; writes n and the block.
#[inline(never)]
fn import_into(
    p: &[u8],
    q: &[u8],
    dp: &[u8],
    dq: &[u8],
    qinv: &[u8],
    n: &mut [u8; MODULUS_LEN],
    crt: &mut [u8; CRT_LEN],
) -> Result<(), CryptoError> {
    for (i, v) in [p, q, dp, dq, qinv].into_iter().enumerate() {
        import_part(v, crt, i)?;
    }
    let (p, q) = (part(crt, P), part(crt, Q));
    let three = U1024::from_u8(3);
    if !bool::from(p.is_odd()) || !bool::from(q.is_odd()) || p < three || q < three {
        return Err(CryptoError::Input);
    }
    let nn: U2048 = uint(&mul_wide(&words(&p), &words(&q)));
    let mut qinv = part(crt, QINV);
    let ok = nn.bit_width() == NLEN
        && qinv < p
        && part(crt, DP) < p.wrapping_sub(&U1024::ONE)
        && part(crt, DQ) < q.wrapping_sub(&U1024::ONE);
    if !ok {
        qinv.zeroize();
        return Err(CryptoError::Input);
    }
    let odd_p = Odd::new(p).into_option().ok_or(CryptoError::Input)?;
    let mp = Modulus::new(&odd_p);
    // q·R · qinv · R^-1 = q·qinv mod p.
    let check = mp.mul(&mp.enter_monty(&words(&q)), &words(&qinv));
    qinv.zeroize();
    if uint(&check) != U1024::ONE {
        return Err(CryptoError::Input);
    }
    n.copy_from_slice(nn.to_be_bytes().as_ref());
    Ok(())
}

/// The raw RSA private operation `out = input^d mod n` on a 256-byte block
/// (signature or decryption; the host pads), with
/// - CRT (two 1024-bit constant-time exponentiations, Garner recombination),
/// - base blinding: the block is multiplied by r^e for a fresh random r and
///   the result by r^-1, so the exponentiations never see the host's value,
/// - a fault check: the result is raised to e and compared with the input; a
///   glitched CRT half (which would reveal a factor of n) gives
///   [`CryptoError::Fault`] and `out` stays zero.
///
/// `input` must be exactly 256 bytes and below n ([`CryptoError::Input`]).
/// Each stage has its own frame (not inlined); this one keeps only the
/// modulus, the block, the working value and r^-1.
///
/// `K` is the multiply-accumulate kernel of the arithmetic ([`RsaKernel`]:
/// the applet passes its backend; [`generate`] and [`import`] take it too).
/// Every kernel gives the same results.
#[inline(never)]
pub fn private<K: RsaKernel, R: CryptoRng + ?Sized>(
    n: &[u8; MODULUS_LEN],
    crt: &[u8; CRT_LEN],
    input: &[u8],
    rng: &mut R,
    out: &mut [u8; MODULUS_LEN],
) -> Result<(), CryptoError> {
    out.fill(0);
    let input: &[u8; MODULUS_LEN] = input.try_into().map_err(|_| CryptoError::Input)?;
    let mn = modulus_checked::<K>(n, input)?;
    let mut x = [0 as Word; L2];
    let mut r_inv = [0 as Word; L2];
    let r = blind::<K, _>(&mn, input, rng, &mut x, &mut r_inv).and_then(|()| {
        crt_exp::<K>(crt, &mut x);
        if unblind_and_check::<K>(&mn, input, &mut x, &r_inv) {
            write_be(&x, out);
            Ok(())
        } else {
            warn!("RSA fault check failed: result withheld");
            Err(CryptoError::Fault)
        }
    });
    x.zeroize();
    r_inv.zeroize();
    r
}

/// n's Montgomery constants (`CryptoError::Input` unless n is odd and the
/// block below it).
#[inline(never)]
fn modulus_checked<K: RsaKernel>(
    n: &[u8; MODULUS_LEN],
    input: &[u8; MODULUS_LEN],
) -> Result<Modulus2048, CryptoError> {
    // Both are public: big-endian bytes compare as the numbers do.
    if input >= n {
        return Err(CryptoError::Input);
    }
    let odd_n = Odd::new(U2048::from_be_slice(n))
        .into_option()
        .ok_or(CryptoError::Input)?;
    Ok(Modulus2048::with_kernel::<K>(&odd_n))
}

/// A 256-byte big-endian block as words.
fn read_be(bytes: &[u8; MODULUS_LEN]) -> [Word; L2] {
    let mut x = [0 as Word; L2];
    let len = Word::BITS as usize / 8;
    for (w, chunk) in x.iter_mut().zip(bytes.rchunks_exact(len)) {
        let mut b = [0u8; Word::BITS as usize / 8];
        b.copy_from_slice(chunk);
        *w = Word::from_be_bytes(b);
    }
    x
}

/// `x` as 256 big-endian bytes.
#[inline(never)]
fn write_be(x: &[Word; L2], out: &mut [u8; MODULUS_LEN]) {
    let bytes = Word::BITS as usize / 8;
    for (chunk, w) in out.chunks_exact_mut(bytes).zip(x.iter().rev()) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}

/// Blind the block c: draw r invertible mod n, write c·r^e mod n to `x` and
/// r^-1 mod n to `r_inv`.
#[inline(never)]
fn blind<K: RsaKernel, R: CryptoRng + ?Sized>(
    mn: &Modulus2048,
    input: &[u8; MODULUS_LEN],
    rng: &mut R,
    x: &mut [Word; L2],
    r_inv: &mut [Word; L2],
) -> Result<(), CryptoError> {
    for _ in 0..8 {
        // x = r·R.
        if random_inverse::<K, _>(mn, rng, x, r_inv) {
            // c · (r^e·R) · R^-1 = c·r^e mod n.
            let mut re = pow_e::<K>(mn, x);
            *x = mn.mul_full::<K>(&read_be(input), &re);
            re.zeroize();
            return Ok(());
        }
    }
    x.zeroize();
    r_inv.zeroize();
    Err(CryptoError::Failed)
}

/// Draw r uniform mod n, write r·R mod n to `rm` and r^-1 mod n to `r_inv`;
/// false if r is not invertible.
///
/// r^-1 without a constant-time inversion (OpenSSL's `BN_BLINDING` trick):
/// draw a second random t, invert u = r·t mod n in variable time, then
/// r^-1 = t·u^-1. The time of the inversion depends on u (and the public n)
/// only, and u is uniform mod n whatever r is (t is uniform and r a unit),
/// so it reveals nothing about r. The inversion is `monty`'s binary one
/// (Kaliski's almost inverse on the words in use), several times cheaper
/// than a constant-time safegcd and with a small frame.
#[inline(never)]
fn random_inverse<K: RsaKernel, R: CryptoRng + ?Sized>(
    mn: &Modulus2048,
    rng: &mut R,
    rm: &mut [Word; L2],
    r_inv: &mut [Word; L2],
) -> bool {
    let Some(odd_n) = Odd::new(uint(mn.modulus())).into_option() else {
        return false;
    };
    let mut v = random_below(rng, &odd_n);
    *rm = mn.monty_in::<K>(v.as_words());
    v = random_below(rng, &odd_n);
    // t·R, kept in r_inv until the end.
    *r_inv = mn.monty_in::<K>(v.as_words());
    // (r·R) · t · R^-1 = r·t mod n.
    let mut u = mn.mul_full::<K>(rm, v.as_words());
    v.zeroize();
    let inverted = mn.invert_vartime(&u);
    u.zeroize();
    match inverted {
        Some(mut u_inv) => {
            // (t·R) · u^-1 · R^-1 = t·(r·t)^-1 = r^-1 mod n.
            *r_inv = mn.mul_full::<K>(r_inv, &u_inv);
            u_inv.zeroize();
            true
        }
        None => {
            rm.zeroize();
            r_inv.zeroize();
            false
        }
    }
}

/// Uniform below n (crypto-bigint's rejection sampling, in its own frame).
#[inline(never)]
fn random_below<R: CryptoRng + ?Sized>(rng: &mut R, n: &Odd<U2048>) -> U2048 {
    U2048::random_mod_vartime(rng, n.as_nz_ref())
}

/// Unblind `x` in place (x·r^-1 mod n) and check the result with the public
/// key: false (and `x` zero) unless result^e ≡ c (mod n) for the block c.
#[inline(never)]
fn unblind_and_check<K: RsaKernel>(
    mn: &Modulus2048,
    input: &[u8; MODULUS_LEN],
    x: &mut [Word; L2],
    r_inv: &[Word; L2],
) -> bool {
    // x · (r^-1·R) · R^-1 = x·r^-1 mod n.
    let mut ri = mn.monty_in::<K>(r_inv);
    *x = mn.mul_full::<K>(x, &ri);
    ri.zeroize();
    let mut check = mn.monty_out::<K>(&pow_e::<K>(mn, &mn.monty_in::<K>(x)));
    // The re-encryption equals the public input unless a fault struck, and
    // the result is the signature the card returns.
    K::declassify(&check);
    let ok = check == read_be(input);
    check.zeroize();
    if ok {
        K::declassify(x);
    } else {
        x.zeroize();
    }
    ok
}

/// `x = x^d mod n` by CRT: m1 = x^dp mod p, m2 = x^dq mod q,
/// h = qinv·(m1 − m2) mod p, result m2 + h·q. Each half and the
/// recombination is a call of its own (one window table on the stack at a
/// time; this frame holds only m1 and m2).
#[inline(never)]
fn crt_exp<K: RsaKernel>(crt: &[u8; CRT_LEN], x: &mut [Word; L2]) {
    let mut m2 = half_exp::<K>(crt, Q, DQ, x);
    let mut m1 = half_exp::<K>(crt, P, DP, x);
    garner::<K>(crt, &m1, &m2, x);
    m1.zeroize();
    m2.zeroize();
}

/// `x = m2 + q·(qinv·(m1 − m2) mod p)`.
#[inline(never)]
fn garner<K: RsaKernel>(
    crt: &[u8; CRT_LEN],
    m1: &monty::Words,
    m2: &monty::Words,
    x: &mut [Word; L2],
) {
    let op = odd_part(crt, P);
    let mp = Modulus::<{ monty::N }>::with_kernel::<K>(&op);
    // m2 < q < 2p: one conditional subtraction brings it below p.
    let mut diff = mp.sub(m1, &mp.reduce(m2));
    let mut qinv = mp.monty_in::<K>(&words(&part(crt, QINV)));
    let mut h = mp.mul_full::<K>(&diff, &qinv);
    let mut q = words(&part(crt, Q));
    *x = mul_wide(&h, &q);
    // x += m2
    let mut carry: Word = 0;
    for (i, v) in x.iter_mut().enumerate() {
        let add = m2.get(i).copied().unwrap_or(0);
        let (sum, c1) = v.overflowing_add(add);
        let (sum, c2) = sum.overflowing_add(carry);
        *v = sum;
        carry = Word::from(c1 | c2);
    }
    for v in [&mut diff, &mut qinv, &mut h, &mut q] {
        v.zeroize();
    }
}

/// `c^d mod m` for one CRT half (the prime and the exponent are parts of
/// the block; normal form in and out). Not inlined, so that only one window
/// table is ever on the stack.
#[inline(never)]
fn half_exp<K: RsaKernel>(
    crt: &[u8; CRT_LEN],
    prime: usize,
    exp: usize,
    c: &[Word; L2],
) -> monty::Words {
    let odd = odd_part(crt, prime);
    let m = Modulus::<{ monty::N }>::with_kernel::<K>(&odd);
    let mut cm = m.monty_in::<K>(&m.reduce_wide(c));
    let mut e = words(&part(crt, exp));
    let mut x = m.pow::<K>(&cm, &e);
    let out = m.monty_out::<K>(&x);
    cm.zeroize();
    e.zeroize();
    x.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_prime_table() {
        assert_eq!(SMALL_PRIMES.first(), Some(&3));
        assert_eq!(SMALL_PRIMES.last(), Some(&8191));
        assert_eq!(SMALL_PRIME_COUNT, 1027);
    }

    #[test]
    fn mr_rounds_follow_fips_186_5() {
        let formula = crypto_primes::hazmat::minimum_mr_iterations(PLEN, 112).unwrap();
        assert!(formula <= MR_ROUNDS, "formula asks for {formula}");
    }

    #[test]
    fn sqrt2_bound() {
        // (SQRT2_TOP64 + 1)^2 > 2^127 > SQRT2_TOP64^2
        let s = u128::from(SQRT2_TOP64);
        assert!(s * s < 1u128 << 127);
        assert!((s + 1) * (s + 1) > 1u128 << 127);
    }

    #[test]
    fn invert_e_small() {
        // m = 12: e^-1 mod 12 with e = 65537 ≡ 5 mod 12 is 5.
        let mut m = [0u8; MODULUS_LEN];
        m[MODULUS_LEN - 1] = 12;
        let mut d = [0u8; MODULUS_LEN];
        assert!(invert_e(&m, &mut d));
        assert_eq!(d[MODULUS_LEN - 1], 5);
        assert!(d[..MODULUS_LEN - 1].iter().all(|&b| b == 0));
        // The same on 128 bytes.
        let mut d = [0u8; PRIME_LEN];
        assert!(invert_e(&m[PRIME_LEN..], &mut d));
        assert_eq!(d[PRIME_LEN - 1], 5);
        assert!(d[..PRIME_LEN - 1].iter().all(|&b| b == 0));
        // e divides m: no inverse.
        m[MODULUS_LEN - 3..].copy_from_slice(&[1, 0, 1]);
        assert!(!invert_e(&m, &mut [0u8; MODULUS_LEN]));
    }
}
