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
use tamga_pki::oids;

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
}

impl KeyAlgorithm {
    /// Name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::P256 => "p256",
            KeyAlgorithm::Rsa2048 => "rsa2048",
        }
    }
}

enum FileKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
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
        let der = match &key {
            FileKey::P256(k) => k.verifying_key().to_public_key_der().map_err(crypto)?,
            FileKey::Rsa(k) => {
                let public = rsa::PublicKey::from(k.as_ref().as_ref());
                public.to_public_key_der().map_err(crypto)?
            }
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
        };
        Self::from_key(key)
    }

    /// Decodes a PKCS#8 key (PEM `PRIVATE KEY` or DER); P-256 and RSA (2048 to 4096 bits).
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
            other => {
                return Err(Error::Crypto(format!(
                    "unsupported CA key algorithm {other}"
                )));
            }
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
        }
    }

    fn describe(&self) -> String {
        match self.key {
            FileKey::P256(_) => "P-256 key file".into(),
            FileKey::Rsa(_) => "RSA key file".into(),
        }
    }
}
