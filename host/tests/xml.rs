//! `tamga sign --format xml` end to end: a citizen enrolled on an emulated
//! card with an RSA-2048 or a P-256 signing key signs documents of every shape
//! (default and prefixed namespaces, attributes out of order, comments,
//! Cyrillic, CRLF, an XML declaration, indented children, an empty root);
//! xmlsec1 verifies each against the CA certificate and refuses it under
//! another CA and once tampered with. A GOST 2015 key signs too (checked by
//! `tamga_pki::xmldsig::verify`; xmlsec1 has no NCA GOST); a GOST 2004 key is
//! refused; and the command's own refusals.

mod common;

use std::path::Path;
use std::time::SystemTime;

use common::{Env, PERSON, fails, ok};
use der::DecodePem;
use x509_cert::Certificate;

/// The documents, by file name.
const DOCUMENTS: &[(&str, &str)] = &[
    (
        "default-ns.xml",
        "<Өтініш xmlns=\"urn:kz:gov:egov:application\" id=\"7\"><Аты>Айдар</Аты><ИИН>871008401427</ИИН></Өтініш>",
    ),
    (
        "prefixed.xml",
        "<p:request xmlns:p=\"urn:p\" xmlns:q=\"urn:q\" z=\"1\" a=\"2\"><q:item q:z=\"3\" p:a=\"4\" m=\"5\">x</q:item></p:request>",
    ),
    (
        "comments.xml",
        "<!-- Заявление --><root><!-- not signed: URI=\"\" leaves comments out --><a>1</a></root><!-- end -->",
    ),
    (
        "declaration-crlf.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<root>\r\n  <name lang=\"kk\">Қазақстан\r\nРеспубликасы</name>\r\n</root>\r\n",
    ),
    (
        "indented.xml",
        "<root xml:lang=\"ru\">\n    <first>1</first>\n    <second attr=\"&amp;&lt;&quot;\"/>\n    <![CDATA[<raw>]]>\n</root>\n",
    ),
    ("empty-root.xml", "<root/>"),
];

/// Enrol the sample citizen with `alg` in a fresh environment.
fn enrolled(env: &Env, alg: &str) {
    let mut args = vec!["enroll", "--alg", alg];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
}

/// xmlsec1 on `file` with `ca` trusted: whether it verifies, and its stderr.
fn xmlsec1(file: &Path, ca: &Path) -> (bool, String) {
    let out = tamga_testkit::xml::xmlsec1_verify(file, ca);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sign_all_and_check(alg: &str) {
    tamga_testkit::xml::require_xmlsec1();
    let env = Env::new();
    let other = Env::new();
    enrolled(&env, alg);
    let ca = env.path("ca/ca.pem");
    for (name, text) in DOCUMENTS {
        let file = env.path(name);
        std::fs::write(&file, text).unwrap();
        let out = ok(&env.run(&["sign", "--format", "xml", file.to_str().unwrap()], &[]));
        let signed = env.path(&name.replace(".xml", ".signed.xml"));
        assert!(out.contains(signed.to_str().unwrap()), "{out}");
        let doc = std::fs::read_to_string(&signed).unwrap();
        // The document as written, then the signature in the document element.
        let end = text.trim_end().rfind("</").unwrap_or(text.len() - 2);
        assert!(doc.starts_with(&text[..end]), "{alg} {name}: {doc}");
        assert!(doc.contains("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"));
        let (good, err) = xmlsec1(&signed, &ca);
        assert!(good, "{alg} {name}: xmlsec1: {err}\n{doc}");
        // The certificate is what xmlsec1 checks: another CA does not do.
        let (good, err) = xmlsec1(&signed, &other.path("ca/ca.pem"));
        assert!(!good, "{alg} {name}: verified under another CA");
        assert!(
            err.contains("certificate verification failed"),
            "{alg} {name}: {err}"
        );
        // A changed document: one character of content.
        let tampered = env.path("tampered.xml");
        let changed = doc.replacen(">1<", ">2<", 1).replacen("Айдар", "Aйдар", 1);
        let changed = changed
            .replacen("x</q:item>", "y</q:item>", 1)
            .replacen("Қазақстан", "Казахстан", 1)
            .replacen("<root>", "<root a=\"\">", 1);
        assert_ne!(changed, doc, "{name}: nothing tampered");
        std::fs::write(&tampered, &changed).unwrap();
        let (good, _) = xmlsec1(&tampered, &ca);
        assert!(!good, "{alg} {name}: tampered document verified");
    }
    // The audit record says what was made.
    let audit = std::fs::read_to_string(env.path("audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"sign\"") && l.contains("\"format\":\"xml\"")),
        "{audit}"
    );
}

#[test]
fn an_rsa_key_signs_xml_that_xmlsec1_verifies() {
    sign_all_and_check("rsa2048");
}

#[test]
fn a_p256_key_signs_xml_that_xmlsec1_verifies() {
    sign_all_and_check("p256");
}

fn read_cert(path: &Path) -> Certificate {
    Certificate::from_pem(std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_gost_2015_key_signs_xml_and_a_gost_2004_key_is_refused() {
    let env = Env::with_cas(
        tamga_ca::KeyAlgorithm::Rsa2048,
        &[tamga_ca::KeyAlgorithm::Gost2015],
    );
    enrolled(&env, "gost2015");
    let file = env.path("doc.xml");
    std::fs::write(&file, DOCUMENTS[0].1).unwrap();
    ok(&env.run(&["sign", "--format", "xml", file.to_str().unwrap()], &[]));
    let signed = std::fs::read_to_string(env.path("doc.signed.xml")).unwrap();
    assert!(
        signed.contains("gostr34102015-gostr34112015-512"),
        "{signed}"
    );
    let ca = read_cert(&env.path("ca/issuers/gost2015/ca.pem"));
    let v = tamga_pki::xmldsig::verify(&signed, &[ca], SystemTime::now()).unwrap();
    assert!(v.signer.contains("871008401427"), "{}", v.signer);

    let env = Env::with_cas(
        tamga_ca::KeyAlgorithm::Rsa2048,
        &[tamga_ca::KeyAlgorithm::Gost2004],
    );
    enrolled(&env, "gost2004");
    let file = env.path("doc.xml");
    std::fs::write(&file, DOCUMENTS[0].1).unwrap();
    fails(
        &env.run(&["sign", "--format", "xml", file.to_str().unwrap()], &[]),
        7,
        "not supported yet",
    );
    assert!(!env.path("doc.signed.xml").exists());
}

#[test]
fn sign_xml_refuses_what_it_cannot_sign_and_keeps_existing_files() {
    tamga_testkit::xml::require_xmlsec1();
    let env = Env::new();
    enrolled(&env, "p256");
    let file = env.path("form.xml");
    let f = file.to_str().unwrap();
    std::fs::write(&file, "<form>1</form>").unwrap();
    ok(&env.run(&["sign", "--format", "xml", f], &[]));
    let signed = env.path("form.signed.xml");
    let first = std::fs::read(&signed).unwrap();
    // No overwrite without --force; --force and --out do.
    fails(
        &env.run(&["sign", "--format", "xml", f], &[]),
        7,
        "give --force",
    );
    assert_eq!(std::fs::read(&signed).unwrap(), first);
    ok(&env.run(&["sign", "--format", "xml", "--force", f], &[]));
    let out = env.path("elsewhere.xml");
    ok(&env.run(
        &["sign", "--format", "xml", "--out", out.to_str().unwrap(), f],
        &[],
    ));
    let (good, err) = xmlsec1(&out, &env.path("ca/ca.pem"));
    assert!(good, "{err}");
    // A file without .xml gets .signed.xml appended.
    let txt = env.path("form.txt");
    std::fs::write(&txt, "<form>2</form>").unwrap();
    ok(&env.run(&["sign", "--format", "xml", txt.to_str().unwrap()], &[]));
    assert!(env.path("form.txt.signed.xml").exists());
    // What cannot be signed: one line each, nothing written, no PIN spent.
    for (name, content, why) in [
        (
            "dtd.xml",
            &b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"[..],
            "DTD",
        ),
        (
            "bomb.xml",
            b"<!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>",
            "DTD",
        ),
        ("latin1.xml", b"<a>\xe9</a>", "not UTF-8"),
        ("text.xml", b"just text", "not well-formed"),
        (
            "cp1251.xml",
            b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>",
            "windows-1251",
        ),
        (
            "deep.xml",
            "<a>".repeat(10_000).as_bytes(),
            "not well-formed",
        ),
    ] {
        let path = env.path(name);
        std::fs::write(&path, content).unwrap();
        fails(
            &env.run(&["sign", "--format", "xml", path.to_str().unwrap()], &[]),
            7,
            why,
        );
        assert!(!env.path(&name.replace(".xml", ".signed.xml")).exists());
    }
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    std::fs::write(env.path("deeper.xml"), deep).unwrap();
    fails(
        &env.run(
            &[
                "sign",
                "--format",
                "xml",
                env.path("deeper.xml").to_str().unwrap(),
            ],
            &[],
        ),
        7,
        "nested deeper",
    );
    fails(
        &env.run(&["sign", "--format", "xml", "--pem", f], &[]),
        7,
        "--pem is for CMS",
    );
    // A wrong PIN: the card refuses, nothing is written.
    std::fs::remove_file(&signed).unwrap();
    fails(
        &env.run(&["sign", "--format", "xml", f], &[("TAMGA_PIN", "000000")]),
        5,
        "PIN",
    );
    assert!(!signed.exists());
    // The CMS default is unchanged.
    ok(&env.run(&["sign", f], &[]));
    assert!(env.path("form.xml.p7s").exists());
}
