//! The wire format of applications, renewal requests and renewal confirmations (JSON).
//!
//! An application carries the applicant data, the requested profile, the PKCS#10 request
//! (signed by the card: proof of possession) and a list of further signatures over
//! [`Application::signed_content`]: the operator's confirmation and, for a legal entity,
//! the head's approval. The CA stores those signatures with the request; checking them
//! against valid certificates with the right role is later work and needs no format or
//! schema change.

use crate::{Applicant, Error, ProfileName, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who put a signature on an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerRole {
    /// The service-centre operator, with the operator's own key.
    Operator,
    /// The head of the legal entity.
    Head,
    /// The applicant, with an existing key.
    Applicant,
}

impl SignerRole {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SignerRole::Operator => "operator",
            SignerRole::Head => "head",
            SignerRole::Applicant => "applicant",
        }
    }
}

/// One signature over [`Application::signed_content`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSignature {
    /// Who signed.
    pub role: SignerRole,
    /// The signer's certificate, Base64 DER or PEM.
    pub certificate: String,
    /// Signature algorithm OID (dotted), e.g. 1.2.840.113549.1.1.11.
    pub algorithm: String,
    /// The signature, Base64.
    pub signature: String,
}

/// A request for one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Requested profile: individual-auth, individual-sign, legal-auth, legal-sign.
    pub profile: ProfileName,
    /// The applicant (and legal entity).
    pub applicant: Applicant,
    /// PKCS#10 request: PEM, or Base64 of the DER.
    pub csr: String,
    /// Confirmations (operator, head); stored, not yet checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<ApplicationSignature>,
}

/// Largest application or renewal request accepted, in bytes of JSON.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// Most items in one renewal request, and most serials in one confirmation.
pub const MAX_RENEW_ITEMS: usize = 4;

/// Parses JSON of at most [`MAX_REQUEST_LEN`] bytes.
fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_REQUEST_LEN {
        return Err(Error::TooLarge(MAX_REQUEST_LEN));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Json(e.to_string()))
}

impl Application {
    /// Parses JSON (with a size limit) and checks the applicant fields.
    pub fn from_json(bytes: &[u8]) -> Result<Application> {
        let app: Application = from_json(bytes)?;
        app.applicant.validate()?;
        Ok(app)
    }

    /// The bytes the operator and head sign: a version line, the profile, the applicant
    /// JSON (canonical field order) and the SHA-256 of the CSR DER.
    pub fn signed_content(&self, csr_der: &[u8]) -> Result<Vec<u8>> {
        let applicant =
            serde_json::to_string(&self.applicant).map_err(|e| Error::Json(e.to_string()))?;
        Ok(format!(
            "tamga-application-v1\n{}\n{}\n{}\n",
            self.profile,
            applicant,
            hex::encode(Sha256::digest(csr_der))
        )
        .into_bytes())
    }
}

/// One certificate to renew: the old serial and the new request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewItem {
    /// Serial (hex) of the certificate being replaced.
    pub previous_serial: String,
    /// New PKCS#10 request: PEM or Base64 DER.
    pub csr: String,
}

/// Renewal: new requests signed by the holder's current, still valid key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// Serial (hex) of the valid certificate whose key signed this request.
    pub holder_serial: String,
    /// The certificates to replace.
    pub items: Vec<RenewItem>,
    /// Base64 signature over [`RenewRequest::signed_content`] by the holder key
    /// (RSA PKCS#1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256, DER).
    pub signature: String,
}

impl RenewRequest {
    /// Parses JSON, with a size limit.
    pub fn from_json(bytes: &[u8]) -> Result<RenewRequest> {
        from_json(bytes)
    }

    /// The bytes the holder signs, given the CSR DERs in item order.
    pub fn signed_content(holder_serial: &str, items: &[(&str, &[u8])]) -> Vec<u8> {
        let mut s = format!("tamga-renewal-v1\n{}\n", holder_serial.to_ascii_lowercase());
        for (prev, csr) in items {
            s.push_str(&format!(
                "{} {}\n",
                prev.to_ascii_lowercase(),
                hex::encode(Sha256::digest(csr))
            ));
        }
        s.into_bytes()
    }
}

/// Confirmation of renewals: the serials (hex) of the new certificates, sent once the host
/// has written them to the card and read them back; the CA then supersedes their predecessors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// Serials of the renewed certificates.
    pub serials: Vec<String>,
}

impl ConfirmRequest {
    /// Parses JSON, with a size limit.
    pub fn from_json(bytes: &[u8]) -> Result<ConfirmRequest> {
        from_json(bytes)
    }
}
