//! The vpcd framing ("virtual smart card" protocol of vsmartcard) over a UART.
//!
//! vpcd (a pcscd driver) is the TCP server; the card is the client. Every
//! message, both ways, is a 2-byte big-endian length and that many bytes. From
//! vpcd, a 1-byte message is a control code: `00` power off, `01` power on,
//! `02` reset, `04` get ATR (answered with the ATR as a message); anything
//! longer is a command APDU, answered with the response APDU. QEMU connects
//! UART0 to vpcd's socket, so the card needs no process between it and pcscd.

use crate::board::{CardLink, Event};
use crate::uart::Uart;

/// The card's answer to reset: T=1 (IFSC 254, BWI 1, CWI 5), historical
/// bytes "Tamga" announcing command chaining without extended lengths (the
/// command buffer holds one short APDU), as defined in `tamga_spec::atr`.
pub const ATR: [u8; 18] = tamga_spec::atr::ATR_MCU;

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

/// SW 6700 (wrong length), sent for an APDU larger than the card's buffer.
const WRONG_LENGTH: [u8; 2] = [0x67, 0x00];

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
        let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
        self.uart.write(&len.to_be_bytes());
        self.uart.write(msg.get(..usize::from(len)).unwrap_or(msg));
    }
}

impl CardLink for VpcdLink {
    fn next_event(&mut self, apdu: &mut [u8]) -> Event {
        loop {
            let mut len = [0u8; 2];
            self.uart.read_exact(&mut len);
            let len = usize::from(u16::from_be_bytes(len));
            if len == 1 {
                match self.uart.read_byte() {
                    POWER_OFF => return Event::PowerOff,
                    POWER_ON => return Event::PowerOn,
                    RESET => return Event::Reset,
                    GET_ATR => self.send(&ATR),
                    _other => warn_unknown(_other),
                }
                continue;
            }
            match apdu.get_mut(..len) {
                Some(buf) => {
                    self.uart.read_exact(buf);
                    return Event::Apdu(len);
                }
                None => {
                    for _ in 0..len {
                        self.uart.read_byte();
                    }
                    self.send(&WRONG_LENGTH);
                }
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
