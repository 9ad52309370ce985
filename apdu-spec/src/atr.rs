//! The Tamga answer-to-reset.

/// Historical bytes: compact-TLV, card issuer's data "Tamga", card capabilities.
pub const HISTORICAL: [u8; 11] = [
    0x80, 0x55, b'T', b'a', b'm', b'g', b'a', 0x73, 0xC0, 0x21, 0xC0,
];

/// The ATR: direct convention, T=1 (TD1 = 80: T=0 and more; TD2 = 01: T=1),
/// the historical bytes, and the check byte TCK.
pub const ATR: [u8; 4 + HISTORICAL.len() + 1] = {
    let mut atr = [0u8; 4 + HISTORICAL.len() + 1];
    atr[0] = 0x3B;
    atr[1] = 0x80 | HISTORICAL.len() as u8;
    atr[2] = 0x80;
    atr[3] = 0x01;
    let mut i = 0;
    while i < HISTORICAL.len() {
        atr[4 + i] = HISTORICAL[i];
        i += 1;
    }
    // TCK: XOR of T0 up to the last historical byte.
    let mut tck = 0u8;
    let mut j = 1;
    while j < atr.len() - 1 {
        tck ^= atr[j];
        j += 1;
    }
    atr[atr.len() - 1] = tck;
    atr
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tck_makes_the_xor_zero() {
        assert_eq!(ATR.iter().skip(1).fold(0, |a, b| a ^ b), 0);
        assert_eq!(ATR[1] & 0x0F, HISTORICAL.len() as u8);
    }
}
