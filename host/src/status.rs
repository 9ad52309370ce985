//! What a status word means for the operation that got it: the one mapping from
//! (operation, status) to a typed [`Error`].

use tamga_spec::{Algorithm, KeyRef, Status};

use crate::error::Error;

/// An operation the host asks of the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// SELECT the PIV application.
    Select,
    /// GET VERSION.
    GetVersion,
    /// GET SERIAL.
    GetSerial,
    /// GET METADATA.
    GetMetadata,
    /// VERIFY the PIN.
    VerifyPin,
    /// CHANGE REFERENCE DATA of the PIN (`false`) or the PUK (`true`).
    Change {
        /// Whether the PUK is changed.
        puk: bool,
    },
    /// RESET RETRY COUNTER with the PUK.
    Unblock,
    /// Management key authentication, first step (the card's witness).
    MgmtWitness,
    /// Management key authentication, second step (the card's answer).
    MgmtResponse,
    /// SET MANAGEMENT KEY.
    SetManagementKey,
    /// SET PIN RETRIES.
    SetPinRetries,
    /// GENERATE ASYMMETRIC KEY PAIR.
    Generate(Algorithm),
    /// A private-key operation (sign, decrypt, ECDH) with a slot.
    UseKey {
        /// What is done: "sign", "decrypt", "ECDH".
        what: &'static str,
        /// The slot.
        slot: KeyRef,
    },
    /// GET DATA.
    GetData,
    /// PUT DATA.
    PutData,
    /// IMPORT KEY.
    Import,
    /// RESET the application.
    Reset,
}

impl Op {
    /// The operation's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Op::Select => "SELECT",
            Op::GetVersion => "GET VERSION",
            Op::GetSerial => "GET SERIAL",
            Op::GetMetadata => "GET METADATA",
            Op::VerifyPin => "VERIFY",
            Op::Change { .. } => "CHANGE REFERENCE DATA",
            Op::Unblock => "RESET RETRY COUNTER",
            Op::MgmtWitness | Op::MgmtResponse => "GENERAL AUTHENTICATE",
            Op::SetManagementKey => "SET MANAGEMENT KEY",
            Op::SetPinRetries => "SET PIN RETRIES",
            Op::Generate(_) => "GENERATE",
            Op::UseKey { what, .. } => what,
            Op::GetData => "GET DATA",
            Op::PutData => "PUT DATA",
            Op::Import => "IMPORT KEY",
            Op::Reset => "RESET",
        }
    }

    /// Whether the operation presents the PUK (else the PIN, if any).
    fn with_puk(self) -> bool {
        matches!(self, Op::Change { puk: true } | Op::Unblock)
    }

    /// Whether the operation presents a PIN or PUK.
    fn with_secret(self) -> bool {
        matches!(self, Op::VerifyPin | Op::Change { .. } | Op::Unblock)
    }

    /// Whether the operation needs the management key authenticated.
    fn administrative(self) -> bool {
        matches!(
            self,
            Op::SetManagementKey | Op::SetPinRetries | Op::Generate(_) | Op::PutData | Op::Import
        )
    }
}

/// The error for a status word other than success that `op` received.
pub fn error(op: Op, status: Status) -> Error {
    match (op, status) {
        (op, Status::RemainingRetries(n)) if op.with_secret() => match op.with_puk() {
            true => Error::WrongPuk(n),
            false => Error::WrongPin(n),
        },
        (op, Status::OperationBlocked) if op.with_secret() => match op.with_puk() {
            true => Error::PukBlocked,
            false => Error::PinBlocked,
        },
        (Op::Change { .. }, Status::IncorrectDataParameter) => {
            Error::Invalid("the card refused the new value (6 to 8 characters)".into())
        }
        (Op::MgmtWitness, Status::IncorrectP1OrP2Parameter)
        | (Op::MgmtResponse, Status::SecurityStatusNotSatisfied) => Error::WrongManagementKey,
        (op, Status::SecurityStatusNotSatisfied) if op.administrative() => {
            Error::NeedsManagementKey(op.name())
        }
        (Op::UseKey { what, slot }, Status::SecurityStatusNotSatisfied) => Error::NeedsPin {
            op: what,
            slot: slot.to_u8(),
        },
        (Op::GetData, Status::SecurityStatusNotSatisfied) => Error::NeedsPin {
            op: "reading this object",
            slot: 0,
        },
        (Op::UseKey { slot, .. }, Status::KeyReferenceNotFound) => Error::EmptySlot(slot.to_u8()),
        (Op::Generate(alg), Status::FunctionNotSupported) => Error::Unsupported(alg),
        (Op::PutData | Op::Import, Status::NotEnoughMemory) => Error::NoRoom,
        (Op::Reset, Status::ConditionsOfUseNotSatisfied) => Error::ResetRefused,
        (Op::Select, s) => Error::NotPiv(s),
        (op, status) => Error::Card {
            op: op.name(),
            status,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_follow_the_operation() {
        let sign = Op::UseKey {
            what: "sign",
            slot: KeyRef::Signature,
        };
        assert!(matches!(
            error(Op::VerifyPin, Status::RemainingRetries(2)),
            Error::WrongPin(2)
        ));
        assert!(matches!(
            error(Op::Unblock, Status::RemainingRetries(1)),
            Error::WrongPuk(1)
        ));
        assert!(matches!(
            error(Op::Change { puk: true }, Status::OperationBlocked),
            Error::PukBlocked
        ));
        assert!(matches!(
            error(sign, Status::SecurityStatusNotSatisfied),
            Error::NeedsPin { slot: 0x9C, .. }
        ));
        assert!(matches!(
            error(Op::PutData, Status::SecurityStatusNotSatisfied),
            Error::NeedsManagementKey("PUT DATA")
        ));
        assert!(matches!(
            error(sign, Status::KeyReferenceNotFound),
            Error::EmptySlot(0x9C)
        ));
        assert!(matches!(
            error(Op::MgmtWitness, Status::IncorrectP1OrP2Parameter),
            Error::WrongManagementKey
        ));
        // The same status word means something else for another operation.
        assert!(matches!(
            error(Op::GetData, Status::IncorrectP1OrP2Parameter),
            Error::Card { op: "GET DATA", .. }
        ));
        assert!(matches!(
            error(Op::Select, Status::NotFound),
            Error::NotPiv(Status::NotFound)
        ));
    }
}
