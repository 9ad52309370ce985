//! Test harness: a card on simulated flash, APDU helpers, host-side checks.
#![allow(dead_code)]

use tamga_board_host::{SeededRng, SimFlash};
use tamga_firmware::Applet;
pub use tamga_firmware::spec::Ins;
use tamga_firmware::spec::apdu::{CLA, Form, Header, SHORT_DATA_MAX, SHORT_LE_MAX, SW1_MORE_DATA};
/// One TLV in a new vector: the spec's encoder.
pub use tamga_firmware::spec::tlv::to_vec as tlv;
use tamga_firmware::spec::{Algorithm, KeyRef, ObjectTag, defaults, tags, tlv};

/// Flash size used by most tests.
pub const FLASH: usize = 128 * 1024;

pub type Card = Applet<SimFlash, SeededRng>;

/// A response: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resp {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Resp {
    pub fn ok(&self) -> &[u8] {
        assert_eq!(self.sw, 0x9000, "expected 9000, got {:04X}", self.sw);
        &self.data
    }
}

pub fn new_card(seed: u64) -> Card {
    Applet::new(SimFlash::new(FLASH), SeededRng::new(seed)).unwrap()
}

/// Reboot on the same flash: a fresh applet, volatile state gone.
pub fn reboot(card: Card, seed: u64) -> Card {
    Applet::new(card.into_flash(), SeededRng::new(seed)).unwrap()
}

/// Encode a command APDU (short form when it fits, extended otherwise).
pub fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
    let header = Header { cla, ins, p1, p2 };
    tamga_firmware::spec::apdu::to_vec(header, data, le, Form::Auto).unwrap()
}

/// Send one raw APDU.
pub fn raw(card: &mut Card, apdu: &[u8]) -> Resp {
    let mut reply = [0u8; 1024];
    let n = card.process(apdu, &mut reply);
    assert!(n >= 2, "reply too short");
    Resp {
        data: reply[..n - 2].to_vec(),
        sw: u16::from_be_bytes([reply[n - 2], reply[n - 1]]),
    }
}

/// The short APDUs sending `data` with `ins`: chained in 255-byte parts, each
/// asking for `le`.
pub fn chained(ins: Ins, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(SHORT_DATA_MAX).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let h = Header::new(ins.to_u8(), p1, p2).chained(i < last);
            apdu(h.cla, h.ins, p1, p2, c, le)
        })
        .collect()
}

/// One command APDU with the plain class byte.
pub fn cmd(ins: Ins, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
    apdu(CLA, ins.to_u8(), p1, p2, data, le)
}

/// The low byte of a counter, for test patterns.
pub fn byte(n: usize) -> u8 {
    n.to_le_bytes()[0]
}

/// The SET MANAGEMENT KEY body: algorithm, then the key as a `9B` TLV.
pub fn set_mgmt_body(alg: Algorithm, key: &[u8]) -> Vec<u8> {
    let key_ref = u16::from(KeyRef::Management.to_u8());
    [vec![alg.to_u8()], tlv(key_ref, key)].concat()
}

/// [`call`]'s status word alone.
pub fn sw(card: &mut Card, ins: Ins, p1: u8, p2: u8, data: &[u8]) -> u16 {
    call(card, ins, p1, p2, data).sw
}

/// Send a command with short APDUs: chain data over 255 bytes, follow 61xx.
pub fn call(card: &mut Card, ins: Ins, p1: u8, p2: u8, data: &[u8]) -> Resp {
    let parts = chained(ins, p1, p2, data, Some(SHORT_LE_MAX));
    let last = parts.len() - 1;
    let mut r = Resp {
        data: vec![],
        sw: 0,
    };
    for (i, a) in parts.iter().enumerate() {
        r = raw(card, a);
        if i < last {
            assert_eq!(r.sw, 0x9000, "chained part {i} refused");
        }
    }
    let mut data = r.data;
    let mut sw = r.sw;
    while sw >> 8 == u16::from(SW1_MORE_DATA) {
        let le = match sw.to_be_bytes()[1] {
            0 => SHORT_LE_MAX,
            n => usize::from(n),
        };
        let get_response = Ins::GetResponse.to_u8();
        let n = raw(card, &apdu(CLA, get_response, 0x00, 0x00, &[], Some(le)));
        data.extend_from_slice(&n.data);
        sw = n.sw;
    }
    Resp { data, sw }
}

pub fn select(card: &mut Card) -> Resp {
    call(
        card,
        Ins::Select,
        0x04,
        0x00,
        &tamga_firmware::spec::PIV_AID,
    )
}

pub fn pad(pin: &[u8]) -> [u8; 8] {
    let mut p = [0xFFu8; 8];
    p[..pin.len()].copy_from_slice(pin);
    p
}

pub fn verify(card: &mut Card, pin: &[u8]) -> u16 {
    sw(card, Ins::Verify, 0x00, 0x80, &pad(pin))
}

/// One TLV value from a response.
pub fn find(data: &[u8], tag: u16) -> Option<Vec<u8>> {
    tlv::find(data, tag).unwrap().map(|v| v.to_vec())
}

/// Unwrap a single outer TLV and return its value.
pub fn inner(data: &[u8], tag: u16) -> Vec<u8> {
    let (t, rest) = tlv::take(data).unwrap();
    assert_eq!(t.tag, tag);
    assert!(rest.is_empty());
    t.value.to_vec()
}

fn crypt(alg: Algorithm, key: &[u8], block: &[u8], encrypt: bool) -> Vec<u8> {
    let mut b = block.to_vec();
    tamga_firmware::crypto::mgmt_crypt(alg, key, &mut b, encrypt).unwrap();
    b
}

/// Mutual authentication with a management key (the yubico-piv-tool flow).
pub fn auth_mgmt_with(card: &mut Card, alg: Algorithm, key: &[u8]) -> u16 {
    let r = call(
        card,
        Ins::GeneralAuthenticate,
        alg.to_u8(),
        0x9B,
        &tlv(tags::DYN_AUTH, &tlv(tags::DYN_WITNESS, &[])),
    );
    if r.sw != 0x9000 {
        return r.sw;
    }
    let enc = find(&inner(&r.data, tags::DYN_AUTH), tags::DYN_WITNESS).unwrap();
    let witness = crypt(alg, key, &enc, false);
    let challenge = vec![0x5Au8; enc.len()];
    let body = tlv(
        tags::DYN_AUTH,
        &[
            tlv(tags::DYN_WITNESS, &witness),
            tlv(tags::DYN_CHALLENGE, &challenge),
        ]
        .concat(),
    );
    let r = call(card, Ins::GeneralAuthenticate, alg.to_u8(), 0x9B, &body);
    if r.sw != 0x9000 {
        return r.sw;
    }
    let resp = find(&inner(&r.data, tags::DYN_AUTH), tags::DYN_RESPONSE).unwrap();
    assert_eq!(
        resp,
        crypt(alg, key, &challenge, true),
        "card proved a wrong key"
    );
    r.sw
}

pub fn auth_mgmt(card: &mut Card) -> u16 {
    auth_mgmt_with(card, Algorithm::Tdes, &defaults::MANAGEMENT_KEY)
}

/// SELECT the applet and authenticate with the factory management key.
pub fn admin(card: &mut Card) {
    select(card).ok();
    assert_eq!(auth_mgmt(card), 0x9000, "factory management key");
}

/// A [`new_card`] after [`admin`].
pub fn admin_card(seed: u64) -> Card {
    let mut card = new_card(seed);
    admin(&mut card);
    card
}

/// GENERATE a P-256 key in `slot`; return the public point.
pub fn generate(card: &mut Card, slot: KeyRef) -> Vec<u8> {
    let r = call(
        card,
        Ins::GenerateAsymmetric,
        0x00,
        slot.to_u8(),
        &tags::gen_control(Algorithm::EccP256.to_u8()),
    );
    let t = inner(r.ok(), tags::PUBLIC_KEY);
    let point = find(&t, tags::EC_POINT).unwrap();
    assert_eq!(point.len(), 65);
    point
}

/// Sign a 32-byte hash with `slot`; return (sw, DER signature).
pub fn sign(card: &mut Card, slot: KeyRef, hash: &[u8]) -> Resp {
    let body = tags::ask_response(tags::DYN_CHALLENGE, hash);
    let r = call(
        card,
        Ins::GeneralAuthenticate,
        Algorithm::EccP256.to_u8(),
        slot.to_u8(),
        &body,
    );
    if r.sw != 0x9000 {
        return r;
    }
    let sig = find(&inner(&r.data, tags::DYN_AUTH), tags::DYN_RESPONSE).unwrap();
    Resp {
        data: sig,
        sw: r.sw,
    }
}

/// Check an ECDSA P-256 signature over a prehash with a SEC1 public point.
pub fn ecdsa_ok(point: &[u8], hash: &[u8], der: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
    let sig = p256::ecdsa::DerSignature::try_from(der).unwrap();
    vk.verify_prehash(hash, &sig).is_ok()
}

pub fn put_data(card: &mut Card, tag: u32, content: &[u8]) -> u16 {
    let body = [ObjectTag(tag).tag_list(), tlv(tags::OBJECT_DATA, content)].concat();
    sw(card, Ins::PutData, 0x3F, 0xFF, &body)
}

pub fn get_data(card: &mut Card, tag: u32) -> Resp {
    let body = ObjectTag(tag).tag_list();
    call(card, Ins::GetData, 0x3F, 0xFF, &body)
}

/// Metadata of a key reference, as (tag, value) pairs.
pub fn metadata(card: &mut Card, key: KeyRef) -> Resp {
    call(card, Ins::GetMetadata, 0x00, key.to_u8(), &[])
}

// ---- RSA-2048 ---------------------------------------------------------------

/// The GENERATE APDU body for RSA-2048.
pub const GEN_RSA: [u8; 5] = tags::gen_control(Algorithm::Rsa2048.to_u8());

/// GENERATE an RSA-2048 key in `slot`; return (modulus, exponent).
pub fn generate_rsa(card: &mut Card, slot: KeyRef) -> (Vec<u8>, Vec<u8>) {
    let r = call(card, Ins::GenerateAsymmetric, 0x00, slot.to_u8(), &GEN_RSA);
    let t = inner(r.ok(), tags::PUBLIC_KEY);
    let n = find(&t, tags::RSA_MODULUS).unwrap();
    let e = find(&t, tags::RSA_EXPONENT).unwrap();
    assert_eq!(n.len(), 256);
    (n, e)
}

/// The GENERAL AUTHENTICATE template `7C { 82 00, 81 <block> }`.
pub fn rsa_template(block: &[u8]) -> Vec<u8> {
    tags::ask_response(tags::DYN_CHALLENGE, block)
}

/// Raw RSA with `slot` (alg 07) on `block`; the 82 value on success.
pub fn rsa_private(card: &mut Card, slot: KeyRef, block: &[u8]) -> Resp {
    let r = call(
        card,
        Ins::GeneralAuthenticate,
        Algorithm::Rsa2048.to_u8(),
        slot.to_u8(),
        &rsa_template(block),
    );
    if r.sw != 0x9000 {
        return r;
    }
    let out = find(&inner(&r.data, tags::DYN_AUTH), tags::DYN_RESPONSE).unwrap();
    Resp {
        data: out,
        sw: r.sw,
    }
}

/// A fixed RSA-2048 key for IMPORT tests, as the five CRT values (128 bytes
/// each, p, q, dp, dq, qinv), made once with the `rsa` crate from a fixed seed.
pub fn test_rsa_key() -> &'static [Vec<u8>; 5] {
    use rsa::traits::PrivateKeyParts;
    use std::sync::OnceLock;
    static KEY: OnceLock<[Vec<u8>; 5]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = SeededRng::new(0x5EED_0A5A);
        let k = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
        let fixed = |v: &rsa::BoxedUint| {
            let b = v.to_be_bytes_trimmed_vartime();
            let mut out = vec![0u8; 128 - b.len()];
            out.extend_from_slice(&b);
            out
        };
        let primes = k.primes();
        [
            fixed(&primes[0]),
            fixed(&primes[1]),
            fixed(k.dp().unwrap()),
            fixed(k.dq().unwrap()),
            fixed(&k.crt_coefficient().unwrap()),
        ]
    })
}

/// The IMPORT KEY body for RSA CRT values (tags 01-05), plus extra TLVs.
pub fn rsa_import_body(parts: &[Vec<u8>; 5], extra: &[u8]) -> Vec<u8> {
    let tags = [
        tags::IMPORT_RSA_P,
        tags::IMPORT_RSA_Q,
        tags::IMPORT_RSA_DP,
        tags::IMPORT_RSA_DQ,
        tags::IMPORT_RSA_QINV,
    ];
    let mut body = vec![];
    for (&tag, v) in tags.iter().zip(parts) {
        body.extend(tlv(tag, v));
    }
    body.extend_from_slice(extra);
    body
}

/// The host-side public key of a modulus (e = 65537).
pub fn rsa_public(n: &[u8]) -> rsa::PublicKey {
    rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from(65537u32),
    )
    .unwrap()
}

/// EMSA-PKCS1-v1_5 encoding of a SHA-256 hash for a 2048-bit modulus.
pub fn pkcs1v15_pad(hash: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let mut em = vec![0x00, 0x01];
    em.resize(256 - PREFIX.len() - 32 - 1, 0xFF);
    em.push(0x00);
    em.extend_from_slice(&PREFIX);
    em.extend_from_slice(hash);
    assert_eq!(em.len(), 256);
    em
}

/// EMSA-PSS encoding (SHA-256, MGF1-SHA-256, 32-byte salt) of a hash for a
/// 2048-bit modulus (emBits = 2047).
pub fn pss_pad(hash: &[u8; 32], salt: &[u8; 32]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let em_len = 256;
    let mut m = vec![0u8; 8];
    m.extend_from_slice(hash);
    m.extend_from_slice(salt);
    let h = Sha256::digest(&m);
    let db_len = em_len - 32 - 1;
    let mut db = vec![0u8; db_len - 32 - 1];
    db.push(0x01);
    db.extend_from_slice(salt);
    let mut mask = vec![];
    let mut counter = 0u32;
    while mask.len() < db_len {
        let mut d = Sha256::new();
        d.update(h);
        d.update(counter.to_be_bytes());
        mask.extend_from_slice(&d.finalize());
        counter += 1;
    }
    for (b, m) in db.iter_mut().zip(&mask) {
        *b ^= m;
    }
    db[0] &= 0x7F;
    let mut em = db;
    em.extend_from_slice(&h);
    em.push(0xBC);
    em
}
