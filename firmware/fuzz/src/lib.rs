//! Coverage-guided fuzzing of the Tamga applet.
//!
//! [`session`] turns an arbitrary byte string into a card session: a fresh
//! card on simulated flash, an optional preamble (PIN, management key, P-256
//! keys) chosen by the first byte, then the rest cut into command APDUs. It
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
use tamga_firmware::spec::{Algorithm, PIV_AID, defaults};

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
    apdu.get(1) == Some(&0x47) && apdu.windows(3).any(|w| w == [0x80, 0x01, 0x07])
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
            (n, sw) = self.send(&[0x00, 0xC0, 0x00, 0x00, 0x00]);
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
        let r = self.must(
            "witness request",
            &[0x00, 0x87, alg, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00],
        );
        // 7C 0A 80 08 <witness>
        let mut witness: [u8; 8] = r
            .get(4..12)
            .and_then(|w| w.try_into().ok())
            .unwrap_or_else(|| panic!("witness answer {r:02X?}"));
        mgmt_crypt(Algorithm::Tdes, &key, &mut witness, false).expect("3DES");
        let mut cmd = vec![0x00, 0x87, alg, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08];
        cmd.extend_from_slice(&witness);
        cmd.extend_from_slice(&[0x81, 0x08]);
        cmd.extend_from_slice(&[0x5A; 8]);
        let r = self.must("witness and challenge", &cmd);
        let mut expected = [0x5A; 8];
        mgmt_crypt(Algorithm::Tdes, &key, &mut expected, true).expect("3DES");
        assert_eq!(r.get(4..12), Some(&expected[..]), "the card proved its key");
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
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, PIV_AID.len() as u8];
    select.extend_from_slice(&PIV_AID);
    s.must("SELECT", &select);
    if flags & PIN != 0 {
        let mut verify = vec![0x00, 0x20, 0x00, 0x80, 0x08];
        verify.extend_from_slice(defaults::PIN);
        verify.resize(13, 0xFF);
        s.must("VERIFY", &verify);
    }
    if flags & ADMIN != 0 {
        s.admin();
        if flags & KEYS != 0 {
            for slot in [0x9A, 0x9C] {
                s.must(
                    "GENERATE P-256",
                    &[0x00, 0x47, 0x00, slot, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11],
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
            if c.len() < usize::from(LONG) {
                v.push(c.len() as u8);
            } else {
                v.push(LONG);
                v.extend_from_slice(&(c.len() as u16).to_be_bytes());
            }
            v.extend_from_slice(c);
        }
        v
    }
    let sign: &[u8] = &[
        0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20, 1, 2, 3, 4, 5, 6, 7, 8,
        9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
        32,
    ];
    let mut ecdh = vec![
        0x00, 0x87, 0x11, 0x9A, 0x47, 0x7C, 0x45, 0x82, 0x00, 0x85, 0x41, 0x04,
    ];
    ecdh.extend_from_slice(&[0x6B; 64]);
    let mut cert = vec![0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x53, 0x82, 0x01, 0x2C];
    cert.extend((0..300u16).map(|i| i as u8));
    let mut put = vec![0x00, 0xDB, 0x3F, 0xFF, 0x00];
    put.extend_from_slice(&(cert.len() as u16).to_be_bytes());
    put.extend_from_slice(&cert);
    let mut chained1 = vec![0x10, 0xDB, 0x3F, 0xFF, 0xC8];
    chained1.extend_from_slice(&cert[..200]);
    let mut chained2 = vec![0x00, 0xDB, 0x3F, 0xFF, (cert.len() - 200) as u8];
    chained2.extend_from_slice(&cert[200..]);
    let get_cert: &[u8] = &[
        0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00,
    ];
    vec![
        input(
            0x00,
            &[&[0x00, 0x20, 0x00, 0x80], &[0x00, 0xFD, 0x00, 0x00, 0x00]],
        ),
        input(
            0x00,
            &[
                b"\x00\x20\x00\x80\x08654321\xFF\xFF",
                b"\x00\x24\x00\x80\x10123456\xFF\xFF111111\xFF\xFF",
                b"\x00\x2C\x00\x80\x1012345678123456\xFF\xFF",
            ],
        ),
        input(0x01 | 0x10, &[get_cert, &[0x00, 0xF7, 0x00, 0x9A, 0x00]]),
        input(0x07, &[sign, &ecdh, &[0x00, 0xF7, 0x00, 0x9A, 0x00]]),
        input(
            0x07 | 0x20,
            &[&put, get_cert, &[0x00, 0xC0, 0x00, 0x00, 0x00]],
        ),
        input(0x03 | 0x30, &[&chained1, &chained2, get_cert]),
        input(
            0x03,
            &[
                &[0x00, 0xFE, 0x11, 0x9E, 0x22, 0x06, 0x20],
                &[0x00, 0xFF, 0xFF, 0xFE, 0x00],
                &[0x00, 0xFB, 0x00, 0x00],
            ],
        ),
        input(
            0x00,
            &[&[], &[0x00], &[0x00, 0xA4], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF]],
        ),
    ]
}
