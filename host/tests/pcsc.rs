//! The `tamga` commands through the real PC/SC stack: pcscd with vsmartcard's
//! vpcd driver, the virtual card (`tamga_board_host::vpcd`, as `tamga-vcard` runs it) in
//! reader `Virtual PCD 00 01`. Skipped, visibly, where pcscd or vpcd is not
//! installed (`cargo xtask test` installs them).

mod common;

use std::process::{Command, Output};

use common::ok;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tamga_board_host::vpcd;
use tamga_testkit::{pcscd, vpcd::SLOTS};

const PORT: u16 = SLOTS[1].0;
const READER: &str = SLOTS[1].1;

fn tamga(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let ca = dir.join("ca");
    let mut all = vec!["--ca", ca.to_str().unwrap()];
    all.extend_from_slice(args);
    common::tamga(READER, &all, env)
}

#[test]
fn the_cli_through_pcscd_and_vpcd() {
    if let Some(why) = pcscd::unavailable() {
        println!("SKIPPED the_cli_through_pcscd_and_vpcd: {why}");
        return;
    }
    pcscd::ensure().unwrap();
    let dir = tempfile::tempdir().unwrap();
    tamga_ca::Ca::init(&dir.path().join("ca"), &Default::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let opts = vpcd::Options {
        state: dir.path().join("card"),
        vpcd: tamga_testkit::vpcd::address(PORT),
        trace: Some(dir.path().join("trace.jsonl")),
        once: false,
        fsync: true,
    };
    let s = stop.clone();
    let card = std::thread::spawn(move || vpcd::run(&opts, s));
    pcscd::wait_for_card(READER, true, Duration::from_secs(10)).unwrap();

    let d = dir.path();
    let out = ok(&tamga(d, &["status"], &[]));
    assert!(out.contains(&format!("reader {READER}")), "{out}");
    let key = d.join("mgmt.key");
    ok(&tamga(
        d,
        &["init", "--new-mgmt-key-file", key.to_str().unwrap()],
        &[("TAMGA_NEW_PIN", "24681357"), ("TAMGA_NEW_PUK", "87654321")],
    ));
    let mut enroll = vec!["enroll", "--alg", "p256"];
    enroll.extend_from_slice(&common::PERSON[..6]);
    enroll.extend_from_slice(&["--mgmt-key-file", key.to_str().unwrap()]);
    let out = ok(&tamga(d, &enroll, &[("TAMGA_PIN", "24681357")]));
    assert!(
        out.contains("individual-auth") && out.contains("individual-sign"),
        "{out}"
    );
    let doc = d.join("doc.txt");
    std::fs::write(&doc, "document").unwrap();
    ok(&tamga(
        d,
        &["sign", doc.to_str().unwrap()],
        &[("TAMGA_PIN", "24681357")],
    ));
    assert!(ok(&tamga(d, &["verify", doc.to_str().unwrap()], &[])).contains("valid signature"));
    let renew = ["renew", "--mgmt-key-file", key.to_str().unwrap()];
    assert!(ok(&tamga(d, &renew, &[("TAMGA_PIN", "24681357")])).contains("renewed"));
    let o = tamga(
        d,
        &["pin", "change"],
        &[("TAMGA_PIN", "000000"), ("TAMGA_NEW_PIN", "11111111")],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong PIN, 2 tries left"));
    assert!(
        ok(&tamga(
            d,
            &["revoke", "--yes", "--reason", "owner-request"],
            &[("TAMGA_PIN", "24681357")]
        ))
        .contains("on the CRL: yes")
    );
    // The trace names what happened, with the PIN masked.
    let trace = ok(&Command::new(env!("CARGO_BIN_EXE_tamga"))
        .arg("trace")
        .arg(d.join("trace.jsonl"))
        .output()
        .unwrap());
    assert!(
        trace.contains("GENERATE ASYMMETRIC KEY PAIR 9A authentication"),
        "{trace}"
    );
    assert!(trace.contains("VERIFY PIN, 8 bytes masked"), "{trace}");
    assert!(
        !std::fs::read_to_string(d.join("trace.jsonl"))
            .unwrap()
            .contains("3234363831333537")
    );

    stop.store(true, Ordering::Relaxed);
    card.join().unwrap().unwrap();
    pcscd::wait_for_card(READER, false, Duration::from_secs(10)).unwrap();
}

/// `tamga agent` on a card in pcscd's virtual reader: the whole
/// ncalayer-js-client run of `host/tests/agent.rs`, through PC/SC.
#[test]
fn the_agent_through_pcscd_and_vpcd() {
    if let Some(why) = pcscd::unavailable() {
        println!("SKIPPED the_agent_through_pcscd_and_vpcd: {why}");
        return;
    }
    common::agent::require_tools();
    pcscd::ensure().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tamga_ca::Ca::init(&d.join("ca"), &Default::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let opts = vpcd::Options {
        state: d.join("card"),
        vpcd: tamga_testkit::vpcd::address(PORT),
        trace: None,
        once: false,
        fsync: true,
    };
    let s = stop.clone();
    let card = std::thread::spawn(move || vpcd::run(&opts, s));
    pcscd::wait_for_card(READER, true, Duration::from_secs(10)).unwrap();
    let mut enroll = vec!["enroll", "--alg", "p256"];
    enroll.extend_from_slice(common::PERSON);
    ok(&tamga(d, &enroll, &[]));
    common::agent::drive_client(READER, &d.join("ca/ca.pem"), d);
    stop.store(true, Ordering::Relaxed);
    card.join().unwrap().unwrap();
    pcscd::wait_for_card(READER, false, Duration::from_secs(10)).unwrap();
}
