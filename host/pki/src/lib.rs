//! The PKI of the Tamga CA and the `tamga` host: NCA profiles, the CA's API types,
//! and every signature check.
//!
//! - [`Iin`] / [`Bin`]: validated identification numbers (date, century or type digit,
//!   check digit).
//! - [`Applicant`]: the data of an application, with field and character-set checks.
//! - [`Profile`]: the individual and legal-entity profiles for the authentication and
//!   signature certificates, producing `x509_cert` names and extensions, and
//!   [`check_certificate`] to verify an issued certificate against them.
//! - [`oids`]: the Kazakh OIDs of the profiles and GOST (GOST is not implemented yet);
//!   the standard ones re-exported from `const_oid::db`.
//! - The CA's API: [`Application`], [`RenewRequest`], [`ConfirmRequest`] (what a host
//!   sends), [`Issued`], [`Confirmed`], [`CertRecord`] with [`CertStatus`] and
//!   [`RevocationReason`] (what the CA answers), [`Serial`] (a checked serial).
//! - Checks: [`verify::signature`] (the one signature verification), [`csr::verify_csr`]
//!   (proof of possession and key policy), [`chain`] (issued by, validity, CRL) and
//!   [`cms::verify_detached`] (a detached CMS signature).
//! - XML: [`c14n`] (Canonical XML 1.0) and [`xmldsig`] (the enveloped XML
//!   signature NCALayer makes: prepare, sign the SignedInfo, finish; and its check).

mod applicant;
pub mod application;
pub mod c14n;
pub mod chain;
pub mod cms;
pub mod csr;
pub mod gost;
mod id;
pub mod oids;
pub mod p12;
mod profile;
mod record;
mod revocation;
mod serial;
pub mod verify;
pub mod xmldsig;

pub use application::{
    Application, ApplicationSignature, ConfirmRequest, MAX_RENEW_ITEMS, MAX_REQUEST_LEN, RenewItem,
    RenewRequest, SignerRole,
};
pub use record::{CertRecord, CertStatus, Confirmed, Issued};
pub use revocation::RevocationReason;
pub use serial::{MAX_SERIAL_DIGITS, Serial};

pub use applicant::{
    Applicant, LegalEntity, MAX_EMAIL_LEN, MAX_NAME_LEN, MAX_ORG_LEN, MAX_PLACE_LEN, Role,
    check_email, check_person_name, check_phone, normalize_phone,
};
pub use id::{Bin, BinType, IdKind, Iin, Sex, check_digit};
pub use profile::{
    CertKind, Holder, Profile, ProfileName, check_certificate, extension, name_from_attributes,
    role_oid, subject_alt_name, subject_name,
};

/// Everything that can be wrong with NCA data; each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not 12 characters.
    #[error("{kind} must have 12 digits, got {got} characters")]
    IdLength {
        /// IIN or BIN.
        kind: IdKind,
        /// Number of characters given.
        got: usize,
    },
    /// A character that is not a digit.
    #[error("{kind} has a non-digit at position {position}")]
    IdNonDigit {
        /// IIN or BIN.
        kind: IdKind,
        /// 1-based position.
        position: usize,
    },
    /// Birth date (IIN) or registration month (BIN) lies in the future.
    #[error("{kind} has a date in the future {text}")]
    IdFutureDate {
        /// IIN or BIN.
        kind: IdKind,
        /// The date digits.
        text: String,
    },
    /// Birth date (IIN) or registration month (BIN) is not a date.
    #[error("{kind} has an invalid date {text}")]
    IdDate {
        /// IIN or BIN.
        kind: IdKind,
        /// The date digits.
        text: String,
    },
    /// IIN 7th digit not 1..=6.
    #[error("IIN century/sex digit must be 1 to 6, got {0}")]
    IinCenturyDigit(u8),
    /// BIN 5th digit not 4, 5 or 6.
    #[error("BIN type digit must be 4, 5 or 6, got {0}")]
    BinTypeDigit(u8),
    /// Wrong check digit.
    #[error("{kind} check digit expected {expected}, got {got}")]
    IdCheckDigit {
        /// IIN or BIN.
        kind: IdKind,
        /// Computed check digit.
        expected: u8,
        /// Digit found.
        got: u8,
    },
    /// The first 11 digits have no check digit.
    #[error("{kind} check digit is undefined for these digits")]
    IdCheckDigitUndefined {
        /// IIN or BIN.
        kind: IdKind,
    },
    /// A required field is missing or empty.
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    /// A field has a bad value.
    #[error("field {field}: {reason}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Profile name not known.
    #[error(
        "unknown profile {0:?} (known: individual-auth, individual-sign, legal-auth, legal-sign)"
    )]
    UnknownProfile(String),
    /// A certificate differs from its profile.
    #[error("certificate does not match profile: {0}")]
    ProfileMismatch(String),
    /// ASN.1 encoding or decoding failed.
    #[error("ASN.1: {0}")]
    Der(#[from] der::Error),
    /// The request body is not valid JSON of the expected shape.
    #[error("malformed request: {0}")]
    Json(String),
    /// Request body over the limit.
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// Not a certificate serial (hex, at most 42 digits).
    #[error("not a certificate serial: {0:?}")]
    BadSerial(String),
    /// The CSR cannot be decoded.
    #[error("malformed CSR: {0}")]
    Csr(String),
    /// The CSR signature does not verify with the key it carries.
    #[error("CSR signature does not verify (no proof of possession)")]
    CsrSignature,
    /// Key algorithm or size not allowed by the profile, or a malformed key.
    #[error("key not allowed: {0}")]
    KeyNotAllowed(String),
    /// A signature does not verify with the public key given.
    #[error("the signature does not verify")]
    BadSignature,
    /// A signed document's signature is not valid.
    #[error("signature not valid: {0}")]
    SignatureNotValid(String),
    /// A certificate or CRL does not chain to the CA, or is outside its dates.
    #[error("certificate chain: {0}")]
    Chain(String),
    /// An XML document that cannot be read, canonicalized or signed (not
    /// well-formed, a DTD, over a limit, …).
    #[error("XML: {0}")]
    Xml(String),
    /// Something this implementation does not do yet.
    #[error("not supported yet: {0}")]
    Unsupported(String),
}

/// Result with the crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
