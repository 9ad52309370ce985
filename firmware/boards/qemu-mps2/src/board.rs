//! What a board gives the firmware: flash, randomness, and a link to the reader.
//!
//! Every board crate (this emulated one, and one per real chip) implements
//! [`Board`]; [`crate::serve`] is the same for all of them. On real silicon
//! `Flash` is the MCU's flash controller, `Rng` its TRNG (or a DRBG seeded from
//! it), `Ec` its fastest P-256 (assembly, or a crypto accelerator), `Link` the
//! ISO 7816-3 contact interface.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_firmware::crypto::P256;

/// A card's hardware.
pub trait Board {
    /// The persistent storage of the card's store.
    type Flash: NorFlash;
    /// The card's random number generator.
    type Rng: CryptoRng;
    /// The card's P-256 arithmetic.
    type Ec: P256;
    /// The link to the reader.
    type Link: CardLink;

    /// Hand the parts to the applet and the main loop.
    fn into_parts(self) -> (Self::Flash, Self::Rng, Self::Ec, Self::Link);
}

/// What the reader did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// The card was powered (contacts activated); the link has sent or will send
    /// the ATR itself.
    PowerOn,
    /// The card was powered down (contacts deactivated).
    PowerOff,
    /// A warm reset: volatile state must be cleared; the link answers with the ATR.
    Reset,
    /// A command APDU of this many bytes is in the caller's buffer; the caller
    /// must answer with [`CardLink::respond`].
    Apdu(usize),
}

/// The transport between the card and the reader, below the APDU level.
///
/// The link owns everything under APDUs: the ATR, framing, and for ISO 7816-3
/// T=1 block chaining, IFS, and waiting-time extensions (S(WTX) requests sent
/// while [`tamga_firmware::Applet::process`] runs, typically from a timer
/// interrupt). The vpcd link of the emulator ([`crate::vpcd::VpcdLink`]) frames
/// APDUs as 2-byte length + data.
pub trait CardLink {
    /// Wait for the next reader event. Command bytes are written to `apdu`; an
    /// APDU longer than `apdu` is answered by the link itself (`6700`) and not
    /// reported.
    fn next_event(&mut self, apdu: &mut [u8]) -> Event;

    /// Send the response (data, SW1, SW2) to the last [`Event::Apdu`].
    fn respond(&mut self, response: &[u8]);
}
