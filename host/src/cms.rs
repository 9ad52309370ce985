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

/// id-aa-signingCertificateV2 (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// The signingCertificateV2 attribute Kalkan writes: one ESSCertIDv2 with the
/// SHA-256 (the default hash, so left out) of the signer's certificate.
fn signing_certificate_v2(cert: &Certificate) -> Result<x509_cert::attr::Attribute> {
    use der::asn1::{OctetString, SetOfVec};
    #[derive(der::Sequence)]
    struct EssCertIdV2 {
        cert_hash: OctetString,
    }
    #[derive(der::Sequence)]
    struct SigningCertificateV2 {
        certs: Vec<EssCertIdV2>,
    }
    let hash = Sha256::digest(cert.to_der().map_err(cms_err)?);
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(hash.to_vec()).map_err(cms_err)?,
        }],
    };
    let any = der::Any::encode_from(&value).map_err(cms_err)?;
    Ok(x509_cert::attr::Attribute {
        oid: ID_AA_SIGNING_CERTIFICATE_V2,
        values: SetOfVec::try_from(vec![any]).map_err(cms_err)?,
    })
}

/// What a CMS signature covers.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// The content, left out of the signature (detached).
    Detached(&'a [u8]),
    /// The content, carried in the signature (attached).
    Attached(&'a [u8]),
    /// Only the content's digest by the signer's digest algorithm (SHA-256, or
    /// the GOST key's generation's); detached.
    Digest(&'a [u8]),
}

/// A detached CMS SignedData (DER) over `content`, signed on the card by
/// `signer`, carrying `cert` (the signer's certificate); see [`sign_content`].
pub fn sign<T: Transport>(
    signer: &CardSigner<'_, T>,
    cert: &Certificate,
    content: &[u8],
) -> Result<Vec<u8>> {
    sign_content(signer, cert, Content::Detached(content))
}

/// A CMS SignedData (DER) over `content`, signed on the card by `signer`,
/// carrying `cert` (the signer's certificate). The signed attributes are
/// Kalkan's: contentType, signingTime, signingCertificateV2, messageDigest;
/// the digest is SHA-256, or for a GOST key its generation's (Streebog-512,
/// GOST 34.311-95). A given digest of the wrong length is an error.
pub fn sign_content<T: Transport>(
    signer: &CardSigner<'_, T>,
    cert: &Certificate,
    content: Content<'_>,
) -> Result<Vec<u8>> {
    let hash = |m: &[u8]| -> Vec<u8> {
        match signer {
            CardSigner::Gost(s) => s.generation().digest(m),
            _ => Sha256::digest(m).to_vec(),
        }
    };
    let digest_alg = match signer {
        CardSigner::Gost(s) => AlgorithmIdentifierOwned {
            oid: s.generation().digest_oid(),
            parameters: Some(der::Any::null()),
        },
        _ => AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        },
    };
    let (digest, econtent) = match content {
        Content::Detached(c) => (hash(c), None),
        Content::Attached(c) => (
            hash(c),
            Some(
                der::Any::encode_from(&der::asn1::OctetString::new(c).map_err(cms_err)?)
                    .map_err(cms_err)?,
            ),
        ),
        Content::Digest(d) => {
            let want = hash(b"").len();
            if d.len() != want {
                return Err(Error::Invalid(format!(
                    "the digest has {} bytes; this key's digest algorithm gives {want}",
                    d.len()
                )));
            }
            (d.to_vec(), None)
        }
    };
    // The signer info always takes the digest from here (the builder hashes
    // only SHA-2 itself); the SignedData carries the content when attached.
    let eci = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent: None,
    };
    let carried = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent,
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    });
    let mut si =
        SignerInfoBuilder::new(sid, digest_alg.clone(), &eci, Some(&digest)).map_err(cms_err)?;
    si.add_signed_attribute(create_signing_time_attribute().map_err(cms_err)?)
        .map_err(cms_err)?;
    si.add_signed_attribute(signing_certificate_v2(cert)?)
        .map_err(cms_err)?;
    let mut sd = SignedDataBuilder::new(&carried);
    sd.add_digest_algorithm(digest_alg).map_err(cms_err)?;
    sd.add_certificate(CertificateChoices::Certificate(cert.clone()))
        .map_err(cms_err)?;
    let built = match signer {
        CardSigner::P256(s) => sd.add_signer_info::<_, p256::ecdsa::DerSignature>(si, s),
        CardSigner::Rsa(s) => sd.add_signer_info::<_, rsa::pkcs1v15::Signature>(si, s),
        CardSigner::Gost(s) => sd.add_signer_info::<_, tamga_pki::gost::Signature>(si, s),
    };
    built.map_err(|e| signer.take_error().unwrap_or_else(|| cms_err(e)))?;
    let ci = sd.build().map_err(cms_err)?;
    ci.to_der().map_err(cms_err)
}

pub use tamga_pki::cms::Verified;

/// Check a detached CMS signature over `content` against the CA's issuing
/// certificates `cas`, now (see [`tamga_pki::cms::verify_detached`]).
pub fn verify(sig: &[u8], content: &[u8], cas: &[Certificate]) -> Result<Verified> {
    Ok(tamga_pki::cms::verify_detached(
        sig,
        content,
        cas,
        SystemTime::now(),
    )?)
}
