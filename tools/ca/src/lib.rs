//! Reference NCA issuing certification authority.
//!
//! - [`Ca`]: a CA directory (`ca.pem`, `ca.key`, `config.json`, `ca.db`): issue, renew,
//!   confirm a renewal, revoke, CRL. Certificates follow the NCA profiles of [`tamga_pki`],
//!   which also defines the API types ([`Application`], [`Issued`], [`CertRecord`], ...)
//!   and every signature check; they are re-exported here.
//! - [`Issuer`]: one issuing key and its certificate; a CA holds one, or an RSA or
//!   P-256 key and a GOST key side by side as the NCA does.
//! - [`CaSigner`]: the CA key behind a trait (a PKCS#8 key file today, a PKCS#11 token later).
//! - [`Store`]: SQLite store (WAL, synchronous FULL) with versioned migrations.
//! - [`server`]: the small HTTP API used by the `tamga` CLI's remote mode.
//! - [`mod@bench`]: throughput measurement against `openssl x509 -req`.

pub mod bench;
mod ca;
pub mod config;
mod issuer;
mod published;
pub mod server;
pub mod signer;
pub mod store;

pub use ca::{Ca, InitOptions};
pub use config::CaConfig;
pub use issuer::{Issuer, is_gost};
pub use published::PublishedCa;
pub use signer::{CaSigner, FileSigner, KeyAlgorithm};
pub use store::Store;
pub use tamga_pki::{
    Application, ApplicationSignature, CertRecord, CertStatus, ConfirmRequest, Confirmed, Issued,
    MAX_RENEW_ITEMS, RenewItem, RenewRequest, RevocationReason, Serial, SignerRole,
};

/// Everything that can go wrong in the CA; each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad request: applicant data or profile (IIN, BIN, names, profile name), JSON,
    /// CSR, key policy, signature, serial, size.
    #[error("{0}")]
    Pki(#[from] tamga_pki::Error),
    /// No certificate with this serial in the store.
    #[error("unknown serial {0}")]
    UnknownSerial(String),
    /// No issuing key by this key id or algorithm.
    #[error("no issuing key {0}")]
    UnknownIssuer(String),
    /// Revocation of a certificate that is already revoked.
    #[error("certificate {0} is already revoked")]
    AlreadyRevoked(String),
    /// The request conflicts with what the store holds.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A renewal request is not acceptable.
    #[error("renewal refused: {0}")]
    Renewal(String),
    /// A renewal confirmation is not acceptable.
    #[error("confirmation refused: {0}")]
    Confirmation(String),
    /// Missing or wrong operator token.
    #[error("operator authentication required")]
    Unauthorized,
    /// Bad CA configuration or directory.
    #[error("configuration: {0}")]
    Config(String),
    /// File system error, with the path.
    #[error("{path}: {source}")]
    Io {
        /// File or directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// SQLite error.
    #[error("store: {0}")]
    Db(#[from] rusqlite::Error),
    /// ASN.1 encoding error.
    #[error("ASN.1: {0}")]
    Der(#[from] der::Error),
    /// Cryptographic operation failed (key generation, signing).
    #[error("crypto: {0}")]
    Crypto(String),
    /// An external tool (openssl in the bench) failed.
    #[error("external tool: {0}")]
    Tool(String),
}

impl Error {
    /// Attaches a path to an I/O error.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// HTTP status code for this error in the API.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Pki(tamga_pki::Error::TooLarge(_)) => 413,
            Error::Pki(tamga_pki::Error::BadSerial(_))
            | Error::UnknownSerial(_)
            | Error::UnknownIssuer(_) => 404,
            Error::Pki(_) | Error::Renewal(_) | Error::Confirmation(_) => 400,
            Error::Unauthorized => 401,
            Error::AlreadyRevoked(_) | Error::Conflict(_) => 409,
            _ => 500,
        }
    }
}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A malformed JSON body or answer.
    pub fn json(e: impl std::fmt::Display) -> Error {
        Error::Pki(tamga_pki::Error::Json(e.to_string()))
    }

    /// A body over `limit` bytes.
    pub fn too_large(limit: usize) -> Error {
        Error::Pki(tamga_pki::Error::TooLarge(limit))
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
