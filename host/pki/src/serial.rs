//! Certificate serial numbers as the CA's API names them.

use std::fmt;

use crate::{Error, Result};

/// Most hex digits of a serial: RFC 5280 allows 20 octets, DER may add a zero byte.
pub const MAX_SERIAL_DIGITS: usize = 42;

/// A certificate serial: lower-case hex, 1 to [`MAX_SERIAL_DIGITS`] digits.
///
/// ```
/// use tamga_pki::Serial;
///
/// let s: Serial = " 7F01AB ".parse().unwrap();
/// assert_eq!(s.as_str(), "7f01ab");
/// assert_eq!(s.to_bytes(), [0x7f, 0x01, 0xab]);
/// assert!("7f/../x".parse::<Serial>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Serial(String);

impl Serial {
    /// Checks a serial given by a caller: trimmed, case-folded, hex digits only.
    pub fn parse(text: &str) -> Result<Serial> {
        let s = text.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > MAX_SERIAL_DIGITS || !s.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::BadSerial(s.chars().take(48).collect()));
        }
        Ok(Serial(s))
    }

    /// The serial of a certificate's DER serial-number bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Serial> {
        Serial::parse(&hex::encode(bytes))
    }

    /// Lower-case hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bytes (an odd number of digits gets a leading zero nibble).
    pub fn to_bytes(&self) -> Vec<u8> {
        let padded = if self.0.len() % 2 == 1 {
            format!("0{}", self.0)
        } else {
            self.0.clone()
        };
        // Only hex digits were accepted.
        hex::decode(padded).unwrap_or_default()
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Serial {
    type Err = Error;
    fn from_str(s: &str) -> Result<Serial> {
        Serial::parse(s)
    }
}

impl std::ops::Deref for Serial {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Serial {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Serial {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Serial {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> serde::Deserialize<'de> for Serial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Serial, D::Error> {
        let s = String::deserialize(d)?;
        Serial::parse(&s).map_err(serde::de::Error::custom)
    }
}
