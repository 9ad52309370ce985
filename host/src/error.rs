//! One error type for the host crate: every failure is a one-line message, and
//! its variant decides the exit code (`tamga --help`).

use tamga_spec::{Algorithm, Status, status};

/// What went wrong talking to a card or driving an operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No PC/SC service, or it failed.
    #[error("PC/SC: {0}")]
    Pcsc(String),
    /// No reader is connected.
    #[error("no smart card reader found (is pcscd running and a reader plugged in?)")]
    NoReader,
    /// No reader holds a card.
    #[error("no card in any reader ({0})")]
    NoCard(String),
    /// The reader selection matched nothing or more than one reader.
    #[error("reader {query:?} {problem}; readers: {readers}")]
    ReaderChoice {
        /// What the user asked for.
        query: String,
        /// "matches no reader" or "matches several readers".
        problem: &'static str,
        /// The readers present.
        readers: String,
    },
    /// Several readers hold a card and none was chosen.
    #[error("several readers hold a card, choose one with --card: {0}")]
    Ambiguous(String),
    /// The card was removed during the operation.
    #[error("the card was removed")]
    CardRemoved,
    /// The card was reset by another application during the operation.
    #[error("the card was reset by another application; try again")]
    CardReset,
    /// The emulated card could not be opened.
    #[error("emulated card {path}: {reason}")]
    Emulator {
        /// The state file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The card is not a PIV card.
    #[error("not a PIV card (SELECT answered {:04X})", .0.to_u16())]
    NotPiv(Status),
    /// A wrong PIN.
    #[error("wrong PIN, {0} {tries} left", tries = if *.0 == 1 { "try" } else { "tries" })]
    WrongPin(u8),
    /// A wrong PUK.
    #[error("wrong PUK, {0} {tries} left", tries = if *.0 == 1 { "try" } else { "tries" })]
    WrongPuk(u8),
    /// The PIN is blocked.
    #[error("PIN blocked: unblock it with the PUK (tamga pin unblock)")]
    PinBlocked,
    /// The PUK is blocked.
    #[error("PUK blocked: only a card RESET (erasing all keys) can recover the card")]
    PukBlocked,
    /// Management key authentication failed.
    #[error("management key authentication failed: wrong management key")]
    WrongManagementKey,
    /// The operation needs the PIN verified first.
    #[error("{op} with slot {slot:02X} needs the PIN{when}", when = if *.slot == 0x9C { " right before every signature" } else { "" })]
    NeedsPin {
        /// The operation.
        op: &'static str,
        /// The key slot (or 00 for a data object).
        slot: u8,
    },
    /// The operation needs the management key authenticated first.
    #[error("{0} needs the management key")]
    NeedsManagementKey(&'static str),
    /// The key slot holds no key.
    #[error("slot {0:02X} holds no key")]
    EmptySlot(u8),
    /// The card cannot make or use keys of this algorithm.
    #[error("this card cannot generate {0:?} keys")]
    Unsupported(Algorithm),
    /// The card has no room left for a data object.
    #[error("the card has no room for this object")]
    NoRoom,
    /// RESET refused: the PIN and PUK are not both blocked.
    #[error("RESET needs both the PIN and the PUK blocked")]
    ResetRefused,
    /// The card did not prove it holds the management key it accepted.
    #[error("the card failed to prove it holds the management key")]
    CardProof,
    /// Something the card made (a request, a signature) does not check out.
    #[error("the card's {0}")]
    BadCardOutput(String),
    /// The operating system's random number generator failed.
    #[error("OS random number generator: {0}")]
    Rng(String),
    /// A bad value given by the user (PIN format, key length, ...).
    #[error("{0}")]
    Invalid(String),
    /// A signature, certificate, CRL or request that does not check out.
    #[error("{0}")]
    Pki(#[from] tamga_pki::Error),
    /// The card answered an unexpected status word.
    #[error("{op}: card answered {sw:04X} ({meaning})", sw = .status.to_u16(), meaning = status::describe(*.status))]
    Card {
        /// The operation.
        op: &'static str,
        /// The status word.
        status: Status,
    },
    /// The card's answer could not be understood.
    #[error("{op}: malformed answer from the card")]
    Malformed {
        /// The operation.
        op: &'static str,
    },
    /// The certification authority refused, failed or could not be reached.
    #[error("{0}")]
    Ca(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error (documented in `tamga --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NoReader
            | Error::NoCard(_)
            | Error::ReaderChoice { .. }
            | Error::Ambiguous(_)
            | Error::Pcsc(_) => 3,
            Error::CardRemoved | Error::CardReset => 4,
            Error::WrongPin(_)
            | Error::WrongPuk(_)
            | Error::PinBlocked
            | Error::PukBlocked
            | Error::WrongManagementKey
            | Error::NeedsPin { .. }
            | Error::NeedsManagementKey(_) => 5,
            Error::Ca(_) => 6,
            Error::Invalid(_) | Error::Io { .. } | Error::Emulator { .. } | Error::Pki(_) => 7,
            Error::Card { .. }
            | Error::NotPiv(_)
            | Error::Malformed { .. }
            | Error::EmptySlot(_)
            | Error::Unsupported(_)
            | Error::NoRoom
            | Error::ResetRefused
            | Error::CardProof
            | Error::BadCardOutput(_) => 8,
            Error::Rng(_) => 1,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<pcsc::Error> for Error {
    fn from(e: pcsc::Error) -> Self {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
                Error::Pcsc("the PC/SC service (pcscd) is not running".into())
            }
            pcsc::Error::NoReadersAvailable => Error::NoReader,
            pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard => Error::CardRemoved,
            pcsc::Error::ResetCard => Error::CardReset,
            other => Error::Pcsc(other.to_string()),
        }
    }
}
