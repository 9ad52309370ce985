//! Command APDU encoding (ISO 7816-4): one encoder for every host-side sender —
//! the host driver, the firmware tests, the fuzz harness and xtask.
//!
//! ```
//! use tamga_spec::apdu::{self, Form, Header};
//! use tamga_spec::Ins;
//!
//! let h = Header::new(Ins::Verify.to_u8(), 0x00, 0x80);
//! let mut buf = [0u8; 16];
//! let n = apdu::encode(h, b"123456\xFF\xFF", None, Form::Auto, &mut buf).unwrap();
//! assert_eq!(&buf[..n], b"\x00\x20\x00\x80\x08123456\xFF\xFF");
//! // An extended APDU never carries more than 65,535 bytes.
//! assert!(apdu::encoded_len(70_000, None, Form::Auto).is_err());
//! ```

/// The class byte of an interindustry command, last (or only) of its chain.
pub const CLA: u8 = 0x00;
/// The class bit saying "more of this chain follows" (ISO 7816-4 5.1.1).
pub const CLA_CHAINING: u8 = 0x10;
/// Largest command data of a short APDU.
pub const SHORT_DATA_MAX: usize = 255;
/// Largest command data of an extended APDU.
pub const EXTENDED_DATA_MAX: usize = 65_535;
/// Largest Le of a short APDU (encoded `00`).
pub const SHORT_LE_MAX: usize = 256;
/// Largest Le of an extended APDU (encoded `00 00`).
pub const EXTENDED_LE_MAX: usize = 65_536;
/// P1 and P2 of GET DATA and PUT DATA: the current DF (the PIV application).
pub const P1P2_CURRENT_DF: (u8, u8) = (0x3F, 0xFF);
/// P1 of SELECT: by DF name (AID).
pub const P1_SELECT_BY_NAME: u8 = 0x04;
/// SW1 of "more data available" (`61xx`), answered with GET RESPONSE.
pub const SW1_MORE_DATA: u8 = 0x61;

/// The four header bytes of a command APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
}

impl Header {
    /// A header with class [`CLA`].
    pub const fn new(ins: u8, p1: u8, p2: u8) -> Self {
        Header {
            cla: CLA,
            ins,
            p1,
            p2,
        }
    }

    /// The same header with the chaining bit set or cleared.
    pub const fn chained(self, more: bool) -> Self {
        Header {
            cla: if more {
                self.cla | CLA_CHAINING
            } else {
                self.cla & !CLA_CHAINING
            },
            ..self
        }
    }
}

/// Short or extended length fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Short when data and Le fit, extended otherwise.
    Auto,
    /// Short only: longer data or Le is an error.
    Short,
    /// Extended length fields even when short ones would do.
    Extended,
}

/// Why a command cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Data or Le larger than the chosen form carries (at most 65,535 data bytes).
    TooLong,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EncodeError::TooLong => "command data or Le too long for one APDU",
            EncodeError::BufferTooSmall => "APDU buffer too small",
        })
    }
}

fn extended(data_len: usize, le: Option<usize>, form: Form) -> Result<bool, EncodeError> {
    let short_fits = data_len <= SHORT_DATA_MAX && le.is_none_or(|l| l <= SHORT_LE_MAX);
    let ext_fits = data_len <= EXTENDED_DATA_MAX && le.is_none_or(|l| l <= EXTENDED_LE_MAX);
    match form {
        Form::Short if short_fits => Ok(false),
        Form::Auto if short_fits => Ok(false),
        Form::Auto | Form::Extended if ext_fits => Ok(true),
        _ => Err(EncodeError::TooLong),
    }
}

/// Bytes of the command with `data_len` data bytes and expected length `le`.
pub fn encoded_len(data_len: usize, le: Option<usize>, form: Form) -> Result<usize, EncodeError> {
    let ext = extended(data_len, le, form)?;
    let lc = match (data_len, ext) {
        (0, _) => 0,
        (_, false) => 1,
        (_, true) => 3,
    };
    let le_len = match (le, ext) {
        (None, _) => 0,
        (Some(_), false) => 1,
        (Some(_), true) if data_len == 0 => 3,
        (Some(_), true) => 2,
    };
    Ok(4 + lc + data_len + le_len)
}

/// Encode the command into `out`; returns its length. Le `Some(256)` (short) and
/// `Some(65536)` (extended) are encoded as zeros, as ISO 7816-4 says.
pub fn encode(
    header: Header,
    data: &[u8],
    le: Option<usize>,
    form: Form,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let n = encoded_len(data.len(), le, form)?;
    let ext = extended(data.len(), le, form)?;
    let out = out.get_mut(..n).ok_or(EncodeError::BufferTooSmall)?;
    out[..4].copy_from_slice(&[header.cla, header.ins, header.p1, header.p2]);
    let mut at = 4;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    // The lengths were checked by `extended`: they fit their fields.
    let [_, _, hi, lo] = u32::try_from(data.len()).unwrap_or(0).to_be_bytes();
    if !data.is_empty() {
        if ext {
            put(&[0, hi, lo]);
        } else {
            put(&[lo]);
        }
        put(data);
    }
    if let Some(le) = le {
        let [_, _, hi, lo] = u32::try_from(le).unwrap_or(0).to_be_bytes();
        match (ext, data.is_empty()) {
            (false, _) => put(&[lo]),
            (true, true) => put(&[0, hi, lo]),
            (true, false) => put(&[hi, lo]),
        }
    }
    Ok(n)
}

/// Encode the command into a new vector (hosts and tests).
#[cfg(feature = "alloc")]
pub fn to_vec(
    header: Header,
    data: &[u8],
    le: Option<usize>,
    form: Form,
) -> Result<alloc::vec::Vec<u8>, EncodeError> {
    let mut v = alloc::vec![0u8; encoded_len(data.len(), le, form)?];
    encode(header, data, le, form, &mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(data: &[u8], le: Option<usize>, form: Form) -> Result<([u8; 80], usize), EncodeError> {
        let mut b = [0u8; 80];
        let n = encode(Header::new(0xCB, 0x3F, 0xFF), data, le, form, &mut b)?;
        Ok((b, n))
    }

    #[test]
    fn the_four_cases_short_and_extended() {
        let (b, n) = enc(&[], None, Form::Auto).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF]);
        let (b, n) = enc(&[], Some(256), Form::Auto).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF, 0]);
        let (b, n) = enc(&[1, 2], Some(0), Form::Auto).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF, 2, 1, 2, 0]);
        let (b, n) = enc(&[1, 2], None, Form::Extended).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF, 0, 0, 2, 1, 2]);
        let (b, n) = enc(&[1, 2], Some(65_536), Form::Auto).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF, 0, 0, 2, 1, 2, 0, 0]);
        let (b, n) = enc(&[], Some(300), Form::Auto).unwrap();
        assert_eq!(&b[..n], &[0, 0xCB, 0x3F, 0xFF, 0, 1, 0x2C]);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert_eq!(
            encoded_len(65_536, None, Form::Auto),
            Err(EncodeError::TooLong)
        );
        assert_eq!(encoded_len(65_535, None, Form::Auto), Ok(4 + 3 + 65_535));
        assert_eq!(
            encoded_len(256, None, Form::Short),
            Err(EncodeError::TooLong)
        );
        assert_eq!(
            encoded_len(0, Some(65_537), Form::Auto),
            Err(EncodeError::TooLong)
        );
        assert_eq!(
            enc(&[0; 79], None, Form::Auto).err(),
            Some(EncodeError::BufferTooSmall)
        );
    }

    #[test]
    fn chaining_bit() {
        let h = Header::new(0xDB, 0x3F, 0xFF);
        assert_eq!(h.chained(true).cla, CLA_CHAINING);
        assert_eq!(h.chained(true).chained(false), h);
    }
}
