//! TLV tags inside command and response data.

/// Application property template (SELECT response).
pub const APT: u16 = 0x61;
/// Application identifier (PIX) in the property template.
pub const APT_AID: u16 = 0x4F;
/// Coexistent tag allocation authority template.
pub const APT_AUTHORITY: u16 = 0x79;
/// Application label.
pub const APT_LABEL: u16 = 0x50;
/// Cryptographic algorithms supported template.
pub const APT_ALGORITHMS: u16 = 0xAC;
/// Algorithm identifier inside [`APT_ALGORITHMS`] and [`GEN_CONTROL`].
pub const ALGORITHM: u16 = 0x80;
/// Object identifier placeholder closing [`APT_ALGORITHMS`].
pub const APT_OID: u16 = 0x06;

/// GET DATA / PUT DATA: tag list naming the object.
pub const TAG_LIST: u16 = 0x5C;
/// GET DATA / PUT DATA: the object's data.
pub const OBJECT_DATA: u16 = 0x53;

/// GENERAL AUTHENTICATE: dynamic authentication template.
pub const DYN_AUTH: u16 = 0x7C;
/// Dynamic authentication: witness.
pub const DYN_WITNESS: u16 = 0x80;
/// Dynamic authentication: challenge.
pub const DYN_CHALLENGE: u16 = 0x81;
/// Dynamic authentication: response.
pub const DYN_RESPONSE: u16 = 0x82;
/// Dynamic authentication: exponentiation (ECDH peer point).
pub const DYN_EXPONENTIATION: u16 = 0x85;

/// GENERATE: control reference template.
pub const GEN_CONTROL: u16 = 0xAC;
/// GENERATE / IMPORT: PIN policy (YubiKey extension).
pub const PIN_POLICY: u16 = 0xAA;
/// GENERATE / IMPORT: touch policy (YubiKey extension).
pub const TOUCH_POLICY: u16 = 0xAB;
/// Public key template (GENERATE response).
pub const PUBLIC_KEY: u16 = 0x7F49;
/// RSA modulus in [`PUBLIC_KEY`].
pub const RSA_MODULUS: u16 = 0x81;
/// RSA public exponent in [`PUBLIC_KEY`].
pub const RSA_EXPONENT: u16 = 0x82;
/// EC point (uncompressed) in [`PUBLIC_KEY`].
pub const EC_POINT: u16 = 0x86;

/// IMPORT KEY: RSA prime p.
pub const IMPORT_RSA_P: u16 = 0x01;
/// IMPORT KEY: RSA prime q.
pub const IMPORT_RSA_Q: u16 = 0x02;
/// IMPORT KEY: RSA d mod (p-1).
pub const IMPORT_RSA_DP: u16 = 0x03;
/// IMPORT KEY: RSA d mod (q-1).
pub const IMPORT_RSA_DQ: u16 = 0x04;
/// IMPORT KEY: RSA q^-1 mod p.
pub const IMPORT_RSA_QINV: u16 = 0x05;
/// IMPORT KEY: EC private scalar.
pub const IMPORT_EC_PRIVATE: u16 = 0x06;

/// GET METADATA: algorithm.
pub const META_ALGORITHM: u16 = 0x01;
/// GET METADATA: PIN policy and touch policy (2 bytes).
pub const META_POLICY: u16 = 0x02;
/// GET METADATA: origin (generated / imported).
pub const META_ORIGIN: u16 = 0x03;
/// GET METADATA: public key (content of a 7F49 template).
pub const META_PUBLIC_KEY: u16 = 0x04;
/// GET METADATA: 1 while the PIN, PUK or management key has its default value.
pub const META_DEFAULT: u16 = 0x05;
/// GET METADATA: retries (total, remaining).
pub const META_RETRIES: u16 = 0x06;

/// GENERAL AUTHENTICATE: the template `7C { 82 00, <tag> <value> }` asking
/// for a response to `value` (a challenge `81`, an exponentiation `85`).
///
/// ```
/// use tamga_spec::tags;
/// assert_eq!(
///     tags::ask_response(tags::DYN_CHALLENGE, &[9]),
///     [0x7C, 0x05, 0x82, 0x00, 0x81, 0x01, 9]
/// );
/// ```
#[cfg(feature = "alloc")]
pub fn ask_response(tag: u16, value: &[u8]) -> alloc::vec::Vec<u8> {
    let inner = [
        crate::tlv::to_vec(DYN_RESPONSE, &[]),
        crate::tlv::to_vec(tag, value),
    ]
    .concat();
    crate::tlv::to_vec(DYN_AUTH, &inner)
}

/// GENERATE ASYMMETRIC KEY PAIR: the control template naming only the
/// algorithm, `AC 03 80 01 <alg>`.
///
/// ```
/// use tamga_spec::{Algorithm, tags};
/// assert_eq!(tags::gen_control(Algorithm::EccP256.to_u8()), [0xAC, 0x03, 0x80, 0x01, 0x11]);
/// ```
#[allow(
    clippy::cast_possible_truncation,
    reason = "const fn: GEN_CONTROL and ALGORITHM are one-byte tags"
)]
pub const fn gen_control(alg: u8) -> [u8; 5] {
    [GEN_CONTROL as u8, 3, ALGORITHM as u8, 1, alg]
}

/// Discovery object: its template tag (the object's tag, [`crate::ObjectTag::DISCOVERY`]).
pub const DISCOVERY: u16 = 0x7E;
/// Discovery object: PIV card application AID.
pub const DISCOVERY_AID: u16 = 0x4F;
/// Discovery object: PIN usage policy.
pub const DISCOVERY_PIN_POLICY: u16 = 0x5F2F;

/// CHUID: FASC-N.
pub const CHUID_FASCN: u16 = 0x30;
/// CHUID: GUID (16 bytes).
pub const CHUID_GUID: u16 = 0x34;
/// CHUID: expiration date (YYYYMMDD).
pub const CHUID_EXPIRY: u16 = 0x35;
/// CHUID: issuer asymmetric signature.
pub const CHUID_SIGNATURE: u16 = 0x3E;
/// Error detection code closing CHUID, CCC and certificate objects.
pub const ERROR_DETECTION: u16 = 0xFE;

/// Certificate object: the certificate (DER).
pub const CERT: u16 = 0x70;
/// Certificate object: CertInfo (compression).
pub const CERT_INFO: u16 = 0x71;
