//! Instruction bytes.

/// Every instruction the Tamga applet answers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Ins {
    /// SELECT (ISO 7816-4).
    Select = 0xA4,
    /// GET DATA: read a data object.
    GetData = 0xCB,
    /// PUT DATA: write a data object (management key).
    PutData = 0xDB,
    /// VERIFY: present the PIN, query its state, or reset it (P1 = FF).
    Verify = 0x20,
    /// CHANGE REFERENCE DATA: change the PIN or the PUK.
    ChangeReference = 0x24,
    /// RESET RETRY COUNTER: unblock the PIN with the PUK.
    ResetRetryCounter = 0x2C,
    /// GENERAL AUTHENTICATE: management key authentication, sign, decrypt, ECDH.
    GeneralAuthenticate = 0x87,
    /// GENERATE ASYMMETRIC KEY PAIR.
    GenerateAsymmetric = 0x47,
    /// GET RESPONSE: the next part of a long response.
    GetResponse = 0xC0,
    /// YubiKey extension: firmware version (compatibility level).
    GetVersion = 0xFD,
    /// YubiKey extension: card serial number.
    GetSerial = 0xF8,
    /// YubiKey extension: metadata of a key or PIN.
    GetMetadata = 0xF7,
    /// YubiKey extension: set the management key.
    SetManagementKey = 0xFF,
    /// YubiKey extension: set the PIN and PUK retry counts.
    SetPinRetries = 0xFA,
    /// YubiKey extension: reset the application (PIN and PUK blocked only).
    Reset = 0xFB,
    /// YubiKey extension: import a private key.
    ImportKey = 0xFE,
    /// YubiKey extension: attest a generated key.
    Attest = 0xF9,
}

impl Ins {
    /// Every instruction, in the order of CARD-EDGE.md.
    pub const ALL: [Ins; 17] = [
        Ins::Select,
        Ins::GetData,
        Ins::PutData,
        Ins::Verify,
        Ins::ChangeReference,
        Ins::ResetRetryCounter,
        Ins::GeneralAuthenticate,
        Ins::GenerateAsymmetric,
        Ins::GetResponse,
        Ins::GetVersion,
        Ins::GetSerial,
        Ins::GetMetadata,
        Ins::SetManagementKey,
        Ins::SetPinRetries,
        Ins::Reset,
        Ins::ImportKey,
        Ins::Attest,
    ];

    /// The instruction byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// A short upper-case name, as CARD-EDGE.md spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Ins::Select => "SELECT",
            Ins::GetData => "GET DATA",
            Ins::PutData => "PUT DATA",
            Ins::Verify => "VERIFY",
            Ins::ChangeReference => "CHANGE REFERENCE DATA",
            Ins::ResetRetryCounter => "RESET RETRY COUNTER",
            Ins::GeneralAuthenticate => "GENERAL AUTHENTICATE",
            Ins::GenerateAsymmetric => "GENERATE ASYMMETRIC KEY PAIR",
            Ins::GetResponse => "GET RESPONSE",
            Ins::GetVersion => "GET VERSION",
            Ins::GetSerial => "GET SERIAL",
            Ins::GetMetadata => "GET METADATA",
            Ins::SetManagementKey => "SET MANAGEMENT KEY",
            Ins::SetPinRetries => "SET PIN RETRIES",
            Ins::Reset => "RESET",
            Ins::ImportKey => "IMPORT KEY",
            Ins::Attest => "ATTEST",
        }
    }
}

impl TryFrom<u8> for Ins {
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        Ins::ALL.into_iter().find(|i| i.to_u8() == b).ok_or(b)
    }
}

impl From<Ins> for u8 {
    fn from(i: Ins) -> u8 {
        i.to_u8()
    }
}

/// Whether the data of a command with instruction `ins` and P2 `p2` carries a
/// secret (PIN, PUK, management key, private key, management-key challenge
/// answers): traces and logs keep its header and withhold its data.
pub fn is_secret(ins: u8, p2: u8) -> bool {
    match Ins::try_from(ins) {
        Ok(Ins::Verify | Ins::ChangeReference | Ins::ResetRetryCounter) => true,
        Ok(Ins::SetManagementKey | Ins::ImportKey) => true,
        Ok(Ins::GeneralAuthenticate) => p2 == crate::KeyRef::Management.to_u8(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for ins in Ins::ALL {
            assert_eq!(Ins::try_from(ins.to_u8()), Ok(ins));
        }
        assert_eq!(Ins::try_from(0x00), Err(0x00));
    }

    #[test]
    fn secrets() {
        assert!(is_secret(Ins::Verify.to_u8(), 0x80));
        assert!(is_secret(Ins::ImportKey.to_u8(), 0x9A));
        assert!(is_secret(Ins::GeneralAuthenticate.to_u8(), 0x9B));
        assert!(!is_secret(Ins::GeneralAuthenticate.to_u8(), 0x9A));
        assert!(!is_secret(Ins::GetData.to_u8(), 0xFF));
        assert!(!is_secret(0x00, 0x00));
    }
}
