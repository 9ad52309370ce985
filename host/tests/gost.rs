//! A legal-entity employee enrolled as the standard's form has it, through
//! `tamga` on an emulated card and a CA with an RSA and a GOST issuing key (the
//! NCA's `nca_rsa` and `nca_gost`): a GOST
//! 34.10-2015 512-bit signing key in 9C, an RSA-2048 authentication key in 9A;
//! `tamga sign` makes GOST CMS with Kalkan's signed attributes; the card's
//! signature, the certificate and the CMS are checked by OpenSSL's GOST engine
//! (after the documented conversion), and by `tamga verify`.

mod common;

use std::path::{Path, PathBuf};

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use common::{Env, PERSON, fails, ok};
use der::{Decode, Encode};
use tamga::piv::{Piv, PublicKey};
use tamga::transport::emu::EmuCard;
use tamga_pki::gost::{self, Generation};
use tamga_spec::{Algorithm, KeyRef};
use tamga_testkit::gost_engine;
use x509_cert::Certificate;

const LEGAL: &[&str] = &[
    "--bin",
    "940140000385",
    "--org",
    "ТОО ТАМГА",
    "--role",
    "head",
];

trait Card {
    fn piv(&self) -> Piv<EmuCard>;
    fn cert(&self, slot: KeyRef) -> Certificate;
}

impl Card for Env {
    fn piv(&self) -> Piv<EmuCard> {
        let mut piv = Piv::new(EmuCard::open(self.path("card.flash")).unwrap());
        piv.select().unwrap();
        piv
    }

    fn cert(&self, slot: KeyRef) -> Certificate {
        Certificate::from_der(&self.piv().read_certificate(slot).unwrap().unwrap()).unwrap()
    }
}

fn gost_key(c: &Certificate) -> Option<gost::PublicKey> {
    gost::PublicKey::from_spki(c.tbs_certificate().subject_public_key_info()).unwrap()
}

/// The engine on a GOST 34.10-2015 signature over `signed` (its own
/// The engine on a GOST signature over `signed` (for 2015 over its own
/// Streebog-512, checked equal to ours).
fn engine_verifies(dir: &Path, key: &gost::PublicKey, signed: &[u8], sig: &[u8]) -> bool {
    let ours = key.generation.digest(signed);
    gost_engine::verifies_message(dir, &key.point, signed, &ours, sig)
}

#[test]
fn a_legal_entity_gets_a_gost_signing_key_by_default() {
    gost_engine::require();
    let env = Env::with_cas(
        tamga_ca::KeyAlgorithm::Rsa2048,
        &[tamga_ca::KeyAlgorithm::Gost2015],
    );
    let mut args = vec!["enroll"];
    args.extend_from_slice(PERSON);
    args.extend_from_slice(LEGAL);
    let out = ok(&env.run(&args, &[]));
    assert!(
        out.contains("legal-sign") && out.contains("legal-auth"),
        "{out}"
    );
    // The keys the form names.
    let mut piv = env.piv();
    let sign = piv.metadata(KeyRef::Signature).unwrap().unwrap();
    let auth = piv.metadata(KeyRef::Authentication).unwrap().unwrap();
    assert_eq!(sign.alg, Algorithm::Gost2015_512.to_u8());
    assert_eq!(sign.policy.map(|p| p.0), Some(0x03), "9C stays PIN-always");
    assert_eq!(auth.alg, Algorithm::Rsa2048.to_u8());
    drop(piv);
    // The certificates: for the card's keys; 9C from the GOST issuing key,
    // which the engine verifies over the TBS bytes, 9A from the RSA one, which
    // openssl verifies.
    let read_ca = |path: &str| {
        Certificate::from_der(
            &pem_rfc7468::decode_vec(&std::fs::read(env.path(path)).unwrap())
                .unwrap()
                .1,
        )
        .unwrap()
    };
    let (rsa_ca, ca) = (read_ca("ca/ca.pem"), read_ca("ca/issuers/gost2015/ca.pem"));
    let ca_key = gost_key(&ca).expect("a GOST CA");
    let sign_cert = env.cert(KeyRef::Signature);
    let Some(PublicKey::Gost { point, .. }) = sign.public else {
        panic!("GOST key in 9C")
    };
    assert_eq!(gost_key(&sign_cert).unwrap().point, point);
    tamga_pki::chain::issued_by(&sign_cert, &ca).unwrap();
    assert!(
        engine_verifies(
            env.dir.path(),
            &ca_key,
            &sign_cert.tbs_certificate().to_der().unwrap(),
            sign_cert.signature().raw_bytes()
        ),
        "the engine verifies the 9C certificate"
    );
    let auth_cert = env.cert(KeyRef::Authentication);
    tamga_pki::chain::issued_by(&auth_cert, &rsa_ca).unwrap();
    let auth_pem = env.path("9a.pem");
    std::fs::write(
        &auth_pem,
        der::EncodePem::to_pem(&auth_cert, der::pem::LineEnding::LF).unwrap(),
    )
    .unwrap();
    let verified = tamga_testkit::openssl([
        "verify",
        "-CAfile",
        env.path("ca/ca.pem").to_str().unwrap(),
        auth_pem.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&verified).contains(": OK"));

    // tamga sign: GOST CMS, Kalkan's signed attributes, verified by tamga
    // and, part by part, by the engine.
    let doc = env.path("contract.txt");
    std::fs::write(&doc, "Договор поставки № 7\n").unwrap();
    let d = doc.to_str().unwrap();
    ok(&env.run(&["sign", d], &[]));
    let v = ok(&env.run(&["verify", d], &[]));
    assert!(
        v.contains("valid signature by") && v.contains("not revoked"),
        "{v}"
    );
    let p7s = std::fs::read(env.path("contract.txt.p7s")).unwrap();
    let sd: SignedData = ContentInfo::from_der(&p7s)
        .unwrap()
        .content
        .decode_as()
        .unwrap();
    let si = sd.signer_infos.0.iter().next().unwrap();
    assert_eq!(si.digest_alg.oid, tamga_pki::oids::STREEBOG_512_HASH);
    assert_eq!(
        si.signature_algorithm.oid,
        tamga_pki::oids::GOST_2015_512_SIGNATURE
    );
    let attrs = si.signed_attrs.as_ref().unwrap();
    let names: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
    for want in [
        "1.2.840.113549.1.9.3",
        "1.2.840.113549.1.9.5",
        "1.2.840.113549.1.9.16.2.47",
        "1.2.840.113549.1.9.4",
    ] {
        assert!(
            names.contains(&want.to_string()),
            "signed attribute {want} in {names:?}"
        );
    }
    let md = attrs
        .iter()
        .find(|a| a.oid.to_string() == "1.2.840.113549.1.9.4")
        .and_then(|a| a.values.iter().next())
        .unwrap()
        .decode_as::<der::asn1::OctetString>()
        .unwrap();
    let content = std::fs::read(&doc).unwrap();
    assert_eq!(
        md.as_bytes(),
        gost_engine::streebog512(env.dir.path(), &content),
        "messageDigest is the engine's Streebog-512 of the file"
    );
    let signer_key = gost_key(&sign_cert).unwrap();
    let signed = attrs.to_der().unwrap();
    assert!(
        engine_verifies(
            env.dir.path(),
            &signer_key,
            &signed,
            si.signature.as_bytes()
        ),
        "the engine verifies the CMS signature"
    );
    // A changed file is refused.
    std::fs::write(&doc, "Договор поставки № 8\n").unwrap();
    fails(
        &env.run(
            &[
                "verify",
                d,
                "--signature",
                env.path("contract.txt.p7s").to_str().unwrap(),
            ],
            &[],
        ),
        7,
        "does not match",
    );
    // Revocation: each certificate on the new CRL of the key that signed it,
    // and the signature no longer passes.
    let out = ok(&env.run(&["revoke", "--yes", "--reason", "owner-request"], &[]));
    assert_eq!(out.matches("on the CRL: yes").count(), 2, "{out}");
    std::fs::write(&doc, "Договор поставки № 7\n").unwrap();
    fails(&env.run(&["verify", d], &[]), 7, "is revoked");
}

#[test]
fn gost2004_on_request_and_renewal_keeps_each_slots_algorithm() {
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "gost2004"];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
    let sign = env.cert(KeyRef::Signature);
    assert_eq!(gost_key(&sign).unwrap().generation, Generation::Gost2004);
    assert!(
        gost_key(&env.cert(KeyRef::Authentication)).is_none(),
        "RSA-2048 authentication"
    );
    let doc = env.path("doc.txt");
    std::fs::write(&doc, "Өтініш\n").unwrap();
    let d = doc.to_str().unwrap();
    ok(&env.run(&["sign", d], &[]));
    ok(&env.run(&["verify", d], &[]));
    // The renewal keeps GOST 2004 in 9C and RSA in 9A.
    let out = ok(&env.run(&["renew"], &[]));
    assert!(out.contains("renewed"), "{out}");
    let renewed = env.cert(KeyRef::Signature);
    assert_ne!(
        renewed.tbs_certificate().serial_number(),
        sign.tbs_certificate().serial_number()
    );
    assert_eq!(gost_key(&renewed).unwrap().generation, Generation::Gost2004);
    assert!(gost_key(&env.cert(KeyRef::Authentication)).is_none());
    ok(&env.run(&["sign", "--force", d], &[]));
    ok(&env.run(&["verify", d], &[]));
}

/// The NCA test kit's PKCS#12 keys (password Qwerty12) onto the card with
/// IMPORT KEY (the card checks the certificate's point), the kit's
/// certificate into 9C: the card's CMS verifies under the NCA's own TEST CA
/// 2022 (at a time within the kit certificate's validity).
#[test]
fn the_test_kit_keys_sign_on_the_card_under_the_ncas_test_ca() {
    use der::DecodePem;
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let nca = std::fs::read(dir.join("nca-test-2022/nca_gost2022_test.cer")).unwrap();
    let nca = Certificate::from_der(&nca).unwrap();
    let kit = tamga_testkit::vectors::test_kit(&dir);
    assert_eq!(kit.len(), 2);
    for path in &kit {
        let key = tamga_pki::p12::gost_key(&std::fs::read(path).unwrap(), "Qwerty12").unwrap();
        let pem = tamga_testkit::vectors::test_kit_certificate(path);
        let cert = Certificate::from_pem(pem.as_bytes()).unwrap();
        let point = gost_key(&cert).unwrap().point;
        let env = Env::new();
        ok(&env.run(&["status"], &[]));
        let mut piv = env.piv();
        piv.authenticate(&tamga::piv::MgmtKey::default_key())
            .unwrap();
        // A wrong point is refused; the right one imports.
        let mut wrong = point.clone();
        wrong[0] ^= 1;
        let policy = tamga_spec::PinPolicy::Default;
        assert!(
            piv.import_gost(
                KeyRef::Signature,
                Algorithm::Gost2015_512,
                &key.d,
                Some(&wrong),
                policy
            )
            .is_err()
        );
        piv.import_gost(
            KeyRef::Signature,
            Algorithm::Gost2015_512,
            &key.d,
            Some(&point),
            policy,
        )
        .unwrap();
        piv.write_certificate(KeyRef::Signature, &der::Encode::to_der(&cert).unwrap())
            .unwrap();
        let public = piv
            .metadata(KeyRef::Signature)
            .unwrap()
            .unwrap()
            .public
            .unwrap();
        let pin = tamga::piv::Pin::new(b"123456").unwrap();
        let signer =
            tamga::signer::CardSigner::new(&mut piv, KeyRef::Signature, &public, Some(&pin))
                .unwrap();
        let doc = "Тестовый документ".as_bytes();
        let sig = tamga::cms::sign(&signer, &cert, doc).unwrap();
        let when = cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
            + std::time::Duration::from_secs(86_400);
        let v = tamga_pki::cms::verify_detached(&sig, doc, std::slice::from_ref(&nca), when)
            .expect("the card's CMS verifies under the NCA TEST CA");
        assert_eq!(
            v.certificate,
            der::Encode::to_der(&cert).unwrap(),
            "signed by the kit's certificate"
        );
        assert!(
            tamga_pki::cms::verify_detached(&sig, b"other", std::slice::from_ref(&nca), when)
                .is_err()
        );
    }
}

/// `tamga import`: a test-kit PKCS#12 and its certificate onto the card,
/// then `tamga sign`; a wrong password, a certificate of another key and a
/// file that is no PKCS#12 are refused with exit 7 and leave the slot empty.
#[test]
fn tamga_import_puts_a_test_kit_key_on_the_card() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let kit = tamga_testkit::vectors::test_kit(&dir);
    assert_eq!(kit.len(), 2);
    let env = Env::new();
    ok(&env.run(&["status"], &[]));
    let certs: Vec<PathBuf> = kit
        .iter()
        .enumerate()
        .map(|(i, p12)| {
            let path = env.path(&format!("kit{i}.pem"));
            std::fs::write(&path, tamga_testkit::vectors::test_kit_certificate(p12)).unwrap();
            path
        })
        .collect();
    let pw = [("TAMGA_P12_PASSWORD", "Qwerty12")];
    let arg = |p: &PathBuf| p.to_str().unwrap().to_string();
    // Refusals first: nothing lands in 9C.
    fails(
        &env.run(
            &["import", &arg(&kit[0])],
            &[("TAMGA_P12_PASSWORD", "wrong")],
        ),
        7,
        "wrong password",
    );
    fails(
        &env.run(&["import", &arg(&kit[0]), "--cert", &arg(&certs[1])], &pw),
        8,
        "",
    );
    fails(&env.run(&["import", &arg(&certs[0])], &pw), 7, "PKCS#12");
    assert!(
        env.piv().metadata(KeyRef::Signature).unwrap().is_none(),
        "9C still empty"
    );
    let out = ok(&env.run(&["import", &arg(&kit[0]), "--cert", &arg(&certs[0])], &pw));
    assert!(out.contains("Gost2015_512") && out.contains("9C"), "{out}");
    let doc = env.path("doc.txt");
    std::fs::write(&doc, "kit").unwrap();
    ok(&env.run(&["sign", doc.to_str().unwrap()], &[]));
    let meta = env.piv().metadata(KeyRef::Signature).unwrap().unwrap();
    assert_eq!(meta.origin, Some(tamga_spec::Origin::Imported));
}
