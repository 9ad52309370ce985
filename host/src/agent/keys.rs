//! What pages see of a key and how they choose one: getKeyInfo's fields, and
//! `signerParams` (extended key usage and policy OIDs, IIN, BIN, serial, chain).

use std::time::SystemTime;

use der::asn1::{ObjectIdentifier, PrintableStringRef, Utf8StringRef};
use der::{Decode, DecodePem, Encode};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, CertificatePolicies, ExtendedKeyUsage, SubjectKeyIdentifier,
};
use x509_cert::name::Name;

use super::token::Key;
use crate::piv::PublicKey;
use tamga_pki::oids;

/// The first value of attribute `oid` in `name`, as text.
pub fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.iter().find_map(|atv| {
        if atv.oid != oid {
            return None;
        }
        let der = atv.value.to_der().ok()?;
        Utf8StringRef::from_der(&der)
            .map(|s| s.as_str().to_string())
            .or_else(|_| PrintableStringRef::from_der(&der).map(|s| s.as_str().to_string()))
            .ok()
    })
}

/// The holder's name for dialogs: the subject CN, else the whole DN.
pub fn holder(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate().subject();
    attribute(subject, oids::COMMON_NAME).unwrap_or_else(|| subject.to_string())
}

/// The OIDs a page may ask for: extended key usages and certificate policies.
fn usage_oids(cert: &Certificate) -> Vec<ObjectIdentifier> {
    let tbs = cert.tbs_certificate();
    let mut v: Vec<ObjectIdentifier> = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => eku.0,
        _ => Vec::new(),
    };
    if let Ok(Some((_, policies))) = tbs.get_extension::<CertificatePolicies>() {
        v.extend(policies.0.into_iter().map(|p| p.policy_identifier));
    }
    v
}

/// The key id NCALayer reports: the certificate's SKI, else the SHA-1 of the key.
fn key_id(cert: &Certificate) -> String {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<SubjectKeyIdentifier>() {
        Ok(Some((_, ski))) => hex::encode(ski.0.as_bytes()),
        _ => hex::encode(Sha1::digest(
            tbs.subject_public_key_info().subject_public_key.raw_bytes(),
        )),
    }
}

/// A serial in hex without leading zeros, lower case (as Java prints a BigInteger).
fn serial_hex(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    let t = h.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

fn millis(t: &x509_cert::time::Time) -> String {
    (t.to_unix_duration().as_millis()).to_string()
}

/// getKeyInfo's answer for a key.
pub fn key_info(key: &Key) -> Value {
    let tbs = key.cert.tbs_certificate();
    let algorithm = match &key.public {
        PublicKey::Rsa { .. } => "RSA",
        PublicKey::P256(_) => "EC",
        PublicKey::Gost { alg, .. } if *alg == tamga_spec::Algorithm::Gost2004 => "ECGOST34310",
        PublicKey::Gost { .. } => "ECGOST3410-2015-512",
    };
    let aki = match tbs.get_extension::<AuthorityKeyIdentifier>() {
        Ok(Some((_, a))) => a.key_identifier.map(|k| hex::encode(k.as_bytes())),
        _ => None,
    };
    let pem = der::EncodePem::to_pem(&key.cert, der::pem::LineEnding::LF).unwrap_or_default();
    let id = key_id(&key.cert);
    json!({
        "alias": id,
        "keyId": id,
        "algorithm": algorithm,
        "subjectCn": attribute(tbs.subject(), oids::COMMON_NAME),
        "subjectDn": tbs.subject().to_string(),
        "issuerCn": attribute(tbs.issuer(), oids::COMMON_NAME),
        "issuerDn": tbs.issuer().to_string(),
        "serialNumber": serial_hex(tbs.serial_number().as_bytes()),
        "certNotBefore": millis(&tbs.validity().not_before),
        "certNotAfter": millis(&tbs.validity().not_after),
        "authorityKeyIdentifier": aki,
        "pem": pem,
    })
}

/// What `signerParams` asks of the certificate.
#[derive(Debug, Default)]
pub struct Wanted {
    /// Every one of these must be an extended key usage or policy of it.
    pub oids: Vec<ObjectIdentifier>,
    /// The holder's IIN (subject SERIALNUMBER `IIN…`).
    pub iin: Option<String>,
    /// The legal entity's BIN (subject OU `BIN…`).
    pub bin: Option<String>,
    /// The certificate's serial (hex).
    pub serial: Option<String>,
    /// CA certificates it must be issued by (`None`: any; NCALayer's
    /// "only valid NCA certificates" needs the NCA roots, not bundled yet).
    pub chain: Option<Vec<Certificate>>,
}

impl Wanted {
    /// Reads `signerParams` (absent or `null`: anything).
    pub fn parse(v: &Value) -> Result<Wanted, String> {
        if v.is_null() {
            return Ok(Wanted::default());
        }
        let obj = v.as_object().ok_or("signerParams is not an object")?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("signerParams.{name} is not a string")),
            }
        };
        let mut w = Wanted {
            iin: text("iin")?,
            bin: text("bin")?,
            serial: text("serialNumber")?,
            ..Wanted::default()
        };
        match obj.get("extKeyUsageOids") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for o in list {
                    let s = o.as_str().ok_or("extKeyUsageOids holds a non-string")?;
                    w.oids.push(
                        s.parse()
                            .map_err(|_| format!("extKeyUsageOids: {s:?} is not an OID"))?,
                    );
                }
            }
            Some(_) => return Err("extKeyUsageOids is not an array".into()),
        }
        match obj.get("chain") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                let mut certs = Vec::new();
                for c in list {
                    let s = c.as_str().ok_or("chain holds a non-string")?;
                    let cert = Certificate::from_pem(s.as_bytes())
                        .map_err(|e| format!("chain: not a PEM certificate ({e})"))?;
                    certs.push(cert);
                }
                w.chain = (!certs.is_empty()).then_some(certs);
            }
            Some(_) => return Err("chain is not an array".into()),
        }
        Ok(w)
    }

    /// Why `cert` does not fit, or `None` when it does (and is valid now).
    pub fn refuses(&self, cert: &Certificate) -> Option<String> {
        let tbs = cert.tbs_certificate();
        if tamga_pki::chain::valid_at(cert, SystemTime::now()).is_err() {
            return Some("the certificate is not valid now".into());
        }
        let usages = usage_oids(cert);
        if let Some(missing) = self.oids.iter().find(|o| !usages.contains(o)) {
            return Some(format!("the certificate lacks {missing}"));
        }
        let subject = tbs.subject();
        if let Some(iin) = &self.iin
            && attribute(subject, oids::SERIAL_NUMBER).as_deref() != Some(&format!("IIN{iin}"))
        {
            return Some(format!("the certificate is not for IIN {iin}"));
        }
        if let Some(bin) = &self.bin
            && attribute(subject, oids::ORGANIZATIONAL_UNIT).as_deref()
                != Some(&format!("BIN{bin}"))
        {
            return Some(format!("the certificate is not for BIN {bin}"));
        }
        if let Some(s) = &self.serial
            && !serial_hex(tbs.serial_number().as_bytes()).eq_ignore_ascii_case(
                match s.trim_start_matches('0') {
                    "" => "0",
                    t => t,
                },
            )
        {
            return Some(format!("the certificate's serial is not {s}"));
        }
        if let Some(chain) = &self.chain
            && tamga_pki::chain::issuer_among(cert, chain).is_none()
        {
            return Some("the certificate is not issued by a CA in signerParams.chain".into());
        }
        None
    }
}
