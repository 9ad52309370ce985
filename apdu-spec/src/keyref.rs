//! Key references: PIN, PUK, the management key and the asymmetric key slots.

use crate::{ObjectTag, PinPolicy};

/// A key reference (P2 of VERIFY, GENERAL AUTHENTICATE, GENERATE, GET METADATA...).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyRef {
    /// The PIV application PIN (80).
    Pin,
    /// The PIN unblocking key (81).
    Puk,
    /// The card management key (9B).
    Management,
    /// PIV authentication key (9A): the NCA authentication key.
    Authentication,
    /// Digital signature key (9C): the NCA signature (EDS) key.
    Signature,
    /// Key management key (9D).
    KeyManagement,
    /// Card authentication key (9E).
    CardAuthentication,
    /// Retired key management key 1..=20 (82..95).
    Retired(u8),
    /// Attestation key (F9, YubiKey extension).
    Attestation,
}

/// Number of retired key management slots.
pub const RETIRED_SLOTS: u8 = 20;

impl KeyRef {
    /// The asymmetric key slots Tamga stores keys in, in storage order.
    pub const KEY_SLOTS: [KeyRef; 24] = {
        let mut all = [KeyRef::Authentication; 24];
        all[1] = KeyRef::Signature;
        all[2] = KeyRef::KeyManagement;
        all[3] = KeyRef::CardAuthentication;
        let mut n: u8 = 0;
        while n < RETIRED_SLOTS {
            all[4 + n as usize] = KeyRef::Retired(n + 1);
            n += 1;
        }
        all
    };

    /// The key reference byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            KeyRef::Pin => 0x80,
            KeyRef::Puk => 0x81,
            KeyRef::Management => 0x9B,
            KeyRef::Authentication => 0x9A,
            KeyRef::Signature => 0x9C,
            KeyRef::KeyManagement => 0x9D,
            KeyRef::CardAuthentication => 0x9E,
            KeyRef::Retired(n) => 0x81 + n,
            KeyRef::Attestation => 0xF9,
        }
    }

    /// Whether this reference names an asymmetric key slot.
    pub const fn is_key_slot(self) -> bool {
        matches!(
            self,
            KeyRef::Authentication
                | KeyRef::Signature
                | KeyRef::KeyManagement
                | KeyRef::CardAuthentication
                | KeyRef::Retired(_)
        )
    }

    /// Index of a key slot in [`KeyRef::KEY_SLOTS`].
    pub const fn slot_index(self) -> Option<usize> {
        match self {
            KeyRef::Authentication => Some(0),
            KeyRef::Signature => Some(1),
            KeyRef::KeyManagement => Some(2),
            KeyRef::CardAuthentication => Some(3),
            KeyRef::Retired(n) => Some(3 + n as usize),
            _ => None,
        }
    }

    /// The PIN policy a key in this slot gets when none is given: 9C (the NCA
    /// signature key) needs the PIN before every signature, 9E never, the rest
    /// once per session.
    pub const fn default_pin_policy(self) -> PinPolicy {
        match self {
            KeyRef::Signature => PinPolicy::Always,
            KeyRef::CardAuthentication => PinPolicy::Never,
            _ => PinPolicy::Once,
        }
    }

    /// The data object that holds this slot's certificate.
    pub const fn certificate_object(self) -> Option<ObjectTag> {
        match self {
            KeyRef::Authentication => Some(ObjectTag::CERT_AUTHENTICATION),
            KeyRef::Signature => Some(ObjectTag::CERT_SIGNATURE),
            KeyRef::KeyManagement => Some(ObjectTag::CERT_KEY_MANAGEMENT),
            KeyRef::CardAuthentication => Some(ObjectTag::CERT_CARD_AUTHENTICATION),
            KeyRef::Retired(n) => ObjectTag::retired_certificate(n),
            KeyRef::Attestation => Some(ObjectTag::ATTESTATION_CERT),
            _ => None,
        }
    }

    /// A short name (for traces and messages).
    pub const fn name(self) -> &'static str {
        match self {
            KeyRef::Pin => "PIN",
            KeyRef::Puk => "PUK",
            KeyRef::Management => "management key",
            KeyRef::Authentication => "9A authentication",
            KeyRef::Signature => "9C signature",
            KeyRef::KeyManagement => "9D key management",
            KeyRef::CardAuthentication => "9E card authentication",
            KeyRef::Retired(_) => "retired key management",
            KeyRef::Attestation => "F9 attestation",
        }
    }
}

impl TryFrom<u8> for KeyRef {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        Ok(match b {
            0x80 => KeyRef::Pin,
            0x81 => KeyRef::Puk,
            0x9B => KeyRef::Management,
            0x9A => KeyRef::Authentication,
            0x9C => KeyRef::Signature,
            0x9D => KeyRef::KeyManagement,
            0x9E => KeyRef::CardAuthentication,
            0x82..=0x95 => KeyRef::Retired(b - 0x81),
            0xF9 => KeyRef::Attestation,
            other => return Err(other),
        })
    }
}

impl From<KeyRef> for u8 {
    fn from(k: KeyRef) -> u8 {
        k.to_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            if let Ok(k) = KeyRef::try_from(b) {
                assert_eq!(k.to_u8(), b);
            }
        }
        for (i, k) in KeyRef::KEY_SLOTS.into_iter().enumerate() {
            assert_eq!(k.slot_index(), Some(i));
            assert!(k.is_key_slot());
            assert!(k.certificate_object().is_some());
        }
        assert_eq!(KeyRef::Retired(20).to_u8(), 0x95);
    }
}
