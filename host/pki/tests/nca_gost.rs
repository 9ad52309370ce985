//! The NCA's own GOST material (`../shared/vectors/gost`, public test
//! certificates and CRLs of both generations): every certificate verifies
//! under its issuer and every CRL under its CA with `tamga_pki::verify`, and a
//! flipped signature bit or the wrong issuer does not.

use std::path::Path;

use der::{Decode, DecodePem, Encode};
use tamga_pki::chain;
use tamga_pki::gost::{Generation, PublicKey};
use x509_cert::Certificate;

fn cert(dir: &Path, name: &str) -> Certificate {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    Certificate::from_der(&bytes)
        .or_else(|_| Certificate::from_pem(&bytes))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn generation(c: &Certificate) -> Generation {
    PublicKey::from_spki(c.tbs_certificate().subject_public_key_info())
        .unwrap()
        .expect("a GOST key")
        .generation
}

/// The certificate inside a test-kit PKCS#12.
fn p12_cert(path: &Path) -> Certificate {
    Certificate::from_pem(tamga_testkit::vectors::test_kit_certificate(path).as_bytes()).unwrap()
}

/// A copy of `c` with one bit of its signature flipped.
fn tampered(c: &Certificate) -> Certificate {
    let mut der = c.to_der().unwrap();
    let n = der.len();
    der[n - 10] ^= 0x04;
    Certificate::from_der(&der).unwrap()
}

#[test]
fn the_2015_chain_verifies() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let root = cert(&dir, "nca-test-2022/root_test_gost_2022.cer");
    let ca = cert(&dir, "nca-test-2022/nca_gost2022_test.cer");
    assert_eq!(generation(&root), Generation::Gost2015);
    assert_eq!(generation(&ca), Generation::Gost2015);
    chain::issued_by(&root, &root).expect("the TEST root 2022 is self-signed");
    chain::issued_by(&ca, &root).expect("the issuing CA under the root");
    chain::issued_by(&cert(&dir, "ncanode/nca_gost2015_test.cer"), &root).unwrap();
    // Negative: a flipped signature bit, and the CA claimed as its own issuer.
    assert!(chain::issued_by(&tampered(&ca), &root).is_err());
    assert!(chain::issued_by(&ca, &ca).is_err());
    for crl in [
        "nca-test-2022/nca_gost2022_test.crl",
        "nca-test-2022/nca_gost2022_d_test.crl",
    ] {
        let der = std::fs::read(dir.join(crl)).unwrap();
        let listed = chain::crl(&der, &ca).unwrap_or_else(|e| panic!("{crl}: {e}"));
        println!(
            "{crl}: {} revoked serials, signature verifies",
            listed.revoked.len()
        );
        assert!(chain::crl(&der, &root).is_err(), "{crl} is not the root's");
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 5] ^= 1;
        assert!(
            chain::crl(&bad, &ca).is_err(),
            "{crl} with a flipped signature bit"
        );
    }
    let kit = tamga_testkit::vectors::test_kit(&dir);
    assert_eq!(kit.len(), 2, "both test-kit certificates");
    for path in &kit {
        let user = p12_cert(path);
        assert_eq!(generation(&user), Generation::Gost2015);
        chain::issued_by(&user, &ca).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(chain::issued_by(&user, &root).is_err());
    }
}

#[test]
fn the_2004_chain_verifies() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let ca = cert(&dir, "ncanode/nca_gost_test.crt");
    let head = cert(&dir, "ncanode/ceo_valid_sign_2004_gost.cer");
    assert_eq!(generation(&ca), Generation::Gost2004);
    assert_eq!(generation(&head), Generation::Gost2004);
    chain::issued_by(&head, &ca).expect("the head's 2004 signing certificate under the 2004 CA");
    assert!(chain::issued_by(&tampered(&head), &ca).is_err());
    let der = std::fs::read(dir.join("ncanode/nca_gost_test.crl")).unwrap();
    let listed = chain::crl(&der, &ca).unwrap();
    println!(
        "2004 CRL: {} revoked serials, signature verifies",
        listed.revoked.len()
    );
}

/// The NCA SPKI encoding round-trips through [`PublicKey::spki`]
/// byte for byte.
#[test]
fn spki_encoding_is_the_ncas() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    for name in [
        "nca-test-2022/nca_gost2022_test.cer",
        "ncanode/ceo_valid_sign_2004_gost.cer",
    ] {
        let c = cert(&dir, name);
        let spki = c.tbs_certificate().subject_public_key_info();
        let key = PublicKey::from_spki(spki).unwrap().unwrap();
        assert_eq!(
            key.spki().unwrap().to_der().unwrap(),
            spki.to_der().unwrap(),
            "{name}"
        );
    }
}

/// The NCA TSA's timestamp token (CMS SignedData over a TSTInfo, GOST
/// 34.310-2004, signed attributes as Kalkan writes them) verifies with
/// `tamga_pki::cms` under the 2004 TEST CA; with one flipped bit it does not.
#[test]
fn the_tsa_token_verifies() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let ca = cert(&dir, "ncanode/nca_gost_test.crt");
    let token = std::fs::read(dir.join("ncanode/tsp_token.bin")).unwrap();
    // A time within the TSA certificate's validity.
    let sd: SignedData = ContentInfo::from_der(&token)
        .unwrap()
        .content
        .decode_as()
        .unwrap();
    let Some(cms::cert::CertificateChoices::Certificate(tsa)) =
        sd.certificates.as_ref().and_then(|c| c.0.iter().next())
    else {
        panic!("the token carries its certificate")
    };
    let when = tsa.tbs_certificate().validity().not_before.to_system_time()
        + std::time::Duration::from_secs(86_400);
    let v = tamga_pki::cms::verify_attached(&token, std::slice::from_ref(&ca), when)
        .expect("the NCA TSA token verifies");
    println!("TSA token signed by {}", v.signer);
    let mut bad = token.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x20;
    assert!(tamga_pki::cms::verify_attached(&bad, std::slice::from_ref(&ca), when).is_err());
    assert!(
        tamga_pki::cms::verify_detached(&token, b"other", std::slice::from_ref(&ca), when).is_err(),
        "attached, not detached"
    );
}

/// The test kit's PKCS#12 keys (password Qwerty12) are read by
/// `tamga_pki::p12`: each private key's public key is its certificate's (the
/// certificate read by OpenSSL), and a signature made with it verifies with
/// the certificate; a wrong password is refused by the MAC.
#[test]
fn the_test_kit_keys_are_read_and_match_their_certificates() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let kit = tamga_testkit::vectors::test_kit(&dir);
    assert_eq!(kit.len(), 2);
    for path in &kit {
        let der = std::fs::read(path).unwrap();
        let key = tamga_pki::p12::gost_key(&der, "Qwerty12").unwrap();
        assert_eq!(key.generation, Generation::Gost2015);
        let cert = p12_cert(path);
        let public = generation_key(&cert);
        let mut point = vec![0u8; 128];
        tamga_gost::TC26_512_A
            .public_key(&key.d, &mut point)
            .unwrap();
        assert_eq!(
            point,
            public.point,
            "{}: d·G is the certificate's key",
            path.display()
        );
        let digest = Generation::Gost2015.digest(b"test kit");
        let mut sig = vec![0u8; 128];
        tamga_gost::TC26_512_A
            .sign(&key.d, &digest, b"e", &mut sig)
            .unwrap();
        public.verify(b"test kit", &sig).unwrap();
        let e = tamga_pki::p12::gost_key(&der, "qwerty12").err().unwrap();
        assert!(e.to_string().contains("wrong password"), "{e}");
        let mut cut = der.clone();
        cut.truncate(der.len() / 2);
        assert!(tamga_pki::p12::gost_key(&cut, "Qwerty12").is_err());
    }
}

fn generation_key(c: &Certificate) -> PublicKey {
    PublicKey::from_spki(c.tbs_certificate().subject_public_key_info())
        .unwrap()
        .unwrap()
}
