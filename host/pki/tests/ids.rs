//! IIN/BIN vectors, single-digit changes, and error messages.

use tamga_pki::{Bin, Error, Iin};

const IINS: [&str; 2] = ["871008401427", "760212350620"];
const BINS: [&str; 1] = ["940140000385"];

fn variants(s: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    (0..12).flat_map(move |pos| {
        (b'0'..=b'9')
            .filter(move |&c| c != s.as_bytes()[pos])
            .map(move |c| {
                let mut b = s.as_bytes().to_vec();
                b[pos] = c;
                (pos, String::from_utf8(b).unwrap())
            })
    })
}

#[test]
fn valid_vectors_parse() {
    for s in IINS {
        assert_eq!(s.parse::<Iin>().unwrap().to_string(), s);
    }
    for s in BINS {
        assert_eq!(s.parse::<Bin>().unwrap().to_string(), s);
    }
}

fn first_pass(s: &str) -> u32 {
    s.bytes()
        .take(11)
        .zip(1u32..)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum::<u32>()
        % 11
}

/// Every single-digit change is rejected, except where the published algorithm itself
/// cannot see it:
/// - position 11 has weight 11 = 0 (mod 11) in the first pass, so while the first pass
///   is not 10 the 11th digit does not enter the check at all;
/// - a change that moves the first-pass sum to 10 switches to the second pass, whose
///   result can happen to equal the old check digit.
///
/// Accepted variants must be explained by exactly one of these.
#[test]
fn every_single_digit_change_is_invalid() {
    let mut n = 0;
    let mut exceptions = Vec::new();
    let mut check = |s: &str, ok: &dyn Fn(&str) -> bool| {
        for pos in 0..12 {
            let mut rejected = 0;
            for (p, v) in variants(s).filter(|(p, _)| *p == pos) {
                n += 1;
                if ok(&v) {
                    let weight_eleven = p == 10 && first_pass(s) != 10;
                    let second_pass = p < 11 && first_pass(&v) == 10 && first_pass(s) != 10;
                    assert!(
                        weight_eleven || second_pass,
                        "{v} (position {}) accepted without the second-pass fallback",
                        p + 1
                    );
                    exceptions.push(v);
                } else {
                    rejected += 1;
                }
            }
            if pos != 10 {
                assert!(rejected >= 8, "{s}: position {} mostly accepted", pos + 1);
            }
        }
    };
    for s in IINS {
        check(s, &|v| v.parse::<Iin>().is_ok());
    }
    for s in BINS {
        check(s, &|v| v.parse::<Bin>().is_ok());
    }
    assert_eq!(n, 3 * 12 * 9);
    // Known: 871008601427 (7th digit 4 -> 6) is valid by the published algorithm.
    assert!(
        exceptions.contains(&"871008601427".to_string()),
        "{exceptions:?}"
    );
    assert!(
        exceptions.contains(&"871008401407".to_string()),
        "{exceptions:?}"
    );
    assert!(exceptions.len() <= 3 * 9 + 6, "{exceptions:?}");
}

/// The check digit position itself: every other last digit is rejected.
#[test]
fn every_other_check_digit_is_rejected() {
    for s in IINS.iter().chain(BINS.iter()) {
        for (_, v) in variants(s).filter(|(p, _)| *p == 11) {
            assert!(
                v.parse::<Iin>().is_err() && v.parse::<Bin>().is_err(),
                "{v}"
            );
        }
    }
}

#[test]
fn check_digit_change_names_expected_digit() {
    let e = "871008401428".parse::<Iin>().unwrap_err();
    assert!(
        matches!(
            e,
            Error::IdCheckDigit {
                expected: 7,
                got: 8,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "IIN check digit expected 7, got 8");
    let e = "940140000386".parse::<Bin>().unwrap_err();
    assert_eq!(e.to_string(), "BIN check digit expected 5, got 6");
}

#[test]
fn errors_name_what_is_wrong() {
    let cases: [(&str, &str); 6] = [
        ("87100840142", "IIN must have 12 digits, got 11 characters"),
        ("87100840142a", "IIN has a non-digit at position 12"),
        ("871308401427", "IIN has an invalid date 871308"),
        ("870229401427", "IIN has an invalid date 870229"),
        (
            "871008701427",
            "IIN century/sex digit must be 1 to 6, got 7",
        ),
        (
            "871008001427",
            "IIN century/sex digit must be 1 to 6, got 0",
        ),
    ];
    for (s, msg) in cases {
        let e = s.parse::<Iin>().unwrap_err().to_string();
        assert!(e.starts_with(msg), "{s}: {e}");
    }
    let e = "941340000385".parse::<Bin>().unwrap_err().to_string();
    assert_eq!(e, "BIN has an invalid date 9413");
    let e = "940170000385".parse::<Bin>().unwrap_err().to_string();
    assert_eq!(e, "BIN type digit must be 4, 5 or 6, got 7");
}

#[test]
fn leap_day_and_undefined_check_digit() {
    // 29 February 2000 (century digit 5) exists, 1900 (digit 3) does not.
    let ok = Iin::with_check_digit("00022950123");
    assert!(ok.is_ok() || matches!(ok, Err(Error::IdCheckDigitUndefined { .. })));
    let e = Iin::with_check_digit("00022930123").unwrap_err();
    assert!(matches!(e, Error::IdDate { .. }), "{e}");
    // Find a prefix whose check digit is undefined and check it is reported as such.
    let mut found = false;
    for n in 0..100_000u32 {
        let p = format!("8710084{n:04}");
        if let Err(Error::IdCheckDigitUndefined { .. }) = Iin::with_check_digit(&p) {
            for last in 0..10 {
                let e = format!("{p}{last}").parse::<Iin>().unwrap_err();
                assert_eq!(
                    e.to_string(),
                    "IIN check digit is undefined for these digits"
                );
            }
            found = true;
            break;
        }
    }
    assert!(found);
}

#[test]
fn sex_and_century() {
    let f = Iin::with_check_digit("99123160001").unwrap();
    assert_eq!(f.birth_date(), (2099, 12, 31));
    assert_eq!(f.sex(), tamga_pki::Sex::Female);
    let m = Iin::with_check_digit("50010110001").unwrap();
    assert_eq!(m.birth_date(), (1850, 1, 1));
}
