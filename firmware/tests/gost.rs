//! GOST keys on the card edge (Tamga algorithm ids C1 = GOST 34.310-2004,
//! C2 = GOST 34.10-2015 512-bit): GENERATE, GENERAL AUTHENTICATE over a
//! host-sent digest under the slot's PIN policy, GET METADATA, IMPORT KEY and
//! the SELECT algorithm list, with every refusal.

mod common;

use common::*;
use tamga_firmware::spec::{Algorithm, KeyRef, tags};
use tamga_gost::NamedCurve;

const GOSTS: [Algorithm; 2] = [Algorithm::Gost2004, Algorithm::Gost2015_512];

/// GENERATE a GOST key; the public key X_le ‖ Y_le.
fn generate_gost(card: &mut Card, alg: Algorithm, slot: KeyRef) -> Vec<u8> {
    let r = call(
        card,
        Ins::GenerateAsymmetric,
        0x00,
        slot.to_u8(),
        &tags::gen_control(alg.to_u8()),
    );
    let t = inner(r.ok(), tags::PUBLIC_KEY);
    let public = find(&t, tags::EC_POINT).unwrap();
    assert_eq!(Some(public.len()), alg.gost_len().map(|l| 2 * l));
    public
}

/// GENERAL AUTHENTICATE with a GOST key over `digest`: r_le ‖ s_le.
fn sign_gost(card: &mut Card, alg: Algorithm, slot: KeyRef, digest: &[u8]) -> Resp {
    let body = tags::ask_response(tags::DYN_CHALLENGE, digest);
    let r = call(
        card,
        Ins::GeneralAuthenticate,
        alg.to_u8(),
        slot.to_u8(),
        &body,
    );
    if r.sw != 0x9000 {
        return r;
    }
    Resp {
        data: find(&inner(&r.data, tags::DYN_AUTH), tags::DYN_RESPONSE).unwrap(),
        sw: r.sw,
    }
}

/// The host-side curve of a GOST algorithm id.
fn curve(alg: Algorithm) -> NamedCurve {
    match alg {
        Algorithm::Gost2004 => NamedCurve::CryptoProA,
        _ => NamedCurve::Tc26_512A,
    }
}

fn gost_ok(alg: Algorithm, public: &[u8], digest: &[u8], sig: &[u8]) -> bool {
    curve(alg).verify(public, digest, sig).is_ok()
}

fn import_body(d: &[u8], point: Option<&[u8]>) -> Vec<u8> {
    let mut body = tlv(tags::IMPORT_EC_PRIVATE, d);
    if let Some(p) = point {
        body.extend(tlv(tags::EC_POINT, p));
    }
    body
}

#[test]
fn select_lists_both_gost_algorithms() {
    let mut card = new_card(40);
    let apt = select(&mut card);
    let algs = find(&inner(apt.ok(), tags::APT), tags::APT_ALGORITHMS).unwrap();
    for alg in GOSTS {
        let entry = tlv(tags::ALGORITHM, &[alg.to_u8()]);
        assert!(
            algs.windows(entry.len()).any(|w| w == entry),
            "{alg:?} in the SELECT list"
        );
    }
}

#[test]
fn generate_and_sign_under_the_slot_policies() {
    for alg in GOSTS {
        let len = alg.gost_len().unwrap();
        let mut card = admin_card(41);
        let c = generate_gost(&mut card, alg, KeyRef::Signature);
        let a = generate_gost(&mut card, alg, KeyRef::Authentication);
        assert_ne!(a, c);
        let digest: Vec<u8> = (0..len).map(byte).collect();
        // No PIN: refused for 9C and 9A.
        assert_eq!(
            sign_gost(&mut card, alg, KeyRef::Signature, &digest).sw,
            0x6982
        );
        assert_eq!(
            sign_gost(&mut card, alg, KeyRef::Authentication, &digest).sw,
            0x6982
        );
        assert_eq!(verify(&mut card, b"123456"), 0x9000);
        // 9C: one signature per VERIFY.
        let s = sign_gost(&mut card, alg, KeyRef::Signature, &digest);
        assert_eq!(s.ok().len(), 2 * len);
        assert!(
            gost_ok(alg, &c, &digest, s.ok()),
            "{alg:?} 9C signature verifies"
        );
        assert_eq!(
            sign_gost(&mut card, alg, KeyRef::Signature, &digest).sw,
            0x6982,
            "9C twice after one VERIFY"
        );
        // 9A: once per session; the hedged nonce makes every signature new.
        let s1 = sign_gost(&mut card, alg, KeyRef::Authentication, &digest);
        let s2 = sign_gost(&mut card, alg, KeyRef::Authentication, &digest);
        assert!(gost_ok(alg, &a, &digest, s1.ok()) && gost_ok(alg, &a, &digest, s2.ok()));
        assert_ne!(s1.data, s2.data);
        // Another key, another digest: no.
        assert!(!gost_ok(alg, &c, &digest, s1.ok()));
        // Metadata: the algorithm, 9C's PIN-always policy, the origin, the key.
        let meta = metadata(&mut card, KeyRef::Signature);
        assert_eq!(
            find(meta.ok(), tags::META_ALGORITHM).unwrap(),
            [alg.to_u8()]
        );
        assert_eq!(find(meta.ok(), tags::META_POLICY).unwrap(), [0x03, 0x01]);
        assert_eq!(find(meta.ok(), tags::META_ORIGIN).unwrap(), [0x01]);
        let pk = find(meta.ok(), tags::META_PUBLIC_KEY).unwrap();
        assert_eq!(find(&pk, tags::EC_POINT).unwrap(), c);
        // The key survives a reboot.
        let mut card = reboot(card, 42);
        select(&mut card).ok();
        verify(&mut card, b"123456");
        let s = sign_gost(&mut card, alg, KeyRef::Signature, &digest);
        assert!(gost_ok(alg, &c, &digest, s.ok()));
    }
}

#[test]
fn sign_refuses_bad_input() {
    for alg in GOSTS {
        let len = alg.gost_len().unwrap();
        let mut card = admin_card(43);
        let a = generate_gost(&mut card, alg, KeyRef::Authentication);
        verify(&mut card, b"123456");
        for wrong in [len - 1, len + 1, 20, 32 + 64 - len] {
            assert_eq!(
                sign_gost(&mut card, alg, KeyRef::Authentication, &vec![1; wrong]).sw,
                0x6A80,
                "{alg:?}: a digest of {wrong} bytes"
            );
        }
        // The other GOST id, or P-256's, for this key: wrong algorithm.
        let other = if alg == Algorithm::Gost2004 {
            Algorithm::Gost2015_512
        } else {
            Algorithm::Gost2004
        };
        assert_eq!(
            sign_gost(&mut card, other, KeyRef::Authentication, &vec![1; len]).sw,
            0x6A86
        );
        assert_eq!(sign(&mut card, KeyRef::Authentication, &[1; 32]).sw, 0x6A86);
        // ECDH (a peer point in 85) is not a GOST operation.
        let ecdh = tlv(
            tags::DYN_AUTH,
            &[
                tlv(tags::DYN_RESPONSE, &[]),
                tlv(tags::DYN_EXPONENTIATION, &a),
            ]
            .concat(),
        );
        assert_eq!(
            sw(
                &mut card,
                Ins::GeneralAuthenticate,
                alg.to_u8(),
                0x9A,
                &ecdh
            ),
            0x6A80
        );
        // Bad input used nothing up: the key still signs.
        let d = vec![7; len];
        assert!(gost_ok(
            alg,
            &a,
            &d,
            sign_gost(&mut card, alg, KeyRef::Authentication, &d).ok()
        ));
    }
}

#[test]
fn a_9c_pin_always_verification_survives_bad_input() {
    let mut card = admin_card(44);
    let c = generate_gost(&mut card, Algorithm::Gost2015_512, KeyRef::Signature);
    verify(&mut card, b"123456");
    assert_eq!(
        sign_gost(
            &mut card,
            Algorithm::Gost2015_512,
            KeyRef::Signature,
            &[1; 32]
        )
        .sw,
        0x6A80
    );
    let d = [9; 64];
    let s = sign_gost(&mut card, Algorithm::Gost2015_512, KeyRef::Signature, &d);
    assert!(gost_ok(Algorithm::Gost2015_512, &c, &d, s.ok()));
}

#[test]
fn import_checks_the_scalar_and_the_point() {
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
    for alg in GOSTS {
        let len = alg.gost_len().unwrap();
        let (mut d, mut q) = (vec![0u8; len], vec![0u8; 2 * len]);
        curve(alg).generate(&mut rng, &mut d, &mut q).unwrap();
        let mut card = admin_card(45);
        let p1 = alg.to_u8();
        // Out of range or of the wrong length.
        for bad in [
            vec![0; len],
            vec![0xFF; len],
            vec![1; len - 1],
            vec![1; len + 1],
        ] {
            assert_eq!(
                sw(
                    &mut card,
                    Ins::ImportKey,
                    p1,
                    0x9C,
                    &import_body(&bad, None)
                ),
                0x6A80,
                "{alg:?}"
            );
        }
        // A point not on the curve, a point of another key, coordinates ≥ p.
        let mut off = q.clone();
        off[len + 3] ^= 1;
        assert_eq!(
            sw(
                &mut card,
                Ins::ImportKey,
                p1,
                0x9C,
                &import_body(&d, Some(&off))
            ),
            0x6A80,
            "off the curve"
        );
        let mut other = d.clone();
        other[0] ^= 1;
        let mut other_q = vec![0u8; 2 * len];
        curve(alg).public_key(&other, &mut other_q).unwrap();
        assert_eq!(
            sw(
                &mut card,
                Ins::ImportKey,
                p1,
                0x9C,
                &import_body(&d, Some(&other_q))
            ),
            0x6A80,
            "another key's point"
        );
        assert_eq!(
            sw(
                &mut card,
                Ins::ImportKey,
                p1,
                0x9C,
                &import_body(&d, Some(&vec![0xFF; 2 * len]))
            ),
            0x6A80
        );
        assert_eq!(
            metadata(&mut card, KeyRef::Signature).sw,
            0x6A88,
            "nothing was stored"
        );
        // The right scalar, with and without its point.
        assert_eq!(
            sw(
                &mut card,
                Ins::ImportKey,
                p1,
                0x9C,
                &import_body(&d, Some(&q))
            ),
            0x9000
        );
        assert_eq!(
            sw(&mut card, Ins::ImportKey, p1, 0x9A, &import_body(&d, None)),
            0x9000
        );
        let meta = metadata(&mut card, KeyRef::Signature);
        assert_eq!(find(meta.ok(), tags::META_ORIGIN).unwrap(), [0x02]);
        let pk = find(meta.ok(), tags::META_PUBLIC_KEY).unwrap();
        assert_eq!(find(&pk, tags::EC_POINT).unwrap(), q);
        verify(&mut card, b"123456");
        let digest = vec![0x3C; len];
        let s = sign_gost(&mut card, alg, KeyRef::Signature, &digest);
        assert!(gost_ok(alg, &q, &digest, s.ok()));
        // Importing needs the management key.
        let mut fresh = new_card(46);
        select(&mut fresh).ok();
        assert_eq!(
            sw(&mut fresh, Ins::ImportKey, p1, 0x9C, &import_body(&d, None)),
            0x6982
        );
    }
}

#[test]
fn generate_needs_the_management_key() {
    let mut card = new_card(47);
    select(&mut card).ok();
    verify(&mut card, b"123456");
    for alg in GOSTS {
        assert_eq!(
            sw(
                &mut card,
                Ins::GenerateAsymmetric,
                0,
                0x9C,
                &tags::gen_control(alg.to_u8())
            ),
            0x6982
        );
    }
}

/// A stored GOST key whose bytes changed in storage (the store's CRC right,
/// the key not: a bad cell, a glitched read) is never used: the record's tag
/// fails, the signature and the metadata answer 6581 with no data; the
/// sound record signs again.
#[test]
fn a_corrupted_stored_key_is_refused_with_no_output() {
    use tamga_board_host::SeededRng;
    use tamga_firmware::Applet;
    use tamga_firmware::records;
    use tamga_store::{Op, Store};
    for alg in GOSTS {
        let len = alg.gost_len().unwrap();
        let mut card = admin_card(48);
        let q = generate_gost(&mut card, alg, KeyRef::Authentication);
        let key = records::slot_key(KeyRef::Authentication).unwrap();
        let flash = card.into_flash();
        let mut store = Store::mount(flash.clone()).unwrap();
        let mut good = vec![0u8; store.len(key).unwrap()];
        store.read(key, 0, &mut good).unwrap();
        drop(store);
        let mut card = Applet::new(flash, SeededRng::new(49)).unwrap();
        // A bit of d, of the public key, and of the tag, in turn.
        for at in [5 + 2 * len + 3, 5 + 7, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            let flash = card.into_flash();
            let mut store = Store::mount(flash.clone()).unwrap();
            store.commit(&[Op::Put(key, &bad)]).unwrap();
            drop(store);
            card = Applet::new(flash, SeededRng::new(50)).unwrap();
            select(&mut card).ok();
            verify(&mut card, b"123456");
            let r = sign_gost(&mut card, alg, KeyRef::Authentication, &vec![1; len]);
            assert_eq!(r.sw, 0x6581, "{alg:?}: byte {at} changed");
            assert!(r.data.is_empty(), "no output");
            assert_eq!(metadata(&mut card, KeyRef::Authentication).sw, 0x6581);
        }
        let flash = card.into_flash();
        let mut store = Store::mount(flash.clone()).unwrap();
        store.commit(&[Op::Put(key, &good)]).unwrap();
        drop(store);
        let mut card = Applet::new(flash, SeededRng::new(51)).unwrap();
        select(&mut card).ok();
        verify(&mut card, b"123456");
        let d = vec![2; len];
        assert!(gost_ok(
            alg,
            &q,
            &d,
            sign_gost(&mut card, alg, KeyRef::Authentication, &d).ok()
        ));
    }
}
