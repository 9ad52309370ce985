//! Algorithm identifiers and key policies.

/// A PIV algorithm identifier (SP 800-78-4 table 6-2, plus YubiKey's AES ids).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Algorithm {
    /// Three-key triple DES (management key).
    Tdes = 0x03,
    /// RSA-1024 (recognized, not supported by Tamga).
    Rsa1024 = 0x06,
    /// RSA-2048.
    Rsa2048 = 0x07,
    /// AES-128 (management key).
    Aes128 = 0x08,
    /// AES-192 (management key).
    Aes192 = 0x0A,
    /// AES-256 (management key).
    Aes256 = 0x0C,
    /// ECC on NIST P-256.
    EccP256 = 0x11,
    /// ECC on NIST P-384 (recognized, not supported by Tamga).
    EccP384 = 0x14,
    /// Tamga extension: GOST 34.310-2004 (GOST R 34.10-2001 on CryptoPro-A,
    /// 256-bit) signing key. PIV has no GOST id; C1 and C2 are used by no PIV,
    /// YubiKey or OpenSC algorithm (see CARD-EDGE.md).
    Gost2004 = 0xC1,
    /// Tamga extension: GOST 34.10-2015 512-bit (tc26-512-A) signing key.
    Gost2015_512 = 0xC2,
    /// Pseudo-algorithm of the PIN and PUK in GET METADATA.
    Pin = 0xFF,
}

impl Algorithm {
    /// Every algorithm id Tamga recognizes.
    pub const ALL: [Algorithm; 11] = [
        Algorithm::Tdes,
        Algorithm::Rsa1024,
        Algorithm::Rsa2048,
        Algorithm::Aes128,
        Algorithm::Aes192,
        Algorithm::Aes256,
        Algorithm::EccP256,
        Algorithm::EccP384,
        Algorithm::Gost2004,
        Algorithm::Gost2015_512,
        Algorithm::Pin,
    ];

    /// The algorithm byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// Key length in bytes of a symmetric (management key) algorithm.
    pub const fn symmetric_key_len(self) -> Option<usize> {
        match self {
            Algorithm::Tdes | Algorithm::Aes192 => Some(24),
            Algorithm::Aes128 => Some(16),
            Algorithm::Aes256 => Some(32),
            _ => None,
        }
    }

    /// Block length in bytes of a symmetric algorithm (the witness/challenge size).
    pub const fn block_len(self) -> Option<usize> {
        match self {
            Algorithm::Tdes => Some(8),
            Algorithm::Aes128 | Algorithm::Aes192 | Algorithm::Aes256 => Some(16),
            _ => None,
        }
    }

    /// Whether this is an asymmetric algorithm a key slot can hold.
    pub const fn is_asymmetric(self) -> bool {
        matches!(
            self,
            Algorithm::Rsa1024
                | Algorithm::Rsa2048
                | Algorithm::EccP256
                | Algorithm::EccP384
                | Algorithm::Gost2004
                | Algorithm::Gost2015_512
        )
    }

    /// Bytes of a GOST key's private scalar (and of a digest it signs, and
    /// of each coordinate and signature half); `None` for other algorithms.
    pub const fn gost_len(self) -> Option<usize> {
        match self {
            Algorithm::Gost2004 => Some(32),
            Algorithm::Gost2015_512 => Some(64),
            _ => None,
        }
    }
}

impl TryFrom<u8> for Algorithm {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        Algorithm::ALL.into_iter().find(|a| a.to_u8() == b).ok_or(b)
    }
}

/// When a key needs the PIN.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum PinPolicy {
    /// The slot's default (see [`crate::KeyRef::default_pin_policy`]).
    Default = 0x00,
    /// No PIN needed.
    Never = 0x01,
    /// PIN verified once per session.
    Once = 0x02,
    /// PIN verified right before every use.
    Always = 0x03,
}

impl PinPolicy {
    /// The policy byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for PinPolicy {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        match b {
            0x00 => Ok(PinPolicy::Default),
            0x01 => Ok(PinPolicy::Never),
            0x02 => Ok(PinPolicy::Once),
            0x03 => Ok(PinPolicy::Always),
            other => Err(other),
        }
    }
}

/// When a key needs a touch. Tamga cards have no touch sensor: every policy is
/// recorded and reported, none is enforced.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TouchPolicy {
    /// The default (never).
    Default = 0x00,
    /// No touch.
    Never = 0x01,
    /// Touch for every use.
    Always = 0x02,
    /// Touch cached for 15 s.
    Cached = 0x03,
}

impl TouchPolicy {
    /// The policy byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for TouchPolicy {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        match b {
            0x00 => Ok(TouchPolicy::Default),
            0x01 => Ok(TouchPolicy::Never),
            0x02 => Ok(TouchPolicy::Always),
            0x03 => Ok(TouchPolicy::Cached),
            other => Err(other),
        }
    }
}

/// Where a private key came from (GET METADATA tag 03).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Origin {
    /// Generated on the card.
    Generated = 0x01,
    /// Imported with IMPORT KEY.
    Imported = 0x02,
}

impl Origin {
    /// The origin byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for Origin {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        match b {
            0x01 => Ok(Origin::Generated),
            0x02 => Ok(Origin::Imported),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::try_from(a.to_u8()), Ok(a));
        }
        assert_eq!(Algorithm::try_from(0x42), Err(0x42));
    }

    #[test]
    fn policies_round_trip() {
        for b in 0..4u8 {
            assert_eq!(PinPolicy::try_from(b).map(PinPolicy::to_u8), Ok(b));
            assert_eq!(TouchPolicy::try_from(b).map(TouchPolicy::to_u8), Ok(b));
        }
        assert!(PinPolicy::try_from(4).is_err());
        assert!(Origin::try_from(0).is_err());
    }
}
