//! The outgoing response: a small buffer the handlers fill, optionally followed
//! by a stored object streamed from flash, sent in chunks (61xx + GET RESPONSE).

use heapless::Vec;
use tamga_spec::{Status, tlv};
use tamga_store::Key;

/// Capacity of the generated part of a response (everything but stored objects).
pub const RESPONSE_CAP: usize = 512;

/// A response waiting to be sent.
#[derive(Debug, Default)]
pub struct Outgoing {
    buf: Vec<u8, RESPONSE_CAP>,
    /// A stored value sent after `buf`: (store key, length).
    tail: Option<(Key, usize)>,
    /// Bytes already sent.
    pos: usize,
}

/// Position of an open constructed TLV (see [`Outgoing::open`]).
#[derive(Copy, Clone, Debug)]
pub struct Mark(usize);

/// The status word of a response that does not fit its buffer (an internal error).
pub(crate) fn overflow<T>(_: T) -> Status {
    Status::UnspecifiedCheckingError
}

impl Outgoing {
    /// Forget everything.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.tail = None;
        self.pos = 0;
    }

    /// Total length of the response.
    pub fn total(&self) -> usize {
        self.buf.len() + self.tail.map_or(0, |(_, n)| n)
    }

    /// Bytes not sent yet.
    pub fn remaining(&self) -> usize {
        self.total().saturating_sub(self.pos)
    }

    /// Append raw bytes.
    pub fn bytes(&mut self, data: &[u8]) -> Result<(), Status> {
        self.buf.extend_from_slice(data).map_err(overflow)
    }

    /// Append a TLV header for a value of `len` bytes.
    pub fn header(&mut self, tag: u16, len: usize) -> Result<(), Status> {
        let mut tmp = [0u8; 5];
        let mut w = tlv::Writer::new(&mut tmp);
        w.header(tag, len).map_err(overflow)?;
        self.bytes(w.as_slice())
    }

    /// Append a whole TLV.
    pub fn tlv(&mut self, tag: u16, value: &[u8]) -> Result<(), Status> {
        self.header(tag, value.len())?;
        self.bytes(value)
    }

    /// Append a TLV of `len` zero bytes and return its value, for an
    /// operation to write its result in place (no copy on the stack).
    pub fn tlv_in_place(&mut self, tag: u16, len: usize) -> Result<&mut [u8], Status> {
        self.header(tag, len)?;
        let start = self.buf.len();
        self.buf.resize(start + len, 0).map_err(overflow)?;
        self.buf
            .get_mut(start..)
            .ok_or(Status::UnspecifiedCheckingError)
    }

    /// Start a constructed TLV whose length is filled in by [`Outgoing::close`].
    pub fn open(&mut self, tag: u16) -> Result<Mark, Status> {
        self.header(tag, 0)?;
        Ok(Mark(self.buf.len()))
    }

    /// Finish a constructed TLV: patch its length (minimal encoding).
    pub fn close(&mut self, mark: Mark) -> Result<(), Status> {
        let start = mark.0;
        let len = self
            .buf
            .len()
            .checked_sub(start)
            .ok_or(Status::UnspecifiedCheckingError)?;
        let extra = tlv::len_len(len) - 1;
        let len_at = start
            .checked_sub(1)
            .ok_or(Status::UnspecifiedCheckingError)?;
        for _ in 0..extra {
            self.buf.insert(start, 0).map_err(overflow)?;
        }
        let (field, n) = tlv::length_field(len).ok_or(Status::UnspecifiedCheckingError)?;
        let field = field.get(..n).unwrap_or(&[]);
        self.buf
            .get_mut(len_at..len_at + field.len())
            .ok_or(Status::UnspecifiedCheckingError)?
            .copy_from_slice(field);
        Ok(())
    }

    /// Send a stored value after the generated part.
    pub fn stream(&mut self, key: Key, len: usize) {
        self.tail = Some((key, len));
    }

    /// The generated part (for copying into the reply).
    pub fn generated(&self) -> &[u8] {
        &self.buf
    }

    /// The streamed tail, if any.
    pub fn tail(&self) -> Option<(Key, usize)> {
        self.tail
    }

    /// Current send position.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Mark `n` more bytes sent.
    pub fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_in_place_is_tlv() {
        let mut a = Outgoing::default();
        let v = a.tlv_in_place(0x82, 300).unwrap();
        assert_eq!(v.len(), 300);
        v.fill(0x5A);
        let mut b = Outgoing::default();
        b.tlv(0x82, &[0x5A; 300]).unwrap();
        assert_eq!(a.generated(), b.generated());
        assert!(a.tlv_in_place(0x82, RESPONSE_CAP).is_err());
    }

    #[test]
    fn close_uses_minimal_lengths() {
        for n in [0usize, 5, 0x7F, 0x80, 0xFF, 0x100, 300] {
            let mut o = Outgoing::default();
            let m = o.open(0x7C).unwrap();
            for _ in 0..n {
                o.bytes(&[0xAB]).unwrap();
            }
            o.close(m).unwrap();
            let (t, rest) = tlv::take(o.generated()).unwrap();
            assert_eq!(t.tag, 0x7C);
            assert_eq!(t.value.len(), n);
            assert!(rest.is_empty());
            assert_eq!(o.total(), tlv::encoded_len(0x7C, n));
        }
    }
}
