//! The vpcd protocol on the card's side: vsmartcard's virtual reader driver
//! for pcscd (vpcd) is the TCP server, the card is the client.
//!
//! Every message, both ways, is a 2-byte big-endian length and that many
//! bytes. From vpcd, a 1-byte message is a [`Control`] code (only
//! [`Control::GetAtr`] is answered: with the ATR as a message); anything else
//! is a command APDU, answered with the response APDU. A message that cannot
//! be a command APDU (fewer than 4 bytes, or more than the card's command
//! buffer) is answered with [`malformed_answer`]; an unknown control code is
//! ignored (vpcd awaits no answer to a control code).
//!
//! `no_std`, no heap, no `unsafe`: the parser and the encoder work on the
//! caller's buffers, so the host board (`tamga-board-host`) and the
//! Cortex-M4 board (`tamga-mps2`) share them.
//!
//! ```
//! use tamga_vpcd::{Control, Frame};
//!
//! // vpcd powers the card on: a 1-byte message.
//! assert_eq!(Frame::from_prefix([0x00, 0x01], 261), Frame::Control);
//! assert_eq!(Control::from_u8(0x01), Some(Control::PowerOn));
//! // A 5-byte APDU fits a 261-byte buffer; a 300-byte one does not.
//! assert_eq!(Frame::from_prefix([0x00, 0x05], 261), Frame::Apdu(5));
//! assert_eq!(Frame::from_prefix([0x01, 0x2C], 261), Frame::Malformed(300));
//! // The answer 9000, framed.
//! let mut out = [0u8; 4];
//! assert_eq!(tamga_vpcd::encode(&[0x90, 0x00], &mut out), Ok(4));
//! assert_eq!(out, [0x00, 0x02, 0x90, 0x00]);
//! ```
#![no_std]
#![forbid(unsafe_code)]

use tamga_spec::Status;

/// Bytes of a message's length prefix.
pub const PREFIX_LEN: usize = 2;
/// Largest message: the most a 2-byte length counts.
pub const MAX_LEN: usize = u16::MAX as usize;
/// Shortest command APDU: CLA INS P1 P2.
pub const MIN_APDU: usize = 4;

/// A control code: the 1-byte messages vpcd sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Control {
    /// The reader cut the power (volatile state is lost).
    PowerOff = 0x00,
    /// The reader powered the card.
    PowerOn = 0x01,
    /// A warm reset.
    Reset = 0x02,
    /// Send the ATR (as a message).
    GetAtr = 0x04,
}

impl Control {
    /// The control code `code`, if vpcd defines it.
    pub const fn from_u8(code: u8) -> Option<Control> {
        match code {
            0x00 => Some(Control::PowerOff),
            0x01 => Some(Control::PowerOn),
            0x02 => Some(Control::Reset),
            0x04 => Some(Control::GetAtr),
            _ => None,
        }
    }

    /// The code byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
}

/// What a message's length prefix announces to a card whose command buffer
/// holds `capacity` bytes ([`Frame::from_prefix`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// One byte follows: a control code ([`Control::from_u8`]).
    Control,
    /// A command APDU of this many bytes follows; it fits the buffer.
    Apdu(usize),
    /// This many bytes follow that are no command APDU the card can take:
    /// read and drop them, answer [`malformed_answer`].
    Malformed(usize),
}

impl Frame {
    /// Classify a message by its length prefix.
    pub const fn from_prefix(prefix: [u8; PREFIX_LEN], capacity: usize) -> Frame {
        let len = u16::from_be_bytes(prefix) as usize;
        if len == 1 {
            Frame::Control
        } else if len >= MIN_APDU && len <= capacity {
            Frame::Apdu(len)
        } else {
            Frame::Malformed(len)
        }
    }

    /// Bytes of the message after its prefix.
    pub const fn len(self) -> usize {
        match self {
            Frame::Control => 1,
            Frame::Apdu(n) | Frame::Malformed(n) => n,
        }
    }

    /// Whether the message is empty after its prefix (a 0-length message).
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// The card's answer to a malformed message: status word 6700 (wrong length).
pub fn malformed_answer() -> [u8; 2] {
    Status::WrongLength.into()
}

/// Why a message cannot be framed: longer than [`MAX_LEN`] bytes
/// (`TooLong`), or the output buffer is too small — the APDU encoder's error.
pub use tamga_spec::apdu::EncodeError;

/// The length prefix of a `len`-byte message.
pub fn prefix(len: usize) -> Result<[u8; PREFIX_LEN], EncodeError> {
    u16::try_from(len)
        .map(u16::to_be_bytes)
        .map_err(|_| EncodeError::TooLong)
}

/// Frame `data` (prefix, then the data) into `out`; the bytes written.
pub fn encode(data: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let p = prefix(data.len())?;
    let n = PREFIX_LEN + data.len();
    let out = out.get_mut(..n).ok_or(EncodeError::BufferTooSmall)?;
    let (head, body) = out.split_at_mut(PREFIX_LEN);
    head.copy_from_slice(&p);
    body.copy_from_slice(data);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_codes_round_trip() {
        for c in [
            Control::PowerOff,
            Control::PowerOn,
            Control::Reset,
            Control::GetAtr,
        ] {
            assert_eq!(Control::from_u8(c.to_u8()), Some(c));
        }
        assert_eq!(Control::from_u8(0x03), None);
        assert_eq!(Control::from_u8(0xFF), None);
    }

    #[test]
    fn frames_by_length() {
        let f = |len: u16, cap| Frame::from_prefix(len.to_be_bytes(), cap);
        assert_eq!(f(1, 261), Frame::Control);
        for short in [0, 2, 3] {
            assert_eq!(f(short, 261), Frame::Malformed(usize::from(short)));
        }
        assert_eq!(f(4, 261), Frame::Apdu(4));
        assert_eq!(f(261, 261), Frame::Apdu(261));
        assert_eq!(f(262, 261), Frame::Malformed(262));
        assert_eq!(f(u16::MAX, MAX_LEN), Frame::Apdu(MAX_LEN));
        assert_eq!(f(0, 261).len(), 0);
        assert!(f(0, 261).is_empty());
        assert_eq!(Frame::Control.len(), 1);
    }

    #[test]
    fn the_malformed_answer_is_wrong_length() {
        assert_eq!(malformed_answer(), [0x67, 0x00]);
    }

    #[test]
    fn encoding() {
        let mut out = [0u8; 8];
        assert_eq!(encode(&[0x3B, 0x80], &mut out), Ok(4));
        assert_eq!(out[..4], [0x00, 0x02, 0x3B, 0x80]);
        assert_eq!(encode(&[], &mut out), Ok(2));
        assert_eq!(out[..2], [0, 0]);
        assert_eq!(encode(&[0; 7], &mut out), Err(EncodeError::BufferTooSmall));
        assert_eq!(prefix(MAX_LEN), Ok([0xFF, 0xFF]));
        assert_eq!(prefix(MAX_LEN + 1), Err(EncodeError::TooLong));
    }
}
