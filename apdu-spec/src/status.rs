//! Status words: the [`iso7816::Status`] enum, plus the PIV meaning of each
//! status word Tamga returns.

pub use iso7816::Status;

/// Every status word the Tamga applet returns, for documentation and tests.
pub const RETURNED: [Status; 20] = [
    Status::Success,
    Status::MoreAvailable(0),
    Status::RemainingRetries(0),
    Status::MemoryFailure,
    Status::WrongLength,
    Status::LogicalChannelNotSupported,
    Status::SecureMessagingNotSupported,
    Status::LastCommandOfChainExpected,
    Status::SecurityStatusNotSatisfied,
    Status::OperationBlocked,
    Status::ConditionsOfUseNotSatisfied,
    Status::IncorrectDataParameter,
    Status::FunctionNotSupported,
    Status::NotFound,
    Status::NotEnoughMemory,
    Status::IncorrectP1OrP2Parameter,
    Status::KeyReferenceNotFound,
    Status::InstructionNotSupportedOrInvalid,
    Status::ClassNotSupported,
    Status::UnspecifiedCheckingError,
];

/// What a status word means for a PIV host, in one line.
pub fn describe(sw: Status) -> &'static str {
    match sw {
        Status::Success => "success",
        Status::MoreAvailable(_) => "more data available: send GET RESPONSE",
        Status::RemainingRetries(0) => "wrong PIN/PUK: blocked",
        Status::RemainingRetries(_) => {
            "wrong PIN/PUK, or not verified: tries left in the low nibble"
        }
        Status::MemoryFailure => "card memory failure: nothing was changed",
        Status::WrongLength => "wrong length",
        Status::LogicalChannelNotSupported => "logical channels not supported",
        Status::SecureMessagingNotSupported => "secure messaging not supported",
        Status::LastCommandOfChainExpected => "command chain broken: the chain was abandoned",
        Status::SecurityStatusNotSatisfied => {
            "security condition not satisfied: PIN or management key needed"
        }
        Status::OperationBlocked => "blocked: PIN/PUK has no tries left",
        Status::ConditionsOfUseNotSatisfied => "conditions of use not satisfied",
        Status::IncorrectDataParameter => "incorrect data in the command",
        Status::FunctionNotSupported => "function not supported by this card",
        Status::NotFound => "object or application not found",
        Status::NotEnoughMemory => "not enough memory on the card",
        Status::IncorrectP1OrP2Parameter => "incorrect P1 or P2",
        Status::KeyReferenceNotFound => "key reference not found (empty slot or unknown key)",
        Status::WrongParametersNoInfo => "wrong parameters",
        Status::InstructionNotSupportedOrInvalid => "instruction not supported",
        Status::ClassNotSupported => "class not supported",
        Status::UnspecifiedCheckingError => "checking error",
        Status::CommandNotAllowed => "command not allowed",
        _ => "unexpected status word",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_status_words_round_trip_and_are_described() {
        for sw in RETURNED {
            assert_eq!(Status::from_u16(sw.to_u16()), sw);
            assert_ne!(describe(sw), "unexpected status word", "{sw:?}");
        }
        assert_eq!(Status::from_u16(0x63C2), Status::RemainingRetries(2));
        assert_eq!(Status::RemainingRetries(2).to_u16(), 0x63C2);
    }
}
