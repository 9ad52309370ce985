//! Factory defaults, as YubiKeys ship them. A card reports each as "default" in
//! GET METADATA until it is changed, so hosts can insist on personalization.

/// Default PIN.
pub const PIN: &[u8] = b"123456";
/// Default PUK.
pub const PUK: &[u8] = b"12345678";
/// Default management key (3DES, the well-known 01 02 .. 08 three times).
pub const MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// Default PIN retry count.
pub const PIN_RETRIES: u8 = 3;
/// Default PUK retry count.
pub const PUK_RETRIES: u8 = 3;
/// Shortest PIN or PUK accepted.
pub const PIN_MIN_LEN: usize = 6;
/// Longest PIN or PUK (the PIV reference data field is 8 bytes, padded with FF).
pub const PIN_MAX_LEN: usize = 8;
/// Padding byte of the 8-byte PIN field.
pub const PIN_PAD: u8 = 0xFF;
/// Version reported by GET VERSION: the YubiKey PIV level whose extensions
/// Tamga implements (metadata needs 5.3; 5.4 still ships a 3DES default key).
pub const COMPAT_VERSION: [u8; 3] = [5, 4, 3];
/// Largest data object (the content of tag 53) a Tamga card stores.
pub const MAX_OBJECT_LEN: usize = 3584;
