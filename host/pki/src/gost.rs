//! GOST keys and signatures as the NCA encodes them (`GOST.md`): the two
//! generations, their OIDs, the SubjectPublicKeyInfo (a BIT STRING holding an
//! OCTET STRING of X_le ‖ Y_le), the digests, and verification of r_le ‖ s_le.
//! The arithmetic is `tamga-gost`'s.

use der::asn1::{Any, BitString, ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use tamga_gost::hash::{Digest, Gost94Test, Streebog512};

use crate::{Error, Result, oids};

/// A generation of the Kazakh GOST signature.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    /// GOST 34.310-2004: CryptoPro-A, GOST 34.311-95, 256-bit.
    Gost2004,
    /// GOST 34.10-2015: tc26-512-A, Streebog-512, 512-bit.
    Gost2015,
}

impl Generation {
    /// The generation of a public-key algorithm OID.
    pub fn from_key_oid(oid: &Oid) -> Option<Self> {
        match *oid {
            oids::GOST_34310_KEY => Some(Generation::Gost2004),
            oids::GOST_2015_512_KEY => Some(Generation::Gost2015),
            _ => None,
        }
    }

    /// The curve (`tamga-gost`'s operations on it).
    pub fn curve(self) -> tamga_gost::NamedCurve {
        match self {
            Generation::Gost2004 => tamga_gost::NamedCurve::CryptoProA,
            Generation::Gost2015 => tamga_gost::NamedCurve::Tc26_512A,
        }
    }

    /// Bytes of a scalar, coordinate, digest and signature half.
    pub fn scalar_len(self) -> usize {
        self.curve().scalar_len()
    }

    /// The public-key algorithm OID.
    pub fn key_oid(self) -> Oid {
        match self {
            Generation::Gost2004 => oids::GOST_34310_KEY,
            Generation::Gost2015 => oids::GOST_2015_512_KEY,
        }
    }

    /// The signature algorithm OID of certificates and CRLs.
    pub fn signature_oid(self) -> Oid {
        match self {
            Generation::Gost2004 => oids::GOST_34310_SIGNATURE,
            Generation::Gost2015 => oids::GOST_2015_512_SIGNATURE,
        }
    }

    /// The digest algorithm OID of CMS.
    pub fn digest_oid(self) -> Oid {
        match self {
            Generation::Gost2004 => oids::GOST_34311_HASH,
            Generation::Gost2015 => oids::STREEBOG_512_HASH,
        }
    }

    /// The two OIDs of the key's parameters (curve, hash).
    fn params(self) -> [Oid; 2] {
        match self {
            Generation::Gost2004 => [oids::GOST_34310_PARAMS, oids::GOST_34311_HASH_PARAMS],
            Generation::Gost2015 => [oids::GOST_2015_512_PARAMS, oids::STREEBOG_512_HASH],
        }
    }

    /// Whether `oid` names this generation's signature: its signature OID,
    /// or (GOST 34.310-2004 in Kalkan's CMS) the key OID itself.
    pub fn signs_with(self, oid: &Oid) -> bool {
        *oid == self.signature_oid() || (self == Generation::Gost2004 && *oid == self.key_oid())
    }

    /// The digest of `msg`, as the hash outputs it.
    pub fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            Generation::Gost2004 => Gost94Test::digest(msg).to_vec(),
            Generation::Gost2015 => Streebog512::digest(msg).to_vec(),
        }
    }

    /// The signature algorithm identifier of certificates and CRLs (with the
    /// explicit NULL the NCA writes).
    pub fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.signature_oid(),
            parameters: Some(Any::null()),
        }
    }

    /// Verifies r_le ‖ s_le over `digest` with the public key X_le ‖ Y_le.
    pub fn verify_digest(self, public: &[u8], digest: &[u8], sig: &[u8]) -> Result<()> {
        self.curve()
            .verify(public, digest, sig)
            .map_err(|e| match e {
                tamga_gost::Error::BadSignature | tamga_gost::Error::Length => Error::BadSignature,
                other => Error::KeyNotAllowed(format!("bad GOST key: {other}")),
            })
    }
}

/// A GOST public key in the NCA's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Which generation.
    pub generation: Generation,
    /// X_le ‖ Y_le.
    pub point: Vec<u8>,
}

impl PublicKey {
    /// The GOST key of a SubjectPublicKeyInfo, if it holds one: the
    /// generation from the key OID, the point from the OCTET STRING inside
    /// the BIT STRING, checked to be on the curve.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Option<Self>> {
        let Some(generation) = Generation::from_key_oid(&spki.algorithm.oid) else {
            return Ok(None);
        };
        let bad = |why: &str| Error::KeyNotAllowed(format!("bad GOST public key: {why}"));
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("unused bits"))?;
        let octets = OctetString::from_der(bits).map_err(|e| bad(&e.to_string()))?;
        let point = octets.as_bytes().to_vec();
        if point.len() != 2 * generation.scalar_len() {
            return Err(bad("wrong length"));
        }
        if generation.curve().check_point(&point).is_err() {
            return Err(bad("not on the curve"));
        }
        Ok(Some(PublicKey { generation, point }))
    }

    /// The SubjectPublicKeyInfo the NCA writes: key OID, SEQUENCE { curve
    /// OID, hash OID }, BIT STRING { OCTET STRING { X_le ‖ Y_le } }.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned> {
        let params = self.generation.params().to_vec();
        let params = Any::encode_from(&params)?;
        let octets = OctetString::new(self.point.clone())?.to_der()?;
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: self.generation.key_oid(),
                parameters: Some(params),
            },
            subject_public_key: BitString::from_bytes(&octets)?,
        })
    }

    /// Verifies r_le ‖ s_le over `msg` (digested here).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        let digest = self.generation.digest(msg);
        self.generation.verify_digest(&self.point, &digest, sig)
    }
}

impl spki::EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        let spki = self.spki().map_err(|_| spki::Error::KeyMalformed)?;
        Ok(der::Document::encode_msg(&spki)?)
    }
}

/// A GOST signature, r_le ‖ s_le, as it goes into a BIT STRING (certificates,
/// requests, CRLs) or an OCTET STRING (CMS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature(pub Vec<u8>);

impl spki::SignatureBitStringEncoding for Signature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl signature::SignatureEncoding for Signature {
    type Repr = Vec<u8>;
}

impl TryFrom<&[u8]> for Signature {
    type Error = signature::Error;
    fn try_from(b: &[u8]) -> std::result::Result<Self, Self::Error> {
        Ok(Signature(b.to_vec()))
    }
}

impl From<Signature> for Vec<u8> {
    fn from(s: Signature) -> Vec<u8> {
        s.0
    }
}
