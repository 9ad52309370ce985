//! A CA directory opened without its key: what the CA publishes (its
//! certificate, its CRLs) and its records, read only.

use std::path::Path;

use der::{DecodePem, Encode};
use tamga_pki::{CertRecord, Serial};
use x509_cert::Certificate;

use crate::ca::{CA_PEM, DB_FILE, pem};
use crate::store::Store;
use crate::{Error, Result, now_unix};

/// A CA directory read without `ca.key`; nothing is ever written.
pub struct PublishedCa {
    cert: Certificate,
    cert_der: Vec<u8>,
    store: Store,
}

impl PublishedCa {
    /// Opens `dir` (`ca.pem`, `ca.db`) read-only.
    pub fn open(dir: &Path) -> Result<PublishedCa> {
        let pem_path = dir.join(CA_PEM);
        let text = std::fs::read_to_string(&pem_path).map_err(|e| Error::io(&pem_path, e))?;
        let cert = Certificate::from_pem(text.as_bytes())?;
        let cert_der = cert.to_der()?;
        let store = Store::open_read_only(&dir.join(DB_FILE))?;
        Ok(PublishedCa {
            cert,
            cert_der,
            store,
        })
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The CA certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String> {
        pem(&self.cert_der, "CERTIFICATE")
    }

    /// One certificate's record by serial.
    pub fn show(&self, serial: &Serial) -> Result<CertRecord> {
        Store::get(self.store.conn(), serial)?
            .map(|r| r.record)
            .ok_or_else(|| Error::UnknownSerial(serial.to_string()))
    }

    /// The latest CRL (DER), if it has not passed its nextUpdate; without the
    /// key a new one cannot be made, so an expired one is an error.
    pub fn current_crl(&self) -> Result<Vec<u8>> {
        match self.store.latest_crl()? {
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
