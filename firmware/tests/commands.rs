//! Every command of CARD-EDGE.md, its answers, and a negative test for every
//! security gate.

mod common;

use common::*;
use tamga_firmware::spec::{Algorithm, KeyRef, ObjectTag, PIV_AID, defaults, tags};

#[test]
fn select_accepts_every_truncation_of_the_piv_aid() {
    let mut card = new_card(1);
    for n in 5..=PIV_AID.len() {
        let r = call(&mut card, Ins::Select, 0x04, 0x00, &PIV_AID[..n]);
        let apt = inner(r.ok(), tags::APT);
        assert_eq!(find(&apt, tags::APT_AID).unwrap(), [0, 0, 0x10, 0, 1, 0]);
        assert_eq!(find(&apt, tags::APT_LABEL).unwrap(), b"Tamga PIV");
        let algs = find(&apt, tags::APT_ALGORITHMS).unwrap();
        assert!(
            algs.windows(3).any(|w| w == [0x80, 0x01, 0x11]),
            "P-256 listed"
        );
    }
    assert_eq!(
        sw(&mut card, Ins::Select, 0x04, 0x00, &PIV_AID[..4]),
        0x6A82
    );
    assert_eq!(
        sw(&mut card, Ins::Select, 0x04, 0x00, &[0xA0, 0, 0, 5, 0x27]),
        0x6A82
    );
    assert_eq!(sw(&mut card, Ins::Select, 0x02, 0x00, &PIV_AID), 0x6A86);
}

#[test]
fn nothing_but_select_before_selection() {
    let mut card = new_card(1);
    assert_eq!(sw(&mut card, Ins::GetVersion, 0, 0, &[]), 0x6985);
    assert_eq!(verify(&mut card, b"123456"), 0x6985);
    select(&mut card).ok();
    assert_eq!(
        call(&mut card, Ins::GetVersion, 0, 0, &[]).ok(),
        defaults::COMPAT_VERSION
    );
}

#[test]
fn selecting_another_application_clears_security_state() {
    let mut card = new_card(1);
    select(&mut card).ok();
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(auth_mgmt(&mut card), 0x9000);
    // Re-selecting PIV keeps the session (OpenSC re-selects between operations).
    select(&mut card).ok();
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x9000);
    assert_eq!(
        sw(
            &mut card,
            Ins::Select,
            0x04,
            0x00,
            &[0xA0, 0, 0, 5, 0x27, 0x20, 1]
        ),
        0x6A82
    );
    select(&mut card).ok();
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C3);
    assert_eq!(put_data(&mut card, 0x5FC102, &[0x34, 0]), 0x6982);
}

#[test]
fn version_and_serial() {
    let mut card = new_card(7);
    select(&mut card).ok();
    assert_eq!(call(&mut card, Ins::GetVersion, 0, 0, &[]).ok(), [5, 4, 3]);
    let serial = call(&mut card, Ins::GetSerial, 0, 0, &[]).ok().to_vec();
    assert_eq!(
        u32::from_be_bytes(serial.clone().try_into().unwrap()),
        card.serial()
    );
    assert_ne!(card.serial(), 0);
    let other = new_card(8);
    assert_ne!(other.serial(), card.serial());
    // Serial survives a reboot.
    let s = card.serial();
    let card = reboot(card, 99);
    assert_eq!(card.serial(), s);
}

#[test]
fn discovery_and_default_chuid() {
    let mut a = new_card(1);
    select(&mut a).ok();
    let d = inner(get_data(&mut a, 0x7E).ok(), 0x7E);
    assert_eq!(find(&d, 0x4F).unwrap(), PIV_AID);
    assert_eq!(find(&d, 0x5F2F).unwrap(), [0x40, 0x00]);
    let chuid = inner(get_data(&mut a, 0x5FC102).ok(), 0x53);
    let guid = find(&chuid, 0x34).unwrap();
    assert_eq!(guid.len(), 16);
    assert_ne!(guid, [0u8; 16]);
    let mut b = new_card(2);
    select(&mut b).ok();
    let chuid_b = inner(get_data(&mut b, 0x5FC102).ok(), 0x53);
    assert_ne!(find(&chuid_b, 0x34).unwrap(), guid, "GUID unique per card");
    assert_eq!(
        get_data(&mut a, 0x5FC107).sw,
        0x6A82,
        "CCC absent until written"
    );
    assert_eq!(get_data(&mut a, 0x5FC1FF).sw, 0x6A82, "unknown object");
}

#[test]
fn put_and_get_every_object_up_to_max_size() {
    let mut card = admin_card(3);
    let big: Vec<u8> = (0..defaults::MAX_OBJECT_LEN).map(|i| byte(i * 7)).collect();
    let objects: Vec<u32> = (0x5FC101..=0x5FC123).chain([0x7F61, 0x5FFF00]).collect();
    for (i, &tag) in objects.iter().enumerate() {
        let len = [1, 100, 255, 256, 1000, 3072][i % 6];
        let content = &big[i..i + len];
        assert_eq!(put_data(&mut card, tag, content), 0x9000, "{tag:06X}");
    }
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    for (i, &tag) in objects.iter().enumerate() {
        let len = [1, 100, 255, 256, 1000, 3072][i % 6];
        let got = inner(get_data(&mut card, tag).ok(), 0x53);
        assert_eq!(got, &big[i..i + len], "{tag:06X}");
    }
    // A 3.5 KiB certificate through chaining, read back through 61xx.
    assert_eq!(put_data(&mut card, 0x5FC10A, &big), 0x9000);
    assert_eq!(inner(get_data(&mut card, 0x5FC10A).ok(), 0x53), big);
    // One byte more is refused, the object is unchanged.
    let mut too_big = big.clone();
    too_big.push(0);
    assert_eq!(put_data(&mut card, 0x5FC10A, &too_big), 0x6A84);
    assert_eq!(inner(get_data(&mut card, 0x5FC10A).ok(), 0x53), big);
    // An empty 53 deletes.
    assert_eq!(put_data(&mut card, 0x5FC10A, &[]), 0x9000);
    assert_eq!(get_data(&mut card, 0x5FC10A).sw, 0x6A82);
    // Objects survive a reboot.
    let mut card = reboot(card, 4);
    select(&mut card).ok();
    assert_eq!(
        inner(get_data(&mut card, 0x5FC105).ok(), 0x53),
        &big[4..4 + 1000]
    );
}

#[test]
fn put_data_needs_the_management_key() {
    let mut card = new_card(3);
    select(&mut card).ok();
    assert_eq!(put_data(&mut card, 0x5FC105, b"cert"), 0x6982);
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(
        put_data(&mut card, 0x5FC105, b"cert"),
        0x6982,
        "PIN is not enough"
    );
    assert_eq!(get_data(&mut card, 0x5FC105).sw, 0x6A82);
    assert_eq!(auth_mgmt(&mut card), 0x9000);
    assert_eq!(
        put_data(&mut card, 0x5FC1FF, b"x"),
        0x6A82,
        "unknown object"
    );
    assert_eq!(
        put_data(&mut card, 0x7E, b"x"),
        0x6A81,
        "discovery is read-only"
    );
}

#[test]
fn pin_protected_objects_need_the_pin() {
    let mut card = admin_card(3);
    for tag in [0x5FC103, 0x5FC108, 0x5FC109, 0x5FC121, 0x5FC123] {
        assert_eq!(put_data(&mut card, tag, b"private"), 0x9000);
        assert_eq!(get_data(&mut card, tag).sw, 0x6982, "{tag:06X}");
    }
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(inner(get_data(&mut card, 0x5FC109).ok(), 0x53), b"private");
}

#[test]
fn verify_counts_down_blocks_and_reports() {
    let mut card = new_card(5);
    select(&mut card).ok();
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C3);
    assert_eq!(verify(&mut card, b"654321"), 0x63C2);
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x9000);
    assert_eq!(sw(&mut card, Ins::Verify, 0xFF, 0x80, &[]), 0x9000);
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x80, &[]),
        0x63C3,
        "reset, counter restored"
    );
    for left in (0..3).rev() {
        assert_eq!(verify(&mut card, b"000000"), 0x63C0 | left);
    }
    assert_eq!(verify(&mut card, b"123456"), 0x6983, "blocked");
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x6983);
    // The block survives a reboot.
    let mut card = reboot(card, 6);
    select(&mut card).ok();
    assert_eq!(verify(&mut card, b"123456"), 0x6983);
}

#[test]
fn verify_rejects_malformed_input() {
    let mut card = new_card(5);
    select(&mut card).ok();
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, b"123456"), 0x6A80);
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x81, &pad(b"123456")),
        0x6A88
    );
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x01, 0x80, &pad(b"123456")),
        0x6A86
    );
    assert_eq!(
        sw(&mut card, Ins::Verify, 0xFF, 0x80, &pad(b"123456")),
        0x6A80
    );
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x80, &[]),
        0x63C3,
        "no try consumed"
    );
}

#[test]
fn wrong_pin_clears_verification() {
    let mut card = new_card(5);
    select(&mut card).ok();
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(verify(&mut card, b"111111"), 0x63C2);
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C2);
}

#[test]
fn change_pin_and_puk() {
    let mut card = new_card(9);
    select(&mut card).ok();
    let change = |card: &mut Card, p2: u8, old: &[u8], new: &[u8]| {
        let mut d = pad(old).to_vec();
        d.extend_from_slice(&pad(new));
        sw(card, Ins::ChangeReference, 0x00, p2, &d)
    };
    assert_eq!(change(&mut card, 0x80, b"000000", b"24681357"), 0x63C2);
    assert_eq!(
        change(&mut card, 0x80, b"123456", b"12345"),
        0x6A80,
        "too short"
    );
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x80, &[]),
        0x63C2,
        "format checked first"
    );
    let mut bad = pad(b"123456").to_vec();
    bad.extend_from_slice(&[b'1', b'2', 0xFF, b'4', b'5', b'6', b'7', 0xFF]);
    assert_eq!(
        sw(&mut card, Ins::ChangeReference, 0x00, 0x80, &bad),
        0x6A80,
        "FF inside"
    );
    assert_eq!(change(&mut card, 0x80, b"123456", b"24681357"), 0x9000);
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x80, &[]),
        0x63C3,
        "counter restored"
    );
    assert_eq!(verify(&mut card, b"123456"), 0x63C2);
    assert_eq!(verify(&mut card, b"24681357"), 0x9000);
    let meta = metadata(&mut card, KeyRef::Pin);
    assert_eq!(find(meta.ok(), tags::META_DEFAULT).unwrap(), [0]);
    assert_eq!(change(&mut card, 0x81, b"12345678", b"87654321"), 0x9000);
    let meta = metadata(&mut card, KeyRef::Puk);
    assert_eq!(find(meta.ok(), tags::META_DEFAULT).unwrap(), [0]);
    assert_eq!(change(&mut card, 0x81, b"12345678", b"11111111"), 0x63C2);
    assert_eq!(change(&mut card, 0x9B, b"12345678", b"11111111"), 0x6A88);
    assert_eq!(
        sw(&mut card, Ins::ChangeReference, 0x00, 0x80, &pad(b"123456")),
        0x6A80
    );
}

#[test]
fn puk_unblocks_the_pin() {
    let mut card = new_card(10);
    select(&mut card).ok();
    for _ in 0..3 {
        verify(&mut card, b"000000");
    }
    assert_eq!(verify(&mut card, b"123456"), 0x6983);
    let rrc = |card: &mut Card, puk: &[u8], pin: &[u8]| {
        let mut d = pad(puk).to_vec();
        d.extend_from_slice(&pad(pin));
        sw(card, Ins::ResetRetryCounter, 0x00, 0x80, &d)
    };
    assert_eq!(rrc(&mut card, b"00000000", b"13572468"), 0x63C2);
    assert_eq!(rrc(&mut card, b"12345678", b"135"), 0x6A80);
    assert_eq!(rrc(&mut card, b"12345678", b"13572468"), 0x9000);
    assert_eq!(verify(&mut card, b"13572468"), 0x9000);
    let meta = metadata(&mut card, KeyRef::Puk);
    assert_eq!(find(meta.ok(), tags::META_RETRIES).unwrap(), [3, 3]);
    // Block the PUK: RESET RETRY COUNTER is refused even with the right PUK.
    for left in (0..3).rev() {
        assert_eq!(rrc(&mut card, b"00000000", b"11112222"), 0x63C0 | left);
    }
    assert_eq!(rrc(&mut card, b"12345678", b"11112222"), 0x6983);
    assert_eq!(
        sw(&mut card, Ins::ResetRetryCounter, 0x00, 0x81, &[0; 16]),
        0x6A88
    );
}

#[test]
fn management_key_mutual_authentication_3des_and_aes() {
    let mut card = admin_card(11);
    for (alg, len) in [
        (Algorithm::Aes128, 16),
        (Algorithm::Aes192, 24),
        (Algorithm::Aes256, 32),
        (Algorithm::Tdes, 24),
    ] {
        let key: Vec<u8> = (0..len)
            .map(|i| byte(i).wrapping_mul(37).wrapping_add(byte(len)))
            .collect();
        let d = set_mgmt_body(alg, &key);
        assert_eq!(
            sw(&mut card, Ins::SetManagementKey, 0xFF, 0xFF, &d),
            0x9000,
            "{alg:?}"
        );
        let meta = metadata(&mut card, KeyRef::Management);
        assert_eq!(
            find(meta.ok(), tags::META_ALGORITHM).unwrap(),
            [alg.to_u8()]
        );
        assert_eq!(find(meta.ok(), tags::META_DEFAULT).unwrap(), [0]);
        card.reset();
        select(&mut card).ok();
        assert_eq!(
            auth_mgmt(&mut card),
            if alg == Algorithm::Tdes {
                0x6982
            } else {
                0x6A86
            },
            "old key refused"
        );
        assert_eq!(auth_mgmt_with(&mut card, alg, &key), 0x9000, "{alg:?}");
    }
}

/// GENERAL AUTHENTICATE with the management key (9B) and algorithm byte `alg`.
fn mgmt_auth(card: &mut Card, alg: u8, template: &[u8]) -> Resp {
    call(
        card,
        Ins::GeneralAuthenticate,
        alg,
        KeyRef::Management.to_u8(),
        template,
    )
}

/// EXTERNAL AUTHENTICATE, step 1, with the factory 3DES key: ask for a
/// challenge (8 bytes); the right answer, `7C { 82 <challenge encrypted> }`.
fn external_challenge(card: &mut Card) -> Vec<u8> {
    let ask = tlv(tags::DYN_AUTH, &tlv(tags::DYN_CHALLENGE, &[]));
    let (alg, mgmt) = (Algorithm::Tdes.to_u8(), KeyRef::Management.to_u8());
    let r = call(card, Ins::GeneralAuthenticate, alg, mgmt, &ask);
    let mut enc = find(&inner(r.ok(), tags::DYN_AUTH), tags::DYN_CHALLENGE).unwrap();
    assert_eq!(enc.len(), 8);
    tamga_firmware::crypto::mgmt_crypt(Algorithm::Tdes, &defaults::MANAGEMENT_KEY, &mut enc, true)
        .unwrap();
    tlv(tags::DYN_AUTH, &tlv(tags::DYN_RESPONSE, &enc))
}

#[test]
fn management_key_external_authentication() {
    let mut card = new_card(12);
    select(&mut card).ok();
    let right = external_challenge(&mut card);
    // A wrong answer fails and consumes the challenge.
    let wrong = tlv(tags::DYN_AUTH, &tlv(tags::DYN_RESPONSE, &[0u8; 8]));
    assert_eq!(mgmt_auth(&mut card, 0x03, &wrong).sw, 0x6982);
    assert_eq!(
        mgmt_auth(&mut card, 0x03, &right).sw,
        0x6985,
        "challenge is single-use"
    );
    let right = external_challenge(&mut card);
    assert_eq!(mgmt_auth(&mut card, 0x03, &right).sw, 0x9000);
    assert_eq!(put_data(&mut card, 0x5FC107, b"ccc"), 0x9000);
}

#[test]
fn management_key_gates() {
    let mut card = new_card(13);
    select(&mut card).ok();
    // Step 2 without step 1.
    let mut d = vec![0x7C, 0x0A, 0x80, 0x08];
    d.extend_from_slice(&[1; 8]);
    assert_eq!(mgmt_auth(&mut card, 0x03, &d).sw, 0x6985);
    // A wrong witness.
    mgmt_auth(&mut card, 0x03, &[0x7C, 0x02, 0x80, 0x00]).ok();
    assert_eq!(mgmt_auth(&mut card, 0x03, &d).sw, 0x6982);
    // Any command between the steps abandons the authentication.
    let r = mgmt_auth(&mut card, 0x03, &[0x7C, 0x02, 0x80, 0x00]);
    let enc = find(&inner(r.ok(), 0x7C), 0x80).unwrap();
    call(&mut card, Ins::GetVersion, 0, 0, &[]).ok();
    let mut w = enc.clone();
    tamga_firmware::crypto::mgmt_crypt(Algorithm::Tdes, &defaults::MANAGEMENT_KEY, &mut w, false)
        .unwrap();
    let mut d = vec![0x7C, 0x0A, 0x80, 0x08];
    d.extend_from_slice(&w);
    assert_eq!(mgmt_auth(&mut card, 0x03, &d).sw, 0x6985);
    // Wrong algorithm, malformed template.
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x08,
            0x9B,
            &[0x7C, 0x02, 0x80, 0x00]
        ),
        0x6A86
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x03,
            0x9B,
            &[0x7C, 0x02, 0x99, 0x00]
        ),
        0x6A80
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x03,
            0x9B,
            &[0x7C, 0x05, 0x80, 0x00]
        ),
        0x6A80
    );
    // Admin commands refused without the key.
    let generate_cmd = [0xAC, 0x03, 0x80, 0x01, 0x11];
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9A,
            &generate_cmd
        ),
        0x6982
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::SetManagementKey,
            0xFF,
            0xFF,
            &[
                0x08, 0x9B, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        ),
        0x6982
    );
    assert_eq!(
        sw(&mut card, Ins::ImportKey, 0x11, 0x9A, &[0x06, 0x01, 0x01]),
        0x6982
    );
    assert_eq!(sw(&mut card, Ins::SetPinRetries, 0x05, 0x05, &[]), 0x6982);
    assert_eq!(
        metadata(&mut card, KeyRef::Authentication).sw,
        0x6A88,
        "nothing generated"
    );
}

#[test]
fn generate_and_sign_with_every_slot_policy() {
    let mut card = admin_card(14);
    let hash = [0x42u8; 32];
    let a = generate(&mut card, KeyRef::Authentication);
    let c = generate(&mut card, KeyRef::Signature);
    let e = generate(&mut card, KeyRef::CardAuthentication);
    let r5 = generate(&mut card, KeyRef::Retired(5));
    assert_ne!(a, c);
    // 9E: no PIN.
    let s = sign(&mut card, KeyRef::CardAuthentication, &hash);
    assert!(ecdsa_ok(&e, &hash, s.ok()));
    // 9A, 9C, retired: PIN needed.
    assert_eq!(sign(&mut card, KeyRef::Authentication, &hash).sw, 0x6982);
    assert_eq!(sign(&mut card, KeyRef::Signature, &hash).sw, 0x6982);
    assert_eq!(sign(&mut card, KeyRef::Retired(5), &hash).sw, 0x6982);
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    // 9C: once per VERIFY.
    let s = sign(&mut card, KeyRef::Signature, &hash);
    assert!(ecdsa_ok(&c, &hash, s.ok()));
    assert_eq!(
        sign(&mut card, KeyRef::Signature, &hash).sw,
        0x6982,
        "9C needs a fresh VERIFY"
    );
    // 9A: once per session, any number of signatures.
    for i in 0..3u8 {
        let h = [i; 32];
        assert!(ecdsa_ok(
            &a,
            &h,
            sign(&mut card, KeyRef::Authentication, &h).ok()
        ));
    }
    assert!(ecdsa_ok(
        &r5,
        &hash,
        sign(&mut card, KeyRef::Retired(5), &hash).ok()
    ));
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert!(ecdsa_ok(
        &c,
        &hash,
        sign(&mut card, KeyRef::Signature, &hash).ok()
    ));
    // Session ends with a reset: keys stay, PIN must be presented again.
    card.reset();
    select(&mut card).ok();
    assert_eq!(sign(&mut card, KeyRef::Authentication, &hash).sw, 0x6982);
    // Metadata tells the policy and the key.
    let meta = metadata(&mut card, KeyRef::Signature);
    assert_eq!(find(meta.ok(), tags::META_POLICY).unwrap(), [0x03, 0x01]);
    assert_eq!(find(meta.ok(), tags::META_ORIGIN).unwrap(), [0x01]);
    let pk = find(meta.ok(), tags::META_PUBLIC_KEY).unwrap();
    assert_eq!(find(&pk, tags::EC_POINT).unwrap(), c);
}

#[test]
fn sign_rejects_bad_input() {
    let mut card = admin_card(15);
    generate(&mut card, KeyRef::Authentication);
    verify(&mut card, b"123456");
    assert_eq!(
        sign(&mut card, KeyRef::Authentication, &[1; 8]).sw,
        0x6A80,
        "hash too short"
    );
    assert_eq!(
        sign(&mut card, KeyRef::KeyManagement, &[1; 32]).sw,
        0x6A88,
        "empty slot"
    );
    let mut body = vec![0x7C, 0x24, 0x82, 0x00, 0x81, 0x20];
    body.extend_from_slice(&[1; 32]);
    assert_eq!(
        sw(&mut card, Ins::GeneralAuthenticate, 0x07, 0x9A, &body),
        0x6A86,
        "RSA on a P-256 key"
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x11,
            0x9A,
            &[0x7C, 0x02, 0x82, 0x00]
        ),
        0x6A80
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x11,
            0x9A,
            &[0x7D, 0x02, 0x82, 0x00]
        ),
        0x6A80
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x11,
            0x80,
            &[0x7C, 0x02, 0x82, 0x00]
        ),
        0x6A88
    );
}

#[test]
fn ecdh_with_the_key_management_key() {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let mut card = admin_card(16);
    let point = generate(&mut card, KeyRef::KeyManagement);
    verify(&mut card, b"123456");
    let host = p256::SecretKey::from_slice(&[0x11; 32]).unwrap();
    let host_pub = host.public_key().to_sec1_point(false);
    let mut body = vec![0x7C, 0x45, 0x82, 0x00, 0x85, 0x41];
    body.extend_from_slice(host_pub.as_bytes());
    let r = call(&mut card, Ins::GeneralAuthenticate, 0x11, 0x9D, &body);
    let shared = find(&inner(r.ok(), 0x7C), 0x82).unwrap();
    let card_pub = p256::PublicKey::from_sec1_bytes(&point).unwrap();
    let expected = p256::ecdh::diffie_hellman(host.to_nonzero_scalar(), card_pub.as_affine());
    assert_eq!(shared, expected.raw_secret_bytes().as_slice());
    // A point off the curve is refused.
    let mut bad = body.clone();
    bad[10] ^= 1;
    assert_eq!(
        sw(&mut card, Ins::GeneralAuthenticate, 0x11, 0x9D, &bad),
        0x6A80
    );
}

#[test]
fn unsupported_algorithms_are_refused_clearly() {
    let mut card = admin_card(17);
    // RSA-1024 and P-384 are recognized, not implemented (RSA-2048 is: tests/rsa.rs).
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9A,
            &[0xAC, 0x03, 0x80, 0x01, 0x06]
        ),
        0x6A81
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9A,
            &[0xAC, 0x03, 0x80, 0x01, 0x14]
        ),
        0x6A81
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9B,
            &[0xAC, 0x03, 0x80, 0x01, 0x11]
        ),
        0x6A88
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x01,
            0x9A,
            &[0xAC, 0x03, 0x80, 0x01, 0x11]
        ),
        0x6A86
    );
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9A,
            &[0xAC, 0x00]
        ),
        0x6A80
    );
    assert_eq!(metadata(&mut card, KeyRef::Authentication).sw, 0x6A88);
}

#[test]
fn generate_with_explicit_policies() {
    let mut card = admin_card(18);
    let r = call(
        &mut card,
        Ins::GenerateAsymmetric,
        0x00,
        0x9A,
        &[
            0xAC, 0x09, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x01, 0xAB, 0x01, 0x02,
        ],
    );
    let point = find(&inner(r.ok(), 0x7F49), 0x86).unwrap();
    let meta = metadata(&mut card, KeyRef::Authentication);
    assert_eq!(find(meta.ok(), tags::META_POLICY).unwrap(), [0x01, 0x02]);
    // PIN policy "never": signs without VERIFY.
    let h = [9u8; 32];
    assert!(ecdsa_ok(
        &point,
        &h,
        sign(&mut card, KeyRef::Authentication, &h).ok()
    ));
    assert_eq!(
        sw(
            &mut card,
            Ins::GenerateAsymmetric,
            0x00,
            0x9A,
            &[0xAC, 0x06, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x09]
        ),
        0x6A80
    );
}

#[test]
fn import_key_records_origin() {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let mut card = admin_card(19);
    let secret = p256::SecretKey::from_slice(&[0x23; 32]).unwrap();
    let mut d = vec![0x06, 0x20];
    d.extend_from_slice(&[0x23; 32]);
    d.extend_from_slice(&[0xAA, 0x01, 0x02]);
    assert_eq!(sw(&mut card, Ins::ImportKey, 0x11, 0x9C, &d), 0x9000);
    let meta = metadata(&mut card, KeyRef::Signature);
    assert_eq!(find(meta.ok(), tags::META_ORIGIN).unwrap(), [0x02]);
    assert_eq!(find(meta.ok(), tags::META_POLICY).unwrap(), [0x02, 0x01]);
    let point = secret.public_key().to_sec1_point(false);
    verify(&mut card, b"123456");
    let h = [3u8; 32];
    assert!(ecdsa_ok(
        point.as_bytes(),
        &h,
        sign(&mut card, KeyRef::Signature, &h).ok()
    ));
    // Bad scalars and algorithms.
    let mut zero = vec![0x06, 0x20];
    zero.extend_from_slice(&[0; 32]);
    assert_eq!(sw(&mut card, Ins::ImportKey, 0x11, 0x9A, &zero), 0x6A80);
    let mut ff = vec![0x06, 0x20];
    ff.extend_from_slice(&[0xFF; 32]);
    assert_eq!(sw(&mut card, Ins::ImportKey, 0x11, 0x9A, &ff), 0x6A80);
    assert_eq!(
        sw(&mut card, Ins::ImportKey, 0x11, 0x9A, &[0x06, 0x01, 0x01]),
        0x6A80
    );
    assert_eq!(
        sw(&mut card, Ins::ImportKey, 0x06, 0x9A, &[0x01, 0x01, 0x01]),
        0x6A81
    );
    // An incomplete RSA-2048 key.
    assert_eq!(
        sw(&mut card, Ins::ImportKey, 0x07, 0x9A, &[0x01, 0x01, 0x01]),
        0x6A80
    );
    assert_eq!(
        sw(&mut card, Ins::ImportKey, 0x11, 0x9A, &[0x09, 0x01, 0x01]),
        0x6A80
    );
    assert_eq!(metadata(&mut card, KeyRef::Authentication).sw, 0x6A88);
}

#[test]
fn metadata_reports_defaults_and_retries() {
    let mut card = new_card(20);
    select(&mut card).ok();
    let pin = metadata(&mut card, KeyRef::Pin);
    assert_eq!(find(pin.ok(), tags::META_ALGORITHM).unwrap(), [0xFF]);
    assert_eq!(find(pin.ok(), tags::META_DEFAULT).unwrap(), [1]);
    assert_eq!(find(pin.ok(), tags::META_RETRIES).unwrap(), [3, 3]);
    verify(&mut card, b"000000");
    let pin = metadata(&mut card, KeyRef::Pin);
    assert_eq!(find(pin.ok(), tags::META_RETRIES).unwrap(), [3, 2]);
    let puk = metadata(&mut card, KeyRef::Puk);
    assert_eq!(find(puk.ok(), tags::META_DEFAULT).unwrap(), [1]);
    let m = metadata(&mut card, KeyRef::Management);
    assert_eq!(find(m.ok(), tags::META_ALGORITHM).unwrap(), [0x03]);
    assert_eq!(find(m.ok(), tags::META_DEFAULT).unwrap(), [1]);
    assert_eq!(metadata(&mut card, KeyRef::Attestation).sw, 0x6A88);
    assert_eq!(sw(&mut card, Ins::GetMetadata, 0x00, 0x42, &[]), 0x6A88);
    assert_eq!(sw(&mut card, Ins::GetMetadata, 0x01, 0x80, &[]), 0x6A86);
}

#[test]
fn set_pin_retries_needs_key_and_pin_and_resets_both() {
    let mut card = admin_card(21);
    assert_eq!(
        sw(&mut card, Ins::SetPinRetries, 0x05, 0x07, &[]),
        0x6982,
        "PIN not verified"
    );
    verify(&mut card, b"123456");
    assert_eq!(sw(&mut card, Ins::SetPinRetries, 0x00, 0x07, &[]), 0x6A86);
    assert_eq!(sw(&mut card, Ins::SetPinRetries, 0x10, 0x07, &[]), 0x6A86);
    assert_eq!(sw(&mut card, Ins::SetPinRetries, 0x05, 0x07, &[]), 0x9000);
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C5);
    let puk = metadata(&mut card, KeyRef::Puk);
    assert_eq!(find(puk.ok(), tags::META_RETRIES).unwrap(), [7, 7]);
    assert_eq!(verify(&mut card, b"123456"), 0x9000, "PIN back to default");
}

#[test]
fn reset_only_when_pin_and_puk_are_blocked() {
    let mut card = admin_card(22);
    generate(&mut card, KeyRef::Signature);
    put_data(&mut card, 0x5FC10A, b"certificate");
    let serial = card.serial();
    let guid = find(&inner(get_data(&mut card, 0x5FC102).ok(), 0x53), 0x34).unwrap();
    assert_eq!(sw(&mut card, Ins::Reset, 0, 0, &[]), 0x6985);
    for _ in 0..3 {
        verify(&mut card, b"000000");
    }
    assert_eq!(
        sw(&mut card, Ins::Reset, 0, 0, &[]),
        0x6985,
        "PUK not blocked"
    );
    let mut d = pad(b"00000000").to_vec();
    d.extend_from_slice(&pad(b"123456"));
    for _ in 0..3 {
        call(&mut card, Ins::ResetRetryCounter, 0x00, 0x80, &d);
    }
    assert_eq!(sw(&mut card, Ins::Reset, 0, 1, &[]), 0x6A86);
    assert_eq!(sw(&mut card, Ins::Reset, 0, 0, &[]), 0x9000);
    assert_eq!(
        metadata(&mut card, KeyRef::Signature).sw,
        0x6A88,
        "keys wiped"
    );
    assert_eq!(get_data(&mut card, 0x5FC10A).sw, 0x6A82, "objects wiped");
    assert_eq!(verify(&mut card, b"123456"), 0x9000, "default PIN again");
    assert_eq!(card.serial(), serial, "serial kept");
    let guid2 = find(&inner(get_data(&mut card, 0x5FC102).ok(), 0x53), 0x34).unwrap();
    assert_ne!(guid, guid2, "new CHUID GUID");
    let mut card = reboot(card, 23);
    select(&mut card).ok();
    assert_eq!(metadata(&mut card, KeyRef::Signature).sw, 0x6A88);
    assert_eq!(auth_mgmt(&mut card), 0x9000, "default management key");
}

#[test]
fn attest_is_not_implemented_yet() {
    let mut card = new_card(24);
    select(&mut card).ok();
    // yubico-piv-tool's encoding: 00 F9 <slot> 00.
    assert_eq!(sw(&mut card, Ins::Attest, 0x9A, 0x00, &[]), 0x6D00);
    assert_eq!(sw(&mut card, Ins::Attest, 0x00, 0x9A, &[]), 0x6A86);
    assert_eq!(sw(&mut card, Ins::Attest, 0x42, 0x00, &[]), 0x6A88);
}

#[test]
fn malformed_apdus_get_the_right_status() {
    let mut card = new_card(25);
    select(&mut card).ok();
    let cases: &[(&[u8], u16)] = &[
        (&[], 0x6700),
        (&[0x00, 0xFD, 0x00], 0x6700),
        (&[0x00, 0xFD, 0x00, 0x00, 0x05, 0x01], 0x6700),
        (&[0x00, 0xFD, 0x00, 0x00, 0x00, 0x00], 0x6700),
        (&[0x80, 0xFD, 0x00, 0x00], 0x6E00),
        (&[0x0C, 0xFD, 0x00, 0x00], 0x6882),
        (&[0x01, 0xFD, 0x00, 0x00], 0x6881),
        (&[0x20, 0xFD, 0x00, 0x00], 0x6E00),
        (&[0x40, 0xFD, 0x00, 0x00], 0x6881),
        (&[0x41, 0xFD, 0x00, 0x00], 0x6881),
        (&[0x60, 0xFD, 0x00, 0x00], 0x6882),
        (&[0x03, 0xFD, 0x00, 0x00], 0x6881),
        (&[0x00, 0x12, 0x00, 0x00], 0x6D00),
        (&[0x00, 0xFD, 0x01, 0x00], 0x6A86),
        (&[0x00, 0xCB, 0x3F, 0xFF, 0x02, 0x5C, 0x00], 0x6A80),
        (&[0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x05, 0x01], 0x6A80),
        (&[0x00, 0xCB, 0x3F, 0xFE, 0x03, 0x5C, 0x01, 0x7E], 0x6A86),
        (&[0x00, 0xDB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E], 0x6A80),
        (&[0x00, 0xC0, 0x00, 0x00, 0x00], 0x6985),
    ];
    for (apdu, sw) in cases {
        assert_eq!(raw(&mut card, apdu).sw, *sw, "{apdu:02X?}");
    }
}

#[test]
fn extended_length_and_response_chaining() {
    let mut card = admin_card(26);
    let cert: Vec<u8> = (0..3000).map(byte).collect();
    // Extended Lc: a 3000-byte object in one APDU.
    let mut body = vec![0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x53, 0x82, 0x0B, 0xB8];
    body.extend_from_slice(&cert);
    assert_eq!(
        raw(&mut card, &apdu(0, 0xDB, 0x3F, 0xFF, &body, None)).sw,
        0x9000
    );
    // Extended Le: the whole object in one response.
    let get = [0x5C, 0x03, 0x5F, 0xC1, 0x05];
    let mut reply = vec![0u8; 4000];
    let n = card.process(&apdu(0, 0xCB, 0x3F, 0xFF, &get, Some(65536)), &mut reply);
    assert_eq!(&reply[n - 2..n], [0x90, 0x00]);
    assert_eq!(inner(&reply[..n - 2], 0x53), cert);
    // Short Le: 256-byte chunks, 61xx says how much is left.
    let r = raw(&mut card, &apdu(0, 0xCB, 0x3F, 0xFF, &get, Some(256)));
    assert_eq!(r.data.len(), 256);
    assert_eq!(r.sw, 0x6100, "256 or more left");
    let mut all = r.data;
    let mut sw = r.sw;
    while sw >> 8 == 0x61 {
        let r = raw(&mut card, &[0, 0xC0, 0, 0, (sw & 0xFF) as u8]);
        all.extend_from_slice(&r.data);
        sw = r.sw;
    }
    assert_eq!(sw, 0x9000);
    assert_eq!(inner(&all, 0x53), cert);
    // Another command abandons a pending response.
    let r = raw(&mut card, &apdu(0, 0xCB, 0x3F, 0xFF, &get, Some(256)));
    assert_eq!(r.sw, 0x6100);
    raw(&mut card, &[0, 0xFD, 0, 0]);
    assert_eq!(raw(&mut card, &[0, 0xC0, 0, 0, 0]).sw, 0x6985);
    // A small caller buffer also chains.
    let mut small = [0u8; 66];
    let n = card.process(&apdu(0, 0xCB, 0x3F, 0xFF, &get, Some(65536)), &mut small);
    assert_eq!(n, 66);
    assert_eq!(small[64], 0x61);
    // A reply buffer below 2 bytes gets nothing.
    assert_eq!(card.process(&[0, 0xFD, 0, 0], &mut [0u8; 1]), 0);
}

#[test]
fn command_chaining_rules() {
    let mut card = admin_card(27);
    let body = [0x5C, 0x03, 0x5F, 0xC1, 0x07, 0x53, 0x04, 1, 2, 3, 4];
    // A chain whose header changes is abandoned.
    assert_eq!(
        raw(&mut card, &apdu(0x10, 0xDB, 0x3F, 0xFF, &body[..5], None)).sw,
        0x9000
    );
    assert_eq!(
        raw(&mut card, &apdu(0x00, 0xCB, 0x3F, 0xFF, &body[5..], None)).sw,
        0x6883
    );
    assert_eq!(get_data(&mut card, 0x5FC107).sw, 0x6A82);
    // A proper chain.
    assert_eq!(
        raw(&mut card, &apdu(0x10, 0xDB, 0x3F, 0xFF, &body[..5], None)).sw,
        0x9000
    );
    assert_eq!(
        raw(&mut card, &apdu(0x00, 0xDB, 0x3F, 0xFF, &body[5..], None)).sw,
        0x9000
    );
    assert_eq!(
        inner(get_data(&mut card, 0x5FC107).ok(), 0x53),
        [1, 2, 3, 4]
    );
    // A chain longer than the card accepts.
    let chunk = [0u8; 255];
    let mut sw = 0x9000;
    for _ in 0..20 {
        sw = raw(&mut card, &apdu(0x10, 0xDB, 0x3F, 0xFF, &chunk, None)).sw;
        if sw != 0x9000 {
            break;
        }
    }
    assert_eq!(sw, 0x6700);
    // A reset drops a chain in progress.
    assert_eq!(
        raw(&mut card, &apdu(0x10, 0xDB, 0x3F, 0xFF, &body[..5], None)).sw,
        0x9000
    );
    card.reset();
    admin(&mut card);
    assert_eq!(
        raw(&mut card, &apdu(0x00, 0xDB, 0x3F, 0xFF, &body, None)).sw,
        0x9000
    );
}

#[test]
fn state_persists_and_session_does_not() {
    let mut card = admin_card(28);
    let point = generate(&mut card, KeyRef::Authentication);
    verify(&mut card, b"000000");
    let mut card = reboot(card, 29);
    assert_eq!(
        sw(&mut card, Ins::GetVersion, 0, 0, &[]),
        0x6985,
        "not selected after power-up"
    );
    select(&mut card).ok();
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C2);
    assert_eq!(put_data(&mut card, 0x5FC107, b"x"), 0x6982);
    let meta = metadata(&mut card, KeyRef::Authentication);
    assert_eq!(find(&find(meta.ok(), 4).unwrap(), 0x86).unwrap(), point);
    let _ = ObjectTag::CHUID;
}

#[test]
fn a_wrong_pin_in_change_reference_ends_the_verification() {
    let mut card = admin_card(30);
    generate(&mut card, KeyRef::Authentication);
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    let mut d = pad(b"000000").to_vec();
    d.extend_from_slice(&pad(b"24681357"));
    assert_eq!(sw(&mut card, Ins::ChangeReference, 0x00, 0x80, &d), 0x63C2);
    assert_eq!(
        sw(&mut card, Ins::Verify, 0x00, 0x80, &[]),
        0x63C2,
        "not verified any more"
    );
    assert_eq!(sign(&mut card, KeyRef::Authentication, &[1; 32]).sw, 0x6982);
    // Unblocking with the PUK sets a new PIN but does not verify it.
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    let mut d = pad(b"12345678").to_vec();
    d.extend_from_slice(&pad(b"13572468"));
    assert_eq!(
        sw(&mut card, Ins::ResetRetryCounter, 0x00, 0x80, &d),
        0x9000
    );
    assert_eq!(sw(&mut card, Ins::Verify, 0x00, 0x80, &[]), 0x63C3);
}

#[test]
fn bad_input_does_not_use_up_a_pin_always_verification() {
    let mut card = admin_card(31);
    let point = generate(&mut card, KeyRef::Signature);
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    assert_eq!(sign(&mut card, KeyRef::Signature, &[1; 8]).sw, 0x6A80);
    let h = [2u8; 32];
    assert!(ecdsa_ok(
        &point,
        &h,
        sign(&mut card, KeyRef::Signature, &h).ok()
    ));
    assert_eq!(sign(&mut card, KeyRef::Signature, &h).sw, 0x6982);
}

#[test]
fn get_response_with_wrong_parameters_keeps_the_response() {
    let mut card = admin_card(32);
    let cert = vec![0x33u8; 600];
    assert_eq!(put_data(&mut card, 0x5FC105, &cert), 0x9000);
    let get = [0x5C, 0x03, 0x5F, 0xC1, 0x05];
    let first = raw(&mut card, &apdu(0, 0xCB, 0x3F, 0xFF, &get, Some(256)));
    assert_eq!(first.sw, 0x6100);
    assert_eq!(raw(&mut card, &[0, 0xC0, 0x01, 0x00, 0x00]).sw, 0x6A86);
    let mut all = first.data;
    let mut sw = first.sw;
    while sw >> 8 == 0x61 {
        let r = raw(&mut card, &[0, 0xC0, 0, 0, (sw & 0xFF) as u8]);
        all.extend_from_slice(&r.data);
        sw = r.sw;
    }
    assert_eq!(sw, 0x9000);
    assert_eq!(inner(&all, 0x53), cert);
}

#[test]
fn select_without_response_data() {
    let mut card = new_card(33);
    let r = call(&mut card, Ins::Select, 0x04, 0x0C, &PIV_AID);
    assert_eq!(r.sw, 0x9000);
    assert!(r.data.is_empty());
    assert_eq!(
        call(&mut card, Ins::GetVersion, 0, 0, &[]).ok(),
        defaults::COMPAT_VERSION
    );
}

#[test]
fn default_algorithm_byte_means_the_management_key_algorithm() {
    // OpenSC's C_GenerateRandom: GENERAL AUTHENTICATE 00 87 00 9B 7C 02 81 00.
    let mut card = new_card(34);
    select(&mut card).ok();
    let a = mgmt_auth(&mut card, 0x00, &[0x7C, 0x02, 0x81, 0x00]);
    let b = mgmt_auth(&mut card, 0x00, &[0x7C, 0x02, 0x81, 0x00]);
    let ca = find(&inner(a.ok(), 0x7C), 0x81).unwrap();
    let cb = find(&inner(b.ok(), 0x7C), 0x81).unwrap();
    assert_eq!(ca.len(), 8);
    assert_ne!(ca, cb, "fresh randomness each time");
    // Another explicit algorithm is still refused.
    assert_eq!(
        sw(
            &mut card,
            Ins::GeneralAuthenticate,
            0x08,
            0x9B,
            &[0x7C, 0x02, 0x81, 0x00]
        ),
        0x6A86
    );
}

/// `Applet::init` (in place, for a static) is `Applet::new`: same card on
/// the same flash, a working card on a blank one, a store error reported.
#[test]
fn init_in_place_matches_new() {
    use core::mem::MaybeUninit;
    use tamga_board_host::{SeededRng, SimFlash};
    use tamga_firmware::Applet;
    use tamga_firmware::crypto::SoftP256;
    let flash: SimFlash = SimFlash::new(64 * 1024);
    let serial = Applet::new(flash.clone(), SeededRng::new(5))
        .unwrap()
        .serial();
    let mut slot = MaybeUninit::uninit();
    let card = Applet::init(&mut slot, flash.clone(), SeededRng::new(6), SoftP256).unwrap();
    assert_eq!(card.serial(), serial);
    let mut reply = [0u8; 300];
    let n = card.process(
        &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08],
        &mut reply,
    );
    assert_eq!(&reply[n - 2..n], &[0x90, 0x00]);

    let mut blank = MaybeUninit::uninit();
    let fresh: SimFlash = SimFlash::new(64 * 1024);
    let card = Applet::init(&mut blank, fresh.clone(), SeededRng::new(7), SoftP256).unwrap();
    let serial = card.serial();
    assert_eq!(
        Applet::new(fresh, SeededRng::new(8)).unwrap().serial(),
        serial
    );

    let mut bad = MaybeUninit::uninit();
    let tiny: SimFlash = SimFlash::new(2048);
    assert!(Applet::init(&mut bad, tiny, SeededRng::new(9), SoftP256).is_err());
}
