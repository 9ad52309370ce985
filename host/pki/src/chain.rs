//! Certificate-chain checks: a certificate issued by a CA, within its dates, and
//! the CA's revocation list.

use std::time::SystemTime;

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

use crate::{Error, Result, Serial, verify};

/// Checks that `issuer` names and signed `cert`.
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(Error::Chain(format!(
            "issued by {}, not by {}",
            cert.tbs_certificate().issuer(),
            issuer.tbs_certificate().subject()
        )));
    }
    let tbs = cert.tbs_certificate().to_der()?;
    verify::signature(
        issuer.tbs_certificate().subject_public_key_info(),
        Some(cert.signature_algorithm()),
        &tbs,
        cert.signature().raw_bytes(),
    )
    .map_err(|e| match e {
        Error::BadSignature => Error::Chain("the CA's signature does not verify".into()),
        other => other,
    })
}

/// Checks that `now` lies within `cert`'s validity.
pub fn valid_at(cert: &Certificate, now: SystemTime) -> Result<()> {
    let v = cert.tbs_certificate().validity();
    if now < v.not_before.to_system_time() {
        return Err(Error::Chain(format!("not valid before {}", v.not_before)));
    }
    if now >= v.not_after.to_system_time() {
        return Err(Error::Chain(format!("expired on {}", v.not_after)));
    }
    Ok(())
}

/// A CRL checked against its issuer.
#[derive(Clone, Debug)]
pub struct Crl {
    /// The serials it lists.
    pub revoked: Vec<Serial>,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate, when given.
    pub next_update: Option<SystemTime>,
}

impl Crl {
    /// Whether `serial` is listed.
    pub fn lists(&self, serial: &Serial) -> bool {
        self.revoked.contains(serial)
    }
}

/// Decodes a CRL (DER), checks that `issuer` issued and signed it, and lists its serials.
pub fn crl(der: &[u8], issuer: &Certificate) -> Result<Crl> {
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
        .map_err(|e| Error::Chain(format!("unreadable CRL: {e}")))?;
    let tbs = &crl.tbs_cert_list;
    if &tbs.issuer != issuer.tbs_certificate().subject() {
        return Err(Error::Chain(format!(
            "CRL issued by {}, not by the CA",
            tbs.issuer
        )));
    }
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| Error::Chain("CRL signature has unused bits".into()))?;
    verify::signature(
        issuer.tbs_certificate().subject_public_key_info(),
        Some(&crl.signature_algorithm),
        &tbs.to_der()?,
        sig,
    )
    .map_err(|e| match e {
        Error::BadSignature => Error::Chain("the CRL's signature does not verify".into()),
        other => other,
    })?;
    let revoked = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| Serial::from_bytes(r.serial_number.as_bytes()))
        .collect::<Result<_>>()?;
    Ok(Crl {
        revoked,
        this_update: tbs.this_update.to_system_time(),
        next_update: tbs.next_update.map(|t| t.to_system_time()),
    })
}
