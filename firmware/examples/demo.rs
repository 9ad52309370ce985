//! The embedded default: a Tamga card emulated in this process (the firmware on
//! a simulated NOR flash), walked through the life of an NCA signing card.
//! Every step is a real APDU exchange; host-side checks use independent code.
//!
//! Run: `cargo xtask demo` (or `cargo run -p tamga-firmware --example demo`).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Instant;

use common::*;
use tamga_firmware::spec::{Algorithm, KeyRef, status, tags};

struct Report {
    n: usize,
    started: Instant,
}

impl Report {
    fn step(&mut self, what: &str, sw: u16, detail: impl AsRef<str>) {
        self.n += 1;
        let meaning = status::describe(tamga_firmware::spec::Status::from_u16(sw));
        let detail = match detail.as_ref() {
            "" => meaning,
            d => d,
        };
        println!("{:>2}. {what:<50} {sw:04X}  {detail}", self.n);
    }
}

fn main() {
    let mut r = Report {
        n: 0,
        started: Instant::now(),
    };
    println!("Tamga demo: an emulated card (tamga-firmware on a simulated 128 KiB NOR flash)\n");
    let mut card = new_card(2026);

    let s = select(&mut card);
    r.step("SELECT PIV", s.sw, format!("serial {}", card.serial()));

    let pin = metadata(&mut card, KeyRef::Pin);
    let m = metadata(&mut card, KeyRef::Management);
    let default_pin = find(&pin.data, tags::META_DEFAULT) == Some(vec![1]);
    let default_key = find(&m.data, tags::META_DEFAULT) == Some(vec![1]);
    r.step(
        "GET METADATA PIN, management key",
        m.sw,
        format!("default PIN: {default_pin}, default 3DES key: {default_key} -> personalize"),
    );

    // Personalization: a new management key, PIN and PUK.
    let sw = auth_mgmt(&mut card);
    r.step(
        "authenticate with the default management key",
        sw,
        "mutual 3DES",
    );
    let aes: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(73) ^ 0x5C).collect();
    let mut d = vec![Algorithm::Aes256.to_u8(), 0x9B, 32];
    d.extend_from_slice(&aes);
    let sw = call(&mut card, Ins::SetManagementKey, 0xFF, 0xFF, &d).sw;
    r.step("SET MANAGEMENT KEY (AES-256)", sw, "");
    let change = |card: &mut Card, p2: u8, old: &[u8], new: &[u8]| {
        call(
            card,
            Ins::ChangeReference,
            0x00,
            p2,
            &[pad(old), pad(new)].concat(),
        )
        .sw
    };
    let sw = change(&mut card, 0x80, b"123456", b"20261123");
    r.step("CHANGE REFERENCE DATA (PIN)", sw, "");
    let sw = change(&mut card, 0x81, b"12345678", b"71044021");
    r.step("CHANGE REFERENCE DATA (PUK)", sw, "");

    // The two NCA keys, generated on the card.
    card.reset();
    select(&mut card);
    let sw = auth_mgmt_with(&mut card, Algorithm::Aes256, &aes);
    r.step(
        "authenticate with the new AES-256 key",
        sw,
        "witness + challenge",
    );
    let t = Instant::now();
    let auth_pub = generate(&mut card, KeyRef::Authentication);
    r.step(
        "GENERATE 9A authentication key (P-256)",
        0x9000,
        format!(
            "{}... in {:.1} ms",
            &hex::encode(&auth_pub)[..18],
            t.elapsed().as_secs_f64() * 1e3
        ),
    );
    let sign_pub = generate(&mut card, KeyRef::Signature);
    r.step(
        "GENERATE 9C signature key (P-256)",
        0x9000,
        format!("{}...", &hex::encode(&sign_pub)[..18]),
    );

    // Signing rules of the NCA signature key.
    let hash = [0x7Au8; 32];
    let s = sign(&mut card, KeyRef::Signature, &hash);
    r.step("sign with 9C before VERIFY", s.sw, "refused");
    let sw = verify(&mut card, b"20261123");
    r.step("VERIFY PIN", sw, "");
    let s = sign(&mut card, KeyRef::Signature, &hash);
    let ok = s.sw == 0x9000 && ecdsa_ok(&sign_pub, &hash, &s.data);
    r.step(
        "sign a document hash with 9C",
        s.sw,
        format!("signature verifies on the host: {ok}"),
    );
    let s = sign(&mut card, KeyRef::Signature, &hash);
    r.step(
        "sign with 9C again, same VERIFY",
        s.sw,
        "refused: PIN before every signature",
    );
    let s = sign(&mut card, KeyRef::Authentication, &hash);
    let ok = s.sw == 0x9000 && ecdsa_ok(&auth_pub, &hash, &s.data);
    r.step(
        "sign with 9A (PIN once per session)",
        s.sw,
        format!("verifies: {ok}"),
    );

    // Certificates come back from the CA and go onto the card.
    let cert: Vec<u8> = (0..2048).map(|i| byte(i * 31 % 251)).collect();
    let mut content = vec![0x70, 0x82, 0x08, 0x00];
    content.extend_from_slice(&cert);
    content.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
    let sw = put_data(&mut card, 0x5FC10A, &content);
    r.step("PUT DATA certificate 9C (2 KiB, chained APDUs)", sw, "");

    // A power cycle: persistent state stays, the session does not.
    let card2 = reboot(card, 7);
    let mut card = card2;
    select(&mut card);
    let got = get_data(&mut card, 0x5FC10A);
    let same = got.sw == 0x9000 && inner(&got.data, 0x53) == content;
    r.step(
        "power cycle, GET DATA certificate 9C",
        got.sw,
        format!("read back via 61xx, identical: {same}"),
    );
    let s = sign(&mut card, KeyRef::Authentication, &hash);
    r.step(
        "sign with 9A after the power cycle",
        s.sw,
        "refused: new session",
    );

    // PIN lock and unblock.
    let mut last = 0;
    for _ in 0..3 {
        last = verify(&mut card, b"00000000");
    }
    r.step("three wrong PINs", last, "");
    let sw = verify(&mut card, b"20261123");
    r.step("right PIN after that", sw, "");
    let sw = call(
        &mut card,
        Ins::ResetRetryCounter,
        0x00,
        0x80,
        &[pad(b"71044021"), pad(b"13572468")].concat(),
    )
    .sw;
    r.step("RESET RETRY COUNTER with the PUK", sw, "");
    let sw = verify(&mut card, b"13572468");
    r.step("VERIFY the new PIN", sw, "");

    let st = card.storage();
    println!(
        "\nCard store: {} of {} bytes live (bank generation {}); {} steps in {:.0} ms.",
        st.used,
        st.capacity,
        st.generation,
        r.n,
        r.started.elapsed().as_secs_f64() * 1e3
    );
}
