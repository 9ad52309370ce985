//! The Tamga card edge as data.
//!
//! Tamga cards speak NIST SP 800-73-4 PIV plus the YubiKey extensions that host
//! tools probe. This crate names every constant of that edge — instructions,
//! status words, key references, data objects, algorithms, policies and TLV
//! tags — so that the firmware and the host share one definition. It is
//! `no_std`, does not allocate, and encodes/decodes BER-TLV on borrowed buffers.
//!
//! `CARD-EDGE.md` beside this crate documents every command.
//!
//! ```
//! use tamga_spec::{tlv, Ins, KeyRef, ObjectTag};
//!
//! // GET DATA for the certificate in slot 9C, as a host builds it.
//! let tag = KeyRef::Signature.certificate_object().unwrap();
//! assert_eq!(tag, ObjectTag::CERT_SIGNATURE);
//! let mut buf = [0u8; 8];
//! let mut w = tlv::Writer::new(&mut buf);
//! w.tlv(tlv::TAG_TAG_LIST, &tag.to_bytes()[..tag.encoded_len()]).unwrap();
//! assert_eq!(w.as_slice(), &[0x5C, 0x03, 0x5F, 0xC1, 0x0A]);
//! assert_eq!(Ins::try_from(0xCB), Ok(Ins::GetData));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#[cfg(feature = "alloc")]
extern crate alloc;

pub mod aid;
pub mod alg;
pub mod apdu;
pub mod atr;
pub mod chuid;
pub mod defaults;
pub mod ins;
pub mod keyref;
pub mod object;
pub mod status;
pub mod tags;
pub mod tlv;

pub use aid::{PIV_AID, PIV_AID_MIN_LEN};
pub use alg::{Algorithm, Origin, PinPolicy, TouchPolicy};
pub use ins::Ins;
pub use keyref::KeyRef;
pub use object::{ObjectTag, ReadAccess};
pub use status::Status;
