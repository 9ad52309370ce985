//! The vpcd protocol ("virtual smart card" of vsmartcard) over a UART, with
//! the framing and control codes of `tamga-vpcd` (shared with the host
//! board's `tamga-vcard`).
//!
//! vpcd (a pcscd driver) is the TCP server; the card is the client. QEMU
//! connects UART0 to vpcd's socket, so the card needs no process between it
//! and pcscd. A message that is no APDU the command buffer can take is read
//! whole and answered with `tamga_vpcd::malformed_answer` (SW 6700).

use tamga_vpcd::{Control, Frame, PREFIX_LEN};

use crate::board::{CardLink, Event};
use crate::uart::Uart;

/// The card's answer to reset: T=1 (IFSC 254, BWI 1, CWI 5), historical
/// bytes "Tamga" announcing command chaining without extended lengths (the
/// command buffer holds one short APDU), as defined in `tamga_spec::atr`.
pub const ATR: [u8; 18] = tamga_spec::atr::ATR_MCU;

/// A card on vpcd through a UART.
pub struct VpcdLink {
    uart: Uart,
}

impl VpcdLink {
    /// The link over `uart` (connected to vpcd by QEMU).
    pub fn new(uart: Uart) -> Self {
        VpcdLink { uart }
    }

    fn send(&mut self, msg: &[u8]) {
        match tamga_vpcd::prefix(msg.len()) {
            Ok(prefix) => {
                self.uart.write(&prefix);
                self.uart.write(msg);
            }
            // Never: a response fits the card's buffer, far below 65,535 bytes.
            Err(_) => self.send(&tamga_vpcd::malformed_answer()),
        }
    }

    /// Read and drop `len` bytes of a malformed message, and answer it.
    fn reject(&mut self, len: usize) {
        for _ in 0..len {
            self.uart.read_byte();
        }
        self.send(&tamga_vpcd::malformed_answer());
    }
}

impl CardLink for VpcdLink {
    fn next_event(&mut self, apdu: &mut [u8]) -> Event {
        loop {
            let mut prefix = [0u8; PREFIX_LEN];
            self.uart.read_exact(&mut prefix);
            match Frame::from_prefix(prefix, apdu.len()) {
                Frame::Control => {
                    let code = self.uart.read_byte();
                    match Control::from_u8(code) {
                        Some(Control::PowerOff) => return Event::PowerOff,
                        Some(Control::PowerOn) => return Event::PowerOn,
                        Some(Control::Reset) => return Event::Reset,
                        Some(Control::GetAtr) => self.send(&ATR),
                        None => warn_unknown(code),
                    }
                }
                Frame::Apdu(len) => match apdu.get_mut(..len) {
                    Some(buf) => {
                        self.uart.read_exact(buf);
                        return Event::Apdu(len);
                    }
                    None => self.reject(len),
                },
                Frame::Malformed(len) => self.reject(len),
            }
        }
    }

    fn respond(&mut self, response: &[u8]) {
        self.send(response);
    }
}

fn warn_unknown(_code: u8) {
    #[cfg(feature = "defmt")]
    defmt::warn!("vpcd: unknown control code {=u8:02x}", _code);
}
