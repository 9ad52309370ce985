//! Persistent records: what the applet keeps in the store, and their encoding.
//!
//! An absent record means "factory default", so a blank card needs no
//! initialization writes beyond its identity, and RESET is one atomic wipe.

use subtle::ConstantTimeEq;
use tamga_spec::{Algorithm, KeyRef, ObjectTag, Origin, PinPolicy, TouchPolicy, defaults};
use tamga_store::Key;
use zeroize::Zeroize;

use crate::crypto::{EC_POINT_LEN, EC_PRIVATE_LEN, GOST_PAIR_MAX, GOST_PRIVATE_MAX, pin_hash};
use crate::rsa2048;

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
    slot.slot_index()
        .and_then(|i| Key::try_from(i).ok())
        .map(|i| 0x0100 + i)
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

/// A PIN or PUK: its hash and try counter. `Debug` leaves the hash out;
/// equality (the hash compared in variable time) exists in unit tests only.
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
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

/// The card management key. `Debug` leaves the key out; equality exists in
/// unit tests only.
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
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
        self.alg == Algorithm::Tdes && bool::from(self.key_bytes().ct_eq(&defaults::MANAGEMENT_KEY))
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

/// The key material of a slot.
// No heap to box the RSA variant into; a record lives on the stack briefly.
// `Debug` shows the public parts only; equality exists in unit tests only.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
pub enum KeyMaterial {
    /// A P-256 key.
    Ec {
        /// Uncompressed public point.
        public: [u8; EC_POINT_LEN],
        /// Private scalar.
        private: [u8; EC_PRIVATE_LEN],
    },
    /// A GOST key (either generation): the record's algorithm says how much
    /// of each array is used ([`KeyRecord::gost_parts`]).
    Gost {
        /// X_le ‖ Y_le.
        public: [u8; GOST_PAIR_MAX],
        /// Private scalar, little-endian.
        private: [u8; GOST_PRIVATE_MAX],
    },
    /// An RSA-2048 key in CRT form.
    Rsa {
        /// Public exponent (65537 for every key Tamga creates or accepts).
        e: u32,
        /// Modulus, big-endian.
        n: [u8; rsa2048::MODULUS_LEN],
        /// `p ‖ q ‖ dp ‖ dq ‖ qinv`, big-endian, 128 bytes each.
        crt: [u8; rsa2048::CRT_LEN],
    },
}

impl KeyMaterial {
    /// All-zero material of `alg`'s shape (RSA-2048, GOST, else P-256), to
    /// be filled in place by key generation or import.
    #[inline(always)]
    pub fn blank(alg: Algorithm) -> Self {
        if alg == Algorithm::Rsa2048 {
            KeyMaterial::Rsa {
                e: rsa2048::PUBLIC_EXPONENT,
                n: [0; rsa2048::MODULUS_LEN],
                crt: [0; rsa2048::CRT_LEN],
            }
        } else if alg.gost_len().is_some() {
            KeyMaterial::Gost {
                public: [0; GOST_PAIR_MAX],
                private: [0; GOST_PRIVATE_MAX],
            }
        } else {
            KeyMaterial::Ec {
                public: [0; EC_POINT_LEN],
                private: [0; EC_PRIVATE_LEN],
            }
        }
    }
}

/// An asymmetric key in a slot.
///
/// Encoding (versioned by the first byte):
/// - `01 alg pin touch origin point(65) scalar(32)`: P-256 (102 bytes);
/// - `02 alg pin touch origin e(4) n(256) p q dp dq qinv (128 each)`: RSA-2048
///   (905 bytes);
/// - `03 alg pin touch origin X‖Y(2L) d(L) tag(32)`, little-endian: GOST,
///   L = 32 for GOST 34.310-2004 and 64 for GOST 34.10-2015 (133 or 229
///   bytes); the tag ([`gost_tag`]) is checked on every read, so a key that
///   changed in storage (a bad cell, a glitched read: the store's CRC can
///   be right) is never used. (RSA has its fault check; GOST verification
///   costs twice a signature.)
///
/// `Debug` shows the public parts only; equality exists in unit tests only.
#[derive(Clone, Debug)]
#[cfg_attr(test, derive(PartialEq, Eq))]
pub struct KeyRecord {
    /// Algorithm.
    pub alg: Algorithm,
    /// PIN policy (resolved: never `Default`).
    pub pin_policy: PinPolicy,
    /// Touch policy (recorded, not enforced).
    pub touch_policy: TouchPolicy,
    /// Generated on the card or imported.
    pub origin: Origin,
    /// The key.
    pub key: KeyMaterial,
}

impl Drop for KeyRecord {
    fn drop(&mut self) {
        match &mut self.key {
            KeyMaterial::Ec { private, .. } => private.zeroize(),
            KeyMaterial::Gost { private, .. } => private.zeroize(),
            KeyMaterial::Rsa { crt, .. } => crt.zeroize(),
        }
    }
}

/// Format version of a P-256 key record.
const KEY_V1_EC: u8 = 1;
/// Format version of an RSA key record.
const KEY_V2_RSA: u8 = 2;
/// Format version of a GOST key record.
const KEY_V3_GOST: u8 = 3;

/// The integrity tag of a stored GOST key: SHA-256 over a domain label, the
/// algorithm, the public key and the private scalar.
pub fn gost_tag(alg: Algorithm, public: &[u8], private: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tamga gost key v1");
    h.update([alg.to_u8()]);
    h.update(public);
    h.update(private);
    h.finalize().into()
}

impl KeyRecord {
    /// Encoded size of a P-256 key.
    pub const EC_LEN: usize = 5 + EC_POINT_LEN + EC_PRIVATE_LEN;
    /// Encoded size of an RSA-2048 key.
    pub const RSA_LEN: usize = 5 + 4 + rsa2048::MODULUS_LEN + rsa2048::CRT_LEN;
    /// Largest encoded size.
    pub const MAX_LEN: usize = Self::RSA_LEN;

    /// Encode into `out`; returns the length used.
    pub fn encode(&self, out: &mut [u8; Self::MAX_LEN]) -> usize {
        let version = match self.key {
            KeyMaterial::Ec { .. } => KEY_V1_EC,
            KeyMaterial::Gost { .. } => KEY_V3_GOST,
            KeyMaterial::Rsa { .. } => KEY_V2_RSA,
        };
        let head = [
            version,
            self.alg.to_u8(),
            self.pin_policy.to_u8(),
            self.touch_policy.to_u8(),
            self.origin.to_u8(),
        ];
        let (h, body) = out.split_at_mut(5);
        h.copy_from_slice(&head);
        let e;
        let tag;
        let parts: [&[u8]; 3] = match (&self.key, self.gost_parts()) {
            (KeyMaterial::Ec { public, private }, _) => [public, private, &[]],
            (KeyMaterial::Gost { .. }, Some((public, private))) => {
                tag = gost_tag(self.alg, public, private);
                [public, private, &tag]
            }
            (KeyMaterial::Gost { .. }, None) => [&[], &[], &[]],
            (KeyMaterial::Rsa { e: exp, n, crt }, _) => {
                e = exp.to_be_bytes();
                [&e, n, crt]
            }
        };
        let mut at = 0;
        for p in parts {
            if let Some(dst) = body.get_mut(at..at + p.len()) {
                dst.copy_from_slice(p);
            }
            at += p.len();
        }
        5 + at
    }

    /// A record of `alg`'s shape with all-zero key material and default
    /// policies, to be filled in place ([`KeyRecord::decode_into`], key
    /// generation, import). Not inlined: built straight in the caller's
    /// slot, not in a temporary that is then copied (~900 bytes of stack).
    #[inline(never)]
    pub fn blank(alg: Algorithm) -> Self {
        KeyRecord {
            alg,
            pin_policy: PinPolicy::Once,
            touch_policy: TouchPolicy::Never,
            origin: Origin::Generated,
            key: KeyMaterial::blank(alg),
        }
    }

    /// The used parts of a GOST key, (X ‖ Y, d); `None` for other keys.
    pub fn gost_parts(&self) -> Option<(&[u8], &[u8])> {
        let len = self.alg.gost_len()?;
        match &self.key {
            KeyMaterial::Gost { public, private } => {
                Some((public.get(..2 * len)?, private.get(..len)?))
            }
            _ => None,
        }
    }

    /// The used parts of a GOST key, mutable, to be filled in place.
    pub fn gost_parts_mut(&mut self) -> Option<(&mut [u8], &mut [u8])> {
        let len = self.alg.gost_len()?;
        match &mut self.key {
            KeyMaterial::Gost { public, private } => {
                Some((public.get_mut(..2 * len)?, private.get_mut(..len)?))
            }
            _ => None,
        }
    }

    /// Decode; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut rec = Self::blank(Algorithm::EccP256);
        rec.decode_into(b).then_some(rec)
    }

    /// Decode `b` into `self` in place (a record on the stack is ~900 bytes:
    /// one copy is enough); `false` if malformed, and `self` is then
    /// unspecified (but holds no more than `b` did).
    pub fn decode_into(&mut self, b: &[u8]) -> bool {
        let Some((head, rest)) = b.split_first_chunk::<5>() else {
            return false;
        };
        let [version, alg, pin, touch, origin] = *head;
        let (Ok(alg), Ok(pin), Ok(touch), Ok(origin)) = (
            Algorithm::try_from(alg),
            PinPolicy::try_from(pin),
            TouchPolicy::try_from(touch),
            Origin::try_from(origin),
        ) else {
            return false;
        };
        match (version, alg) {
            (KEY_V1_EC, Algorithm::EccP256) if rest.len() == EC_POINT_LEN + EC_PRIVATE_LEN => {
                let (public, private) = rest.split_at(EC_POINT_LEN);
                if !matches!(self.key, KeyMaterial::Ec { .. }) {
                    self.key = KeyMaterial::blank(alg);
                }
                if let KeyMaterial::Ec {
                    public: p,
                    private: d,
                } = &mut self.key
                {
                    p.copy_from_slice(public);
                    d.copy_from_slice(private);
                }
            }
            (KEY_V2_RSA, Algorithm::Rsa2048) if rest.len() == Self::RSA_LEN - 5 => {
                let (e, rest) = rest.split_at(4);
                let (n, crt) = rest.split_at(rsa2048::MODULUS_LEN);
                if !matches!(self.key, KeyMaterial::Rsa { .. }) {
                    self.key = KeyMaterial::blank(alg);
                }
                if let KeyMaterial::Rsa {
                    e: e_out,
                    n: n_out,
                    crt: crt_out,
                } = &mut self.key
                {
                    let mut eb = [0u8; 4];
                    eb.copy_from_slice(e);
                    *e_out = u32::from_be_bytes(eb);
                    n_out.copy_from_slice(n);
                    crt_out.copy_from_slice(crt);
                }
            }
            (KEY_V3_GOST, _) if alg.gost_len().map(|l| 3 * l + 32) == Some(rest.len()) => {
                let (key, tag) = rest.split_at(rest.len() - 32);
                let (public, private) = key.split_at(2 * (key.len() / 3));
                if !bool::from(gost_tag(alg, public, private).ct_eq(tag)) {
                    return false;
                }
                if !matches!(self.key, KeyMaterial::Gost { .. }) {
                    self.key = KeyMaterial::blank(alg);
                }
                self.alg = alg;
                if let Some((p, d)) = self.gost_parts_mut() {
                    p.copy_from_slice(public);
                    d.copy_from_slice(private);
                }
            }
            _ => return false,
        }
        self.alg = alg;
        self.pin_policy = pin;
        self.touch_policy = touch;
        self.origin = origin;
        true
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Secret")
            .field("left", &self.left)
            .field("max", &self.max)
            .field("is_default", &self.is_default)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for MgmtKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MgmtKey")
            .field("alg", &self.alg)
            .field("touch", &self.touch)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyMaterial::Ec { public, .. } => f
                .debug_struct("Ec")
                .field("public", public)
                .finish_non_exhaustive(),
            KeyMaterial::Gost { public, .. } => f
                .debug_struct("Gost")
                .field("public", public)
                .finish_non_exhaustive(),
            KeyMaterial::Rsa { e, n, .. } => f
                .debug_struct("Rsa")
                .field("e", e)
                .field("n", n)
                .finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In-place decoding reuses a record of either shape, and a malformed
    /// encoding is refused whatever the record held before.
    #[test]
    fn decode_into_switches_shape() {
        let ec = KeyRecord {
            alg: Algorithm::EccP256,
            pin_policy: PinPolicy::Always,
            touch_policy: TouchPolicy::Never,
            origin: Origin::Imported,
            key: KeyMaterial::Ec {
                public: [4; EC_POINT_LEN],
                private: [5; EC_PRIVATE_LEN],
            },
        };
        let mut rsa = KeyRecord::blank(Algorithm::Rsa2048);
        rsa.pin_policy = PinPolicy::Never;
        if let KeyMaterial::Rsa { n, crt, .. } = &mut rsa.key {
            n.fill(6);
            crt.fill(7);
        }
        let (mut eb, mut rb) = ([0u8; KeyRecord::MAX_LEN], [0u8; KeyRecord::MAX_LEN]);
        let (el, rl) = (ec.encode(&mut eb), rsa.encode(&mut rb));
        let mut r = KeyRecord::blank(Algorithm::EccP256);
        for (bytes, want) in [(&rb[..rl], &rsa), (&eb[..el], &ec), (&rb[..rl], &rsa)] {
            assert!(r.decode_into(bytes));
            assert_eq!(&r, want);
        }
        assert!(!r.decode_into(&rb[..rl - 1]));
        assert!(!r.decode_into(&eb[..4]));
        let mut bad = eb;
        bad[1] = 0x07; // an EC body under the RSA algorithm
        assert!(!r.decode_into(&bad[..el]));
    }

    /// `Debug` never shows secret bytes.
    #[test]
    fn debug_is_masked() {
        extern crate std;
        use std::format;
        let mut m = MgmtKey::factory();
        m.key = [0xA7; 32];
        let s = Secret {
            hash: [0xA7; 32],
            ..Secret::factory(&[0; 16], false, None)
        };
        let mut rec = KeyRecord::blank(Algorithm::EccP256);
        if let KeyMaterial::Ec { private, .. } = &mut rec.key {
            private.fill(0xA7);
        }
        let mut rsa = KeyRecord::blank(Algorithm::Rsa2048);
        if let KeyMaterial::Rsa { crt, .. } = &mut rsa.key {
            crt.fill(0xA7);
        }
        for text in [
            format!("{m:?}"),
            format!("{s:?}"),
            format!("{rec:?}"),
            format!("{rsa:?}"),
        ] {
            assert!(!text.contains("167"), "secret bytes in {text}");
        }
    }

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
        for key in [
            KeyMaterial::Ec {
                public: [4; EC_POINT_LEN],
                private: [5; EC_PRIVATE_LEN],
            },
            KeyMaterial::Rsa {
                e: 65537,
                n: [6; rsa2048::MODULUS_LEN],
                crt: [7; rsa2048::CRT_LEN],
            },
        ] {
            let rsa = matches!(key, KeyMaterial::Rsa { .. });
            let k = KeyRecord {
                alg: if rsa {
                    Algorithm::Rsa2048
                } else {
                    Algorithm::EccP256
                },
                pin_policy: PinPolicy::Once,
                touch_policy: TouchPolicy::Never,
                origin: Origin::Imported,
                key,
            };
            let mut buf = [0u8; KeyRecord::MAX_LEN];
            let n = k.encode(&mut buf);
            assert_eq!(
                n,
                if rsa {
                    KeyRecord::RSA_LEN
                } else {
                    KeyRecord::EC_LEN
                }
            );
            assert_eq!(buf[0], if rsa { 2 } else { 1 });
            assert_eq!(KeyRecord::decode(&buf[..n]), Some(k.clone()));
            assert_eq!(KeyRecord::decode(&buf[..n - 1]), None);
            // The algorithm byte must match the format.
            buf[1] = if rsa { 0x11 } else { 0x07 };
            assert_eq!(KeyRecord::decode(&buf[..n]), None);
        }
    }
}
