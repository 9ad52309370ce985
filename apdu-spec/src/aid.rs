//! Application identifiers.

/// The full PIV application identifier (NIST RID A0 00 00 03 08, PIX 00 00 10 00 01 00).
pub const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];

/// The shortest right-truncated PIV AID a card accepts in SELECT (the NIST RID;
/// yubico-piv-tool selects with it).
pub const PIV_AID_MIN_LEN: usize = 5;

/// The PIX part of the AID, returned in tag 4F of the application property template.
pub const PIV_PIX: [u8; 6] = [0x00, 0x00, 0x10, 0x00, 0x01, 0x00];

/// The NIST registered application provider identifier.
pub const NIST_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// Whether `aid` selects PIV: the full AID or any right-truncated prefix of at
/// least [`PIV_AID_MIN_LEN`] bytes.
pub fn selects_piv(aid: &[u8]) -> bool {
    aid.len() >= PIV_AID_MIN_LEN && PIV_AID.starts_with(aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_prefixes_select_piv() {
        for n in PIV_AID_MIN_LEN..=PIV_AID.len() {
            assert!(selects_piv(&PIV_AID[..n]), "prefix of {n} bytes");
        }
        assert!(!selects_piv(&PIV_AID[..4]));
        assert!(!selects_piv(&[0xA0, 0x00, 0x00, 0x05, 0x27]));
        let mut long = [0u8; 12];
        long[..11].copy_from_slice(&PIV_AID);
        assert!(!selects_piv(&long));
    }
}
