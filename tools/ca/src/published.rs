//! A CA directory opened without its keys: what the CA publishes (its
//! certificates, its CRLs) and its records, read only.

use std::path::Path;

use der::{DecodePem, Encode};
use tamga_pki::{CertRecord, Serial};
use x509_cert::Certificate;

use crate::ca::{DB_FILE, pem};
use crate::issuer::{CA_PEM, ISSUERS_DIR, key_id};
use crate::store::Store;
use crate::{Error, Result, now_unix};

/// One issuing key's certificate, as published.
struct Published {
    cert: Certificate,
    der: Vec<u8>,
    id: String,
}

/// A CA directory read without its keys; nothing is ever written.
pub struct PublishedCa {
    issuers: Vec<Published>,
    store: Store,
}

fn read_cert(path: &Path) -> Result<Published> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let cert = Certificate::from_pem(text.as_bytes())?;
    let id = hex::encode(key_id(cert.tbs_certificate().subject_public_key_info())?);
    Ok(Published {
        der: cert.to_der()?,
        cert,
        id,
    })
}

impl PublishedCa {
    /// Opens `dir` (`ca.pem`, `issuers/*/ca.pem`, `ca.db`) read-only.
    pub fn open(dir: &Path) -> Result<PublishedCa> {
        let mut issuers = vec![read_cert(&dir.join(CA_PEM))?];
        let more = dir.join(ISSUERS_DIR);
        if let Ok(entries) = std::fs::read_dir(&more) {
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path().join(CA_PEM)))
                .filter(|p| p.exists())
                .collect();
            paths.sort();
            for p in paths {
                issuers.push(read_cert(&p)?);
            }
        }
        let store = Store::open_read_only(&dir.join(DB_FILE))?;
        Ok(PublishedCa { issuers, store })
    }

    /// The first issuing key's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.issuers[0].cert
    }

    /// The first issuing key's certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String> {
        pem(&self.issuers[0].der, "CERTIFICATE")
    }

    /// Every issuing key's certificate, the first one first.
    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.issuers.iter().map(|i| &i.cert)
    }

    /// One certificate's record by serial.
    pub fn show(&self, serial: &Serial) -> Result<CertRecord> {
        Store::get(self.store.conn(), serial)?
            .map(|r| r.record)
            .ok_or_else(|| Error::UnknownSerial(serial.to_string()))
    }

    /// The latest CRL (DER) of the issuing key with key id `issuer` (hex), if it
    /// has not passed its nextUpdate; without the key a new one cannot be made,
    /// so an expired one is an error.
    pub fn current_crl(&self, issuer: &str) -> Result<Vec<u8>> {
        let id = issuer.to_ascii_lowercase();
        if !self.issuers.iter().any(|i| i.id == id) {
            return Err(Error::Config(format!(
                "no issuing key with key id {issuer}"
            )));
        }
        match self.store.latest_crl(&id)? {
            Some((_, next, der)) if next > now_unix() => Ok(der),
            Some((number, _, _)) => Err(Error::Config(format!(
                "the latest CRL (number {number}) has expired: issue a new one (tamga-ca crl)"
            ))),
            None => Err(Error::Config(
                "the CA has published no CRL: issue one (tamga-ca crl)".into(),
            )),
        }
    }
}
