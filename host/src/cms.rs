//! Detached CMS (PKCS#7) signatures made with a card key; their check is
//! `tamga_pki`'s. `openssl cms -verify -binary -content FILE` accepts what [`sign`] makes.

use std::time::SystemTime;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder, create_signing_time_attribute};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5911::ID_DATA;
use const_oid::db::rfc5912::ID_SHA_256;
use der::Encode;
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

pub use tamga_pki::cms::Verified;

/// Check a detached CMS signature over `content` against the CA certificate
/// `ca`, now (see [`tamga_pki::cms::verify_detached`]).
pub fn verify(sig: &[u8], content: &[u8], ca: &Certificate) -> Result<Verified> {
    Ok(tamga_pki::cms::verify_detached(
        sig,
        content,
        ca,
        SystemTime::now(),
    )?)
}
