//! Every profile (individual auth/sign, legal-entity auth/sign with each role), with RSA-2048
//! and P-256 applicant keys: field assertions and `openssl verify -purpose`.

mod common;

use common::*;
use der::{Decode, Encode, Tag, Tagged};
use std::path::Path;
use tamga_ca::bench::sample_applicant;
use tamga_ca::{Ca, KeyAlgorithm};
use tamga_pki::{CertKind, Profile, ProfileName, Role, check_certificate, oids, role_oid};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints,
    SubjectKeyIdentifier,
};

fn verify(tmp: &Path, cert_pem: &str, purpose: &str) -> (bool, String) {
    let c = write(tmp, "ee.pem", cert_pem.as_bytes());
    let root = tmp.join("root/ca.pem");
    let ca = tmp.join("ca/ca.pem");
    openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        ca.to_str().unwrap(),
        "-purpose",
        purpose,
        c.to_str().unwrap(),
    ])
}

fn attr(cert: &Certificate, oid: const_oid::ObjectIdentifier) -> Option<(Tag, String)> {
    cert.tbs_certificate()
        .subject()
        .iter()
        .find(|a| a.oid == oid)
        .map(|a| {
            (
                a.value.tag(),
                String::from_utf8(a.value.value().to_vec()).unwrap(),
            )
        })
}

fn check_all_profiles(ca: &Ca, tmp: &Path) {
    let ca_ski = ca
        .certificate()
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap()
        .1;
    let mut holders: Vec<Option<Role>> = vec![None];
    holders.extend(Role::ALL.map(Some));
    let mut n = 0;
    for (hi, role) in holders.into_iter().enumerate() {
        // Each holder its own keys: one live certificate per key and profile.
        let rsa = openssl_rsa_key(tmp, &format!("applicant-rsa-{hi}"));
        let ec = openssl_p256_key(tmp, &format!("applicant-ec-{hi}"));
        for kind in [CertKind::Authentication, CertKind::Signature] {
            for (ki, key) in [&rsa, &ec].into_iter().enumerate() {
                n += 1;
                let applicant = sample_applicant(hi * 10 + ki, role);
                let name = ProfileName::of(role.is_some(), kind);
                let csr = openssl_csr(key, &format!("req {n}"));
                let issued = ca
                    .issue(&app(name, applicant.clone(), csr), "test")
                    .unwrap();
                let cert = Certificate::from_der(&issued.der).unwrap();
                let tbs = cert.tbs_certificate();
                let profile = Profile::resolve(name, &applicant).unwrap();

                // The shared checker: subject, KU, EKU, policy, SAN, not a CA.
                check_certificate(&cert, &profile, &applicant).unwrap();

                // Serial: 20 bytes, positive, as stored.
                let serial = tbs.serial_number().as_bytes();
                assert_eq!(serial.len(), 20);
                assert!(serial[0] & 0x80 == 0 && serial[0] != 0);
                assert_eq!(hex::encode(serial), issued.serial.as_str());

                // Subject attributes and their string types.
                let (t, v) = attr(&cert, oids::SERIAL_NUMBER).unwrap();
                assert_eq!(
                    (t, v),
                    (Tag::PrintableString, format!("IIN{}", applicant.iin))
                );
                assert_eq!(
                    attr(&cert, oids::COUNTRY).unwrap(),
                    (Tag::PrintableString, "KZ".into())
                );
                assert_eq!(attr(&cert, oids::COMMON_NAME).unwrap().1, "ТЕСТОВ ТЕСТ");
                assert_eq!(attr(&cert, oids::SURNAME).unwrap().1, "ТЕСТОВ");
                assert_eq!(attr(&cert, oids::GIVEN_NAME).unwrap().1, "ТЕСТОВИЧ");
                assert_eq!(attr(&cert, oids::LOCALITY).unwrap().1, "Астана");
                assert_eq!(attr(&cert, oids::STATE).unwrap().1, "Астана");
                assert_eq!(
                    attr(&cert, oids::EMAIL_ADDRESS).unwrap(),
                    (Tag::Ia5String, applicant.email.clone().unwrap())
                );
                match role {
                    Some(_) => {
                        assert_eq!(attr(&cert, oids::ORGANIZATION).unwrap().1, "ТОО «Тамга»");
                        assert_eq!(
                            attr(&cert, oids::ORGANIZATIONAL_UNIT).unwrap(),
                            (Tag::PrintableString, "BIN940140000385".into())
                        );
                    }
                    None => assert!(attr(&cert, oids::ORGANIZATION).is_none()),
                }

                // EKU and policy, spelled out.
                let eku = profile.extended_key_usage().0;
                let policy = profile.policy();
                match (role, kind) {
                    (None, CertKind::Authentication) => {
                        assert_eq!(eku, vec![oids::KP_CLIENT_AUTH, oids::EKU_INDIVIDUAL]);
                        assert_eq!(policy, oids::POLICY_INDIVIDUAL_AUTH);
                    }
                    (None, CertKind::Signature) => {
                        assert_eq!(eku, vec![oids::KP_EMAIL_PROTECTION, oids::EKU_INDIVIDUAL]);
                        assert_eq!(policy, oids::POLICY_INDIVIDUAL_SIGN);
                    }
                    (Some(r), CertKind::Authentication) => {
                        assert_eq!(
                            eku,
                            vec![oids::KP_CLIENT_AUTH, oids::EKU_LEGAL_ENTITY, role_oid(r)]
                        );
                        assert_eq!(policy, oids::POLICY_LEGAL_AUTH);
                    }
                    (Some(r), CertKind::Signature) => {
                        assert_eq!(
                            eku,
                            vec![
                                oids::KP_EMAIL_PROTECTION,
                                oids::EKU_LEGAL_ENTITY,
                                role_oid(r)
                            ]
                        );
                        assert_eq!(policy, oids::POLICY_LEGAL_SIGN);
                    }
                }

                // CA-added extensions.
                let (crit, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
                assert!(crit && !bc.ca);
                assert!(
                    tbs.get_extension::<SubjectKeyIdentifier>()
                        .unwrap()
                        .is_some()
                );
                let aki = tbs
                    .get_extension::<AuthorityKeyIdentifier>()
                    .unwrap()
                    .unwrap()
                    .1;
                assert_eq!(aki.key_identifier.unwrap(), ca_ski.0);
                let dp = tbs
                    .get_extension::<CrlDistributionPoints>()
                    .unwrap()
                    .unwrap()
                    .1;
                assert!(format!("{dp:?}").contains("http://crl.example.kz/tamga-ca.crl"));
                let aia = tbs
                    .get_extension::<AuthorityInfoAccessSyntax>()
                    .unwrap()
                    .unwrap()
                    .1;
                assert!(format!("{aia:?}").contains("http://pki.example.kz/tamga-ca.crt"));

                // Validity: the configured year.
                let v = tbs.validity();
                let days = (v.not_after.to_unix_duration() - v.not_before.to_unix_duration())
                    .as_secs()
                    / 86400;
                assert_eq!(days, 365);
                assert_eq!(tbs.issuer(), ca.certificate().tbs_certificate().subject());
                assert_eq!(cert.to_der().unwrap(), issued.der);

                // openssl: the right purpose passes, the other one fails.
                let (good, bad) = match kind {
                    CertKind::Authentication => ("sslclient", "smimesign"),
                    CertKind::Signature => ("smimesign", "sslclient"),
                };
                let (ok, out) = verify(tmp, &issued.certificate, good);
                assert!(
                    ok && out.contains("OK"),
                    "{name} {role:?} -purpose {good}: {out}"
                );
                let (ok, out) = verify(tmp, &issued.certificate, bad);
                assert!(!ok, "{name} {role:?} passed -purpose {bad}: {out}");
            }
        }
    }
    assert_eq!(n, 6 * 2 * 2);
}

#[test]
fn every_profile_with_p256_ca_passes_openssl_verify() {
    let tmp = TempDir::new("profiles-p256");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    check_all_profiles(&ca, tmp.path());
}

#[test]
fn rsa_ca_issues_verifiable_certificates() {
    let tmp = TempDir::new("profiles-rsa");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::Rsa2048);
    let key = openssl_rsa_key(tmp.path(), "a");
    let applicant = sample_applicant(1, Some(Role::Head));
    let issued = ca
        .issue(
            &app(
                ProfileName::LegalSign,
                applicant.clone(),
                openssl_csr(&key, "x"),
            ),
            "t",
        )
        .unwrap();
    let (ok, out) = verify(tmp.path(), &issued.certificate, "smimesign");
    assert!(ok, "{out}");
    let cert = Certificate::from_der(&issued.der).unwrap();
    assert_eq!(cert.signature_algorithm().oid, oids::SHA256_WITH_RSA);
    check_certificate(
        &cert,
        &Profile::resolve(ProfileName::LegalSign, &applicant).unwrap(),
        &applicant,
    )
    .unwrap();
}

#[test]
fn key_file_is_private_and_reloads() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("keyfile");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    for d in ["root", "ca"] {
        let mode = std::fs::metadata(tmp.path().join(d).join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{d}/ca.key");
    }
    let pem = ca.certificate_pem().unwrap();
    drop(ca);
    let again = Ca::open(&tmp.path().join("ca")).unwrap();
    assert_eq!(again.certificate_pem().unwrap(), pem);
    assert_eq!(
        again.with_store(|s| s.schema_version()).unwrap(),
        tamga_ca::store::SCHEMA_VERSION
    );
    // openssl reads the key file as PKCS#8.
    let (ok, out) = openssl(&[
        "pkey",
        "-in",
        tmp.path().join("ca/ca.key").to_str().unwrap(),
        "-noout",
    ]);
    assert!(ok, "{out}");
    // init refuses to overwrite.
    let e = Ca::init(&tmp.path().join("ca"), &Default::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("already holds a CA"), "{e}");
}

#[test]
fn host_style_csr_with_extension_request_and_mismatch_detection() {
    use p256::elliptic_curve::Generate;
    use x509_cert::builder::{Builder, RequestBuilder};
    let tmp = TempDir::new("extreq");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(77, Some(Role::Head));
    let profile = Profile::resolve(ProfileName::LegalAuth, &a).unwrap();
    // As the host will do: subject and extensionRequest from tamga-pki.
    let key =
        p256::ecdsa::SigningKey::generate_from_rng(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let mut b = RequestBuilder::new(tamga_pki::subject_name(&a).unwrap()).unwrap();
    for e in profile.extensions(&a).unwrap() {
        b.add_extension(e).unwrap();
    }
    let req = b.build::<_, p256::ecdsa::DerSignature>(&key).unwrap();
    let pem = der::EncodePem::to_pem(&req, der::pem::LineEnding::LF).unwrap();
    let issued = ca
        .issue(&app(ProfileName::LegalAuth, a.clone(), pem), "t")
        .unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    check_certificate(&cert, &profile, &a).unwrap();
    // The checker notices a certificate of another profile or person.
    let sign = Profile::resolve(ProfileName::LegalSign, &a).unwrap();
    let e = check_certificate(&cert, &sign, &a).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("certificate does not match profile: key usage"),
        "{e}"
    );
    let other = Profile {
        holder: tamga_pki::Holder::LegalEntity(Role::Hr),
        ..profile
    };
    let e = check_certificate(&cert, &other, &a).unwrap_err();
    assert!(e.to_string().contains("extended key usage"), "{e}");
    let e =
        check_certificate(&cert, &profile, &sample_applicant(78, Some(Role::Head))).unwrap_err();
    assert!(e.to_string().contains("subject"), "{e}");
}
