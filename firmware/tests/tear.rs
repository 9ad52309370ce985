//! Power-loss test: for every state-changing command in a script that walks a
//! card through its life (personalization, keys, certificates, PIN changes,
//! blocking, unblocking, RESET, and enough writes to force store compaction),
//! cut the power at every flash program/erase operation the command performs,
//! reboot a fresh applet on the same flash, and check that the card holds the
//! old or the new state (for PIN/PUK checks also the state with one try
//! consumed: the counter is persisted before the comparison) and still works.
//! RSA-2048 is covered by an IMPORT KEY (in the replayed prefix: fast), a
//! VERIFY + signature step, and one GENERATE as the last step; GOST by a
//! GENERATE (2015-512), an IMPORT KEY (2004) and a VERIFY + signature step.

mod common;

use common::*;
use tamga_board_host::{SeededRng, SimFlash};
use tamga_firmware::Applet;
use tamga_firmware::spec::{Algorithm, KeyRef, ObjectTag, defaults, tags};

/// A small flash (two 4 KiB banks) so that the script forces compactions often.
const TEAR_FLASH: usize = 8 * 1024;
const SEED: u64 = 0x7A36A;

#[derive(Clone)]
struct Mgmt(Algorithm, Vec<u8>);

#[derive(Clone)]
enum Prep {
    None,
    Mgmt,
    MgmtPin(&'static [u8]),
}

/// A one-try-consumed state that is also acceptable after a cut.
#[derive(Clone, Copy, PartialEq)]
enum Counter {
    None,
    Pin,
    Puk,
}

#[derive(Clone)]
struct Step {
    name: &'static str,
    prep: Prep,
    apdus: Vec<Vec<u8>>,
    sw: u16,
    counter: Counter,
    /// The management key after this step, if the step changes it.
    new_mgmt: Option<Mgmt>,
    /// Whether the step changes what a host can read (a right PIN with a full
    /// counter writes, but ends where it started).
    visible: bool,
}

fn put(tag: u32, len: usize, fill: u8) -> Vec<Vec<u8>> {
    let content: Vec<u8> = (0..len).map(|i| fill.wrapping_add(byte(i))).collect();
    let d = [ObjectTag(tag).tag_list(), tlv(tags::OBJECT_DATA, &content)].concat();
    chained(Ins::PutData, 0x3F, 0xFF, &d, None)
}

fn step(name: &'static str, prep: Prep, apdus: Vec<Vec<u8>>) -> Step {
    Step {
        name,
        prep,
        apdus,
        sw: 0x9000,
        counter: Counter::None,
        new_mgmt: None,
        visible: true,
    }
}

fn pair(a: &[u8], b: &[u8]) -> Vec<u8> {
    [pad(a), pad(b)].concat()
}

fn script() -> Vec<Step> {
    let gen_p256 = |slot: u8| {
        vec![cmd(
            Ins::GenerateAsymmetric,
            0,
            slot,
            &tags::gen_control(Algorithm::EccP256.to_u8()),
            None,
        )]
    };
    let verify_apdu = |pin: &[u8]| vec![cmd(Ins::Verify, 0, 0x80, &pad(pin), None)];
    let aes = Mgmt(Algorithm::Aes192, (1..=24).collect());
    let mut s = vec![
        step("PUT DATA CHUID", Prep::Mgmt, put(0x5FC102, 59, 1)),
        step("GENERATE 9A", Prep::Mgmt, gen_p256(0x9A)),
        step("GENERATE 9C", Prep::Mgmt, gen_p256(0x9C)),
        step("PUT DATA certificate 9A", Prep::Mgmt, put(0x5FC105, 700, 2)),
        step(
            "PUT DATA certificate 9C",
            Prep::Mgmt,
            put(0x5FC10A, 1000, 3),
        ),
        Step {
            sw: 0x63C2,
            ..step("VERIFY wrong PIN", Prep::None, verify_apdu(b"000000"))
        },
        Step {
            counter: Counter::Pin,
            ..step("VERIFY right PIN", Prep::None, verify_apdu(b"123456"))
        },
        Step {
            counter: Counter::Pin,
            ..step(
                "CHANGE REFERENCE DATA PIN",
                Prep::None,
                vec![cmd(
                    Ins::ChangeReference,
                    0,
                    0x80,
                    &pair(b"123456", b"24681357"),
                    None,
                )],
            )
        },
        Step {
            counter: Counter::Puk,
            ..step(
                "CHANGE REFERENCE DATA PUK",
                Prep::None,
                vec![cmd(
                    Ins::ChangeReference,
                    0,
                    0x81,
                    &pair(b"12345678", b"87654321"),
                    None,
                )],
            )
        },
    ];
    // Certificates rewritten between PIN checks, so that compactions land on
    // object writes and on PIN counter writes alike.
    for i in 0..8u8 {
        s.push(step(
            "PUT DATA certificate 9A again",
            Prep::Mgmt,
            put(0x5FC105, 700 + 60 * i as usize, 10 + i),
        ));
        for _ in 0..3 {
            s.push(Step {
                counter: Counter::Pin,
                visible: false,
                ..step("VERIFY right PIN", Prep::None, verify_apdu(b"24681357"))
            });
        }
    }
    s.extend([
        step(
            "PUT DATA delete certificate 9C",
            Prep::Mgmt,
            put(0x5FC10A, 0, 0),
        ),
        step(
            "IMPORT KEY RSA-2048 9A",
            Prep::Mgmt,
            chained(
                Ins::ImportKey,
                Algorithm::Rsa2048.to_u8(),
                0x9A,
                &rsa_import_body(test_rsa_key(), &[]),
                None,
            ),
        ),
        Step {
            counter: Counter::Pin,
            visible: false,
            ..step("VERIFY, then RSA-2048 sign with 9A", Prep::None, {
                let mut v = verify_apdu(b"24681357");
                let hash = [0x4Bu8; 32];
                v.extend(chained(
                    Ins::GeneralAuthenticate,
                    Algorithm::Rsa2048.to_u8(),
                    0x9A,
                    &rsa_template(&pkcs1v15_pad(&hash)),
                    None,
                ));
                // 7C 82 01 04 82 82 01 00 <256>: 8 bytes after the first 256.
                v.push(cmd(Ins::GetResponse, 0, 0, &[], Some(8)));
                v
            })
        },
        step(
            "IMPORT KEY 9D",
            Prep::Mgmt,
            vec![cmd(
                Ins::ImportKey,
                0x11,
                0x9D,
                &tlv(tags::IMPORT_EC_PRIVATE, &[0x42; 32]),
                None,
            )],
        ),
        step(
            "GENERATE GOST 34.10-2015 512 9C",
            Prep::Mgmt,
            vec![cmd(
                Ins::GenerateAsymmetric,
                0,
                0x9C,
                &tags::gen_control(Algorithm::Gost2015_512.to_u8()),
                None,
            )],
        ),
        step(
            "IMPORT KEY GOST 34.310-2004 9E",
            Prep::Mgmt,
            vec![cmd(
                Ins::ImportKey,
                Algorithm::Gost2004.to_u8(),
                0x9E,
                &tlv(tags::IMPORT_EC_PRIVATE, &[0x37; 32]),
                None,
            )],
        ),
        Step {
            counter: Counter::Pin,
            visible: false,
            ..step("VERIFY, then GOST sign with 9C", Prep::None, {
                let mut v = verify_apdu(b"24681357");
                v.push(cmd(
                    Ins::GeneralAuthenticate,
                    Algorithm::Gost2015_512.to_u8(),
                    0x9C,
                    &tags::ask_response(tags::DYN_CHALLENGE, &[0x6E; 64]),
                    None,
                ));
                v
            })
        },
        Step {
            new_mgmt: Some(aes.clone()),
            ..step(
                "SET MANAGEMENT KEY AES-192",
                Prep::Mgmt,
                vec![cmd(
                    Ins::SetManagementKey,
                    0xFF,
                    0xFF,
                    &set_mgmt_body(aes.0, &aes.1),
                    None,
                )],
            )
        },
        step(
            "SET PIN RETRIES 2 2",
            Prep::MgmtPin(b"24681357"),
            vec![cmd(Ins::SetPinRetries, 2, 2, &[], None)],
        ),
        Step {
            sw: 0x63C1,
            ..step("VERIFY wrong PIN", Prep::None, verify_apdu(b"000000"))
        },
        Step {
            sw: 0x63C0,
            ..step(
                "VERIFY wrong PIN, blocked",
                Prep::None,
                verify_apdu(b"000000"),
            )
        },
        Step {
            counter: Counter::Puk,
            ..step(
                "RESET RETRY COUNTER",
                Prep::None,
                vec![cmd(
                    Ins::ResetRetryCounter,
                    0,
                    0x80,
                    &pair(b"12345678", b"11223344"),
                    None,
                )],
            )
        },
        Step {
            sw: 0x63C1,
            ..step("VERIFY wrong PIN", Prep::None, verify_apdu(b"000000"))
        },
        Step {
            sw: 0x63C0,
            ..step(
                "VERIFY wrong PIN, blocked",
                Prep::None,
                verify_apdu(b"000000"),
            )
        },
        Step {
            sw: 0x63C1,
            ..step(
                "RESET RETRY COUNTER wrong PUK",
                Prep::None,
                vec![cmd(
                    Ins::ResetRetryCounter,
                    0,
                    0x80,
                    &pair(b"00000000", b"11223344"),
                    None,
                )],
            )
        },
        Step {
            sw: 0x63C0,
            ..step(
                "RESET RETRY COUNTER wrong PUK, blocked",
                Prep::None,
                vec![cmd(
                    Ins::ResetRetryCounter,
                    0,
                    0x80,
                    &pair(b"00000000", b"11223344"),
                    None,
                )],
            )
        },
        Step {
            new_mgmt: Some(Mgmt(Algorithm::Tdes, defaults::MANAGEMENT_KEY.to_vec())),
            ..step("RESET", Prep::None, vec![cmd(Ins::Reset, 0, 0, &[], None)])
        },
        step("GENERATE 9E after RESET", Prep::Mgmt, gen_p256(0x9E)),
        // Last, so that no replay prefix repeats the key generation.
        step(
            "GENERATE RSA-2048 9C",
            Prep::Mgmt,
            // 7F49 82 01 09 { 81 <256> 82 <3> }: 14 bytes after the first 256.
            vec![
                cmd(Ins::GenerateAsymmetric, 0, 0x9C, &GEN_RSA, None),
                vec![0x00, 0xC0, 0x00, 0x00, 0x0E],
            ],
        ),
    ]);
    s
}

fn mount(flash: &SimFlash) -> Card {
    Applet::new(flash.clone(), SeededRng::new(SEED)).expect("mount after power loss")
}

fn exchange(card: &mut Card, a: &[u8]) -> Resp {
    raw(card, a)
}

fn prep(card: &mut Card, p: &Prep, key: &Mgmt) {
    select(card).ok();
    match p {
        Prep::None => {}
        Prep::Mgmt => assert_eq!(auth_mgmt_with(card, key.0, &key.1), 0x9000),
        Prep::MgmtPin(pin) => {
            assert_eq!(auth_mgmt_with(card, key.0, &key.1), 0x9000);
            assert_eq!(verify(card, pin), 0x9000);
        }
    }
}

/// A fresh card on a fresh flash with `steps` applied; and the management key.
fn replay(steps: &[Step]) -> (SimFlash, Card, Mgmt) {
    let flash: SimFlash = SimFlash::new(TEAR_FLASH);
    let mut card = mount(&flash);
    let mut key = Mgmt(Algorithm::Tdes, defaults::MANAGEMENT_KEY.to_vec());
    for s in steps {
        prep(&mut card, &s.prep, &key);
        let mut last = 0;
        for a in &s.apdus {
            last = exchange(&mut card, a).sw;
        }
        assert_eq!(last, s.sw, "{}", s.name);
        if let Some(k) = &s.new_mgmt {
            key = k.clone();
        }
        card.reset();
    }
    (flash, card, key)
}

/// Everything a host can read without changing state.
fn observe(card: &mut Card) -> Vec<Resp> {
    card.reset();
    let mut out = vec![
        select(card),
        call(card, Ins::GetSerial, 0, 0, &[]),
        call(card, Ins::Verify, 0, 0x80, &[]),
    ];
    for k in [0x80, 0x81, 0x9B, 0x9A, 0x9C, 0x9D, 0x9E, 0x82] {
        out.push(metadata(card, KeyRef::try_from(k).unwrap()));
    }
    for tag in [
        0x5FC102, 0x5FC107, 0x5FC105, 0x5FC10A, 0x5FC10B, 0x5FC101, 0x5FFF05,
    ] {
        out.push(get_data(card, tag));
    }
    card.reset();
    out
}

/// The card still works: the management key (old or new) authenticates, an
/// object can be written, and it survives a reboot.
fn still_works(flash: &SimFlash, mut card: Card, keys: [&Mgmt; 2]) {
    select(&mut card).ok();
    let ok = keys.iter().any(|k| {
        card.reset();
        select(&mut card).ok();
        auth_mgmt_with(&mut card, k.0, &k.1) == 0x9000
    });
    assert!(ok, "no management key authenticates");
    assert_eq!(put_data(&mut card, 0x5FFF05, b"alive"), 0x9000);
    drop(card);
    let mut card = mount(flash);
    select(&mut card).ok();
    assert_eq!(inner(get_data(&mut card, 0x5FFF05).ok(), 0x53), b"alive");
}

#[test]
fn first_power_up_is_tear_safe() {
    let flash: SimFlash = SimFlash::new(TEAR_FLASH);
    let ops = {
        let mut card = mount(&flash);
        let _ = observe(&mut card);
        flash.ops()
    };
    let after = observe(&mut mount(&flash));
    for n in 1..=ops {
        let flash: SimFlash = SimFlash::new(TEAR_FLASH);
        flash.cut_after(n);
        let _ = Applet::new(flash.clone(), SeededRng::new(SEED));
        flash.power_on();
        let mut card = mount(&flash);
        assert_eq!(observe(&mut card), after, "cut {n} of first power-up");
        still_works(
            &flash,
            card,
            [&Mgmt(Algorithm::Tdes, defaults::MANAGEMENT_KEY.to_vec()); 2],
        );
    }
    println!("first power-up: {ops} cut points");
}

#[test]
fn every_command_is_atomic_at_every_cut_point() {
    let steps = script();
    let mut total = 0u64;
    let mut compactions = 0;
    for (i, s) in steps.iter().enumerate() {
        // Before, after, and (for PIN/PUK checks) one-try-consumed states.
        let (flash, mut card, key_before) = replay(&steps[..i]);
        drop(card);
        let before = observe(&mut mount(&flash));
        card = mount(&flash);
        prep(&mut card, &s.prep, &key_before);
        let ops0 = flash.ops();
        let gen0 = card.storage().generation;
        let mut last = 0;
        for a in &s.apdus {
            last = exchange(&mut card, a).sw;
        }
        assert_eq!(last, s.sw, "{}", s.name);
        let ops = flash.ops() - ops0;
        if card.storage().generation != gen0 {
            compactions += 1;
            println!(
                "  compaction under: {} (step {i}, {ops} flash operations)",
                s.name
            );
        }
        assert!(ops > 0, "{} writes nothing", s.name);
        if s.name.contains("RSA") {
            println!("  {}: {ops} cut points", s.name);
        }
        drop(card);
        let after = observe(&mut mount(&flash));
        if s.visible {
            assert_ne!(before, after, "{} changes nothing visible", s.name);
        } else {
            assert_eq!(before, after, "{} changes something visible", s.name);
        }
        let key_after = s.new_mgmt.clone().unwrap_or(key_before.clone());
        let consumed = match s.counter {
            Counter::None => None,
            c => {
                let (flash, mut card, key) = replay(&steps[..i]);
                prep(&mut card, &s.prep, &key);
                let wrong = if c == Counter::Pin {
                    cmd(Ins::Verify, 0, 0x80, &pad(b"999999"), None)
                } else {
                    cmd(
                        Ins::ResetRetryCounter,
                        0,
                        0x80,
                        &pair(b"99999999", b"11223344"),
                        None,
                    )
                };
                assert_eq!(exchange(&mut card, &wrong).sw >> 4, 0x63C);
                drop(card);
                Some(observe(&mut mount(&flash)))
            }
        };
        for n in 1..=ops {
            let (flash, mut card, key) = replay(&steps[..i]);
            prep(&mut card, &s.prep, &key);
            flash.cut_after(n);
            for a in &s.apdus {
                let r = exchange(&mut card, a);
                assert!(r.sw != 0, "no status word while losing power");
            }
            drop(card);
            flash.power_on();
            let mut card = mount(&flash);
            let got = observe(&mut card);
            let old = got == before;
            let new = got == after;
            let mid = consumed.as_ref() == Some(&got);
            assert!(
                old || new || mid,
                "{} (step {i}), cut at operation {n} of {ops}: neither old nor new state",
                s.name
            );
            still_works(&flash, card, [&key_before, &key_after]);
            total += 1;
        }
    }
    println!(
        "tear test: {} commands, {total} cut points, {compactions} of them compacting the store",
        steps.len()
    );
    assert!(compactions > 0, "the script must force a compaction");
}
