//! The APDU channel: command chaining, GET RESPONSE, extended lengths and
//! secret-masking traces, done once for every transport.

use crate::error::{Error, Result};
use crate::transport::Transport;
use tamga_spec::Ins;

/// Largest command data in one short APDU.
const SHORT_MAX: usize = 255;

/// A card's answer: data and status word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Response data (all parts joined).
    pub data: Vec<u8>,
    /// Final status word.
    pub sw: u16,
}

impl Response {
    /// Whether the status word is 9000.
    pub fn is_ok(&self) -> bool {
        self.sw == 0x9000
    }

    /// The data if the status word is 9000, else a [`Error::Card`] for `op`.
    pub fn ok(self, op: &'static str) -> Result<Vec<u8>> {
        if self.is_ok() {
            Ok(self.data)
        } else {
            Err(Error::Card { op, sw: self.sw })
        }
    }
}

/// Whether the data of a command with this header carries a secret (PIN, PUK,
/// management key, private key, management-key challenge answers).
pub fn is_secret(ins: u8, p2: u8) -> bool {
    match Ins::try_from(ins) {
        Ok(Ins::Verify | Ins::ChangeReference | Ins::ResetRetryCounter) => true,
        Ok(Ins::SetManagementKey | Ins::ImportKey) => true,
        Ok(Ins::GeneralAuthenticate) => p2 == 0x9B,
        _ => false,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Commands over a [`Transport`].
pub struct Channel<T: Transport> {
    transport: T,
    /// Send data above 255 bytes as one extended APDU instead of a chain.
    pub extended: bool,
    /// APDUs exchanged so far.
    pub apdus: u64,
    /// Bytes sent and received so far.
    pub bytes: u64,
}

impl<T: Transport> Channel<T> {
    /// A channel over `transport` (short APDUs with chaining).
    pub fn new(transport: T) -> Self {
        Channel {
            transport,
            extended: false,
            apdus: 0,
            bytes: 0,
        }
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    fn raw(&mut self, apdu: &[u8], secret: bool) -> Result<(Vec<u8>, u16)> {
        if secret {
            tracing::debug!(target: "tamga::apdu", "> {} <{} bytes masked>", hex(apdu.get(..4).unwrap_or(apdu)), apdu.len().saturating_sub(4));
        } else {
            tracing::debug!(target: "tamga::apdu", "> {}", hex(apdu));
        }
        let mut r = self.transport.transmit(apdu)?;
        self.apdus += 1;
        self.bytes += (apdu.len() + r.len()) as u64;
        if r.len() < 2 {
            return Err(Error::Malformed { op: "transmit" });
        }
        let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
        r.truncate(r.len() - 2);
        tracing::debug!(target: "tamga::apdu", "< {} {sw:04X}", if secret { String::new() } else { hex(&r) });
        Ok((r, sw))
    }

    /// Send a command, chaining data over 255 bytes (or one extended APDU when
    /// [`Channel::extended`]), and collect every `61xx` part.
    pub fn send(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Result<Response> {
        let secret = is_secret(ins, p2);
        let (mut out, mut sw) = if data.len() > SHORT_MAX && self.extended {
            let mut a = vec![0x00, ins, p1, p2, 0x00];
            a.extend_from_slice(&(data.len() as u16).to_be_bytes());
            a.extend_from_slice(data);
            a.extend_from_slice(&[0x00, 0x00]);
            self.raw(&a, secret)?
        } else {
            let parts: Vec<&[u8]> = if data.is_empty() {
                vec![&[][..]]
            } else {
                data.chunks(SHORT_MAX).collect()
            };
            let last = parts.len() - 1;
            let mut result = (Vec::new(), 0x9000);
            for (i, part) in parts.iter().enumerate() {
                let cla = if i < last { 0x10 } else { 0x00 };
                let mut a = vec![cla, ins, p1, p2];
                if !part.is_empty() {
                    a.push(part.len() as u8);
                    a.extend_from_slice(part);
                }
                a.push(0x00);
                result = self.raw(&a, secret)?;
                if i < last && result.1 != 0x9000 {
                    return Ok(Response {
                        data: result.0,
                        sw: result.1,
                    });
                }
            }
            result
        };
        let mut parts = 0;
        while sw >> 8 == 0x61 {
            let (more, s) = self.raw(&[0x00, Ins::GetResponse.to_u8(), 0, 0, sw as u8], secret)?;
            out.extend_from_slice(&more);
            sw = s;
            parts += 1;
            if parts > 1024 {
                return Err(Error::Malformed { op: "GET RESPONSE" });
            }
        }
        Ok(Response { data: out, sw })
    }
}
