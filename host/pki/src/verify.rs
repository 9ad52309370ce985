//! Signature verification: the one place that checks a signature with a public key
//! (certificate requests, certificates, CRLs, CMS signatures).

use crate::{Error, Result, oids};
use der::Encode;
use sha2::{Sha256, Sha384, Sha512};
use signature::Verifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// The RSA key of a SubjectPublicKeyInfo (DER).
pub fn rsa_key(spki_der: &[u8]) -> Result<rsa::PublicKey> {
    use pkcs8::DecodePublicKey;
    rsa::PublicKey::from_public_key_der(spki_der)
        .map_err(|e| Error::KeyNotAllowed(format!("bad RSA key: {e}")))
}

/// The P-256 key of a SubjectPublicKeyInfo (DER).
pub fn p256_key(spki_der: &[u8]) -> Result<p256::ecdsa::VerifyingKey> {
    use pkcs8::DecodePublicKey;
    p256::ecdsa::VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| Error::KeyNotAllowed(format!("bad P-256 key: {e}")))
}

/// Verifies `sig` over `msg` with `spki` for the algorithm: sha256/384/512WithRSAEncryption
/// (PKCS#1 v1.5), ecdsa-with-SHA256 (DER signature), or the GOST signature of
/// the key's generation (r_le ‖ s_le, [`crate::gost`]). A `None` algorithm means
/// the default for the key: SHA-256 with PKCS#1 v1.5, ECDSA, or the GOST one.
pub fn signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: Option<&AlgorithmIdentifierOwned>,
    msg: &[u8],
    sig: &[u8],
) -> Result<()> {
    let der = spki.to_der()?;
    let bad = |_| Error::BadSignature;
    let alg_oid = alg.map(|a| a.oid);
    match spki.algorithm.oid {
        oids::RSA_ENCRYPTION => {
            let key = rsa_key(&der)?;
            let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(bad)?;
            match alg_oid.unwrap_or(oids::SHA256_WITH_RSA) {
                oids::SHA256_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                    .verify(msg, &s)
                    .map_err(bad),
                oids::SHA384_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<Sha384>::new(key)
                    .verify(msg, &s)
                    .map_err(bad),
                oids::SHA512_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<Sha512>::new(key)
                    .verify(msg, &s)
                    .map_err(bad),
                other => Err(Error::KeyNotAllowed(format!(
                    "signature algorithm {other} with an RSA key"
                ))),
            }
        }
        oids::EC_PUBLIC_KEY => {
            let key = p256_key(&der)?;
            if alg_oid.unwrap_or(oids::ECDSA_WITH_SHA256) != oids::ECDSA_WITH_SHA256 {
                return Err(Error::KeyNotAllowed(
                    "only ecdsa-with-SHA256 for P-256".into(),
                ));
            }
            let s = p256::ecdsa::DerSignature::try_from(sig).map_err(bad)?;
            key.verify(msg, &s).map_err(bad)
        }
        oid => match crate::gost::PublicKey::from_spki(spki)? {
            Some(key) => {
                let g = key.generation;
                if !alg_oid.is_none_or(|a| g.signs_with(&a)) {
                    return Err(Error::KeyNotAllowed(format!(
                        "signature algorithm {} with a {g:?} key",
                        alg_oid.unwrap_or(oid)
                    )));
                }
                key.verify(msg, sig)
            }
            None => Err(Error::KeyNotAllowed(format!("key algorithm {oid}"))),
        },
    }
}
