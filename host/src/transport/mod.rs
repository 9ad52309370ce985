//! Transports: how APDUs reach a card.

pub mod emu;
pub mod pcsc;

use crate::error::Result;

/// Exchanges raw APDUs with one card. Chaining and GET RESPONSE are done by
/// [`crate::apdu::Channel`] above it.
pub trait Transport {
    /// Send one APDU, return the response with its status word.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>>;
    /// Reset the card (volatile state is lost).
    fn reset(&mut self) -> Result<()>;
    /// What the card is, for messages ("reader NAME", "emulated card PATH").
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(apdu)
    }
    fn reset(&mut self) -> Result<()> {
        (**self).reset()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Open the card named by a `--card` value: `emu:PATH` for an emulated card,
/// else a PC/SC reader name, unique substring or index; `None` picks the only
/// reader holding a card.
pub fn open(card: Option<&str>) -> Result<Box<dyn Transport>> {
    match card {
        Some(spec) if spec.starts_with("emu:") => Ok(Box::new(emu::EmuCard::open(
            spec.trim_start_matches("emu:"),
        )?)),
        other => Ok(Box::new(pcsc::PcscCard::open(
            other,
            std::time::Duration::from_secs(0),
        )?)),
    }
}
