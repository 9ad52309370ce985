//! Typed commands: every APDU is parsed once here, then handled as a type.
//! A parse error is the status word the card answers.
//!
//! Only the checks `CARD-EDGE.md` §1.7 puts at parse time (P1/P2 and the data
//! shape) fail here. What a handler refuses later, after its security check,
//! is typed here too: an algorithm is classified at parse time, and the
//! handler answers its refusal; the content of an authentication template
//! ([`MgmtStep`], [`KeyOp`]) and the key material of an import
//! ([`ImportMaterial`]) are parsed by these types' `parse`, which the handler
//! calls when §1.7 says (the command stays 32 bytes: every APDU's parse
//! moves it).

mod auth;
mod key;

pub use auth::{AuthAlgorithm, KeyOp, MgmtStep};
pub use key::{ImportMaterial, KeyAlgorithm, SymmetricKey};

use iso7816::command::CommandView;
use tamga_spec::apdu::{P1_SELECT_BY_NAME, P1P2_CURRENT_DF};
use tamga_spec::{Ins, KeyRef, ObjectTag, PinPolicy, Status, TouchPolicy, tags, tlv};

/// An 8-byte PIV reference data field (PIN or PUK padded with FF).
pub type Padded = [u8; 8];

/// What VERIFY asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VerifyAction<'a> {
    /// Empty data: is the PIN verified? (9000 or 63Cx)
    Status,
    /// Present the PIN.
    Present(&'a Padded),
    /// P1 = FF: forget the verification.
    Reset,
}

/// A parsed command.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// SELECT by AID.
    Select {
        /// The AID (possibly truncated).
        aid: &'a [u8],
        /// Whether the host wants the application property template (P2 != 0C).
        fci: bool,
    },
    /// GET DATA.
    GetData {
        /// The object.
        tag: ObjectTag,
    },
    /// PUT DATA.
    PutData {
        /// The object.
        tag: ObjectTag,
        /// The content of tag 53 (empty deletes the object).
        content: &'a [u8],
    },
    /// VERIFY (PIN only).
    Verify(VerifyAction<'a>),
    /// CHANGE REFERENCE DATA of the PIN (`puk == false`) or the PUK.
    ChangeReference {
        /// PUK instead of PIN.
        puk: bool,
        /// Current value.
        old: &'a Padded,
        /// New value.
        new: &'a Padded,
    },
    /// RESET RETRY COUNTER: unblock the PIN with the PUK.
    ResetRetryCounter {
        /// The PUK.
        puk: &'a Padded,
        /// The new PIN.
        new_pin: &'a Padded,
    },
    /// GENERAL AUTHENTICATE with the management key (9B).
    AuthenticateManagement {
        /// Algorithm (P1).
        alg: AuthAlgorithm,
        /// The content of the 7C template ([`MgmtStep::parse`], by the
        /// handler: after the key is read, CARD-EDGE.md §1.7 step 8).
        template: &'a [u8],
    },
    /// GENERAL AUTHENTICATE with a key slot: sign, decrypt, ECDH.
    UseKey {
        /// Algorithm (P1).
        alg: AuthAlgorithm,
        /// Slot (P2).
        slot: KeyRef,
        /// The content of the 7C template ([`KeyOp::parse`], by the handler).
        template: &'a [u8],
    },
    /// GENERATE ASYMMETRIC KEY PAIR.
    Generate {
        /// Slot.
        slot: KeyRef,
        /// Requested algorithm.
        alg: KeyAlgorithm,
        /// PIN policy.
        pin_policy: PinPolicy,
        /// Touch policy.
        touch_policy: TouchPolicy,
    },
    /// GET RESPONSE.
    GetResponse,
    /// GET VERSION.
    GetVersion,
    /// GET SERIAL.
    GetSerial,
    /// GET METADATA.
    GetMetadata {
        /// Key reference.
        key: KeyRef,
    },
    /// SET MANAGEMENT KEY.
    SetManagementKey {
        /// Touch policy (P2 FE: always).
        touch: TouchPolicy,
        /// The new key; `None`: an unknown algorithm or a key of the wrong
        /// length (`6A80`, answered after the security check).
        key: Option<SymmetricKey<'a>>,
    },
    /// SET PIN RETRIES.
    SetPinRetries {
        /// PIN tries.
        pin: u8,
        /// PUK tries.
        puk: u8,
    },
    /// RESET the application.
    Reset,
    /// IMPORT KEY.
    ImportKey {
        /// Algorithm (P1).
        alg: KeyAlgorithm,
        /// Slot (P2).
        slot: KeyRef,
        /// Key material and policies ([`ImportMaterial::parse`], by the
        /// handler: after the security and algorithm checks).
        data: &'a [u8],
    },
    /// ATTEST (`00 F9 <slot> 00`).
    Attest {
        /// Slot (P1).
        slot: KeyRef,
    },
}

/// The management key's reference as SET MANAGEMENT KEY carries it.
const MGMT_REF: u8 = KeyRef::Management.to_u8();

fn padded(data: &[u8]) -> Result<&Padded, Status> {
    data.try_into().map_err(|_| Status::IncorrectDataParameter)
}

fn split_pair(data: &[u8]) -> Result<(&Padded, &Padded), Status> {
    let pair: &[u8; 16] = data
        .try_into()
        .map_err(|_| Status::IncorrectDataParameter)?;
    let (a, b) = pair.split_at(8);
    Ok((padded(a)?, padded(b)?))
}

fn key_ref(p2: u8) -> Result<KeyRef, Status> {
    KeyRef::try_from(p2).map_err(|_| Status::KeyReferenceNotFound)
}

fn key_slot(p2: u8) -> Result<KeyRef, Status> {
    match KeyRef::try_from(p2) {
        Ok(k) if k.is_key_slot() => Ok(k),
        _ => Err(Status::KeyReferenceNotFound),
    }
}

fn p1p2(p1: u8, p2: u8, want: (u8, u8)) -> Result<(), Status> {
    if (p1, p2) == want {
        Ok(())
    } else {
        Err(Status::IncorrectP1OrP2Parameter)
    }
}

fn tlv_err(_: tlv::TlvError) -> Status {
    Status::IncorrectDataParameter
}

/// The object named by a `5C` tag list that makes up the whole of `data`'s head.
fn tag_list(data: &[u8]) -> Result<(ObjectTag, &[u8]), Status> {
    let (t, rest) = tlv::take(data).map_err(tlv_err)?;
    if t.tag != tags::TAG_LIST {
        return Err(Status::IncorrectDataParameter);
    }
    let tag = ObjectTag::from_bytes(t.value).ok_or(Status::IncorrectDataParameter)?;
    Ok((tag, rest))
}

impl<'a> Command<'a> {
    /// Parse a command from its header and (possibly reassembled) data.
    pub fn parse(ins: u8, p1: u8, p2: u8, data: &'a [u8]) -> Result<Self, Status> {
        let ins = Ins::try_from(ins).map_err(|_| Status::InstructionNotSupportedOrInvalid)?;
        Ok(match ins {
            Ins::Select => {
                if p1 != P1_SELECT_BY_NAME || (p2 & !0x0C) != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                Command::Select {
                    aid: data,
                    fci: p2 & 0x0C != 0x0C,
                }
            }
            Ins::GetData => {
                p1p2(p1, p2, P1P2_CURRENT_DF)?;
                let (tag, rest) = tag_list(data)?;
                if !rest.is_empty() {
                    return Err(Status::IncorrectDataParameter);
                }
                Command::GetData { tag }
            }
            Ins::PutData => {
                p1p2(p1, p2, P1P2_CURRENT_DF)?;
                let (tag, rest) = tag_list(data)?;
                let (t, rest) = tlv::take(rest).map_err(tlv_err)?;
                if t.tag != tags::OBJECT_DATA || !rest.is_empty() {
                    return Err(Status::IncorrectDataParameter);
                }
                Command::PutData {
                    tag,
                    content: t.value,
                }
            }
            Ins::Verify => {
                if key_ref(p2)? != KeyRef::Pin {
                    return Err(Status::KeyReferenceNotFound);
                }
                match (p1, data.is_empty()) {
                    (0x00, true) => Command::Verify(VerifyAction::Status),
                    (0x00, false) => Command::Verify(VerifyAction::Present(padded(data)?)),
                    (0xFF, true) => Command::Verify(VerifyAction::Reset),
                    (0xFF, false) => return Err(Status::IncorrectDataParameter),
                    _ => return Err(Status::IncorrectP1OrP2Parameter),
                }
            }
            Ins::ChangeReference => {
                if p1 != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                let puk = match key_ref(p2)? {
                    KeyRef::Pin => false,
                    KeyRef::Puk => true,
                    _ => return Err(Status::KeyReferenceNotFound),
                };
                let (old, new) = split_pair(data)?;
                Command::ChangeReference { puk, old, new }
            }
            Ins::ResetRetryCounter => {
                if p1 != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                if key_ref(p2)? != KeyRef::Pin {
                    return Err(Status::KeyReferenceNotFound);
                }
                let (puk, new_pin) = split_pair(data)?;
                Command::ResetRetryCounter { puk, new_pin }
            }
            Ins::GeneralAuthenticate => {
                let key = key_ref(p2)?;
                if !(key.is_key_slot() || key == KeyRef::Management) {
                    return Err(Status::KeyReferenceNotFound);
                }
                let (t, rest) = tlv::take(data).map_err(tlv_err)?;
                if t.tag != tags::DYN_AUTH || !rest.is_empty() {
                    return Err(Status::IncorrectDataParameter);
                }
                let alg = AuthAlgorithm::from_p1(p1);
                if key == KeyRef::Management {
                    Command::AuthenticateManagement {
                        alg,
                        template: t.value,
                    }
                } else {
                    Command::UseKey {
                        alg,
                        slot: key,
                        template: t.value,
                    }
                }
            }
            Ins::GenerateAsymmetric => {
                if p1 != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                let slot = key_slot(p2)?;
                let (t, rest) = tlv::take(data).map_err(tlv_err)?;
                if t.tag != tags::GEN_CONTROL || !rest.is_empty() {
                    return Err(Status::IncorrectDataParameter);
                }
                let alg = match tlv::find(t.value, tags::ALGORITHM).map_err(tlv_err)? {
                    Some([a]) => KeyAlgorithm::from_u8(*a),
                    _ => return Err(Status::IncorrectDataParameter),
                };
                let (pin_policy, touch_policy) = policies(t.value)?;
                Command::Generate {
                    slot,
                    alg,
                    pin_policy,
                    touch_policy,
                }
            }
            Ins::GetResponse => {
                p1p2(p1, p2, (0, 0))?;
                Command::GetResponse
            }
            Ins::GetVersion => {
                p1p2(p1, p2, (0, 0))?;
                Command::GetVersion
            }
            Ins::GetSerial => {
                p1p2(p1, p2, (0, 0))?;
                Command::GetSerial
            }
            Ins::GetMetadata => {
                if p1 != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                Command::GetMetadata { key: key_ref(p2)? }
            }
            Ins::SetManagementKey => {
                let touch = match (p1, p2) {
                    (0xFF, 0xFF) => TouchPolicy::Never,
                    (0xFF, 0xFE) => TouchPolicy::Always,
                    _ => return Err(Status::IncorrectP1OrP2Parameter),
                };
                match data {
                    [alg, MGMT_REF, len, key @ ..] if usize::from(*len) == key.len() => {
                        Command::SetManagementKey {
                            touch,
                            key: SymmetricKey::new(*alg, key),
                        }
                    }
                    _ => return Err(Status::IncorrectDataParameter),
                }
            }
            Ins::SetPinRetries => {
                if !(1..=15).contains(&p1) || !(1..=15).contains(&p2) {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                Command::SetPinRetries { pin: p1, puk: p2 }
            }
            Ins::Reset => {
                p1p2(p1, p2, (0, 0))?;
                Command::Reset
            }
            Ins::ImportKey => Command::ImportKey {
                alg: KeyAlgorithm::from_u8(p1),
                slot: key_slot(p2)?,
                data,
            },
            Ins::Attest => {
                if p2 != 0 {
                    return Err(Status::IncorrectP1OrP2Parameter);
                }
                Command::Attest {
                    slot: key_slot(p1)?,
                }
            }
        })
    }
}

/// PIN and touch policies (tags AA, AB) among `data`'s TLVs.
fn policies(data: &[u8]) -> Result<(PinPolicy, TouchPolicy), Status> {
    let pin = match tlv::find(data, tags::PIN_POLICY).map_err(tlv_err)? {
        None => PinPolicy::Default,
        Some([b]) => PinPolicy::try_from(*b).map_err(|_| Status::IncorrectDataParameter)?,
        Some(_) => return Err(Status::IncorrectDataParameter),
    };
    let touch = match tlv::find(data, tags::TOUCH_POLICY).map_err(tlv_err)? {
        None => TouchPolicy::Default,
        Some([b]) => TouchPolicy::try_from(*b).map_err(|_| Status::IncorrectDataParameter)?,
        Some(_) => return Err(Status::IncorrectDataParameter),
    };
    Ok((pin, touch))
}

impl<'a> TryFrom<CommandView<'a>> for Command<'a> {
    type Error = Status;

    fn try_from(view: CommandView<'a>) -> Result<Self, Status> {
        Command::parse(view.instruction().into(), view.p1, view.p2, view.data())
    }
}
