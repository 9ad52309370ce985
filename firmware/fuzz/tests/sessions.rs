//! The fuzz harness on stable: the seed sessions do what they are meant to
//! (so the fuzzer starts from the card's real paths), and random sessions
//! (a fixed generator, `TAMGA_FUZZ_SESSIONS`, default 3,000) break no rule.
#![allow(
    clippy::cast_possible_truncation,
    reason = "random test input: the generator's words truncated to bytes and small indices"
)]

use tamga_fuzz::{Stats, apdus, seeds, session, valid_sw};

#[test]
fn seeds_reach_the_main_paths() {
    let got: Vec<Stats> = seeds().iter().map(|s| session(s)).collect();
    let ok: Vec<usize> = got.iter().map(|s| s.ok).collect();
    // 0: VERIFY status (63C3, not ok), GET VERSION.
    // 1: wrong PIN, then CHANGE with the right one, then RESET RETRY COUNTER.
    // 2: GET DATA of an absent certificate (6A82), GET METADATA 9A (absent).
    // 3: P-256 sign, ECDH with a point not on the curve (refused), metadata.
    // 4: GOST-512 sign (9D), GOST-2004 sign (9E), IMPORT with a point off the
    //    curve (refused), metadata of the GOST key.
    // 5: PUT DATA (extended), GET DATA in a 16-byte... 64-byte buffer (61xx),
    //    GET RESPONSE.
    // 6: chained PUT DATA, GET DATA.
    // 7: bad IMPORT, a proprietary INS, an unknown INS.
    // 8: malformed APDUs.
    assert_eq!(ok, [1, 2, 0, 2, 3, 3, 3, 0, 0], "{got:?}");
    assert!(got.iter().all(|s| s.skipped == 0));
}

#[test]
fn cutting_into_apdus() {
    let data = [2, 0xAA, 0xBB, 0xFF, 0x00, 0x03, 1, 2, 3, 5, 9];
    let cut: Vec<&[u8]> = apdus(&data).collect();
    assert_eq!(cut, [&[0xAA, 0xBB][..], &[1, 2, 3], &[9]]);
}

#[test]
fn status_words() {
    assert!(valid_sw(0x9000) && valid_sw(0x6A82) && valid_sw(0x61FF));
    assert!(!valid_sw(0x9001) && !valid_sw(0x1234) && !valid_sw(0x7000));
}

/// SplitMix64: a fixed, dependency-free generator for the random sessions.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_sessions_break_no_rule() {
    let n: u64 = std::env::var("TAMGA_FUZZ_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    // INS values the card knows, and a few it does not.
    const INS: [u8; 16] = [
        0xA4, 0x20, 0x24, 0x2C, 0x87, 0x47, 0xCB, 0xDB, 0xFE, 0xF7, 0xFD, 0xF8, 0xC0, 0xFF, 0x00,
        0x12,
    ];
    let mut rng = Mix(7);
    let mut totals = Stats::default();
    for _ in 0..n {
        let mut input = vec![rng.next() as u8];
        for _ in 0..rng.below(6) {
            let cla = [0x00, 0x10, 0x80, 0x0C][rng.below(4) as usize];
            let ins = INS[rng.below(16) as usize];
            let mut apdu = vec![cla, ins, rng.next() as u8, rng.next() as u8];
            let lc = rng.below(40) as usize;
            if rng.below(4) > 0 {
                apdu.push(lc as u8);
                apdu.extend((0..lc).map(|_| rng.next() as u8));
            }
            if rng.below(3) == 0 {
                apdu.push(rng.next() as u8);
            }
            input.push(apdu.len() as u8);
            input.extend_from_slice(&apdu);
        }
        let s = session(&input);
        totals.apdus += s.apdus;
        totals.ok += s.ok;
        totals.skipped += s.skipped;
    }
    println!("{n} random sessions: {totals:?}");
    assert!(totals.apdus > 0 && totals.ok > 0, "{totals:?}");
}
