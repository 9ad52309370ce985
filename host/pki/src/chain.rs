//! Certificate-chain checks: a certificate issued by a CA, within its dates, and
//! the CA's revocation list.

use std::time::SystemTime;

use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

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

/// The key identifier of a public key (RFC 5280 §4.2.1.2 method 1: SHA-1 of the
/// key's BIT STRING), as a CA puts it in its SKI and in the AKI of what it signs.
pub fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>> {
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())
        .map_err(|e| Error::Chain(format!("key identifier: {e}")))?;
    Ok(ski.0.as_bytes().to_vec())
}

/// The certificate among `cas` that issued and signed `cert`, if any: a CA with
/// several issuing keys (an RSA and a GOST one) publishes them all.
pub fn issuer_among<'a>(cert: &Certificate, cas: &'a [Certificate]) -> Option<&'a Certificate> {
    cas.iter().find(|ca| issued_by(cert, ca).is_ok())
}

/// Checks that `cert` is for signing documents: its key usage includes
/// nonRepudiation (contentCommitment), as the NCA's signing profiles have and
/// its authentication profiles do not. A signature by an authentication
/// certificate proves a login, not consent to a document.
pub fn signs_documents(cert: &Certificate) -> Result<()> {
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    let ku = cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(|e| Error::Chain(format!("key usage: {e}")))?
        .map(|(_, ku)| ku);
    match ku {
        Some(ku) if ku.0.contains(KeyUsages::NonRepudiation) => Ok(()),
        Some(_) => Err(Error::Chain(
            "the signer's certificate is an authentication certificate (no nonRepudiation): it does not sign documents".into(),
        )),
        None => Err(Error::Chain(
            "the signer's certificate has no key usage: it is not a document-signing certificate".into(),
        )),
    }
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

    /// Checks that the CRL speaks for `now`: thisUpdate ≤ now < nextUpdate (a
    /// CRL without nextUpdate is not trusted to be current). Otherwise the
    /// revocation status is unknown, and the error says so.
    pub fn current_at(&self, now: SystemTime) -> Result<()> {
        if self.this_update > now {
            return Err(Error::Chain(
                "revocation unknown: the CRL is dated in the future".into(),
            ));
        }
        match self.next_update {
            Some(next) if now < next => Ok(()),
            Some(_) => Err(Error::Chain(
                "revocation unknown: the CRL has passed its nextUpdate".into(),
            )),
            None => Err(Error::Chain(
                "revocation unknown: the CRL has no nextUpdate".into(),
            )),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_crl_speaks_only_between_its_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let hour = Duration::from_secs(3600);
        let crl = |this, next| Crl {
            revoked: vec![],
            this_update: this,
            next_update: next,
        };
        crl(t - hour, Some(t + hour)).current_at(t).unwrap();
        for (c, why) in [
            (crl(t - 2 * hour, Some(t - hour)), "passed its nextUpdate"),
            (crl(t + hour, Some(t + 2 * hour)), "in the future"),
            (crl(t - hour, None), "no nextUpdate"),
        ] {
            let e = c.current_at(t).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
