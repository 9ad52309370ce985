//! Persistent records: what the applet keeps in the store, and their encoding.
//!
//! An absent record means "factory default", so a blank card needs no
//! initialization writes beyond its identity, and RESET is one atomic wipe.

use tamga_spec::{Algorithm, KeyRef, ObjectTag, Origin, PinPolicy, TouchPolicy, defaults};
use tamga_store::Key;
use zeroize::Zeroize;

use crate::crypto::{EC_POINT_LEN, EC_PRIVATE_LEN, pin_hash};

/// Store key of the card identity.
pub const IDENTITY: Key = 0x0001;
/// Store key of the PIN record.
pub const PIN: Key = 0x0010;
/// Store key of the PUK record.
pub const PUK: Key = 0x0011;
/// Store key of the management key record.
pub const MGMT: Key = 0x0012;

/// Store key of an asymmetric key slot.
pub fn slot_key(slot: KeyRef) -> Option<Key> {
    slot.slot_index().map(|i| 0x0100 + i as Key)
}

/// Store key of a data object.
pub fn object_key(tag: ObjectTag) -> Option<Key> {
    tag.storage_index().map(|i| 0x0200 + Key::from(i))
}

/// Per-card constants, created once at first power-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Serial number (GET SERIAL).
    pub serial: u32,
    /// CHUID GUID.
    pub guid: [u8; 16],
    /// Salt of the PIN and PUK hashes.
    pub salt: [u8; 16],
}

impl Identity {
    /// Encoded size.
    pub const LEN: usize = 37;

    /// Encode.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = 1;
        out[1..5].copy_from_slice(&self.serial.to_be_bytes());
        out[5..21].copy_from_slice(&self.guid);
        out[21..37].copy_from_slice(&self.salt);
        out
    }

    /// Decode; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        match b {
            [1, s @ ..] if s.len() == Self::LEN - 1 => {
                let (serial, rest) = s.split_first_chunk::<4>()?;
                let (guid, salt) = rest.split_first_chunk::<16>()?;
                Some(Identity {
                    serial: u32::from_be_bytes(*serial),
                    guid: *guid,
                    salt: salt.try_into().ok()?,
                })
            }
            _ => None,
        }
    }
}

/// A PIN or PUK: its hash and try counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// Tries left.
    pub left: u8,
    /// Tries allowed.
    pub max: u8,
    /// Whether the value is the factory default.
    pub is_default: bool,
    /// Hash of the padded value ([`pin_hash`]).
    pub hash: [u8; 32],
}

impl Secret {
    /// Encoded size.
    pub const LEN: usize = 36;

    /// The factory default for the PIN (`puk == false`) or the PUK.
    pub fn factory(salt: &[u8; 16], puk: bool, retries: Option<u8>) -> Self {
        let (value, tries) = if puk {
            (defaults::PUK, defaults::PUK_RETRIES)
        } else {
            (defaults::PIN, defaults::PIN_RETRIES)
        };
        let tries = retries.unwrap_or(tries);
        let mut padded = [defaults::PIN_PAD; 8];
        for (d, s) in padded.iter_mut().zip(value) {
            *d = *s;
        }
        Secret {
            left: tries,
            max: tries,
            is_default: true,
            hash: pin_hash(salt, &padded),
        }
    }

    /// Encode.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = 1;
        out[1] = self.left;
        out[2] = self.max;
        out[3] = u8::from(self.is_default);
        out[4..].copy_from_slice(&self.hash);
        out
    }

    /// Decode; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        match b {
            [1, left, max, default, hash @ ..] if hash.len() == 32 && left <= max => Some(Secret {
                left: *left,
                max: *max,
                is_default: *default != 0,
                hash: hash.try_into().ok()?,
            }),
            _ => None,
        }
    }
}

/// The card management key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MgmtKey {
    /// Algorithm (3DES or AES).
    pub alg: Algorithm,
    /// Touch policy (recorded, not enforced).
    pub touch: TouchPolicy,
    /// Key bytes; only the first `alg.symmetric_key_len()` are used.
    pub key: [u8; 32],
}

impl Drop for MgmtKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl MgmtKey {
    /// Encoded size.
    pub const LEN: usize = 35;

    /// The factory default key.
    pub fn factory() -> Self {
        let mut key = [0u8; 32];
        key[..24].copy_from_slice(&defaults::MANAGEMENT_KEY);
        MgmtKey {
            alg: Algorithm::Tdes,
            touch: TouchPolicy::Never,
            key,
        }
    }

    /// The used part of the key.
    pub fn key_bytes(&self) -> &[u8] {
        let n = self.alg.symmetric_key_len().unwrap_or(0);
        self.key.get(..n).unwrap_or(&[])
    }

    /// Whether this is the factory default key.
    pub fn is_default(&self) -> bool {
        self.alg == Algorithm::Tdes && self.key_bytes() == defaults::MANAGEMENT_KEY
    }

    /// Encode.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = 1;
        out[1] = self.alg.to_u8();
        out[2] = self.touch.to_u8();
        out[3..].copy_from_slice(&self.key);
        out
    }

    /// Decode; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        match b {
            [1, alg, touch, key @ ..] if key.len() == 32 => {
                let alg = Algorithm::try_from(*alg).ok()?;
                alg.symmetric_key_len()?;
                Some(MgmtKey {
                    alg,
                    touch: TouchPolicy::try_from(*touch).ok()?,
                    key: key.try_into().ok()?,
                })
            }
            _ => None,
        }
    }
}

/// An asymmetric key in a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Algorithm.
    pub alg: Algorithm,
    /// PIN policy (resolved: never `Default`).
    pub pin_policy: PinPolicy,
    /// Touch policy (recorded, not enforced).
    pub touch_policy: TouchPolicy,
    /// Generated on the card or imported.
    pub origin: Origin,
    /// Uncompressed public point.
    pub public: [u8; EC_POINT_LEN],
    /// Private scalar.
    pub private: [u8; EC_PRIVATE_LEN],
}

impl Drop for KeyRecord {
    fn drop(&mut self) {
        self.private.zeroize();
    }
}

impl KeyRecord {
    /// Encoded size of a P-256 key.
    pub const LEN: usize = 5 + EC_POINT_LEN + EC_PRIVATE_LEN;

    /// Encode.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = 1;
        out[1] = self.alg.to_u8();
        out[2] = self.pin_policy.to_u8();
        out[3] = self.touch_policy.to_u8();
        out[4] = self.origin.to_u8();
        out[5..5 + EC_POINT_LEN].copy_from_slice(&self.public);
        out[5 + EC_POINT_LEN..].copy_from_slice(&self.private);
        out
    }

    /// Decode; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        match b {
            [1, alg, pin, touch, origin, rest @ ..]
                if rest.len() == EC_POINT_LEN + EC_PRIVATE_LEN =>
            {
                let (public, private) = rest.split_first_chunk::<EC_POINT_LEN>()?;
                Some(KeyRecord {
                    alg: Algorithm::try_from(*alg).ok()?,
                    pin_policy: PinPolicy::try_from(*pin).ok()?,
                    touch_policy: TouchPolicy::try_from(*touch).ok()?,
                    origin: Origin::try_from(*origin).ok()?,
                    public: *public,
                    private: private.try_into().ok()?,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let id = Identity {
            serial: 0x01020304,
            guid: [7; 16],
            salt: [9; 16],
        };
        assert_eq!(Identity::decode(&id.encode()), Some(id.clone()));
        let s = Secret::factory(&id.salt, false, None);
        assert_eq!(Secret::decode(&s.encode()), Some(s));
        let m = MgmtKey::factory();
        assert!(m.is_default());
        assert_eq!(MgmtKey::decode(&m.encode()), Some(m));
        assert_eq!(Identity::decode(&[1, 2]), None);
        assert_eq!(Secret::decode(&[]), None);
        assert_eq!(KeyRecord::decode(&[1; 3]), None);
    }
}
