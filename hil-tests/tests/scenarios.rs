//! The scenario suite: each scenario is written once and runs on every target
//! (`emu`, `vpcd`, `qemu`, `reader`); a target that cannot run here is
//! skipped with its reason printed.

use der::Decode;
use tamga::ca::CaClient;
use tamga::enroll::{self, Request};
use tamga::piv::{MgmtKey, Pin, Piv};
use tamga::transport::Transport;
use tamga::{Error, Result};
use tamga_hil::{Card, Lab, Target, run};
use tamga_pki::Applicant;
use tamga_spec::{Algorithm, KeyRef, ObjectTag};
use x509_cert::Certificate;

fn person(i: u32) -> Applicant {
    let (iin, surname) = match i {
        0 => ("871008401427", "ИСМАИЛОВ"),
        _ => ("760212350620", "ПЕТРОВА"),
    };
    serde_json::from_value(serde_json::json!({"iin": iin, "surname": surname, "name": "ТЕСТ"}))
        .unwrap()
}

fn pin() -> Pin {
    Pin::new(b"123456").unwrap()
}

fn request(i: u32, alg: Algorithm) -> Request {
    Request {
        applicant: person(i),
        alg,
        signature_alg: None,
        replace: false,
    }
}

fn check(cond: bool, what: &str) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::Invalid(format!("check failed: {what}")))
    }
}

fn live(lab: &Lab) -> usize {
    lab.ca
        .ca()
        .with_store(|s| s.list(None, 1000))
        .unwrap()
        .iter()
        .filter(|r| r.status == tamga_pki::CertStatus::Valid)
        .count()
}

fn enrolled_iin<T: Transport>(piv: &mut Piv<T>) -> Result<Vec<String>> {
    let mut out = vec![];
    for s in [KeyRef::Authentication, KeyRef::Signature] {
        let der = piv.read_certificate(s)?.ok_or(Error::Invalid(format!(
            "no certificate in {:02X}",
            s.to_u8()
        )))?;
        let c = Certificate::from_der(&der).map_err(|_| Error::Malformed { op: "certificate" })?;
        out.push(c.tbs_certificate().subject().to_string());
    }
    Ok(out)
}

// ---- scenarios -------------------------------------------------------------

fn personalize(lab: &Lab, t: &Target) -> Result<()> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    let new = MgmtKey::new(Algorithm::Aes256, &[0x42; 32])?;
    piv.authenticate(&MgmtKey::default_key())?;
    piv.set_management_key(&new)?;
    piv.change(false, &pin(), &Pin::new(b"24681357")?)?;
    piv.change(true, &Pin::new(b"12345678")?, &Pin::new(b"87654321")?)?;
    piv.write_object(ObjectTag::CHUID, &tamga::piv::chuid(&[7; 16]))?;
    drop(piv);
    let mut piv = card.open()?;
    for k in [KeyRef::Pin, KeyRef::Puk, KeyRef::Management] {
        check(
            piv.metadata(k)?.and_then(|m| m.is_default) == Some(false),
            "no default secret left",
        )?;
    }
    check(
        piv.authenticate(&MgmtKey::default_key()).is_err(),
        "the default key is refused",
    )?;
    piv.authenticate(&new)
}

fn enrol(lab: &Lab, t: &Target, legal: bool, alg: Algorithm) -> Result<()> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    let mut req = request(0, alg);
    if legal {
        req.applicant.legal_entity = serde_json::from_value(
            serde_json::json!({"bin": "940140000385", "name": "ТОО ТАМГА", "role": "head"}),
        )
        .unwrap();
    }
    let enrol = |piv: &mut Piv<_>, outcome: &str, what: &str| -> Result<enroll::Report> {
        let r = enroll::enroll(
            piv,
            &lab.ca,
            &req,
            &pin(),
            &MgmtKey::default_key(),
            &mut |_| {},
        )?;
        check(r.slots.iter().all(|s| s.outcome == outcome), what)?;
        Ok(r)
    };
    let r = enrol(&mut piv, "enrolled", "both enrolled")?;
    check(
        r.slots[0].profile
            == if legal {
                "legal-auth"
            } else {
                "individual-auth"
            },
        "profile",
    )?;
    drop(piv);
    // After a power cycle, the same request finds the job done.
    let mut piv = card.open()?;
    enrol(&mut piv, "already enrolled", "idempotent")?;
    check(live(lab) == 2, "two live certificates")
}

fn enrol_individual(lab: &Lab, t: &Target) -> Result<()> {
    enrol(lab, t, false, Algorithm::EccP256)
}

fn enrol_legal_entity(lab: &Lab, t: &Target) -> Result<()> {
    enrol(lab, t, true, Algorithm::EccP256)
}

fn enrol_rsa2048(lab: &Lab, t: &Target) -> Result<()> {
    enrol(lab, t, false, Algorithm::Rsa2048)
}

/// Enrol sample citizen `i` (P-256) on the card, with the default management key.
fn enrol_sample<T: Transport>(lab: &Lab, piv: &mut Piv<T>, i: u32) -> Result<enroll::Report> {
    enroll::enroll(
        piv,
        &lab.ca,
        &request(i, Algorithm::EccP256),
        &pin(),
        &MgmtKey::default_key(),
        &mut |_| {},
    )
}

fn enrolled(lab: &Lab, t: &Target) -> Result<(Card, Piv<Box<dyn Transport>>)> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    enrol_sample(lab, &mut piv, 0)?;
    Ok((card, piv))
}

fn renew(lab: &Lab, t: &Target) -> Result<()> {
    let (_card, mut piv) = enrolled(lab, t)?;
    let before = piv.read_certificate(KeyRef::Signature)?;
    let r = enroll::renew(
        &mut piv,
        &lab.ca,
        Some((Algorithm::EccP256, Algorithm::EccP256)),
        &pin(),
        &MgmtKey::default_key(),
        &mut |_| {},
    )?;
    check(r.slots.len() == 2, "two renewed")?;
    check(
        piv.read_certificate(KeyRef::Signature)? != before,
        "new signature certificate",
    )?;
    check(
        piv.read_certificate(KeyRef::Retired(1))?.is_some(),
        "old certificate kept in history",
    )?;
    check(live(lab) == 2, "the old ones superseded")
}

/// The certificate in 9C.
fn signature_certificate<T: Transport>(piv: &mut Piv<T>) -> Result<Certificate> {
    let der = piv
        .read_certificate(KeyRef::Signature)?
        .ok_or(Error::Invalid("no cert".into()))?;
    Certificate::from_der(&der).map_err(|_| Error::Malformed { op: "cert" })
}

fn revoke(lab: &Lab, t: &Target) -> Result<()> {
    let (_card, mut piv) = enrolled(lab, t)?;
    let c = signature_certificate(&mut piv)?;
    let serial = tamga_pki::Serial::from_bytes(c.tbs_certificate().serial_number().as_bytes())?;
    lab.ca
        .revoke(&serial, tamga_pki::RevocationReason::FalseInformation)?;
    let issuer = tamga::ca::issuer_of(&lab.ca, &c)?;
    let crl = tamga_pki::chain::crl(&lab.ca.issue_crl(&issuer)?, &issuer)?;
    check(crl.lists(&serial), "revoked serial on the CRL")
}

/// A detached CMS over `doc` by the card's 9C key (PIN given), checked to
/// verify under the CA certificates `ca` and to refuse another document.
fn sign_and_check<T: Transport>(
    piv: &mut Piv<T>,
    cert: &Certificate,
    ca: &[Certificate],
    doc: &[u8],
) -> Result<Vec<u8>> {
    let key = piv
        .metadata(KeyRef::Signature)?
        .and_then(|m| m.public)
        .ok_or(Error::Invalid("no key".into()))?;
    let p = pin();
    let signer = tamga::signer::CardSigner::new(piv, KeyRef::Signature, &key, Some(&p))?;
    let sig = tamga::cms::sign(&signer, cert, doc)?;
    tamga::cms::verify(&sig, doc, ca)?;
    check(
        tamga::cms::verify(&sig, b"other", ca).is_err(),
        "tampered document refused",
    )?;
    Ok(sig)
}

fn sign_and_verify(lab: &Lab, t: &Target) -> Result<()> {
    let (_card, mut piv) = enrolled(lab, t)?;
    let cert = signature_certificate(&mut piv)?;
    let ca = lab.ca.ca_certificates()?;
    sign_and_check(&mut piv, &cert, &ca, b"HIL document").map(|_| ())
}

/// The legal-entity form's keys on the card: a GOST 34.10-2015 512-bit
/// signing key (9C) and an RSA-2048 authentication key (9A), certified by a
/// CA holding an RSA-2048 and a GOST-2015 issuing key side by side (the NCA's
/// `nca_rsa` and `nca_gost`): 9A by the RSA key, 9C by the GOST key. OpenSSL
/// checks the 9A certificate; its GOST engine checks the 9C certificate (over
/// its TBS bytes), a raw card signature and the CMS that `tamga::cms::sign`
/// makes (its signed attributes); tamga verifies the CMS.
fn enrol_legal_entity_gost(lab: &Lab, t: &Target) -> Result<()> {
    use der::Encode;
    use tamga_testkit::gost_engine;
    let ca_dir = lab.dir.path().join("gost-ca");
    let opts = tamga_ca::InitOptions {
        key: tamga_ca::KeyAlgorithm::Rsa2048,
        also: vec![tamga_ca::KeyAlgorithm::Gost2015],
        ..Default::default()
    };
    tamga_ca::Ca::init(&ca_dir, &opts).map_err(|e| Error::Ca(e.to_string()))?;
    let gost_ca = tamga::ca::LocalCa::open(&ca_dir, "hil")?;
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    let mut req = request(0, Algorithm::Rsa2048);
    req.signature_alg = Some(Algorithm::Gost2015_512);
    req.applicant.legal_entity = serde_json::from_value(
        serde_json::json!({"bin": "940140000385", "name": "ТОО ТАМГА", "role": "head"}),
    )
    .unwrap();
    let r = enroll::enroll(
        &mut piv,
        &gost_ca,
        &req,
        &pin(),
        &MgmtKey::default_key(),
        &mut |_| {},
    )?;
    check(
        r.slots.iter().all(|s| s.outcome == "enrolled"),
        "both enrolled",
    )?;
    let meta = |piv: &mut Piv<_>, slot| -> Result<u8> {
        Ok(piv.metadata(slot)?.map(|m| m.alg).unwrap_or(0))
    };
    check(
        meta(&mut piv, KeyRef::Signature)? == Algorithm::Gost2015_512.to_u8(),
        "GOST-512 in 9C",
    )?;
    check(
        meta(&mut piv, KeyRef::Authentication)? == Algorithm::Rsa2048.to_u8(),
        "RSA-2048 in 9A",
    )?;
    let cert = signature_certificate(&mut piv)?;
    let cas = gost_ca.ca_certificates()?;
    check(cas.len() == 2, "two issuing keys")?;
    let ca = tamga::ca::issuer_of(&gost_ca, &cert)?;
    check(ca == cas[1], "9C certified by the GOST issuing key")?;
    let auth = piv
        .read_certificate(KeyRef::Authentication)?
        .ok_or(Error::Invalid("no 9A certificate".into()))?;
    let auth = Certificate::from_der(&auth).map_err(|_| Error::Malformed { op: "cert" })?;
    check(
        tamga::ca::issuer_of(&gost_ca, &auth)? == cas[0],
        "9A certified by the RSA issuing key",
    )?;
    let openssl_ok = |cert: &Certificate, ca: &Certificate| -> Result<bool> {
        let pem = |c: &Certificate| {
            der::EncodePem::to_pem(c, der::pem::LineEnding::LF)
                .map_err(|_| Error::Malformed { op: "cert" })
        };
        let (cf, caf) = (
            lab.dir.path().join("9a.pem"),
            lab.dir.path().join("rsa-ca.pem"),
        );
        std::fs::write(&cf, pem(cert)?).map_err(|e| Error::Invalid(e.to_string()))?;
        std::fs::write(&caf, pem(ca)?).map_err(|e| Error::Invalid(e.to_string()))?;
        let out = std::process::Command::new("openssl")
            .args(["verify", "-partial_chain", "-CAfile"])
            .arg(&caf)
            .arg(&cf)
            .output()
            .map_err(|e| Error::Invalid(format!("openssl: {e}")))?;
        Ok(out.status.success())
    };
    check(
        openssl_ok(&auth, &cas[0])?,
        "openssl verifies 9A against the RSA issuing key",
    )?;
    let key_of = |c: &Certificate| {
        tamga_pki::gost::PublicKey::from_spki(c.tbs_certificate().subject_public_key_info())
            .ok()
            .flatten()
            .ok_or(Error::Invalid("not a GOST key".into()))
    };
    let (ca_key, card_key) = (key_of(&ca)?, key_of(&cert)?);
    let dir = lab.dir.path();
    let engine = |key: &tamga_pki::gost::PublicKey, signed: &[u8], sig: &[u8]| {
        let ours = key.generation.digest(signed);
        gost_engine::verifies_message(dir, &key.point, signed, &ours, sig)
    };
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|_| Error::Malformed { op: "certificate" })?;
    check(
        engine(&ca_key, &tbs, cert.signature().raw_bytes()),
        "the GOST engine verifies the 9C certificate",
    )?;
    // A raw signature by the card.
    let digest = card_key.generation.digest(b"raw");
    piv.verify_pin(&pin())?;
    let raw = piv.sign(KeyRef::Signature, Algorithm::Gost2015_512, &digest)?;
    check(
        gost_engine::verifies(dir, &card_key.point, &digest, &raw),
        "the engine verifies the card's raw signature",
    )?;
    // CMS.
    let sig = sign_and_check(&mut piv, &cert, &cas, "Договор № 7".as_bytes())?;
    let sd: cms::signed_data::SignedData = cms::content_info::ContentInfo::from_der(&sig)
        .and_then(|ci| ci.content.decode_as())
        .map_err(|_| Error::Malformed { op: "CMS" })?;
    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(Error::Malformed { op: "CMS" })?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(Error::Malformed { op: "CMS" })?;
    let signed = attrs.to_der().map_err(|_| Error::Malformed { op: "CMS" })?;
    check(
        engine(&card_key, &signed, si.signature.as_bytes()),
        "the engine verifies the CMS signature",
    )
}

fn pin_lock_and_puk_unblock(lab: &Lab, t: &Target) -> Result<()> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    let wrong = Pin::new(b"000000")?;
    for left in [2u8, 1, 0] {
        check(
            matches!(piv.verify_pin(&wrong), Err(Error::WrongPin(n)) if n == left),
            "tries count down",
        )?;
    }
    check(
        matches!(piv.verify_pin(&pin()), Err(Error::PinBlocked)),
        "blocked",
    )?;
    drop(piv);
    let mut piv = card.open()?;
    check(piv.pin_tries()? == Some(0), "block survives a power cycle")?;
    piv.unblock(&Pin::new(b"12345678")?, &Pin::new(b"11223344")?)?;
    piv.verify_pin(&Pin::new(b"11223344")?)
}

fn management_key_change(lab: &Lab, t: &Target) -> Result<()> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    for (alg, len) in [
        (Algorithm::Aes128, 16),
        (Algorithm::Aes192, 24),
        (Algorithm::Tdes, 24),
    ] {
        piv.authenticate(&MgmtKey::default_key())
            .or_else(|_| piv.authenticate(&MgmtKey::new(Algorithm::Aes192, &[9; 24])?))
            .or_else(|_| piv.authenticate(&MgmtKey::new(Algorithm::Aes128, &[9; 16])?))?;
        let key = MgmtKey::new(alg, &vec![9u8; len])?;
        piv.set_management_key(&key)?;
        drop(piv);
        piv = card.open()?;
        check(
            piv.authenticate(&MgmtKey::new(Algorithm::Aes256, &[1; 32])?)
                .is_err(),
            "wrong key refused",
        )?;
        piv.authenticate(&key)?;
    }
    Ok(())
}

/// What happens at the chosen APDU.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    /// A card reset (volatile state lost, the session goes on).
    Reset,
    /// Power lost: the card's process killed (vpcd, qemu); no more answers.
    Power,
}

/// A transport that disrupts the session at the n-th APDU.
struct Disrupt<T> {
    inner: T,
    left: u32,
    cut: Cut,
    pid: Option<u32>,
    dead: bool,
}

impl<T: Transport> Transport for Disrupt<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        self.left = self.left.saturating_sub(1);
        if self.left == 0 && !self.dead {
            match self.cut {
                Cut::Reset => {
                    self.inner.reset()?;
                    self.left = u32::MAX;
                }
                // A card process is killed and the APDU goes to the dead card, as
                // it would in life; the in-process card just stops answering.
                Cut::Power => match self.pid {
                    Some(pid) => {
                        let _ = std::process::Command::new("kill")
                            .args(["-9", &pid.to_string()])
                            .status();
                    }
                    None => self.dead = true,
                },
            }
        }
        if self.dead {
            return Err(Error::CardRemoved);
        }
        self.inner.transmit(apdu)
    }
    fn reset(&mut self) -> Result<()> {
        self.inner.reset()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Enrolment disrupted at APDU `at`, then run again: it finishes, and the CA
/// never holds a second live certificate.
fn interrupted_enrolment(lab: &Lab, t: &Target, cut: Cut) -> Result<()> {
    let mut card = Card::start(t, lab.dir.path(), 0)?;
    let at = 12;
    let mut piv = Piv::new(Disrupt {
        inner: tamga::transport::open(Some(&card.spec))?,
        left: at,
        cut,
        pid: card.pid(),
        dead: false,
    });
    piv.select()?;
    let first = enrol_sample(lab, &mut piv, 0);
    check(first.is_err(), "the disrupted enrolment fails")?;
    drop(piv);
    if cut == Cut::Power {
        card.power_off()?;
        card.power_on()?;
    }
    let mut piv = card.open()?;
    let r = enrol_sample(lab, &mut piv, 0)?;
    check(r.slots.len() == 2, "both certificates")?;
    check(live(lab) == 2, "no second live certificate")
}

fn reset_mid_enrolment(lab: &Lab, t: &Target) -> Result<()> {
    interrupted_enrolment(lab, t, Cut::Reset)
}

fn power_off_mid_enrolment(lab: &Lab, t: &Target) -> Result<()> {
    interrupted_enrolment(lab, t, Cut::Power)
}

fn big_certificate(lab: &Lab, t: &Target) -> Result<()> {
    let card = Card::start(t, lab.dir.path(), 0)?;
    let mut piv = card.open()?;
    piv.authenticate(&MgmtKey::default_key())?;
    let cert: Vec<u8> = (0..3072u32).map(|i| (i * 13 % 251) as u8).collect();
    piv.write_certificate(KeyRef::Signature, &cert)?;
    drop(piv);
    let mut piv = card.open()?;
    check(
        piv.read_certificate(KeyRef::Signature)? == Some(cert),
        "3 KiB certificate back intact",
    )?;
    let (apdus, _) = (piv.channel().apdus, piv.channel().bytes);
    check(apdus >= 2, "read through response chaining")
}

fn two_cards(lab: &Lab, t: &Target) -> Result<()> {
    if matches!(t, Target::Reader(_)) {
        println!("two_cards needs two card slots: not run on a real reader");
        return Ok(());
    }
    let a = Card::start(t, lab.dir.path(), 0)?;
    let b = Card::start(t, lab.dir.path(), 1)?;
    for (card, i) in [(&a, 0), (&b, 1)] {
        let mut piv = card.open()?;
        enrol_sample(lab, &mut piv, i)?;
    }
    let sa = enrolled_iin(&mut a.open()?)?;
    let sb = enrolled_iin(&mut b.open()?)?;
    check(
        sa.iter().all(|s| s.contains("871008401427")),
        "card A holds person A",
    )?;
    check(
        sb.iter().all(|s| s.contains("760212350620")),
        "card B holds person B",
    )?;
    check(live(lab) == 4, "four live certificates")
}

// ---- scenario x target -------------------------------------------------------

macro_rules! suite {
    ($($scenario:ident),* $(,)?) => {
        mod emu { $( #[test] fn $scenario() { super::run(stringify!($scenario), super::Target::Emu, super::$scenario) } )* }
        mod vpcd { $( #[test] fn $scenario() { super::run(stringify!($scenario), super::Target::Vpcd, super::$scenario) } )* }
        mod qemu { $( #[test] fn $scenario() { super::run(stringify!($scenario), super::Target::Qemu, super::$scenario) } )* }
        mod reader { $( #[test] fn $scenario() { super::run(stringify!($scenario), super::Target::reader(), super::$scenario) } )* }
    };
}

suite!(
    personalize,
    enrol_individual,
    enrol_legal_entity,
    enrol_legal_entity_gost,
    enrol_rsa2048,
    renew,
    revoke,
    sign_and_verify,
    pin_lock_and_puk_unblock,
    management_key_change,
    reset_mid_enrolment,
    power_off_mid_enrolment,
    big_certificate,
    two_cards,
);
