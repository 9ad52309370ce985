//! The CA key behind a trait, so a PKCS#11 token (through `cryptoki`) can replace the file.

use crate::{Error, Result};
use der::Decode;
use der::asn1::Any;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use signature::Signer;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use tamga_pki::gost::Generation;
use tamga_pki::oids;
use zeroize::Zeroizing;

/// A CA signing key: knows its public key and signature algorithm, signs DER blobs.
///
/// Implementations: [`FileSigner`] (PKCS#8 file). A PKCS#11 signer only needs these
/// four methods; nothing else in the CA touches the key.
pub trait CaSigner: Send + Sync {
    /// Signature algorithm identifier placed in certificates and CRLs.
    fn algorithm(&self) -> AlgorithmIdentifierOwned;
    /// The CA public key.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Signs `data` (the DER of a TBSCertificate or TBSCertList); returns the signature
    /// bytes as they go into the BIT STRING.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>>;
    /// A short description for logs (never key material).
    fn describe(&self) -> String;
}

/// CA key algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256.
    P256,
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
    /// GOST 34.10-2015 512-bit (tc26-512-A) with Streebog-512: the NCA's
    /// `nca_gost` since 2022.
    Gost2015,
    /// GOST 34.310-2004 (CryptoPro-A) with GOST 34.311-95.
    Gost2004,
}

impl KeyAlgorithm {
    /// Name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::P256 => "p256",
            KeyAlgorithm::Rsa2048 => "rsa2048",
            KeyAlgorithm::Gost2015 => "gost2015",
            KeyAlgorithm::Gost2004 => "gost2004",
        }
    }

    /// Whether it is a GOST algorithm.
    pub fn is_gost(self) -> bool {
        matches!(self, KeyAlgorithm::Gost2015 | KeyAlgorithm::Gost2004)
    }

    /// The algorithm of a CA public key (an imported RSA key of any size counts
    /// as `rsa2048`); `None` for a key no CA here signs with.
    pub fn of_key(spki: &SubjectPublicKeyInfoOwned) -> Option<KeyAlgorithm> {
        match spki.algorithm.oid {
            oids::EC_PUBLIC_KEY => Some(KeyAlgorithm::P256),
            oids::RSA_ENCRYPTION => Some(KeyAlgorithm::Rsa2048),
            other => match Generation::from_key_oid(&other)? {
                Generation::Gost2015 => Some(KeyAlgorithm::Gost2015),
                Generation::Gost2004 => Some(KeyAlgorithm::Gost2004),
            },
        }
    }
}

enum FileKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    /// GOST: the generation, the private key d (little-endian) and X_le ‖ Y_le.
    Gost(Generation, Zeroizing<Vec<u8>>, Vec<u8>),
}

/// A GOST key from its private key d (little-endian), checked.
fn gost_key(g: Generation, d: Zeroizing<Vec<u8>>) -> Result<FileKey> {
    let mut point = vec![0u8; 2 * g.scalar_len()];
    g.curve().public_key(&d, &mut point).map_err(crypto)?;
    Ok(FileKey::Gost(g, d, point))
}

/// The PKCS#8 DER of a GOST key as Kalkan writes it: the SPKI's algorithm
/// identifier, and privateKey = OCTET STRING { OCTET STRING { d_le } }.
fn gost_pkcs8(g: Generation, d: &[u8], point: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use der::Encode;
    let spki = tamga_pki::gost::PublicKey {
        generation: g,
        point: point.to_vec(),
    }
    .spki()
    .map_err(crypto)?;
    let inner = Zeroizing::new(der::asn1::OctetString::new(d.to_vec())?.to_der()?);
    let info = pkcs8::PrivateKeyInfoRef {
        algorithm: der::referenced::OwnedToRef::owned_to_ref(&spki.algorithm),
        private_key: der::asn1::OctetStringRef::new(&inner)?,
        public_key: None,
    };
    Ok(Zeroizing::new(info.to_der()?))
}

/// A CA key held in a PKCS#8 file.
pub struct FileSigner {
    key: FileKey,
    spki: SubjectPublicKeyInfoOwned,
}

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn crypto(e: impl std::fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

impl FileSigner {
    fn from_key(key: FileKey) -> Result<Self> {
        if let FileKey::Gost(g, _, point) = &key {
            let spki = tamga_pki::gost::PublicKey {
                generation: *g,
                point: point.clone(),
            }
            .spki()
            .map_err(crypto)?;
            return Ok(FileSigner { key, spki });
        }
        let der = match &key {
            FileKey::P256(k) => k.verifying_key().to_public_key_der().map_err(crypto)?,
            FileKey::Rsa(k) => {
                let public = rsa::PublicKey::from(k.as_ref().as_ref());
                public.to_public_key_der().map_err(crypto)?
            }
            FileKey::Gost(..) => unreachable!("handled above"),
        };
        let spki = SubjectPublicKeyInfoOwned::from_der(der.as_bytes())?;
        Ok(FileSigner { key, spki })
    }

    /// Generates a new key.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self> {
        use rsa::Generate;
        let key = match alg {
            KeyAlgorithm::P256 => {
                FileKey::P256(p256::ecdsa::SigningKey::generate_from_rng(&mut rng()))
            }
            KeyAlgorithm::Rsa2048 => {
                let k = rsa::PrivateKey::new(&mut rng(), 2048).map_err(crypto)?;
                FileKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k)))
            }
            KeyAlgorithm::Gost2015 | KeyAlgorithm::Gost2004 => {
                let g = if alg == KeyAlgorithm::Gost2015 {
                    Generation::Gost2015
                } else {
                    Generation::Gost2004
                };
                let mut d = Zeroizing::new(vec![0u8; g.scalar_len()]);
                let mut point = vec![0u8; 2 * g.scalar_len()];
                g.curve()
                    .generate(&mut rng(), &mut d, &mut point)
                    .map_err(crypto)?;
                FileKey::Gost(g, d, point)
            }
        };
        Self::from_key(key)
    }

    /// Decodes a PKCS#8 key (PEM `PRIVATE KEY` or DER); P-256, RSA (2048 to
    /// 4096 bits) and GOST (Kalkan's form: privateKey an OCTET STRING holding
    /// the OCTET STRING of d, little-endian).
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self> {
        let der = if bytes.starts_with(b"-----BEGIN") {
            let (label, der) = pem_rfc7468::decode_vec(bytes).map_err(crypto)?;
            if label != "PRIVATE KEY" {
                return Err(Error::Crypto(format!(
                    "expected a PKCS#8 PRIVATE KEY, got {label}"
                )));
            }
            der
        } else {
            bytes.to_vec()
        };
        let info = PrivateKeyInfoRef::from_der(&der)?;
        let key = match info.algorithm.oid {
            oids::EC_PUBLIC_KEY => {
                FileKey::P256(p256::ecdsa::SigningKey::from_pkcs8_der(&der).map_err(crypto)?)
            }
            oids::RSA_ENCRYPTION => {
                let k = rsa::PrivateKey::from_pkcs8_der(&der).map_err(crypto)?;
                let bits = rsa::traits::PublicKeyParts::n(&k).bit_width();
                if !(2048..=4096).contains(&bits) {
                    return Err(Error::Crypto(format!(
                        "RSA CA key of {bits} bits not supported"
                    )));
                }
                FileKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k)))
            }
            other => match Generation::from_key_oid(&other) {
                Some(g) => {
                    let inner = der::asn1::OctetString::from_der(info.private_key.as_bytes())?;
                    gost_key(g, Zeroizing::new(inner.into_bytes().into_vec()))?
                }
                None => {
                    return Err(Error::Crypto(format!(
                        "unsupported CA key algorithm {other}"
                    )));
                }
            },
        };
        Self::from_key(key)
    }

    /// Reads a PKCS#8 key file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_pkcs8(&bytes)
    }

    /// Writes the key as PKCS#8 PEM to a new file created with mode 0600.
    pub fn save(&self, path: &Path) -> Result<()> {
        let pem = match &self.key {
            FileKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF).map_err(crypto)?,
            FileKey::Rsa(k) => k
                .as_ref()
                .as_ref()
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(crypto)?,
            FileKey::Gost(g, d, point) => {
                let der = gost_pkcs8(*g, d, point)?;
                Zeroizing::new(
                    pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der)
                        .map_err(crypto)?,
                )
            }
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.write_all(pem.as_bytes())
            .map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))
    }
}

impl CaSigner for FileSigner {
    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.key {
            FileKey::P256(_) => AlgorithmIdentifierOwned {
                oid: oids::ECDSA_WITH_SHA256,
                parameters: None,
            },
            FileKey::Rsa(_) => AlgorithmIdentifierOwned {
                oid: oids::SHA256_WITH_RSA,
                parameters: Some(Any::null()),
            },
            FileKey::Gost(g, ..) => g.signature_algorithm(),
        }
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            FileKey::P256(k) => {
                let sig: p256::ecdsa::DerSignature = k.try_sign(data).map_err(crypto)?;
                Ok(sig.to_bytes().to_vec())
            }
            FileKey::Rsa(k) => {
                let sig = k.try_sign(data).map_err(crypto)?;
                Ok(signature::SignatureEncoding::to_vec(&sig))
            }
            FileKey::Gost(g, d, _) => {
                let digest = g.digest(data);
                let mut entropy = [0u8; 32];
                getrandom::fill(&mut entropy).map_err(crypto)?;
                let mut sig = vec![0u8; 2 * g.scalar_len()];
                g.curve()
                    .sign(d, &digest, &entropy, &mut sig)
                    .map_err(crypto)?;
                Ok(sig)
            }
        }
    }

    fn describe(&self) -> String {
        match self.key {
            FileKey::P256(_) => "P-256 key file".into(),
            FileKey::Rsa(_) => "RSA key file".into(),
            FileKey::Gost(Generation::Gost2015, ..) => "GOST 34.10-2015 512 key file".into(),
            FileKey::Gost(Generation::Gost2004, ..) => "GOST 34.310-2004 key file".into(),
        }
    }
}
