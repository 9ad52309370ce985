//! The edge of the applet: the class byte, the APDU's lengths, command
//! chaining, and long responses sent in chunks (`61xx` + GET RESPONSE).

use embedded_storage::nor_flash::NorFlash;
use heapless::Vec;
use iso7816::command::{CommandView, FromSliceError};
use rand_core::CryptoRng;
use tamga_spec::apdu::{CLA, CLA_CHAINING, EXTENDED_LE_MAX, SHORT_LE_MAX};
use tamga_spec::{Ins, Status};

use super::state::store_status;
use super::{Applet, COMMAND_CAP};
use crate::crypto::P256;

/// Command chaining state: the header of the chain and the data so far.
#[derive(Debug, Default)]
pub(super) struct Chain {
    header: Option<[u8; 3]>,
    data: Vec<u8, COMMAND_CAP>,
}

impl Chain {
    /// Forget the chain.
    pub(super) fn clear(&mut self) {
        self.header = None;
        self.data.clear();
    }
}

impl<F: NorFlash, R: CryptoRng, E: P256> Applet<F, R, E> {
    /// Parse, reassemble chains, execute. Returns the Le to honour. Every
    /// command but a GET RESPONSE drops the pending response.
    pub(super) fn step(&mut self, apdu: &[u8]) -> Result<usize, Status> {
        let (cla, view) = match edge(apdu) {
            Ok(x) => x,
            Err(sw) => {
                self.out.clear();
                return Err(sw);
            }
        };
        let le = match view.expected() {
            0 if view.extended => EXTENDED_LE_MAX,
            0 => SHORT_LE_MAX,
            n => n,
        };
        let ins: u8 = view.instruction().into();
        let header = [ins, view.p1, view.p2];
        trace!(
            "<- {:02x} {:02x} {:02x} Lc={}",
            ins,
            view.p1,
            view.p2,
            view.data().len()
        );

        if ins == Ins::GetResponse.to_u8() && cla == CLA && self.chain.header.is_none() {
            if self.out.remaining() == 0 {
                return Err(Status::ConditionsOfUseNotSatisfied);
            }
            if (view.p1, view.p2) != (0, 0) {
                // Keep the pending response: the host may retry correctly.
                return Err(Status::IncorrectP1OrP2Parameter);
            }
            return Ok(le);
        }
        self.out.clear();

        if self.chain.header.is_some_and(|h| h != header) {
            self.chain.clear();
            return Err(Status::LastCommandOfChainExpected);
        }
        if cla & CLA_CHAINING != 0 {
            self.chain.header = Some(header);
            if self.chain.data.extend_from_slice(view.data()).is_err() {
                self.chain.clear();
                return Err(Status::WrongLength);
            }
            return Ok(0);
        }
        let data: &[u8] = if self.chain.header.is_some() {
            if self.chain.data.extend_from_slice(view.data()).is_err() {
                self.chain.clear();
                return Err(Status::WrongLength);
            }
            &self.chain.data
        } else {
            view.data()
        };
        if data.len() > COMMAND_CAP {
            self.chain.clear();
            return Err(Status::WrongLength);
        }
        let result = self.core.execute(header, data, &mut self.out);
        self.chain.clear();
        if result.is_err() {
            self.out.clear();
        }
        result.map(|()| le)
    }

    /// Copy the next chunk of the pending response into `reply`, with its SW.
    pub(super) fn emit(&mut self, le: usize, reply: &mut [u8]) -> usize {
        let room = reply.len() - 2;
        let n = self.out.remaining().min(le).min(room);
        if let Err(sw) = self.copy_out(n, reply) {
            self.out.clear();
            return put_sw(reply, 0, sw);
        }
        self.out.advance(n);
        let left = self.out.remaining();
        let sw = if left == 0 {
            self.out.clear();
            Status::Success
        } else {
            // SW2 = 00: 256 bytes or more are left.
            Status::MoreAvailable(u8::try_from(left).unwrap_or(0))
        };
        put_sw(reply, n, sw)
    }

    fn copy_out(&mut self, n: usize, reply: &mut [u8]) -> Result<(), Status> {
        let pos = self.out.pos();
        let generated = self.out.generated();
        let mut written = 0;
        if pos < generated.len() {
            let g = generated.get(pos..).unwrap_or(&[]);
            let k = g.len().min(n);
            reply
                .get_mut(..k)
                .ok_or(Status::UnspecifiedCheckingError)?
                .copy_from_slice(g.get(..k).unwrap_or(&[]));
            written = k;
        }
        if written < n {
            let (key, _) = self.out.tail().ok_or(Status::UnspecifiedCheckingError)?;
            let offset = (pos + written).saturating_sub(generated.len());
            let dst = reply
                .get_mut(written..n)
                .ok_or(Status::UnspecifiedCheckingError)?;
            let got = self
                .core
                .store
                .read(key, offset, dst)
                .map_err(store_status)?;
            if got != dst.len() {
                return Err(Status::MemoryFailure);
            }
        }
        Ok(())
    }
}

/// Check the class byte and parse the APDU's lengths.
fn edge(apdu: &[u8]) -> Result<(u8, CommandView<'_>), Status> {
    let cla = *apdu.first().ok_or(Status::WrongLength)?;
    match cla {
        CLA | CLA_CHAINING => {}
        // Proprietary classes.
        c if c & 0x80 != 0 => return Err(Status::ClassNotSupported),
        // Further interindustry classes: bit 6 secure messaging, else channels 4-19.
        c if c & 0x40 != 0 && c & 0x20 != 0 => return Err(Status::SecureMessagingNotSupported),
        c if c & 0x40 != 0 => return Err(Status::LogicalChannelNotSupported),
        // First interindustry classes are 00-1F; 20-3F are reserved.
        c if c & 0x20 != 0 => return Err(Status::ClassNotSupported),
        c if c & 0x0C != 0 => return Err(Status::SecureMessagingNotSupported),
        _ => return Err(Status::LogicalChannelNotSupported),
    }
    let view = CommandView::try_from(apdu).map_err(|e| match e {
        FromSliceError::InvalidClass => Status::ClassNotSupported,
        _ => Status::WrongLength,
    })?;
    Ok((cla, view))
}

/// Write `sw` at `reply[at..]`; the reply's length, 0 if it does not fit.
pub(super) fn put_sw(reply: &mut [u8], at: usize, sw: Status) -> usize {
    let [a, b] = sw.to_u16().to_be_bytes();
    match reply.get_mut(at..at + 2) {
        Some(dst) => {
            dst.copy_from_slice(&[a, b]);
            at + 2
        }
        None => 0,
    }
}
