//! Reference NCA issuing certification authority.
//!
//! - [`Ca`]: a CA directory (`ca.pem`, `ca.key`, `config.json`, `ca.db`): issue, renew,
//!   confirm a renewal, revoke, CRL. Certificates follow the NCA profiles of [`tamga_nca`].
//! - [`CaSigner`]: the CA key behind a trait (a PKCS#8 key file today, a PKCS#11 token later).
//! - [`Store`]: SQLite store (WAL, synchronous FULL) with versioned migrations.
//! - [`server`]: the small HTTP API used by the `tamga` CLI's remote mode.
//! - [`mod@bench`]: throughput measurement against `openssl x509 -req`.

pub mod application;
pub mod bench;
mod ca;
pub mod config;
pub mod csr;
pub mod server;
pub mod signer;
pub mod store;

pub use application::{
    Application, ApplicationSignature, ConfirmRequest, RenewItem, RenewRequest, SignerRole,
};
pub use ca::{Ca, Confirmed, InitOptions, Issued, MAX_RENEW_ITEMS, RevocationReason, parse_serial};
pub use config::CaConfig;
pub use signer::{CaSigner, FileSigner, KeyAlgorithm};
pub use store::Store;

/// Everything that can go wrong in the CA; each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad applicant data or profile (IIN, BIN, names, profile name).
    #[error("{0}")]
    Nca(#[from] tamga_nca::Error),
    /// The request body is not a valid application.
    #[error("malformed request: {0}")]
    Json(String),
    /// The CSR cannot be decoded.
    #[error("malformed CSR: {0}")]
    Csr(String),
    /// The CSR signature does not verify with the key it carries.
    #[error("CSR signature does not verify (no proof of possession)")]
    CsrSignature,
    /// Key algorithm or size not allowed by the profile.
    #[error("key not allowed: {0}")]
    KeyNotAllowed(String),
    /// No certificate with this serial in the store.
    #[error("unknown serial {0}")]
    UnknownSerial(String),
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
    /// Request body over the limit.
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
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
            Error::Nca(_)
            | Error::Json(_)
            | Error::Csr(_)
            | Error::CsrSignature
            | Error::KeyNotAllowed(_)
            | Error::Renewal(_)
            | Error::Confirmation(_) => 400,
            Error::Unauthorized => 401,
            Error::UnknownSerial(_) => 404,
            Error::AlreadyRevoked(_) | Error::Conflict(_) => 409,
            Error::TooLarge(_) => 413,
            _ => 500,
        }
    }
}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
