//! The card as a `signature::Signer`, so x509-cert and cms build requests and
//! signed documents whose signatures are made on the card.
//!
//! Each signature hashes on the host (SHA-256; for GOST the generation's own
//! digest, Streebog-512 or GOST 34.311-95) and has the card sign the hash
//! (P-256, GOST) or the PKCS#1 v1.5 block the host pads (RSA-2048), presenting
//! the PIN first when one is given: the NCA signature key 9C needs a VERIFY
//! before every signature.

use std::cell::RefCell;

use der::Any;
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};
use tamga_spec::{Algorithm, KeyRef};

use crate::error::Error;
use crate::piv::{Pin, Piv, PublicKey};
use crate::transport::Transport;

use tamga_pki::oids::{ECDSA_WITH_SHA256, SHA256_WITH_RSA};

/// RSA-2048 modulus length.
const RSA_LEN: usize = 256;
/// DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// EMSA-PKCS1-v1_5 encoding of a SHA-256 hash for a 2048-bit modulus.
pub fn pkcs1v15_sha256(hash: &[u8]) -> Vec<u8> {
    let t_len = SHA256_DIGEST_INFO.len() + hash.len();
    let mut em = vec![0xFFu8; RSA_LEN];
    em[0] = 0x00;
    em[1] = 0x01;
    em[RSA_LEN - t_len - 1] = 0x00;
    em[RSA_LEN - t_len..RSA_LEN - hash.len()].copy_from_slice(&SHA256_DIGEST_INFO);
    em[RSA_LEN - hash.len()..].copy_from_slice(hash);
    em
}

/// The part shared by both key types: the card, the slot, the PIN.
struct Card<'a, T: Transport> {
    piv: RefCell<&'a mut Piv<T>>,
    slot: KeyRef,
    pin: Option<&'a Pin>,
    error: RefCell<Option<Error>>,
}

impl<T: Transport> Card<'_, T> {
    fn sign(&self, alg: Algorithm, input: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut piv = self.piv.borrow_mut();
        let result = (|| {
            if let Some(pin) = self.pin {
                piv.verify_pin(pin)?;
            }
            piv.sign(self.slot, alg, input)
        })();
        result.map_err(|e| {
            *self.error.borrow_mut() = Some(e);
            signature::Error::new()
        })
    }
}

/// A P-256 key on the card.
pub struct P256Signer<'a, T: Transport> {
    card: Card<'a, T>,
    key: p256::ecdsa::VerifyingKey,
}

/// An RSA-2048 key on the card (PKCS#1 v1.5 with SHA-256).
pub struct RsaSigner<'a, T: Transport> {
    card: Card<'a, T>,
    key: rsa::pkcs1v15::VerifyingKey<Sha256>,
}

/// A GOST key on the card (either generation; the NCA's encodings).
pub struct GostSigner<'a, T: Transport> {
    card: Card<'a, T>,
    alg: Algorithm,
    key: tamga_pki::gost::PublicKey,
}

/// A signer for the key in a slot, of any type.
pub enum CardSigner<'a, T: Transport> {
    /// P-256.
    P256(P256Signer<'a, T>),
    /// RSA-2048.
    Rsa(RsaSigner<'a, T>),
    /// GOST.
    Gost(GostSigner<'a, T>),
}

impl<'a, T: Transport> CardSigner<'a, T> {
    /// A signer for `slot`, whose public key is `public`.
    pub fn new(
        piv: &'a mut Piv<T>,
        slot: KeyRef,
        public: &PublicKey,
        pin: Option<&'a Pin>,
    ) -> Result<Self, Error> {
        let card = Card {
            piv: RefCell::new(piv),
            slot,
            pin,
            error: RefCell::new(None),
        };
        let bad = || Error::Malformed { op: "public key" };
        Ok(match public {
            PublicKey::P256(point) => CardSigner::P256(P256Signer {
                card,
                key: p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| bad())?,
            }),
            PublicKey::Rsa { n, e } => {
                let key = crate::piv::rsa_key(n, e)?;
                CardSigner::Rsa(RsaSigner {
                    card,
                    key: rsa::pkcs1v15::VerifyingKey::new(key),
                })
            }
            PublicKey::Gost { alg, .. } => CardSigner::Gost(GostSigner {
                card,
                alg: *alg,
                key: public.gost()?,
            }),
        })
    }

    /// The card error behind a failed signature (signature::Error is opaque).
    pub fn take_error(&self) -> Option<Error> {
        match self {
            CardSigner::P256(s) => s.card.error.borrow_mut().take(),
            CardSigner::Rsa(s) => s.card.error.borrow_mut().take(),
            CardSigner::Gost(s) => s.card.error.borrow_mut().take(),
        }
    }

    /// The signature algorithm identifier.
    pub fn algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            CardSigner::P256(_) => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            CardSigner::Rsa(_) => AlgorithmIdentifierOwned {
                oid: SHA256_WITH_RSA,
                parameters: Some(Any::null()),
            },
            CardSigner::Gost(s) => s.key.generation.signature_algorithm(),
        }
    }

    /// Sign `msg` (hashed on the host): DER ECDSA, raw RSA or GOST r_le ‖ s_le
    /// signature bytes.
    pub fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let r = match self {
            CardSigner::P256(s) => s.card.sign(Algorithm::EccP256, &Sha256::digest(msg)),
            CardSigner::Rsa(s) => s
                .card
                .sign(Algorithm::Rsa2048, &pkcs1v15_sha256(&Sha256::digest(msg))),
            CardSigner::Gost(s) => s.try_sign(msg).map(Vec::from),
        };
        r.map_err(|_| self.take_error().unwrap_or(Error::Malformed { op: "sign" }))
    }
}

impl<T: Transport> Keypair for P256Signer<'_, T> {
    type VerifyingKey = p256::ecdsa::VerifyingKey;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.key
    }
}

impl<T: Transport> DynSignatureAlgorithmIdentifier for P256Signer<'_, T> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        })
    }
}

impl<T: Transport> Signer<p256::ecdsa::DerSignature> for P256Signer<'_, T> {
    fn try_sign(&self, msg: &[u8]) -> Result<p256::ecdsa::DerSignature, signature::Error> {
        let der = self.card.sign(Algorithm::EccP256, &Sha256::digest(msg))?;
        p256::ecdsa::DerSignature::from_bytes(&der).map_err(|_| signature::Error::new())
    }
}

impl<T: Transport> Keypair for RsaSigner<'_, T> {
    type VerifyingKey = rsa::pkcs1v15::VerifyingKey<Sha256>;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.key.clone()
    }
}

impl<T: Transport> DynSignatureAlgorithmIdentifier for RsaSigner<'_, T> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        })
    }
}

impl<T: Transport> Signer<rsa::pkcs1v15::Signature> for RsaSigner<'_, T> {
    fn try_sign(&self, msg: &[u8]) -> Result<rsa::pkcs1v15::Signature, signature::Error> {
        let block = pkcs1v15_sha256(&Sha256::digest(msg));
        let raw = self.card.sign(Algorithm::Rsa2048, &block)?;
        rsa::pkcs1v15::Signature::try_from(raw.as_slice())
    }
}

impl<T: Transport> GostSigner<'_, T> {
    /// The key's generation.
    pub fn generation(&self) -> tamga_pki::gost::Generation {
        self.key.generation
    }
}

impl<T: Transport> Keypair for GostSigner<'_, T> {
    type VerifyingKey = tamga_pki::gost::PublicKey;
    fn verifying_key(&self) -> Self::VerifyingKey {
        self.key.clone()
    }
}

impl<T: Transport> DynSignatureAlgorithmIdentifier for GostSigner<'_, T> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.key.generation.signature_algorithm())
    }
}

impl<T: Transport> Signer<tamga_pki::gost::Signature> for GostSigner<'_, T> {
    fn try_sign(&self, msg: &[u8]) -> Result<tamga_pki::gost::Signature, signature::Error> {
        let digest = self.key.generation.digest(msg);
        self.card
            .sign(self.alg, &digest)
            .map(tamga_pki::gost::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_block_layout() {
        let em = pkcs1v15_sha256(&[0xAB; 32]);
        assert_eq!(em.len(), 256);
        assert_eq!(&em[..2], &[0, 1]);
        let zero = 256 - 32 - 19 - 1;
        assert!(em[2..zero].iter().all(|&b| b == 0xFF));
        assert_eq!(em[zero], 0);
        assert_eq!(&em[zero + 1..zero + 20], &SHA256_DIGEST_INFO);
    }
}
