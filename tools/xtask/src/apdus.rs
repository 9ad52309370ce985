//! The command APDUs of the PC/SC check, as the hex `opensc-tool -s` takes,
//! encoded by `tamga_spec::apdu` from the card edge's names.

use tamga_spec::aid::NIST_RID;
use tamga_spec::apdu::{self, Form, Header, P1_SELECT_BY_NAME, SHORT_DATA_MAX, SHORT_LE_MAX};
use tamga_spec::{Algorithm, Ins, KeyRef, defaults, tags};

/// One command as hex: short form, Le 256 (`00`) when `le`.
fn hex_apdu(h: Header, data: &[u8], le: bool) -> String {
    let le = le.then_some(SHORT_LE_MAX);
    let apdu = apdu::to_vec(h, data, le, Form::Short).expect("a short APDU");
    hex::encode_upper(apdu)
}

/// SELECT the PIV application by the NIST RID.
pub fn select() -> String {
    hex_apdu(
        Header::new(Ins::Select.to_u8(), P1_SELECT_BY_NAME, 0x00),
        &NIST_RID,
        false,
    )
}

/// GET VERSION.
pub fn version() -> String {
    hex_apdu(Header::new(Ins::GetVersion.to_u8(), 0, 0), &[], false)
}

/// GET SERIAL.
pub fn serial() -> String {
    hex_apdu(Header::new(Ins::GetSerial.to_u8(), 0, 0), &[], false)
}

fn verify() -> Header {
    Header::new(Ins::Verify.to_u8(), 0x00, KeyRef::Pin.to_u8())
}

/// VERIFY without data: the PIN's tries left.
pub fn verify_status() -> String {
    hex_apdu(verify(), &[], true)
}

/// VERIFY with the default PIN, padded to 8 bytes.
pub fn verify_pin() -> String {
    let mut pin = [defaults::PIN_PAD; defaults::PIN_MAX_LEN];
    pin[..defaults::PIN.len()].copy_from_slice(defaults::PIN);
    hex_apdu(verify(), &pin, false)
}

/// An RSA-2048 raw private operation (signature or decryption) by `slot`
/// through command chaining (the ATR announces no extended lengths):
/// `7C 82 0106 { 82 00, 81 82 0100 <block> }` with a PKCS#1 v1.5-shaped
/// block, split into a 255-byte link and the rest.
pub fn rsa_private(slot: KeyRef) -> [String; 2] {
    let mut block = vec![0x00, 0x01];
    block.extend(std::iter::repeat_n(0xFF, 221));
    block.push(0x00);
    block.extend(std::iter::repeat_n(0x5A, 32));
    let data = tags::ask_response(tags::DYN_CHALLENGE, &block);
    let h = Header::new(
        Ins::GeneralAuthenticate.to_u8(),
        Algorithm::Rsa2048.to_u8(),
        slot.to_u8(),
    );
    let (first, rest) = data.split_at(SHORT_DATA_MAX);
    [
        hex_apdu(h.chained(true), first, false),
        hex_apdu(h, rest, true),
    ]
}

/// The generator G of P-256, uncompressed (`04 Gx Gy`).
const P256_G: &[u8; 65] = b"\x04\
      \x6B\x17\xD1\xF2\xE1\x2C\x42\x47\xF8\xBC\xE6\xE5\x63\xA4\x40\xF2\x77\x03\x7D\x81\x2D\xEB\x33\xA0\xF4\xA1\x39\x45\xD8\x98\xC2\x96\
      \x4F\xE3\x42\xE2\xFE\x1A\x7F\x9B\x8E\xE7\xEB\x4A\x7C\x0F\x9E\x16\x2B\xCE\x33\x57\x6B\x31\x5E\xCE\xCB\xB6\x40\x68\x37\xBF\x51\xF5";

/// ECDH with the P-256 key in 9E (PIN policy never) against the curve's
/// generator G: `7C 45 { 82 00, 85 41 04 Gx Gy }`; the answer is 9E's public x.
pub fn ecdh_9e() -> String {
    let h = Header::new(
        Ins::GeneralAuthenticate.to_u8(),
        Algorithm::EccP256.to_u8(),
        KeyRef::CardAuthentication.to_u8(),
    );
    hex_apdu(
        h,
        &tags::ask_response(tags::DYN_EXPONENTIATION, P256_G),
        true,
    )
}

/// GENERATE a GOST key of `alg` in `slot` (management key needed).
pub fn gost_generate(slot: KeyRef, alg: Algorithm) -> String {
    let h = Header::new(Ins::GenerateAsymmetric.to_u8(), 0x00, slot.to_u8());
    hex_apdu(h, &tags::gen_control(alg.to_u8()), true)
}

/// A GOST signature by `slot` over a digest of the curve's length:
/// `7C LL { 82 00, 81 L <digest> }`.
pub fn gost_sign(slot: KeyRef, alg: Algorithm) -> String {
    let len = alg.gost_len().unwrap_or(0);
    let h = Header::new(Ins::GeneralAuthenticate.to_u8(), alg.to_u8(), slot.to_u8());
    hex_apdu(
        h,
        &tags::ask_response(tags::DYN_CHALLENGE, &vec![0x3C; len]),
        true,
    )
}

/// GET METADATA of slot 9A.
pub fn metadata_9a() -> String {
    let h = Header::new(
        Ins::GetMetadata.to_u8(),
        0x00,
        KeyRef::Authentication.to_u8(),
    );
    hex_apdu(h, &[], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the check sent before these were encoded from the spec.
    #[test]
    fn the_same_bytes_as_before() {
        assert_eq!(select(), "00A4040005A000000308");
        assert_eq!(version(), "00FD0000");
        assert_eq!(serial(), "00F80000");
        assert_eq!(verify_status(), "0020008000");
        assert_eq!(verify_pin(), "0020008008313233343536FFFF");
        assert_eq!(
            ecdh_9e(),
            concat!(
                "0087119E47",
                "7C45820085410",
                "46B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
                "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
                "00"
            )
        );
        assert_eq!(metadata_9a(), "00F7009A00");
        let [a, b] = rsa_private(KeyRef::Authentication);
        assert!(
            a.starts_with("1087079AFF7C8201068200818201000001FFFF"),
            "{a}"
        );
        assert_eq!(a.len(), 2 * (5 + 255));
        assert!(b.starts_with("0087079A0B"), "{b}");
        assert!(b.ends_with(&format!("{}00", "5A".repeat(11))), "{b}");
    }
}
