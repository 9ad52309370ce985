//! Coverage-guided fuzzing of the Tamga applet.
//!
//! [`session`] turns an arbitrary byte string into a card session: a fresh
//! card on simulated flash, an optional preamble (PIN, management key, P-256
//! and GOST keys) chosen by the first byte, then the rest cut into command APDUs. It
//! panics, which the fuzzer reports as a finding, when the card breaks a rule:
//!
//! - every APDU gets an answer of 2 bytes or more that fits the caller's
//!   buffer and ends in a status word the card edge defines;
//! - the preamble succeeds (SELECT, VERIFY, management key, GENERATE);
//! - after the session the flash mounts again and the card answers SELECT
//!   with 9000 (whatever the session did, persistent state stays usable).
//!
//! The `apdus` fuzz target calls it (`cargo xtask fuzz`, libFuzzer), and the
//! crate's tests run it on stable over [`seeds`] and random sessions.
//!
//! ```
//! // SELECT is always sent first; then a VERIFY with the factory PIN.
//! let mut input = vec![0x01];
//! let verify = [0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF];
//! input.push(verify.len() as u8);
//! input.extend_from_slice(&verify);
//! let stats = tamga_fuzz::session(&input);
//! assert_eq!(stats.apdus, 1);
//! ```

use tamga_board_host::{SeededRng, SimFlash};
use tamga_firmware::Applet;
use tamga_firmware::crypto::mgmt_crypt;
use tamga_spec::apdu::{self, Form, Header, SHORT_LE_MAX};
use tamga_spec::{Algorithm, Ins, KeyRef, ObjectTag, PIV_AID, defaults, tags, tlv};

/// The simulated flash of each session.
pub const FLASH: usize = 64 * 1024;

/// Reply buffer sizes a session may use (first byte, bits 4–5): a short
/// APDU's, an extended one, a small one, and the smallest that still moves a
/// long answer forward (one data byte per GET RESPONSE).
pub const REPLY_SIZES: [usize; 4] = [258, 4098, 64, 3];

/// First-byte flag: VERIFY the factory PIN before the session.
pub const PIN: u8 = 0x01;
/// First-byte flag: authenticate with the factory management key.
pub const ADMIN: u8 = 0x02;
/// First-byte flag: with [`ADMIN`], generate P-256 keys in 9A and 9C.
pub const KEYS: u8 = 0x04;
/// First-byte flag: with [`ADMIN`], generate GOST keys: 34.10-2015 512 in
/// 9D, 34.310-2004 in 9E.
pub const GOST: u8 = 0x08;

/// Length byte announcing a 2-byte big-endian length (extended APDUs).
pub const LONG: u8 = 0xFF;
/// Longest APDU a session sends.
pub const MAX_APDU: usize = 4096 + 7;

type Card = Applet<SimFlash, SeededRng>;

/// What a session did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// APDUs of the input sent to the card (the preamble not counted).
    pub apdus: usize,
    /// Of those, answered 9000 or 61xx.
    pub ok: usize,
    /// APDUs skipped: RSA-2048 key generation (seconds each; the property
    /// test covers it).
    pub skipped: usize,
}

/// Whether the card edge defines `sw` (ISO 7816-4 classes the applet uses).
pub fn valid_sw(sw: u16) -> bool {
    let [sw1, _] = sw.to_be_bytes();
    sw == 0x9000 || matches!(sw1, 0x61..=0x6F)
}

/// Whether `apdu` asks for an RSA-2048 key pair (GENERATE with `80 01 07`).
fn rsa_keygen(apdu: &[u8]) -> bool {
    let control = tags::gen_control(Algorithm::Rsa2048.to_u8());
    apdu.get(1) == Some(&Ins::GenerateAsymmetric.to_u8())
        && apdu.windows(3).any(|w| w == &control[2..])
}

/// A command APDU, encoded by the spec (short when it fits, else extended).
fn encode(header: Header, data: &[u8], le: Option<usize>) -> Vec<u8> {
    apdu::to_vec(header, data, le, Form::Auto).expect("a command under 64 KiB")
}

/// A command with the plain class byte.
fn cmd(ins: Ins, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
    encode(Header::new(ins.to_u8(), p1, p2), data, le)
}

/// The management key's reference.
const MGMT: u8 = KeyRef::Management.to_u8();
/// The PIN's reference.
const PIN_REF: u8 = KeyRef::Pin.to_u8();
/// The P-256 algorithm byte.
const P256: u8 = Algorithm::EccP256.to_u8();
/// The GOST algorithm bytes (Tamga ids).
const GOST_2015: u8 = Algorithm::Gost2015_512.to_u8();
const GOST_2004: u8 = Algorithm::Gost2004.to_u8();

/// The value of `inner` inside the `outer` template of `data`.
fn nested(data: &[u8], outer: u16, inner: u16) -> Option<&[u8]> {
    let t = tlv::find(data, outer).ok()??;
    tlv::find(t, inner).ok()?
}

struct Session {
    card: Card,
    reply: Vec<u8>,
}

impl Session {
    /// Send `apdu`: the answer's data length and status word. Panics on a
    /// malformed answer.
    fn send(&mut self, apdu: &[u8]) -> (usize, u16) {
        let n = self.card.process(apdu, &mut self.reply);
        assert!(
            (2..=self.reply.len()).contains(&n),
            "answer of {n} bytes in a {}-byte buffer to {apdu:02X?}",
            self.reply.len()
        );
        let sw = u16::from_be_bytes([self.reply[n - 2], self.reply[n - 1]]);
        assert!(valid_sw(sw), "status {sw:04X} to {apdu:02X?}");
        (n - 2, sw)
    }

    /// Send `apdu` and collect the whole answer (61xx + GET RESPONSE).
    fn call(&mut self, apdu: &[u8]) -> (Vec<u8>, u16) {
        let mut data = Vec::new();
        let (mut n, mut sw) = self.send(apdu);
        loop {
            data.extend_from_slice(&self.reply[..n]);
            if sw >> 8 != 0x61 {
                return (data, sw);
            }
            assert!(n > 0, "61xx without data to {apdu:02X?}");
            (n, sw) = self.send(&cmd(Ins::GetResponse, 0, 0, &[], Some(SHORT_LE_MAX)));
        }
    }

    /// [`Session::call`] that must answer 9000 (the preamble).
    fn must(&mut self, what: &str, apdu: &[u8]) -> Vec<u8> {
        let (data, sw) = self.call(apdu);
        assert_eq!(sw, 0x9000, "{what}: {sw:04X}");
        data
    }

    /// Mutual authentication with the factory 3DES management key.
    fn admin(&mut self) {
        let key = defaults::MANAGEMENT_KEY;
        let alg = Algorithm::Tdes.to_u8();
        let ask = tlv::to_vec(tags::DYN_AUTH, &tlv::to_vec(tags::DYN_WITNESS, &[]));
        let r = self.must(
            "witness request",
            &cmd(Ins::GeneralAuthenticate, alg, MGMT, &ask, None),
        );
        let mut witness: [u8; 8] = nested(&r, tags::DYN_AUTH, tags::DYN_WITNESS)
            .and_then(|w| w.try_into().ok())
            .unwrap_or_else(|| panic!("witness answer {r:02X?}"));
        mgmt_crypt(Algorithm::Tdes, &key, &mut witness, false).expect("3DES");
        let challenge = [0x5A; 8];
        let answer = [
            tlv::to_vec(tags::DYN_WITNESS, &witness),
            tlv::to_vec(tags::DYN_CHALLENGE, &challenge),
        ]
        .concat();
        let r = self.must(
            "witness and challenge",
            &cmd(
                Ins::GeneralAuthenticate,
                alg,
                MGMT,
                &tlv::to_vec(tags::DYN_AUTH, &answer),
                None,
            ),
        );
        let mut expected = challenge;
        mgmt_crypt(Algorithm::Tdes, &key, &mut expected, true).expect("3DES");
        assert_eq!(
            nested(&r, tags::DYN_AUTH, tags::DYN_RESPONSE),
            Some(&expected[..]),
            "the card proved its key"
        );
    }
}

/// Cut `data` into APDUs: a length byte, then that many bytes ([`LONG`]:
/// a 2-byte length, capped at [`MAX_APDU`]). A short last piece is sent as
/// it is.
pub fn apdus(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&len, rest) = data.split_first()?;
        let (len, rest) = match (len, rest) {
            (LONG, [h, l, rest @ ..]) => (usize::from(u16::from_be_bytes([*h, *l])), rest),
            (len, rest) => (usize::from(len), rest),
        };
        let (apdu, rest) = rest.split_at(len.min(MAX_APDU).min(rest.len()));
        data = rest;
        Some(apdu)
    })
}

/// Run `input` as a session on a fresh card (see the crate documentation);
/// panics when the card breaks a rule.
pub fn session(input: &[u8]) -> Stats {
    let Some((&flags, rest)) = input.split_first() else {
        return Stats::default();
    };
    let card = Applet::new(SimFlash::new(FLASH), SeededRng::new(1)).expect("blank flash mounts");
    let size = REPLY_SIZES[usize::from(flags >> 4) & 3];
    let mut s = Session {
        card,
        reply: vec![0; size],
    };
    let select = cmd(Ins::Select, 0x04, 0x00, &PIV_AID, None);
    s.must("SELECT", &select);
    if flags & PIN != 0 {
        let mut pin = defaults::PIN.to_vec();
        pin.resize(8, 0xFF);
        s.must("VERIFY", &cmd(Ins::Verify, 0, PIN_REF, &pin, None));
    }
    if flags & ADMIN != 0 {
        s.admin();
        if flags & KEYS != 0 {
            for slot in [0x9A, 0x9C] {
                let control = tags::gen_control(P256);
                s.must(
                    "GENERATE P-256",
                    &cmd(Ins::GenerateAsymmetric, 0, slot, &control, None),
                );
            }
        }
        if flags & GOST != 0 {
            for (slot, alg) in [(0x9D, GOST_2015), (0x9E, GOST_2004)] {
                let control = tags::gen_control(alg);
                s.must(
                    "GENERATE GOST",
                    &cmd(Ins::GenerateAsymmetric, 0, slot, &control, None),
                );
            }
        }
    }
    let mut stats = Stats::default();
    for apdu in apdus(rest) {
        if rsa_keygen(apdu) {
            stats.skipped += 1;
            continue;
        }
        stats.apdus += 1;
        let (_, sw) = s.send(apdu);
        if sw == 0x9000 || sw >> 8 == 0x61 {
            stats.ok += 1;
        }
    }
    // Power off, power on: the flash mounts and the card answers.
    let flash = s.card.into_flash();
    let card = Applet::new(flash, SeededRng::new(2)).expect("the flash mounts after the session");
    let mut s = Session {
        card,
        reply: vec![0; 258],
    };
    s.must("SELECT after the session", &select);
    stats
}

/// Inputs that start the fuzzer on the card's main paths: PIN handling, the
/// management key, key generation, signing, ECDH, objects (chained too),
/// metadata, and some malformed APDUs.
pub fn seeds() -> Vec<Vec<u8>> {
    fn input(flags: u8, cmds: &[&[u8]]) -> Vec<u8> {
        let mut v = vec![flags];
        for c in cmds {
            match u8::try_from(c.len()) {
                Ok(n) if n < LONG => v.push(n),
                _ => {
                    let n = u16::try_from(c.len()).expect("a seed APDU under 64 KiB");
                    v.push(LONG);
                    v.extend_from_slice(&n.to_be_bytes());
                }
            }
            v.extend_from_slice(c);
        }
        v
    }
    let ask = |tag, value: &[u8]| {
        let template = tags::ask_response(tag, value);
        cmd(Ins::GeneralAuthenticate, P256, 0x9A, &template, None)
    };
    let hash: Vec<u8> = (1..=32).collect();
    let sign = ask(tags::DYN_CHALLENGE, &hash);
    let point = [&[0x04][..], &[0x6B; 64]].concat();
    let ecdh = ask(tags::DYN_EXPONENTIATION, &point);
    let content: Vec<u8> = (0..300u16).map(|i| i.to_le_bytes()[0]).collect();
    let cert = [
        ObjectTag::CERT_AUTHENTICATION.tag_list(),
        tlv::to_vec(tags::OBJECT_DATA, &content),
    ]
    .concat();
    // One extended APDU, then the same in two chained short ones.
    let put = cmd(Ins::PutData, 0x3F, 0xFF, &cert, None);
    let header = Header::new(Ins::PutData.to_u8(), 0x3F, 0xFF);
    let chained1 = encode(header.chained(true), &cert[..200], None);
    let chained2 = encode(header, &cert[200..], None);
    let tag_list = ObjectTag::CERT_AUTHENTICATION.tag_list();
    let get_cert = cmd(Ins::GetData, 0x3F, 0xFF, &tag_list, Some(SHORT_LE_MAX));
    let metadata = cmd(Ins::GetMetadata, 0, 0x9A, &[], Some(SHORT_LE_MAX));
    let digest: Vec<u8> = (1..=64).collect();
    let gost_template = tags::ask_response(tags::DYN_CHALLENGE, &digest);
    let gost_sign = cmd(
        Ins::GeneralAuthenticate,
        GOST_2015,
        0x9D,
        &gost_template,
        None,
    );
    let gost_template = tags::ask_response(tags::DYN_CHALLENGE, &digest[..32]);
    let gost_2004 = cmd(
        Ins::GeneralAuthenticate,
        GOST_2004,
        0x9E,
        &gost_template,
        None,
    );
    let gost_import = cmd(
        Ins::ImportKey,
        GOST_2015,
        0x9A,
        &[
            tlv::to_vec(tags::IMPORT_EC_PRIVATE, &digest),
            tlv::to_vec(tags::EC_POINT, &[0x11; 128]),
        ]
        .concat(),
        None,
    );
    let gost_meta = cmd(Ins::GetMetadata, 0, 0x9D, &[], Some(SHORT_LE_MAX));
    let pin = |p: &[u8]| {
        let mut v = p.to_vec();
        v.resize(8, 0xFF);
        v
    };
    vec![
        input(
            0x00,
            &[
                &cmd(Ins::Verify, 0, PIN_REF, &[], None),
                &cmd(Ins::GetVersion, 0, 0, &[], Some(SHORT_LE_MAX)),
            ],
        ),
        input(
            0x00,
            &[
                &cmd(Ins::Verify, 0, PIN_REF, &pin(b"654321"), None),
                &cmd(
                    Ins::ChangeReference,
                    0,
                    PIN_REF,
                    &[pin(b"123456"), pin(b"111111")].concat(),
                    None,
                ),
                &cmd(
                    Ins::ResetRetryCounter,
                    0,
                    PIN_REF,
                    &[&b"12345678"[..], &pin(b"123456")].concat(),
                    None,
                ),
            ],
        ),
        input(0x01 | 0x10, &[&get_cert, &metadata]),
        input(0x07, &[&sign, &ecdh, &metadata]),
        input(0x0B, &[&gost_sign, &gost_2004, &gost_import, &gost_meta]),
        input(
            0x07 | 0x20,
            &[
                &put,
                &get_cert,
                &cmd(Ins::GetResponse, 0, 0, &[], Some(SHORT_LE_MAX)),
            ],
        ),
        input(0x03 | 0x30, &[&chained1, &chained2, &get_cert]),
        input(
            0x03,
            &[
                // IMPORT KEY whose Lc (0x22) promises more than it carries.
                &[0x00, Ins::ImportKey.to_u8(), P256, 0x9E, 0x22, 0x06, 0x20],
                &cmd(Ins::SetManagementKey, 0xFF, 0xFE, &[], Some(SHORT_LE_MAX)),
                &cmd(Ins::Reset, 0, 0, &[], None),
            ],
        ),
        // Malformed: empty, a lone byte, no P1/P2, an invalid class.
        input(
            0x00,
            &[&[], &[0x00], &[0x00, 0xA4], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF]],
        ),
    ]
}
