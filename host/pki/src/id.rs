//! IIN (individual identification number) and BIN (business identification number).

use crate::Error;
use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Serialize};

/// Which kind of identification number an error or value is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// Individual identification number.
    Iin,
    /// Business identification number.
    Bin,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Iin => "IIN",
            IdKind::Bin => "BIN",
        })
    }
}

/// Computes the check digit of the first 11 digits (each 0..=9).
///
/// Returns `None` when the number has no check digit (both passes give 10),
/// which makes every number with these 11 digits invalid.
pub fn check_digit(d: &[u8; 11]) -> Option<u8> {
    // First pass: weights 1, 2, ..., 11.
    let first = weighted_mod_11(d, |i| i + 1);
    if first != 10 {
        return Some(first);
    }
    // Second pass: weights 3, 4, ..., 11, 1, 2.
    let second = weighted_mod_11(d, |i| (i + 2) % 11 + 1);
    (second != 10).then_some(second)
}

/// The sum of digit i times `weight(i)` (i from 0), modulo 11.
fn weighted_mod_11(d: &[u8; 11], weight: impl Fn(u8) -> u8) -> u8 {
    let sum: u32 = d
        .iter()
        .zip(0u8..)
        .map(|(&x, i)| u32::from(x) * u32::from(weight(i)))
        .sum();
    // Below 11, so one byte.
    u8::try_from(sum % 11).unwrap_or(10)
}

/// Parses 12 ASCII digits and verifies the check digit.
fn parse_digits(kind: IdKind, s: &str) -> Result<[u8; 12], Error> {
    let b = s.as_bytes();
    if b.len() != 12 {
        return Err(Error::IdLength {
            kind,
            got: s.chars().count(),
        });
    }
    let mut d = [0u8; 12];
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_digit() {
            return Err(Error::IdNonDigit {
                kind,
                position: i + 1,
            });
        }
        d[i] = c - b'0';
    }
    Ok(d)
}

fn verify_check_digit(kind: IdKind, d: &[u8; 12]) -> Result<(), Error> {
    let mut first = [0u8; 11];
    first.copy_from_slice(&d[..11]);
    match check_digit(&first) {
        None => Err(Error::IdCheckDigitUndefined { kind }),
        Some(c) if c == d[11] => Ok(()),
        Some(c) => Err(Error::IdCheckDigit {
            kind,
            expected: c,
            got: d[11],
        }),
    }
}

/// Today (UTC) as (year, month, day); `None` when the clock says nothing useful.
fn today() -> Option<(u32, u32, u32)> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let t = der::DateTime::from_unix_duration(since).ok()?;
    Some((
        u32::from(t.year()),
        u32::from(t.month()),
        u32::from(t.day()),
    ))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn two(d: &[u8], i: usize) -> u32 {
    u32::from(d[i]) * 10 + u32::from(d[i + 1])
}

/// Sex encoded in the 7th digit of an IIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Odd century digit.
    Male,
    /// Even century digit.
    Female,
}

/// A valid individual identification number (12 digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iin([u8; 12]);

impl Iin {
    /// Refuses a birth date after today: a number can be well formed and
    /// still name nobody alive (applications check it, parsing does not).
    pub fn check_not_future(&self) -> Result<(), Error> {
        if today().is_some_and(|now| self.birth_date() > now) {
            return Err(Error::IdFutureDate {
                kind: IdKind::Iin,
                text: self.to_string()[..6].to_string(),
            });
        }
        Ok(())
    }

    /// Date of birth as (year, month, day).
    pub fn birth_date(&self) -> (u32, u32, u32) {
        let century = match self.0[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            _ => 2000,
        };
        (century + two(&self.0, 0), two(&self.0, 2), two(&self.0, 4))
    }

    /// Sex from the century digit.
    pub fn sex(&self) -> Sex {
        if self.0[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

impl FromStr for Iin {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let kind = IdKind::Iin;
        let d = parse_digits(kind, s)?;
        let (c, month, day) = (d[6], two(&d, 2), two(&d, 4));
        if !(1..=6).contains(&c) {
            return Err(Error::IinCenturyDigit(c));
        }
        let year = [1800, 1900, 2000][usize::from((c - 1) / 2)] + two(&d, 0);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(Error::IdDate {
                kind,
                text: s[..6].to_string(),
            });
        }
        verify_check_digit(kind, &d)?;
        Ok(Iin(d))
    }
}

/// Kind of organisation encoded in the 5th digit of a BIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinType {
    /// 4: resident legal entity.
    Resident,
    /// 5: non-resident legal entity.
    NonResident,
    /// 6: individual entrepreneur or joint venture.
    Entrepreneur,
}

/// A valid business identification number (12 digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bin([u8; 12]);

impl Bin {
    /// Registration (two-digit year, month).
    pub fn registration(&self) -> (u32, u32) {
        (two(&self.0, 0), two(&self.0, 2))
    }

    /// Organisation type from the type digit.
    pub fn bin_type(&self) -> BinType {
        match self.0[4] {
            4 => BinType::Resident,
            5 => BinType::NonResident,
            _ => BinType::Entrepreneur,
        }
    }
}

impl FromStr for Bin {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let kind = IdKind::Bin;
        let d = parse_digits(kind, s)?;
        if !(1..=12).contains(&two(&d, 2)) {
            return Err(Error::IdDate {
                kind,
                text: s[..4].to_string(),
            });
        }
        if !(4..=6).contains(&d[4]) {
            return Err(Error::BinTypeDigit(d[4]));
        }
        verify_check_digit(kind, &d)?;
        Ok(Bin(d))
    }
}

/// What IINs and BINs share: the digits as a string, the check-digit
/// builder, and the string conversions serde and `Display` use.
macro_rules! id_number {
    ($t:ident, $kind:expr, $what:literal) => {
        impl $t {
            /// The 12 digits as a string.
            pub fn as_string(&self) -> String {
                self.0.iter().map(|d| char::from(b'0' + d)).collect()
            }

            #[doc = concat!("Builds ", $what, " from its first 11 digits by appending the check")]
            /// digit (test data and tooling). The result is validated like a
            /// parsed number.
            pub fn with_check_digit(first11: &str) -> Result<Self, Error> {
                let d = parse_digits($kind, &format!("{first11}0"))?;
                let mut first = [0u8; 11];
                first.copy_from_slice(&d[..11]);
                let c = check_digit(&first).ok_or(Error::IdCheckDigitUndefined { kind: $kind })?;
                Self::from_str(&format!("{first11}{c}"))
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.as_string())
            }
        }

        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_string()
            }
        }
    };
}

id_number!(Iin, IdKind::Iin, "an IIN");
id_number!(Bin, IdKind::Bin, "a BIN");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_birth_date_in_the_future_is_well_formed_but_not_born() {
        // 2099-01-01, a woman born in the 2000s: a valid date, check digit and all.
        let iin = (0..10u8)
            .find_map(|serial| {
                let mut d = [9, 9, 0, 1, 0, 1, 6, 0, 0, 0, serial];
                let c = check_digit(&d)?;
                let digits: String = d.iter_mut().map(|x| char::from(b'0' + *x)).collect();
                Some(format!("{digits}{c}"))
            })
            .unwrap();
        match iin.parse::<Iin>().unwrap().check_not_future() {
            Err(e @ Error::IdFutureDate { .. }) => {
                assert!(e.to_string().contains("future 990101"), "{e}")
            }
            other => panic!("{iin}: {other:?}"),
        }
        // A birth today or before is fine.
        "871008401427"
            .parse::<Iin>()
            .unwrap()
            .check_not_future()
            .unwrap();
    }

    #[test]
    fn known_vectors() {
        let a: Iin = "871008401427".parse().unwrap();
        assert_eq!(a.birth_date(), (1987, 10, 8));
        assert_eq!(a.sex(), Sex::Female);
        let b: Iin = "760212350620".parse().unwrap();
        assert_eq!(b.birth_date(), (1976, 2, 12));
        assert_eq!(b.sex(), Sex::Male);
        let c: Bin = "940140000385".parse().unwrap();
        assert_eq!(c.registration(), (94, 1));
        assert_eq!(c.bin_type(), BinType::Resident);
    }

    #[test]
    fn second_pass_weights() {
        // First pass gives 10 for these digits: 1*1 + 9*10 = 91 = 8*11 + 3 -> not 10;
        // search an 11-digit prefix whose first pass is 10 and check the second pass.
        let mut found = false;
        for n in 0u64..200_000 {
            let s = format!("{:011}", 87100840000u64 + n);
            let mut d = [0u8; 11];
            for (i, c) in s.bytes().enumerate() {
                d[i] = c - b'0';
            }
            let first: u32 = d
                .iter()
                .zip(1u32..)
                .map(|(&x, w)| u32::from(x) * w)
                .sum::<u32>()
                % 11;
            if first == 10 {
                let w = [3u32, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
                let second: u32 = d.iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum::<u32>() % 11;
                assert_eq!(check_digit(&d), (second != 10).then_some(second as u8));
                found = true;
                break;
            }
        }
        assert!(found);
    }
}
