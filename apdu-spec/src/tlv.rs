//! BER-TLV as PIV uses it: tags of 1 or 2 bytes (3 in a 5C tag list value),
//! definite lengths up to 65535, on borrowed buffers.

/// Tag of the GET DATA / PUT DATA tag list.
pub const TAG_TAG_LIST: u16 = crate::tags::TAG_LIST;

/// What went wrong decoding or encoding a TLV.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TlvError {
    /// The input ended inside a tag, length or value.
    Truncated,
    /// A length form Tamga does not accept (indefinite, or more than 2 bytes).
    BadLength,
    /// A tag longer than 2 bytes.
    BadTag,
    /// The output buffer is too small.
    BufferTooSmall,
}

/// One decoded TLV: its tag and a borrowed value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, one or two bytes.
    pub tag: u16,
    /// The value.
    pub value: &'a [u8],
}

/// Decode one TLV from the front of `input`; return it and the rest.
pub fn take(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (&t0, rest) = input.split_first().ok_or(TlvError::Truncated)?;
    let (tag, rest) = if t0 & 0x1F == 0x1F {
        let (&t1, rest) = rest.split_first().ok_or(TlvError::Truncated)?;
        if t1 & 0x80 != 0 {
            return Err(TlvError::BadTag);
        }
        (u16::from_be_bytes([t0, t1]), rest)
    } else {
        (u16::from(t0), rest)
    };
    let (&l0, rest) = rest.split_first().ok_or(TlvError::Truncated)?;
    let (len, rest) = match l0 {
        0x00..=0x7F => (usize::from(l0), rest),
        0x81 => {
            let (&l1, rest) = rest.split_first().ok_or(TlvError::Truncated)?;
            (usize::from(l1), rest)
        }
        0x82 => match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            _ => return Err(TlvError::Truncated),
        },
        _ => return Err(TlvError::BadLength),
    };
    if rest.len() < len {
        return Err(TlvError::Truncated);
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Iterate over consecutive TLVs. Stops (yielding the error once) on malformed input.
pub fn iter(input: &[u8]) -> Iter<'_> {
    Iter { rest: input }
}

/// Iterator returned by [`iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match take(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The value of the first TLV with `tag` among consecutive TLVs, `Ok(None)` if absent.
pub fn find(input: &[u8], tag: u16) -> Result<Option<&[u8]>, TlvError> {
    for tlv in iter(input) {
        let tlv = tlv?;
        if tlv.tag == tag {
            return Ok(Some(tlv.value));
        }
    }
    Ok(None)
}

/// Encoded size of a tag.
pub const fn tag_len(tag: u16) -> usize {
    if tag > 0xFF { 2 } else { 1 }
}

/// Encoded size of a length field.
pub const fn len_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else if len <= 0xFF {
        2
    } else {
        3
    }
}

/// Encoded size of a whole TLV with a value of `len` bytes.
pub const fn encoded_len(tag: u16, len: usize) -> usize {
    tag_len(tag) + len_len(len) + len
}

/// One TLV (tag, minimal length, value) in a new vector (hosts and tests).
///
/// ```
/// assert_eq!(tamga_spec::tlv::to_vec(0x53, &[1, 2]), [0x53, 0x02, 1, 2]);
/// ```
#[cfg(feature = "alloc")]
pub fn to_vec(tag: u16, value: &[u8]) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec![0u8; encoded_len(tag, value.len())];
    let mut w = Writer::new(&mut out);
    // Sized exactly by `encoded_len`; a value over 65,535 bytes has no BER
    // length here and leaves the header unwritten (zeros).
    let _ = w.tlv(tag, value);
    out
}

/// The minimal BER length field of `len` (at most 65,535): its bytes, of
/// which the first `n` are the field, and `n`; `None` above 65,535.
///
/// ```
/// assert_eq!(tamga_spec::tlv::length_field(0x100), Some(([0x82, 0x01, 0x00], 3)));
/// ```
#[inline]
pub fn length_field(len: usize) -> Option<([u8; 3], usize)> {
    match (u8::try_from(len), u16::try_from(len)) {
        (Ok(short @ 0..=0x7F), _) => Some(([short, 0, 0], 1)),
        (Ok(one), _) => Some(([0x81, one, 0], 2)),
        (Err(_), Ok(two)) => {
            let [hi, lo] = two.to_be_bytes();
            Some(([0x82, hi, lo], 3))
        }
        (Err(_), Err(_)) => None,
    }
}

/// Writes TLVs into a caller-owned buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Append raw bytes.
    pub fn bytes(&mut self, data: &[u8]) -> Result<&mut Self, TlvError> {
        let end = self
            .len
            .checked_add(data.len())
            .ok_or(TlvError::BufferTooSmall)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(TlvError::BufferTooSmall)?
            .copy_from_slice(data);
        self.len = end;
        Ok(self)
    }

    /// Append a tag and a length; the caller appends `len` bytes of value next.
    pub fn header(&mut self, tag: u16, len: usize) -> Result<&mut Self, TlvError> {
        match u8::try_from(tag) {
            Ok(one) => self.bytes(&[one])?,
            Err(_) => self.bytes(&tag.to_be_bytes())?,
        };
        // Fixed-size writes (no copy of a variable length), as `length_field`.
        match (u8::try_from(len), u16::try_from(len)) {
            (Ok(short @ 0..=0x7F), _) => self.bytes(&[short]),
            (Ok(one), _) => self.bytes(&[0x81, one]),
            (Err(_), Ok(two)) => {
                let [hi, lo] = two.to_be_bytes();
                self.bytes(&[0x82, hi, lo])
            }
            (Err(_), Err(_)) => Err(TlvError::BadLength),
        }
    }

    /// Append a whole TLV.
    pub fn tlv(&mut self, tag: u16, value: &[u8]) -> Result<&mut Self, TlvError> {
        self.header(tag, value.len())?.bytes(value)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 3000, 0xFFFF] {
            let mut buf = [0u8; 0x10010];
            let value = [0xA5u8; 0xFFFF];
            let mut w = Writer::new(&mut buf);
            w.tlv(0x5F2F, &value[..len]).unwrap();
            assert_eq!(w.len(), encoded_len(0x5F2F, len));
            let n = w.len();
            let (tlv, rest) = take(&buf[..n]).unwrap();
            assert_eq!(tlv.tag, 0x5F2F);
            assert_eq!(tlv.value.len(), len);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(take(&[]), Err(TlvError::Truncated));
        assert_eq!(take(&[0x53]), Err(TlvError::Truncated));
        assert_eq!(take(&[0x53, 0x05, 1, 2]), Err(TlvError::Truncated));
        assert_eq!(take(&[0x53, 0x83, 0, 0, 1]), Err(TlvError::BadLength));
        assert_eq!(take(&[0x53, 0x80]), Err(TlvError::BadLength));
        assert_eq!(take(&[0x5F, 0x81, 0x01]), Err(TlvError::BadTag));
        assert_eq!(take(&[0x82, 0x82, 0x01]), Err(TlvError::Truncated));
        let mut it = iter(&[0x80, 0x00, 0x81]);
        assert!(matches!(it.next(), Some(Ok(_))));
        assert!(matches!(it.next(), Some(Err(TlvError::Truncated))));
        assert!(it.next().is_none());
    }

    #[test]
    fn find_and_small_buffer() {
        let data = [0x80, 0x00, 0x81, 0x02, 0xAA, 0xBB];
        assert_eq!(find(&data, 0x81), Ok(Some(&[0xAA, 0xBB][..])));
        assert_eq!(find(&data, 0x82), Ok(None));
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(
            w.tlv(0x53, &[1, 2]).map(|_| ()),
            Err(TlvError::BufferTooSmall)
        );
    }
}
