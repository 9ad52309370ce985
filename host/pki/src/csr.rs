//! PKCS#10 requests: decoding (DER, PEM, bare Base64), proof of possession, key policy.

use crate::verify::{self, p256_key, rsa_key};
use crate::{Error, Result, oids};
use base64::Engine;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

/// Largest CSR accepted, in bytes of DER.
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// A request whose signature verified.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    /// The DER of the request.
    pub der: Vec<u8>,
    /// SHA-256 of the DER: the request hash used for idempotency.
    pub hash: [u8; 32],
    /// The applicant's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// "RSA-2048" or "P-256".
    pub key_desc: String,
}

/// Decodes PEM (`CERTIFICATE REQUEST`), DER or bare Base64 into DER.
pub fn decode_csr(input: &[u8]) -> Result<Vec<u8>> {
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Err(Error::Csr("empty".into()));
    }
    let der = if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) =
            pem_rfc7468::decode_vec(trimmed).map_err(|e| Error::Csr(format!("PEM: {e}")))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(Error::Csr(format!(
                "PEM label {label:?} is not CERTIFICATE REQUEST"
            )));
        }
        der
    } else if trimmed[0] == 0x30 {
        trimmed.to_vec()
    } else {
        let text: Vec<u8> = trimmed
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .map_err(|e| Error::Csr(format!("not PEM, DER or Base64 ({e})")))?
    };
    if der.len() > MAX_CSR_LEN {
        return Err(Error::Csr(format!("larger than {MAX_CSR_LEN} bytes")));
    }
    Ok(der)
}

/// Checks the key algorithm and size: RSA 2048 to 4096 bits (NCA norm: 2048),
/// P-256, or GOST (34.10-2015 512-bit, 34.310-2004) with a point on its curve.
pub fn check_key(spki: &SubjectPublicKeyInfoOwned) -> Result<String> {
    match spki.algorithm.oid {
        oids::RSA_ENCRYPTION => {
            let der = spki.to_der()?;
            let key = rsa_key(&der)?;
            let bits = rsa::traits::PublicKeyParts::n(&key).bit_width();
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(Error::KeyNotAllowed(format!(
                    "RSA key of {bits} bits (2048, 3072 or 4096 allowed)"
                )));
            }
            Ok(format!("RSA-{bits}"))
        }
        oids::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
            if curve != Some(oids::SECP256R1) {
                return Err(Error::KeyNotAllowed("EC key not on P-256".into()));
            }
            let der = spki.to_der()?;
            p256_key(&der)?;
            Ok("P-256".into())
        }
        oids::GOST_34310_KEY | oids::GOST_2015_512_KEY => {
            match crate::gost::PublicKey::from_spki(spki)?.map(|k| k.generation) {
                Some(crate::gost::Generation::Gost2004) => Ok("GOST 34.310-2004".into()),
                Some(crate::gost::Generation::Gost2015) => Ok("GOST 34.10-2015 512".into()),
                None => Err(Error::KeyNotAllowed("not a GOST key".into())),
            }
        }
        other => Err(Error::KeyNotAllowed(format!("key algorithm {other}"))),
    }
}

/// Decodes a CSR, checks the key policy and verifies its signature.
pub fn verify_csr(input: &[u8]) -> Result<VerifiedCsr> {
    let der = decode_csr(input)?;
    let req = CertReq::from_der(&der).map_err(|e| Error::Csr(e.to_string()))?;
    if req.to_der()? != der {
        return Err(Error::Csr("not DER-encoded".into()));
    }
    let key_desc = check_key(&req.info.public_key)?;
    let tbs = req.info.to_der()?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| Error::Csr("signature has unused bits".into()))?;
    verify::signature(&req.info.public_key, Some(&req.algorithm), &tbs, sig).map_err(
        |e| match e {
            Error::BadSignature => Error::CsrSignature,
            other => other,
        },
    )?;
    let hash: [u8; 32] = Sha256::digest(&der).into();
    Ok(VerifiedCsr {
        der,
        hash,
        public_key: req.info.public_key,
        key_desc,
    })
}
