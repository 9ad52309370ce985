//! The CA's issuing keys: one or two side by side, as the NCA runs `nca_rsa` and
//! `nca_gost`, each with its own certificate, chain and CRL stream.
//!
//! Layout: the first key (the primary) is `ca.key`, `ca.pem`, `chain.pem` in the CA
//! directory; a second one of the other family is the same three files in
//! `issuers/<algorithm>/` (for example `issuers/gost2015/`). A request's key picks the
//! issuing key of its own family (GOST or international: RSA and P-256); a CA without
//! a key of that family issues with the primary.

use std::path::{Path, PathBuf};

use der::{DecodePem, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::signer::{CaSigner, FileSigner, KeyAlgorithm};
use crate::{Error, Result};

/// The CA certificate file in an issuer's directory.
pub(crate) const CA_PEM: &str = "ca.pem";
/// The chain (issuer up to its root) in an issuer's directory.
pub(crate) const CHAIN_PEM: &str = "chain.pem";
/// The private key file in an issuer's directory.
pub(crate) const KEY_FILE: &str = "ca.key";
/// The directory, under the CA directory, of the issuing keys after the first.
pub(crate) const ISSUERS_DIR: &str = "issuers";

/// Whether a public key is a GOST key (34.10-2015 or 34.310-2004).
pub fn is_gost(spki: &SubjectPublicKeyInfoOwned) -> bool {
    matches!(tamga_pki::gost::PublicKey::from_spki(spki), Ok(Some(_)))
}

/// The key identifier of a public key (RFC 5280 method 1, as in SKI and AKI).
pub(crate) fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>> {
    Ok(tamga_pki::chain::key_id(spki)?)
}

/// One issuing key of the CA with its certificate.
pub struct Issuer {
    pub(crate) signer: Box<dyn CaSigner>,
    pub(crate) cert: Certificate,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) ski: Vec<u8>,
    id: String,
    name: String,
    dir: PathBuf,
    gost: bool,
}

impl Issuer {
    /// Opens the issuer whose certificate is `dir/ca.pem`, with `signer` for its key;
    /// `name` is the file stem of its CRL and certificate URLs.
    pub(crate) fn open(dir: &Path, signer: Box<dyn CaSigner>, name: String) -> Result<Issuer> {
        let pem_path = dir.join(CA_PEM);
        let pem_text = std::fs::read_to_string(&pem_path).map_err(|e| Error::io(&pem_path, e))?;
        let cert = Certificate::from_pem(pem_text.as_bytes())?;
        if cert.tbs_certificate().subject_public_key_info() != signer.public_key() {
            return Err(Error::Config(format!(
                "the key in {} does not match {}",
                dir.join(KEY_FILE).display(),
                pem_path.display()
            )));
        }
        let ski = key_id(signer.public_key())?;
        Ok(Issuer {
            gost: is_gost(signer.public_key()),
            cert_der: cert.to_der()?,
            cert,
            id: hex::encode(&ski),
            ski,
            signer,
            name,
            dir: dir.to_path_buf(),
        })
    }

    /// The issuers after the first one in CA directory `ca_dir`, from their key
    /// files, sorted by directory name; `stem` is the CA's URL file stem.
    pub(crate) fn open_more(ca_dir: &Path, stem: &str) -> Result<Vec<Issuer>> {
        let root = ca_dir.join(ISSUERS_DIR);
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&root, e)),
        };
        let mut dirs: Vec<PathBuf> = entries
            .map(|e| e.map(|e| e.path()).map_err(|err| Error::io(&root, err)))
            .collect::<Result<_>>()?;
        dirs.retain(|d| d.join(CA_PEM).exists());
        dirs.sort();
        dirs.iter()
            .map(|d| {
                let leaf = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let signer = FileSigner::load(&d.join(KEY_FILE))?;
                Issuer::open(d, Box::new(signer), format!("{stem}-{leaf}"))
            })
            .collect()
    }

    /// The directory of the `n`-th issuer (0: the CA directory itself).
    pub(crate) fn dir_for(ca_dir: &Path, n: usize, key: KeyAlgorithm) -> PathBuf {
        if n == 0 {
            ca_dir.to_path_buf()
        } else {
            ca_dir.join(ISSUERS_DIR).join(key.as_str())
        }
    }

    /// The key id (hex of the SKI, as in the AKI of what it signs): how the store,
    /// the HTTP API (`/crl/ID`) and callers name this issuer.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// File stem of this issuer's CRL and certificate URLs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding its `ca.pem`, `chain.pem` and key.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether it signs with GOST.
    pub fn is_gost(&self) -> bool {
        self.gost
    }

    /// Its certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Its certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String> {
        crate::ca::pem(&self.cert_der, "CERTIFICATE")
    }

    /// The signer's description (algorithm, where the key lives; never key material).
    pub fn describe(&self) -> String {
        self.signer.describe()
    }

    /// Its key algorithm, as `init --key` spells it.
    pub fn algorithm(&self) -> Option<KeyAlgorithm> {
        KeyAlgorithm::of_key(self.signer.public_key())
    }

    /// Whether `name` names this issuer: its key id (hex, any case), its key
    /// algorithm as `init --key` spells it (`gost2015`, `rsa2048`, ...), or `gost`
    /// for a GOST issuer.
    pub fn is_named(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name)
            || self.algorithm().is_some_and(|a| a.as_str() == name)
            || (self.gost && name == "gost")
    }
}
