//! The Tamga answers-to-reset: one set of historical bytes, two sets of
//! interface bytes (a card on a host with full-size buffers, a card on a
//! microcontroller whose link takes short APDUs and command chains).

/// Historical bytes: category indicator `80` (compact-TLV follows), card
/// issuer's data (tag 5) "Tamga", card capabilities (tag 7, 3 bytes: DF
/// selection by full and partial name, data unit coding 21, and in the last
/// byte `80` command chaining plus `40` extended Lc/Le when `extended`).
const fn historical(extended: bool) -> [u8; 11] {
    let caps = if extended { 0xC0 } else { 0x80 };
    [
        0x80, 0x55, b'T', b'a', b'm', b'g', b'a', 0x73, 0xC0, 0x21, caps,
    ]
}

/// Historical bytes announcing command chaining and extended lengths.
pub const HISTORICAL: [u8; 11] = historical(true);

/// Historical bytes announcing command chaining only: hosts split long data
/// into short APDUs (OpenSC and yubico-piv-tool do), so the card's command
/// buffer can stay small.
pub const HISTORICAL_CHAINING: [u8; 11] = historical(false);

/// An ATR: TS = `3B` (direct convention), T0 with TD1 present and the
/// number of historical bytes, the `interface` bytes from TD1 on, the
/// `historical` bytes, and the check byte TCK (T=1 is always indicated, so
/// TCK is always present). `N` must be `3 + interface.len() +
/// historical.len()`; a mismatch fails the constant's evaluation at compile
/// time.
#[allow(
    clippy::cast_possible_truncation,
    reason = "const fn: the historical length is asserted <= 15 first"
)]
pub const fn build<const N: usize>(interface: &[u8], historical: &[u8]) -> [u8; N] {
    assert!(N == 3 + interface.len() + historical.len() && historical.len() <= 15);
    let mut atr = [0u8; N];
    atr[0] = 0x3B;
    atr[1] = 0x80 | historical.len() as u8;
    let mut i = 0;
    while i < interface.len() {
        atr[2 + i] = interface[i];
        i += 1;
    }
    let mut j = 0;
    while j < historical.len() {
        atr[2 + interface.len() + j] = historical[j];
        j += 1;
    }
    // TCK: XOR of T0 up to the last historical byte.
    let mut tck = 0u8;
    let mut k = 1;
    while k < N - 1 {
        tck ^= atr[k];
        k += 1;
    }
    atr[N - 1] = tck;
    atr
}

/// The ATR of a Tamga card on a host (`tamga-vcard`, `emu:` cards): TD1 = `80`
/// (T=0, TD2 follows), TD2 = `01` (T=1); chaining and extended lengths.
pub const ATR: [u8; 16] = build(&[0x80, 0x01], &HISTORICAL);

/// The ATR of a Tamga card on a microcontroller board (the QEMU Cortex-M4
/// board; a contact-reader T=1 board): TD1 = `81` (T=1, TD2 follows), TD2 =
/// `31` (T=1, TA3 and TB3 follow), TA3 = `FE` (IFSC 254), TB3 = `15` (BWI 1,
/// CWI 5); command chaining only.
pub const ATR_MCU: [u8; 18] = build(&[0x81, 0x31, 0xFE, 0x15], &HISTORICAL_CHAINING);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tck_makes_the_xor_zero() {
        for atr in [&ATR[..], &ATR_MCU[..]] {
            assert_eq!(atr.iter().skip(1).fold(0, |a, b| a ^ b), 0);
            assert_eq!(atr[1] & 0x0F, 11);
            assert_eq!(&atr[atr.len() - 12..atr.len() - 5], b"\x80\x55Tamga");
        }
        assert_eq!(ATR[..4], [0x3B, 0x8B, 0x80, 0x01]);
        assert_eq!(ATR_MCU[..6], [0x3B, 0x8B, 0x81, 0x31, 0xFE, 0x15]);
        // As documented in CARD-EDGE.md §1.3.
        assert_eq!(ATR[ATR.len() - 2..], [0xC0, 0xD3]);
        assert_eq!(ATR_MCU[ATR_MCU.len() - 2..], [0x80, 0x49]);
    }
}
