//! The enveloped XML signature: a GOST 2015 signature made here with a
//! test-kit key has the digest and signature OpenSSL's GOST engine and
//! libxml2 compute and check; RSA and P-256 signatures made by OpenSSL over
//! [`Prepared::signed_info`] give documents xmlsec1 verifies against the CA
//! (and not against another CA, nor once tampered with); hostile and
//! unsupported input is refused with a reason.

use std::path::Path;
use std::time::{Duration, SystemTime};

use der::{Decode, DecodePem};
use tamga_pki::xmldsig::{self, Prepared, XmlAlgorithm};
use tamga_pki::{Error, gost::Generation};
use x509_cert::Certificate;

fn cert_file(path: &Path) -> Certificate {
    let bytes = std::fs::read(path).unwrap();
    Certificate::from_der(&bytes)
        .or_else(|_| Certificate::from_pem(&bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn not_valid(r: tamga_pki::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(e @ Error::SignatureNotValid(_)) => e.to_string(),
        other => panic!("expected an invalid signature, got {other:?}"),
    }
}

/// The text between `open` and `close` in `s`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let a = s.find(open).unwrap() + open.len();
    &s[a..a + s[a..].find(close).unwrap()]
}

/// A GOST 2015 signature made here, checked by code nobody here wrote:
/// DigestValue is the GOST engine's Streebog-512 of libxml2's canonical form
/// of the document, and the engine verifies SignatureValue (r_le ‖ s_le, the
/// conventions of the NCA's CMS and of Kalkan's XML signatures) over the
/// canonical SignedInfo with the certificate's key.
#[test]
fn a_test_kit_gost_key_signs_what_the_gost_engine_verifies() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    tamga_testkit::gost_engine::require();
    tamga_testkit::xml::require_xmllint();
    let tmp = tempfile::tempdir().unwrap();
    let ca = cert_file(&dir.join("nca-test-2022/nca_gost2022_test.cer"));
    let p12 = &tamga_testkit::vectors::test_kit(&dir)[0];
    let key = tamga_pki::p12::gost_key(
        &std::fs::read(p12).unwrap(),
        tamga_testkit::vectors::TEST_KIT_PASSWORD,
    )
    .unwrap();
    let cert = Certificate::from_pem(tamga_testkit::vectors::test_kit_certificate(p12)).unwrap();
    let public =
        tamga_pki::gost::PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info())
            .unwrap()
            .unwrap();
    let original = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<заявление xmlns=\"urn:test\" b=\"2\" a=\"1\"><!-- c --><ИИН>123456789011</ИИН></заявление>";
    let prepared = xmldsig::prepare(original, &cert).unwrap();
    assert_eq!(prepared.algorithm(), XmlAlgorithm::Gost2015);
    let signed_info = prepared.signed_info().to_vec();
    let digest = Generation::Gost2015.digest(&signed_info);
    let mut sig = vec![0u8; 128];
    tamga_gost::TC26_512_A
        .sign(&key.d, &digest, b"entropy", &mut sig)
        .unwrap();
    let signed = prepared.finish(&sig).unwrap();
    use base64::Engine;
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s.split_whitespace().collect::<String>())
            .unwrap()
    };
    // The digest: libxml2's canonical document (no comments: URI=""), the engine's hash.
    let canonical = tamga_testkit::xml::xmllint_c14n(original.as_bytes()).unwrap();
    let canonical: Vec<u8> = String::from_utf8(canonical)
        .unwrap()
        .replace("<!-- c -->", "")
        .into_bytes();
    assert_eq!(
        b64(between(&signed, "<ds:DigestValue>", "</ds:DigestValue>")),
        tamga_testkit::gost_engine::streebog512(tmp.path(), &canonical),
        "DigestValue"
    );
    // The signature value, by the engine.
    let value = b64(between(
        &signed,
        "<ds:SignatureValue>",
        "</ds:SignatureValue>",
    ));
    assert_eq!(value, sig);
    assert!(tamga_testkit::gost_engine::verifies_message(
        tmp.path(),
        &public.point,
        &signed_info,
        &digest,
        &value
    ));
    // Our own check agrees, and refuses a changed document or another CA.
    let not_after = cert.tbs_certificate().validity().not_after.to_system_time();
    let when = not_after - Duration::from_secs(86_400);
    let v = xmldsig::verify(&signed, std::slice::from_ref(&ca), when).unwrap();
    assert_eq!(v.certificate, der::Encode::to_der(&cert).unwrap());
    let e = not_valid(xmldsig::verify(
        &signed.replace("123456789011", "123456789012"),
        std::slice::from_ref(&ca),
        when,
    ));
    assert!(e.contains("digest differs"), "{e}");
    let root = cert_file(&dir.join("nca-test-2022/root_test_gost_2022.cer"));
    let e = not_valid(xmldsig::verify(&signed, &[root], when));
    assert!(e.contains("not issued by"), "{e}");
    // A signature by another key is refused by finish.
    let prepared = xmldsig::prepare(original, &cert).unwrap();
    sig[5] ^= 1;
    let e = not_valid(prepared.finish(&sig));
    assert!(e.contains("certificate's key"), "{e}");
}

#[test]
fn gost_2004_is_not_supported_yet() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let cert = cert_file(&dir.join("ncanode/ceo_valid_sign_2004_gost.cer"));
    match xmldsig::prepare("<a/>", &cert) {
        Err(e @ Error::Unsupported(_)) => assert!(e.to_string().contains("2004"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// A CA and a signer key and certificate made by OpenSSL in `dir`.
struct OpenSsl<'a> {
    dir: &'a Path,
}

impl OpenSsl<'_> {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn ca(&self, name: &str) {
        let (key, pem) = (
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.pem")),
        );
        tamga_testkit::openssl([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            "/CN=Test CA",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    /// A signer with `newkey` (`rsa:2048`, `ec`…) under the CA `ca`.
    fn signer(&self, ca: &str, newkey: &[&str]) -> Certificate {
        let (key, csr, pem) = (
            self.path("signer.key"),
            self.path("signer.csr"),
            self.path("signer.pem"),
        );
        let mut args = vec!["req", "-newkey"];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&[
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=ТЕСТОВ ТЕСТ/serialNumber=IIN871008401427",
        ]);
        tamga_testkit::openssl(args);
        let (ca_pem, ca_key) = (
            self.path(&format!("{ca}.pem")),
            self.path(&format!("{ca}.key")),
        );
        tamga_testkit::openssl([
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-set_serial",
            "7",
            "-days",
            "30",
            "-out",
            &pem,
        ]);
        Certificate::from_pem(std::fs::read(&pem).unwrap()).unwrap()
    }

    /// OpenSSL's SHA-256 signature of the SignedInfo with the signer's key.
    fn sign(&self, prepared: &Prepared) -> Vec<u8> {
        let (input, out) = (self.path("signed-info"), self.path("sig"));
        std::fs::write(&input, prepared.signed_info()).unwrap();
        let key = self.path("signer.key");
        tamga_testkit::openssl(["dgst", "-sha256", "-sign", &key, "-out", &out, &input]);
        std::fs::read(&out).unwrap()
    }
}

/// Documents of every shape the profile meets.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "default-ns",
        "<Заявление xmlns=\"urn:kz:gov:app\" xml:lang=\"kk\"><Аты>Айдар</Аты></Заявление>",
    ),
    (
        "prefixed",
        "<p:root xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><q:a p:z=\"1\" q:a=\"2\" b=\"3\"/></p:root>",
    ),
    (
        "comments",
        "<!-- head --><root><!-- inside --><a>1</a></root><!-- tail -->",
    ),
    (
        "crlf",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<root>\r\n  <a b=\"x\">ИИН\r\n</a>\r\n</root>\r\n",
    ),
    ("empty-root", "<root/>"),
    ("whitespace", "<root>\n  <a/>\n  <b>text</b>\n</root>\n"),
];

#[test]
fn openssl_signatures_give_documents_xmlsec1_verifies() {
    tamga_testkit::xml::require_xmlsec1();
    let tmp = tempfile::tempdir().unwrap();
    let ssl = OpenSsl { dir: tmp.path() };
    ssl.ca("ca");
    ssl.ca("other");
    let ca = cert_file(&tmp.path().join("ca.pem"));
    for (newkey, alg) in [
        (&["rsa:2048"][..], XmlAlgorithm::RsaSha256),
        (
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            XmlAlgorithm::EcdsaP256Sha256,
        ),
    ] {
        let cert = ssl.signer("ca", newkey);
        for (name, doc) in DOCUMENTS {
            let prepared = xmldsig::prepare(doc, &cert).unwrap();
            assert_eq!(prepared.algorithm(), alg);
            let sig = ssl.sign(&prepared);
            let signed = prepared.finish(&sig).unwrap();
            let file = tmp.path().join(format!("{name}.xml"));
            std::fs::write(&file, &signed).unwrap();
            let out = tamga_testkit::xml::xmlsec1_verify(&file, &tmp.path().join("ca.pem"));
            assert!(
                out.status.success(),
                "{alg:?} {name}: {}\n{signed}",
                String::from_utf8_lossy(&out.stderr)
            );
            xmldsig::verify(&signed, std::slice::from_ref(&ca), SystemTime::now()).unwrap();
            // Another CA, and a changed document: xmlsec1 refuses both.
            let out = tamga_testkit::xml::xmlsec1_verify(&file, &tmp.path().join("other.pem"));
            assert!(
                !out.status.success(),
                "{alg:?} {name}: trusted by another CA"
            );
            let tampered =
                signed
                    .replacen("</root>", "<x/></root>", 1)
                    .replacen("</Аты>", "!</Аты>", 1);
            let tampered = tampered.replacen("<q:a ", "<q:a c=\"4\" ", 1);
            assert_ne!(tampered, signed);
            std::fs::write(&file, &tampered).unwrap();
            let out = tamga_testkit::xml::xmlsec1_verify(&file, &tmp.path().join("ca.pem"));
            assert!(
                !out.status.success(),
                "{alg:?} {name}: tampered but verified"
            );
            not_valid(xmldsig::verify(
                &tampered,
                std::slice::from_ref(&ca),
                SystemTime::now(),
            ));
        }
    }
}

#[test]
fn the_signed_info_carries_the_context_of_the_document() {
    let tmp = tempfile::tempdir().unwrap();
    let ssl = OpenSsl { dir: tmp.path() };
    ssl.ca("ca");
    let cert = ssl.signer("ca", &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let prepared = xmldsig::prepare(DOCUMENTS[0].1, &cert).unwrap();
    let info = std::str::from_utf8(prepared.signed_info()).unwrap();
    assert!(
        info.starts_with(
            "<ds:SignedInfo xmlns=\"urn:kz:gov:app\" \
             xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xml:lang=\"kk\">\n"
        ),
        "{info}"
    );
    // P-256: DER from the signer, r ‖ s (64 bytes) in the document; r ‖ s accepted too.
    let der = ssl.sign(&prepared);
    let raw = p256::ecdsa::Signature::from_der(&der).unwrap().to_bytes();
    let a = prepared.clone().finish(&der).unwrap();
    let b = prepared.finish(&raw).unwrap();
    assert_eq!(a, b);
    let value = between(&a, "<ds:SignatureValue>\n", "\n</ds:SignatureValue>");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.replace('\n', ""))
        .unwrap();
    assert_eq!(bytes.len(), 64);
}

#[test]
fn documents_that_cannot_be_signed_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ssl = OpenSsl { dir: tmp.path() };
    ssl.ca("ca");
    let cert = ssl.signer("ca", &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    for (doc, why) in [
        (
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>",
            "windows-1251",
        ),
        ("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DTD"),
        ("not xml", "not well-formed"),
        ("<a>", "not well-formed"),
    ] {
        match xmldsig::prepare(doc, &cert) {
            Err(e @ Error::Xml(_)) => assert!(e.to_string().contains(why), "{doc}: {e}"),
            other => panic!("{doc}: {other:?}"),
        }
    }
    // A signature that is not one.
    let prepared = xmldsig::prepare("<a/>", &cert).unwrap();
    not_valid(prepared.finish(b"\x30\x00"));
    // No signature, a signature not at the end, an unsigned document.
    not_valid(xmldsig::verify("<a/>", &[], SystemTime::now()));
}
