//! The APDU channel: command chaining, GET RESPONSE, extended lengths and
//! secret-masking traces, done once for every transport.

use tamga_spec::apdu::{self, Form, Header, SHORT_DATA_MAX};
use tamga_spec::ins::is_secret;
use tamga_spec::{Ins, Status};

use crate::error::{Error, Result};
use crate::status::{self, Op};
use crate::transport::Transport;

/// Most `61xx` parts of one answer before the card is called broken.
const MAX_RESPONSE_PARTS: usize = 1024;

/// A card's answer: data and status word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Response data (all parts joined).
    pub data: Vec<u8>,
    /// Final status word.
    pub status: Status,
}

impl Response {
    /// Whether the status word is 9000.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Success
    }

    /// The data on success, else the error the status word means for `op`.
    pub fn ok(self, op: Op) -> Result<Vec<u8>> {
        if self.is_ok() {
            Ok(self.data)
        } else {
            Err(status::error(op, self.status))
        }
    }
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

    fn raw(
        &mut self,
        header: Header,
        data: &[u8],
        le: usize,
        form: Form,
    ) -> Result<(Vec<u8>, Status)> {
        let apdu = apdu::to_vec(header, data, Some(le), form)
            .map_err(|e| Error::Invalid(format!("{} bytes of command data: {e}", data.len())))?;
        if is_secret(header.ins, header.p2) {
            tracing::debug!(target: "tamga::apdu", "> {} <{} bytes masked>", hex::encode_upper(&apdu[..4]), apdu.len() - 4);
        } else {
            tracing::debug!(target: "tamga::apdu", "> {}", hex::encode_upper(&apdu));
        }
        let mut r = self.transport.transmit(&apdu)?;
        self.apdus += 1;
        self.bytes += u64::try_from(apdu.len() + r.len()).unwrap_or(u64::MAX);
        let Some(split) = r.len().checked_sub(2) else {
            return Err(Error::Malformed { op: "transmit" });
        };
        let status = Status::from_u16(u16::from_be_bytes([r[split], r[split + 1]]));
        r.truncate(split);
        if is_secret(header.ins, header.p2) {
            tracing::debug!(target: "tamga::apdu", "< <{} bytes masked> {:04X}", r.len(), status.to_u16());
        } else {
            tracing::debug!(target: "tamga::apdu", "< {} {:04X}", hex::encode_upper(&r), status.to_u16());
        }
        Ok((r, status))
    }

    /// Send a command, chaining data over 255 bytes (or one extended APDU when
    /// [`Channel::extended`]), and collect every `61xx` part. Data longer than
    /// an extended APDU carries (65,535 bytes) is refused, never cut.
    pub fn send(&mut self, ins: Ins, p1: u8, p2: u8, data: &[u8]) -> Result<Response> {
        let header = Header::new(ins.to_u8(), p1, p2);
        let (mut out, mut status) = if data.len() > SHORT_DATA_MAX && self.extended {
            self.raw(header, data, apdu::EXTENDED_LE_MAX, Form::Extended)?
        } else {
            let parts: Vec<&[u8]> = if data.is_empty() {
                vec![&[][..]]
            } else {
                data.chunks(SHORT_DATA_MAX).collect()
            };
            let last = parts.len() - 1;
            let mut result = (Vec::new(), Status::Success);
            for (i, part) in parts.iter().enumerate() {
                result = self.raw(
                    header.chained(i < last),
                    part,
                    apdu::SHORT_LE_MAX,
                    Form::Short,
                )?;
                if i < last && result.1 != Status::Success {
                    return Ok(Response {
                        data: result.0,
                        status: result.1,
                    });
                }
            }
            result
        };
        let mut parts = 0;
        while let Status::MoreAvailable(n) = status {
            let get = Header::new(Ins::GetResponse.to_u8(), 0, 0);
            let le = if n == 0 {
                apdu::SHORT_LE_MAX
            } else {
                usize::from(n)
            };
            let (more, s) = self.raw(get, &[], le, Form::Short)?;
            out.extend_from_slice(&more);
            status = s;
            parts += 1;
            if parts > MAX_RESPONSE_PARTS {
                return Err(Error::Malformed { op: "GET RESPONSE" });
            }
        }
        Ok(Response { data: out, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::emu::EmuCard;

    #[test]
    fn extended_data_over_65535_bytes_is_refused_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut ch = Channel::new(EmuCard::open(dir.path().join("card")).unwrap());
        ch.extended = true;
        let e = ch
            .send(Ins::PutData, 0x3F, 0xFF, &vec![0u8; 65_536])
            .unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
        assert_eq!(ch.apdus, 0, "nothing was sent");
        // 65,535 bytes go out as one extended APDU (the card refuses the content).
        let r = ch
            .send(Ins::PutData, 0x3F, 0xFF, &vec![0u8; 65_535])
            .unwrap();
        assert_eq!(ch.apdus, 1);
        assert!(!r.is_ok());
    }
}
