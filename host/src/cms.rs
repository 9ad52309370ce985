//! Detached CMS (PKCS#7) signatures made with a card key, and their check.
//! `openssl cms -verify -binary -content FILE` accepts what [`sign`] makes.

use std::time::SystemTime;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder, create_signing_time_attribute};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier};
use const_oid::db::rfc5911::{ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::ID_SHA_256;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use crate::error::{Error, Result};
use crate::signer::CardSigner;
use crate::transport::Transport;

fn cms_err(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("CMS: {e}"))
}

/// A detached CMS SignedData (DER) over `content`, signed on the card by
/// `signer`, carrying `cert` (the signer's certificate).
pub fn sign<T: Transport>(
    signer: &CardSigner<'_, T>,
    cert: &Certificate,
    content: &[u8],
) -> Result<Vec<u8>> {
    let digest = Sha256::digest(content);
    let eci = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent: None,
    };
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    });
    let mut si =
        SignerInfoBuilder::new(sid, sha256.clone(), &eci, Some(&digest)).map_err(cms_err)?;
    si.add_signed_attribute(create_signing_time_attribute().map_err(cms_err)?)
        .map_err(cms_err)?;
    let mut sd = SignedDataBuilder::new(&eci);
    sd.add_digest_algorithm(sha256).map_err(cms_err)?;
    sd.add_certificate(CertificateChoices::Certificate(cert.clone()))
        .map_err(cms_err)?;
    let built = match signer {
        CardSigner::P256(s) => sd.add_signer_info::<_, p256::ecdsa::DerSignature>(si, s),
        CardSigner::Rsa(s) => sd.add_signer_info::<_, rsa::pkcs1v15::Signature>(si, s),
    };
    built.map_err(|e| signer.take_error().unwrap_or_else(|| cms_err(e)))?;
    let ci = sd.build().map_err(cms_err)?;
    ci.to_der().map_err(cms_err)
}

/// What a checked signature says.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verified {
    /// The signer's subject.
    pub signer: String,
    /// The signer certificate's serial (hex).
    pub serial: String,
    /// The signer certificate (DER), to check its revocation.
    #[serde(skip)]
    pub certificate: Vec<u8>,
}

/// Check a detached CMS signature over `content`: the message digest, the
/// signature by the carried certificate's key, and that certificate's
/// signature by `ca` and its validity now.
pub fn verify(sig: &[u8], content: &[u8], ca: &Certificate) -> Result<Verified> {
    let bad = |what: &str| Error::Invalid(format!("signature not valid: {what}"));
    let ci = ContentInfo::from_der(sig).map_err(|_| bad("not a DER CMS ContentInfo"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(bad("not SignedData"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|_| bad("malformed SignedData"))?;
    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| bad("no signer"))?;
    let SignerIdentifier::IssuerAndSerialNumber(isn) = &si.sid else {
        return Err(bad("signer identified by key id (unsupported)"));
    };
    let cert = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|c| match c {
            CertificateChoices::Certificate(c)
                if c.tbs_certificate().serial_number() == &isn.serial_number
                    && c.tbs_certificate().issuer() == &isn.issuer =>
            {
                Some(c.clone())
            }
            _ => None,
        })
        .ok_or_else(|| bad("the signer's certificate is not included"))?;
    if si.digest_alg.oid != ID_SHA_256 {
        return Err(bad("digest is not SHA-256"));
    }
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("no signed attributes"))?;
    let md = attrs
        .iter()
        .find(|a| a.oid == ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
        .ok_or_else(|| bad("no message digest"))?;
    if md.as_bytes() != Sha256::digest(content).as_slice() {
        return Err(bad(
            "the file does not match the signature (message digest differs)",
        ));
    }
    let signed = attrs.to_der().map_err(|_| bad("signed attributes"))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    // RSA signers may name rsaEncryption instead of sha256WithRSAEncryption.
    let alg = (si.signature_algorithm.oid != const_oid::db::rfc5912::RSA_ENCRYPTION)
        .then_some(&si.signature_algorithm);
    tamga_ca::csr::verify_signature(spki, alg, &signed, si.signature.as_bytes())
        .map_err(|_| bad("the signature does not verify with the signer's key"))?;
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|_| bad("certificate"))?;
    tamga_ca::csr::verify_signature(
        ca.tbs_certificate().subject_public_key_info(),
        Some(cert.signature_algorithm()),
        &tbs,
        cert.signature().raw_bytes(),
    )
    .map_err(|_| bad("the signer's certificate is not issued by this CA"))?;
    let v = cert.tbs_certificate().validity();
    let now = SystemTime::now();
    if now < v.not_before.to_system_time() || now >= v.not_after.to_system_time() {
        return Err(bad("the signer's certificate is not valid now"));
    }
    Ok(Verified {
        signer: cert.tbs_certificate().subject().to_string(),
        serial: crate::certinfo::serial_hex(cert.tbs_certificate().serial_number().as_bytes()),
        certificate: cert.to_der().map_err(|_| bad("certificate"))?,
    })
}
