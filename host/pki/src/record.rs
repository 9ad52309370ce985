//! What the CA tells of a certificate: its public record, and the answers of
//! issuance and renewal confirmation.

use crate::{RevocationReason, Serial};

/// Whether a certificate is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertStatus {
    /// Issued and not revoked (it may still have expired: see `not_after`).
    Valid,
    /// Revoked: on the CRL until it expires.
    Revoked,
}

impl CertStatus {
    /// Name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Revoked => "revoked",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<CertStatus> {
        [CertStatus::Valid, CertStatus::Revoked]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The CA's public record of one certificate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertRecord {
    /// Serial.
    pub serial: Serial,
    /// Profile name.
    pub profile: String,
    /// Subject DN (RFC 4514 text).
    pub subject: String,
    /// Holder IIN.
    pub iin: String,
    /// BIN for legal-entity employees.
    pub bin: Option<String>,
    /// Subject key identifier, hex.
    pub key_id: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Valid or revoked.
    pub status: CertStatus,
    /// Revocation time, Unix seconds.
    pub revoked_at: Option<i64>,
    /// Revocation reason.
    pub revocation_reason: Option<RevocationReason>,
    /// Serial of the certificate this one replaced.
    pub predecessor: Option<Serial>,
    /// When the renewal was confirmed and its predecessor superseded, Unix seconds
    /// (`None` for a first issue and for a renewal awaiting confirmation).
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    /// Certificate DER (sent as PEM beside the record).
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl CertRecord {
    /// A valid renewal whose predecessor is not superseded yet: issued, but not yet
    /// confirmed written to the card.
    pub fn awaiting_confirmation(&self) -> bool {
        self.status == CertStatus::Valid
            && self.predecessor.is_some()
            && self.confirmed_at.is_none()
    }

    /// Whether the certificate is valid and within its dates at `now` (Unix seconds).
    pub fn in_force(&self, now: i64) -> bool {
        self.status == CertStatus::Valid && self.not_before <= now && now < self.not_after
    }
}

/// A certificate returned by issuance or renewal.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Issued {
    /// Serial.
    pub serial: Serial,
    /// Profile name.
    pub profile: String,
    /// Certificate PEM.
    pub certificate: String,
    /// True when the request had been seen before and the stored certificate was returned.
    pub existing: bool,
    /// Certificate DER.
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// A renewal confirmed by the CA.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confirmed {
    /// Serial of the new certificate.
    pub serial: Serial,
    /// Serial of the certificate it superseded.
    pub predecessor: Serial,
    /// True when the renewal had been confirmed before and nothing changed.
    pub existing: bool,
}
