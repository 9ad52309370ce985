//! Detached CMS (PKCS#7) SignedData: the check of a signature over a file.

use std::time::SystemTime;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::db::rfc5911::{ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ID_SHA_256, RSA_ENCRYPTION};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::{Error, Result, Serial, chain, verify};

/// What a checked signature says.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verified {
    /// The signer's subject.
    pub signer: String,
    /// The signer certificate's serial.
    pub serial: Serial,
    /// The signer certificate (DER), to check its revocation.
    #[serde(skip)]
    pub certificate: Vec<u8>,
}

/// The digest of `content` by the signer's digest algorithm: SHA-256, or the
/// GOST digest of the signer key's own generation (`None`: another one).
fn content_digest(
    alg: &der::asn1::ObjectIdentifier,
    cert: &Certificate,
    content: &[u8],
) -> Option<Vec<u8>> {
    if *alg == ID_SHA_256 {
        return Some(Sha256::digest(content).to_vec());
    }
    let key = crate::gost::PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info())
        .ok()??;
    (key.generation.digest_oid() == *alg).then(|| key.generation.digest(content))
}

/// Checks a detached CMS signature over `content`: the message digest, the
/// signature by the carried certificate's key, and that certificate's
/// signature by one of `cas` (a CA's issuing certificates: an RSA one and a
/// GOST one, say) and its validity at `now`. RSA and P-256 signers use
/// SHA-256; GOST signers their generation's digest (Streebog-512 or GOST
/// 34.311-95), as Kalkan writes them.
pub fn verify_detached(
    sig: &[u8],
    content: &[u8],
    cas: &[Certificate],
    now: SystemTime,
) -> Result<Verified> {
    verify(sig, Some(content), cas, now)
}

/// Checks a CMS signature over its encapsulated content (an attached
/// signature, or a timestamp token's TSTInfo), as [`verify_detached`] does.
pub fn verify_attached(sig: &[u8], cas: &[Certificate], now: SystemTime) -> Result<Verified> {
    verify(sig, None, cas, now)
}

fn verify(
    sig: &[u8],
    detached: Option<&[u8]>,
    cas: &[Certificate],
    now: SystemTime,
) -> Result<Verified> {
    let bad = |what: &str| Error::SignatureNotValid(what.to_string());
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
    let encapsulated = sd
        .encap_content_info
        .econtent
        .as_ref()
        .map(|c| c.decode_as::<der::asn1::OctetString>())
        .transpose()
        .map_err(|_| bad("encapsulated content is not an OCTET STRING"))?;
    let content = match (detached, &encapsulated) {
        (Some(c), None) => c,
        (None, Some(e)) => e.as_bytes(),
        (Some(_), Some(_)) => return Err(bad("the signature is attached, not detached")),
        (None, None) => return Err(bad("the signature carries no content")),
    };
    let digest = content_digest(&si.digest_alg.oid, &cert, content)
        .ok_or_else(|| bad("digest is neither SHA-256 nor the GOST digest of the signer's key"))?;
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
    if md.as_bytes() != digest.as_slice() {
        return Err(bad(
            "the file does not match the signature (message digest differs)",
        ));
    }
    let signed = attrs.to_der().map_err(|_| bad("signed attributes"))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    // RSA signers may name rsaEncryption instead of sha256WithRSAEncryption.
    let alg = (si.signature_algorithm.oid != RSA_ENCRYPTION).then_some(&si.signature_algorithm);
    verify::signature(spki, alg, &signed, si.signature.as_bytes())
        .map_err(|_| bad("the signature does not verify with the signer's key"))?;
    trusted_signer(&cert, cas, now)
}

/// What a signature whose value verified says, once its signer's certificate
/// is checked: issued by one of `cas` and valid at `now`.
pub(crate) fn trusted_signer(
    cert: &Certificate,
    cas: &[Certificate],
    now: SystemTime,
) -> Result<Verified> {
    let bad = |what: &str| Error::SignatureNotValid(what.to_string());
    chain::issuer_among(cert, cas)
        .ok_or_else(|| bad("the signer's certificate is not issued by this CA"))?;
    chain::valid_at(cert, now).map_err(|_| bad("the signer's certificate is not valid now"))?;
    Ok(Verified {
        signer: cert.tbs_certificate().subject().to_string(),
        serial: Serial::from_bytes(cert.tbs_certificate().serial_number().as_bytes())?,
        certificate: cert.to_der().map_err(|_| bad("certificate"))?,
    })
}
