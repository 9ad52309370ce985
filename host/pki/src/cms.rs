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

/// Checks a detached CMS signature over `content`: the message digest, the
/// signature by the carried certificate's key, and that certificate's
/// signature by `ca` and its validity at `now`.
pub fn verify_detached(
    sig: &[u8],
    content: &[u8],
    ca: &Certificate,
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
    let alg = (si.signature_algorithm.oid != RSA_ENCRYPTION).then_some(&si.signature_algorithm);
    verify::signature(spki, alg, &signed, si.signature.as_bytes())
        .map_err(|_| bad("the signature does not verify with the signer's key"))?;
    chain::issued_by(&cert, ca)
        .map_err(|_| bad("the signer's certificate is not issued by this CA"))?;
    chain::valid_at(&cert, now).map_err(|_| bad("the signer's certificate is not valid now"))?;
    Ok(Verified {
        signer: cert.tbs_certificate().subject().to_string(),
        serial: Serial::from_bytes(cert.tbs_certificate().serial_number().as_bytes())?,
        certificate: cert.to_der().map_err(|_| bad("certificate"))?,
    })
}
