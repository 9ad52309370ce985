//! The card holder unique identifier (CHUID) a card answers before it is given
//! one, and the certificate object layout (SP 800-73-4 part 1, 3.3).

use crate::{tags, tlv};

/// FASC-N of PIV test cards (agency code 9999, all nines), as the CHUID carries it.
pub const TEST_FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];
/// Expiry date (YYYYMMDD) of the default CHUID.
pub const DEFAULT_EXPIRY: &[u8; 8] = b"20301231";

/// Bytes of the default CHUID content.
pub const DEFAULT_CHUID_LEN: usize = tlv::encoded_len(tags::CHUID_FASCN, TEST_FASCN.len())
    + tlv::encoded_len(tags::CHUID_GUID, 16)
    + tlv::encoded_len(tags::CHUID_EXPIRY, DEFAULT_EXPIRY.len())
    + tlv::encoded_len(tags::CHUID_SIGNATURE, 0)
    + tlv::encoded_len(tags::ERROR_DETECTION, 0);

/// Offset of the GUID's 16 bytes in the default CHUID content.
pub const GUID_OFFSET: usize = tlv::encoded_len(tags::CHUID_FASCN, TEST_FASCN.len()) + 2;

/// The default CHUID content (the tag 53 value) with an all-zero GUID at
/// [`GUID_OFFSET`]: the test FASC-N, the GUID, [`DEFAULT_EXPIRY`], an empty
/// signature, an empty error detection code. Every tag is one byte and every
/// length below 128, so each TLV is tag, length, value.
pub const DEFAULT_CHUID_TEMPLATE: [u8; DEFAULT_CHUID_LEN] = template();

const fn template() -> [u8; DEFAULT_CHUID_LEN] {
    let parts: [(u16, &[u8]); 5] = [
        (tags::CHUID_FASCN, &TEST_FASCN),
        (tags::CHUID_GUID, &[0; 16]),
        (tags::CHUID_EXPIRY, DEFAULT_EXPIRY),
        (tags::CHUID_SIGNATURE, &[]),
        (tags::ERROR_DETECTION, &[]),
    ];
    let mut out = [0u8; DEFAULT_CHUID_LEN];
    let mut at = 0;
    let mut p = 0;
    while p < parts.len() {
        let (tag, value) = parts[p];
        out[at] = tag.to_be_bytes()[1];
        out[at + 1] = value.len().to_be_bytes()[core::mem::size_of::<usize>() - 1];
        at += 2;
        let mut i = 0;
        while i < value.len() {
            out[at + i] = value[i];
            i += 1;
        }
        at += value.len();
        p += 1;
    }
    out
}

/// The default CHUID content for a card with `guid`.
pub fn default_chuid(guid: &[u8; 16]) -> [u8; DEFAULT_CHUID_LEN] {
    let mut out = DEFAULT_CHUID_TEMPLATE;
    if let Some(g) = out.get_mut(GUID_OFFSET..GUID_OFFSET + guid.len()) {
        g.copy_from_slice(guid);
    }
    out
}

/// CertInfo (tag 71) of an uncompressed X.509 certificate.
pub const CERT_INFO_UNCOMPRESSED: u8 = 0x00;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_chuid_is_the_tlv_list() {
        let guid = [7u8; 16];
        let c = default_chuid(&guid);
        assert_eq!(tlv::find(&c, tags::CHUID_FASCN), Ok(Some(&TEST_FASCN[..])));
        assert_eq!(tlv::find(&c, tags::CHUID_GUID), Ok(Some(&guid[..])));
        assert_eq!(
            tlv::find(&c, tags::CHUID_EXPIRY),
            Ok(Some(&DEFAULT_EXPIRY[..]))
        );
        assert_eq!(c.len(), 2 + 25 + 2 + 16 + 2 + 8 + 2 + 2);
        // The same as writing the TLVs one by one.
        let mut buf = [0u8; DEFAULT_CHUID_LEN];
        let mut w = tlv::Writer::new(&mut buf);
        w.tlv(tags::CHUID_FASCN, &TEST_FASCN)
            .and_then(|w| w.tlv(tags::CHUID_GUID, &guid))
            .and_then(|w| w.tlv(tags::CHUID_EXPIRY, DEFAULT_EXPIRY))
            .and_then(|w| w.tlv(tags::CHUID_SIGNATURE, &[]))
            .and_then(|w| w.tlv(tags::ERROR_DETECTION, &[]))
            .unwrap();
        assert_eq!(w.len(), DEFAULT_CHUID_LEN);
        assert_eq!(buf, c);
    }
}
