//! `tamga demo`: the embedded default. An emulated card and a local CA in a
//! temporary directory; a sample citizen enrolled, a document signed and
//! verified, the certificates revoked and found on the CRL. No hardware, no
//! services.

use std::path::Path;
use std::time::Instant;

use der::Decode;
use x509_cert::Certificate;

use crate::ca::{CaClient, LocalCa};
use crate::enroll::{self, Request};
use crate::error::{Error, Result};
use crate::piv::{MgmtKey, Pin, Piv};
use crate::signer::CardSigner;
use crate::transport::emu::EmuCard;
use tamga_pki::Applicant;
use tamga_spec::{Algorithm, KeyRef};

/// The sample citizen (a valid IIN from the NCA reference).
pub fn sample_applicant() -> Result<Applicant> {
    let a = Applicant {
        iin: "871008401427".parse()?,
        surname: "ИСМАИЛОВ".into(),
        name: "АЙДАР".into(),
        patronymic: Some("СЕРИКОВИЧ".into()),
        email: Some("aidar@example.kz".into()),
        phone: Some("+77011234567".into()),
        locality: Some("АСТАНА".into()),
        region: None,
        legal_entity: None,
    };
    a.validate()?;
    Ok(a)
}

fn step(n: &mut usize, what: &str, detail: &str, t: Instant) {
    *n += 1;
    println!(
        "{:>2}. {what:<46} {:>8.1} ms  {detail}",
        n,
        t.elapsed().as_secs_f64() * 1e3
    );
}

/// Run the demo in `dir` (a fresh directory), printing a short report; the
/// card makes keys of the (authentication, signature) algorithms given.
pub fn run(dir: &Path, (alg, signature_alg): (Algorithm, Algorithm)) -> Result<()> {
    let total = Instant::now();
    let mut n = 0;
    println!(
        "Tamga demo in {}: an emulated card and a local CA, no hardware\n",
        dir.display()
    );

    let t = Instant::now();
    let ca_dir = dir.join("ca");
    // A GOST key on the card is certified by a GOST issuing key beside the P-256
    // one, as the NCA runs nca_gost beside nca_rsa.
    let gost = [alg, signature_alg].iter().find_map(|a| match a {
        Algorithm::Gost2015_512 => Some(tamga_ca::KeyAlgorithm::Gost2015),
        Algorithm::Gost2004 => Some(tamga_ca::KeyAlgorithm::Gost2004),
        _ => None,
    });
    let opts = tamga_ca::InitOptions {
        also: gost.into_iter().collect(),
        ..tamga_ca::InitOptions::default()
    };
    tamga_ca::Ca::init(&ca_dir, &opts).map_err(|e| Error::Ca(e.to_string()))?;
    let ca = LocalCa::open(&ca_dir, "demo")?;
    step(
        &mut n,
        "local NCA reference CA created",
        &match gost {
            Some(g) => format!("P-256 and {} CA keys, 1-year certificates", g.as_str()),
            None => "P-256 CA key, 1-year certificates".into(),
        },
        t,
    );

    let t = Instant::now();
    let mut piv = Piv::new(EmuCard::open(dir.join("card.flash"))?);
    piv.select()?;
    let serial = piv.serial()?;
    step(
        &mut n,
        "emulated card powered up, PIV selected",
        &format!("serial {serial}"),
        t,
    );

    // Personalization: the operator replaces the factory secrets.
    let t = Instant::now();
    let pin = Pin::new(b"20261123")?;
    let new_key = MgmtKey::new(Algorithm::Aes256, &[0x5A; 32])?;
    piv.authenticate(&MgmtKey::default_key())?;
    piv.set_management_key(&new_key)?;
    piv.change(false, &Pin::new(tamga_spec::defaults::PIN)?, &pin)?;
    piv.change(
        true,
        &Pin::new(tamga_spec::defaults::PUK)?,
        &Pin::new(b"71044021")?,
    )?;
    step(
        &mut n,
        "personalized: PIN, PUK, AES-256 management key",
        "",
        t,
    );

    let applicant = sample_applicant()?;
    let t = Instant::now();
    let req = Request {
        applicant: applicant.clone(),
        alg,
        signature_alg: (signature_alg != alg).then_some(signature_alg),
        replace: false,
    };
    let report = enroll::enroll(&mut piv, &ca, &req, &pin, &new_key, &mut |_| {})?;
    step(
        &mut n,
        &format!(
            "enrolled IIN {} ({alg:?} + {signature_alg:?})",
            applicant.iin
        ),
        &format!("{} APDUs", report.apdus),
        t,
    );
    for s in &report.slots {
        println!("      {} {:<16} serial {}", s.slot, s.profile, s.serial);
    }

    let t = Instant::now();
    let document = "Заявление: прошу выдать справку.\n".as_bytes();
    let cert_der = piv
        .read_certificate(KeyRef::Signature)?
        .ok_or(Error::Malformed {
            op: "certificate 9C",
        })?;
    let cert = Certificate::from_der(&cert_der).map_err(|_| Error::Malformed {
        op: "certificate 9C",
    })?;
    let key = piv
        .metadata(KeyRef::Signature)?
        .and_then(|m| m.public)
        .ok_or(Error::Malformed { op: "key 9C" })?;
    let signature = {
        let signer = CardSigner::new(&mut piv, KeyRef::Signature, &key, Some(&pin))?;
        crate::cms::sign(&signer, &cert, document)?
    };
    std::fs::write(dir.join("document.txt"), document).map_err(|source| Error::Io {
        path: dir.join("document.txt").display().to_string(),
        source,
    })?;
    std::fs::write(dir.join("document.txt.p7s"), &signature).map_err(|source| Error::Io {
        path: dir.join("document.txt.p7s").display().to_string(),
        source,
    })?;
    step(
        &mut n,
        "document signed with 9C (detached CMS)",
        &format!("{} bytes", signature.len()),
        t,
    );

    let t = Instant::now();
    let cas = ca.ca_certificates()?;
    let v = crate::cms::verify(&signature, document, &cas)?;
    step(&mut n, "signature verified", &format!("by {}", v.serial), t);
    let tampered = crate::cms::verify(&signature, b"something else", &cas).is_err();
    println!("      a changed document is refused: {tampered}");

    let t = Instant::now();
    for s in &report.slots {
        ca.revoke(&s.serial, tamga_pki::RevocationReason::OwnerRequest)?;
    }
    // Each issuing key's new CRL, checked against that key.
    let (mut listed, mut numbers) = (0, Vec::new());
    for issuer in &cas {
        let crl_der = ca.issue_crl(issuer)?;
        let checked = tamga_pki::chain::crl(&crl_der, issuer)?;
        listed += report
            .slots
            .iter()
            .filter(|x| checked.lists(&x.serial))
            .count();
        let crl =
            x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl_der)
                .map_err(|_| Error::Ca("unreadable CRL".into()))?;
        numbers.push(crl_number(&crl));
    }
    step(
        &mut n,
        "certificates revoked (owner's request)",
        &format!(
            "{listed} of {} on CRL number {}",
            report.slots.len(),
            numbers.join(" + ")
        ),
        t,
    );
    println!(
        "\nDone in {:.0} ms. Files: {} (card flash, CA, document, signature).",
        total.elapsed().as_secs_f64() * 1e3,
        dir.display()
    );
    if listed != report.slots.len() || !tampered {
        return Err(Error::Ca("the demo's checks failed".into()));
    }
    Ok(())
}

fn crl_number(crl: &x509_cert::crl::CertificateList<x509_cert::certificate::Rfc5280>) -> String {
    use x509_cert::ext::pkix::CrlNumber;
    crl.tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
        .and_then(|e| CrlNumber::from_der(e.extn_value.as_bytes()).ok())
        .map(|n| hex::encode(n.0.as_bytes()))
        .unwrap_or_else(|| "?".into())
}
