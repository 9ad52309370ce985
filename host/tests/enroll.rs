//! Enrolment is resumable: the card pulled at any APDU (before or after the
//! card handled it), then the enrolment run again, always ends with the two
//! certificates on the card and never a second live certificate at the CA.
//! Renewal likewise: pulled at any APDU and run again, it ends with the old
//! certificates superseded exactly once and the new ones live; until the new
//! certificates are confirmed on the card, the old ones stay valid.
//! And the same flows through a remote `tamga-ca serve`.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use tamga::ca::{CaClient, LocalCa, RemoteCa};
use tamga::enroll::{self, Request};
use tamga::piv::{MgmtKey, Pin, Piv};
use tamga::transport::Transport;
use tamga::transport::emu::EmuCard;
use tamga::{Error, Result};
use tamga_pki::{CertStatus, RevocationReason, Serial};
use tamga_spec::{Algorithm, KeyRef};

/// A card that is pulled out at the n-th APDU.
struct Pulled {
    card: EmuCard,
    left: Rc<Cell<Option<u64>>>,
    /// Pull after the card handled the APDU (the answer is lost) instead of before.
    after: bool,
}

impl Transport for Pulled {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        match self.left.get() {
            Some(0) => return Err(Error::CardRemoved),
            Some(1) if self.after => {
                self.left.set(Some(0));
                let _ = self.card.transmit(apdu)?;
                return Err(Error::CardRemoved);
            }
            Some(n) => self.left.set(Some(n - 1)),
            None => {}
        }
        self.card.transmit(apdu)
    }
    fn reset(&mut self) -> Result<()> {
        self.card.reset()
    }
    fn describe(&self) -> String {
        "pulled card".into()
    }
}

fn request() -> Request {
    Request {
        applicant: tamga::demo::sample_applicant().unwrap(),
        alg: Algorithm::EccP256,
        signature_alg: None,
        replace: false,
    }
}

fn live_certificates(ca: &tamga_ca::Ca) -> usize {
    ca.with_store(|s| s.list(None, 1000))
        .unwrap()
        .iter()
        .filter(|r| r.status == CertStatus::Valid)
        .count()
}

#[test]
fn pulled_at_every_apdu_then_rerun() {
    let pin = Pin::new(b"123456").unwrap();
    let key = MgmtKey::default_key();
    // How many APDUs a whole enrolment takes.
    let total = {
        let dir = tempfile::tempdir().unwrap();
        tamga_ca::Ca::init(&dir.path().join("ca"), &Default::default()).unwrap();
        let ca = LocalCa::open(&dir.path().join("ca"), "t").unwrap();
        let mut piv = Piv::new(EmuCard::open(dir.path().join("card")).unwrap());
        piv.select().unwrap();
        enroll::enroll(&mut piv, &ca, &request(), &pin, &key, &mut |_| {})
            .unwrap()
            .apdus
    };
    let mut tried = 0;
    for after in [false, true] {
        // The APDU with index n (0-based) is the one the card is pulled at.
        for n in 0..total {
            let dir = tempfile::tempdir().unwrap();
            tamga_ca::Ca::init(&dir.path().join("ca"), &Default::default()).unwrap();
            let ca = LocalCa::open(&dir.path().join("ca"), "t").unwrap();
            let left = Rc::new(Cell::new(None));
            let mut piv = Piv::new(Pulled {
                card: EmuCard::open(dir.path().join("card")).unwrap(),
                left: left.clone(),
                after,
            });
            piv.select().unwrap();
            left.set(Some(if after { n + 1 } else { n }));
            let first = enroll::enroll(&mut piv, &ca, &request(), &pin, &key, &mut |_| {});
            assert!(
                matches!(first, Err(Error::CardRemoved)),
                "pull at {n}: {first:?}"
            );
            drop(piv);
            // Card back in (a power cycle): run again.
            let mut piv = Piv::new(EmuCard::open(dir.path().join("card")).unwrap());
            piv.select().unwrap();
            let r = enroll::enroll(&mut piv, &ca, &request(), &pin, &key, &mut |_| {})
                .unwrap_or_else(|e| panic!("rerun after a pull at APDU {n} (after: {after}): {e}"));
            assert_eq!(r.slots.len(), 2);
            assert_eq!(
                live_certificates(ca.ca()),
                2,
                "pull at APDU {n} (after: {after}): a second live certificate"
            );
            for s in [KeyRef::Authentication, KeyRef::Signature] {
                assert!(piv.read_certificate(s).unwrap().is_some());
            }
            tried += 1;
        }
    }
    println!("enrolment pulled at {tried} points ({total} APDUs, before and after each)");
}

/// The emulated card in `dir`, selected.
fn card(dir: &std::path::Path) -> Piv<EmuCard> {
    let mut piv = Piv::new(EmuCard::open(dir.join("card")).unwrap());
    piv.select().unwrap();
    piv
}

/// A CA and an enrolled card in `dir`; the serials of the card's two certificates.
fn enrolled(dir: &std::path::Path) -> (LocalCa, Vec<Serial>) {
    tamga_ca::Ca::init(&dir.join("ca"), &Default::default()).unwrap();
    let ca = LocalCa::open(&dir.join("ca"), "t").unwrap();
    let mut piv = card(dir);
    let r = enroll::enroll(
        &mut piv,
        &ca,
        &request(),
        &Pin::new(b"123456").unwrap(),
        &MgmtKey::default_key(),
        &mut |_| {},
    )
    .unwrap();
    (ca, r.slots.into_iter().map(|s| s.serial).collect())
}

fn renew<T: Transport>(piv: &mut Piv<T>, ca: &dyn CaClient) -> Result<enroll::Report> {
    let pin = Pin::new(b"123456").unwrap();
    enroll::renew(
        piv,
        ca,
        Some((Algorithm::EccP256, Algorithm::EccP256)),
        &pin,
        &MgmtKey::default_key(),
        &mut |_| {},
    )
}

/// The card in `dir`, pulled at APDU `n` (before the card handles it, or after).
fn pulled_card(dir: &std::path::Path, n: u64, after: bool) -> Piv<Pulled> {
    let left = Rc::new(Cell::new(None));
    let mut piv = Piv::new(Pulled {
        card: EmuCard::open(dir.join("card")).unwrap(),
        left: left.clone(),
        after,
    });
    piv.select().unwrap();
    left.set(Some(if after { n + 1 } else { n }));
    piv
}

/// After a finished renewal: `old` superseded, the two certificates on the card
/// live renewals of them, confirmed, and no other certificate at the CA.
fn renewed_once(ca: &tamga_ca::Ca, dir: &std::path::Path, old: &[Serial], what: &str) {
    let rows = ca.with_store(|s| s.list(None, 1000)).unwrap();
    assert_eq!(rows.len(), 4, "{what}: certificates at the CA");
    let mut piv = card(dir);
    let mut predecessors = Vec::new();
    for s in [KeyRef::Authentication, KeyRef::Signature] {
        let der = piv.read_certificate(s).unwrap().unwrap();
        let row = rows
            .iter()
            .find(|r| r.der == der)
            .expect("card certificate at the CA");
        assert_eq!(row.status, CertStatus::Valid, "{what}");
        assert!(
            row.confirmed_at.is_some(),
            "{what}: {} confirmed",
            row.serial
        );
        predecessors.push(row.predecessor.clone().unwrap());
    }
    assert_eq!(predecessors, old, "{what}");
    for serial in old {
        let row = ca.show(serial).unwrap();
        assert_eq!(
            (row.status, row.revocation_reason),
            (CertStatus::Revoked, Some(RevocationReason::Superseded)),
            "{what}"
        );
    }
}

#[test]
fn renewal_pulled_at_every_apdu_then_rerun() {
    // How many APDUs a whole renewal takes.
    let total = {
        let dir = tempfile::tempdir().unwrap();
        let (ca, old) = enrolled(dir.path());
        let mut piv = card(dir.path());
        let apdus = renew(&mut piv, &ca).unwrap().apdus;
        drop(piv);
        renewed_once(ca.ca(), dir.path(), &old, "uninterrupted");
        apdus
    };
    let mut tried = 0;
    for after in [false, true] {
        for n in 0..total {
            let what = format!("pull at APDU {n} (after: {after})");
            let dir = tempfile::tempdir().unwrap();
            let (ca, old) = enrolled(dir.path());
            let mut piv = pulled_card(dir.path(), n, after);
            let first = renew(&mut piv, &ca);
            assert!(
                matches!(first, Err(Error::CardRemoved)),
                "{what}: {first:?}"
            );
            drop(piv);
            // Not confirmed: the old certificates are still valid.
            for serial in &old {
                assert_eq!(
                    ca.ca().show(serial).unwrap().status,
                    CertStatus::Valid,
                    "{what}"
                );
            }
            // Card back in (a power cycle): run again.
            let mut piv = card(dir.path());
            let r = renew(&mut piv, &ca).unwrap_or_else(|e| panic!("rerun after a {what}: {e}"));
            assert_eq!(r.slots.len(), 2);
            drop(piv);
            renewed_once(ca.ca(), dir.path(), &old, &what);
            tried += 1;
        }
    }
    println!("renewal pulled at {tried} points ({total} APDUs, before and after each)");
}

#[test]
fn renewal_interrupted_before_confirmation_keeps_the_old_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, old) = enrolled(dir.path());
    let total = {
        let copy = tempfile::tempdir().unwrap();
        let (ca, _) = enrolled(copy.path());
        let mut piv = card(copy.path());
        renew(&mut piv, &ca).unwrap().apdus
    };
    // Pulled at the last APDU: both new certificates written, the read-back cut short.
    let mut piv = pulled_card(dir.path(), total - 1, false);
    assert!(matches!(renew(&mut piv, &ca), Err(Error::CardRemoved)));
    drop(piv);
    let rows = ca.ca().with_store(|s| s.list(None, 1000)).unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!(row.status, CertStatus::Valid);
        assert_eq!(row.awaiting_confirmation(), !old.contains(&row.serial));
    }
    let (_, crl) = ca.ca().crl("t").unwrap();
    let crl: x509_cert::crl::CertificateList = der::Decode::from_der(&crl).unwrap();
    assert!(
        crl.tbs_cert_list.revoked_certificates.is_none(),
        "CRL empty"
    );
    // The card already holds the new certificates; the rerun only confirms them.
    let outcomes = |ca: &LocalCa| -> Vec<&str> {
        let r = renew(&mut card(dir.path()), ca).unwrap();
        r.slots.iter().map(|s| s.outcome).collect()
    };
    assert_eq!(outcomes(&ca), ["resumed", "resumed"]);
    renewed_once(ca.ca(), dir.path(), &old, "confirmed by the rerun");
    // A further renewal is a new one.
    assert_eq!(outcomes(&ca), ["renewed", "renewed"]);
    assert_eq!(live_certificates(ca.ca()), 2);
}

#[test]
fn enrol_sign_revoke_through_a_remote_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    tamga_ca::Ca::init(&ca_dir, &Default::default()).unwrap();
    let url = common::serve(&ca_dir);
    let remote = RemoteCa::new(&url, Some(common::TOKEN.into())).unwrap();
    let pin = Pin::new(b"123456").unwrap();
    let mut piv = card(dir.path());
    let r = enroll::enroll(
        &mut piv,
        &remote,
        &request(),
        &pin,
        &MgmtKey::default_key(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.slots.len(), 2);
    // Renewal through the server: confirmed there, the old certificates superseded.
    let renewed = renew(&mut piv, &remote).unwrap();
    let slots = [KeyRef::Authentication, KeyRef::Signature];
    for ((old, new), slot) in r.slots.iter().zip(&renewed.slots).zip(slots) {
        assert_eq!(new.outcome, "renewed");
        let record = remote.record(&old.serial).unwrap();
        assert_eq!(record.revocation_reason, Some(RevocationReason::Superseded));
        let record = remote.record(&new.serial).unwrap();
        assert_eq!(record.predecessor.as_deref(), Some(old.serial.as_str()));
        assert_eq!(Some(record.der), piv.read_certificate(slot).unwrap());
        assert!(record.confirmed_at.is_some());
    }
    // Confirming again changes nothing.
    let serials: Vec<Serial> = renewed.slots.iter().map(|s| s.serial.clone()).collect();
    assert!(remote.confirm(&serials).unwrap().iter().all(|c| c.existing));
    for s in &renewed.slots {
        remote
            .revoke(&s.serial, RevocationReason::KeyCompromise)
            .unwrap();
    }
    // The published CRL may predate the revocations; a new one lists them, signed by the CA.
    let ca_cert = remote.ca_certificates().unwrap().remove(0);
    let published =
        tamga_pki::chain::crl(&remote.current_crl(&ca_cert).unwrap(), &ca_cert).unwrap();
    let fresh = tamga_pki::chain::crl(&remote.issue_crl(&ca_cert).unwrap(), &ca_cert).unwrap();
    assert!(renewed.slots.iter().all(|s| fresh.lists(&s.serial)));
    assert!(fresh.revoked.len() >= published.revoked.len());
    assert_eq!(
        tamga_pki::chain::crl(&remote.current_crl(&ca_cert).unwrap(), &ca_cert)
            .unwrap()
            .revoked,
        fresh.revoked,
        "GET /crl serves the newest CRL after POST /crl"
    );
    // A wrong token is refused with a clear error.
    let intruder = RemoteCa::new(&url, Some("wrong-token-000000000000".into())).unwrap();
    let err = intruder
        .revoke(&renewed.slots[0].serial, RevocationReason::Death)
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}
