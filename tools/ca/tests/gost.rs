//! A GOST CA (`tamga-ca init --key gost2015` / `gost2004`, the NCA's
//! `nca_gost`): GOST certificates for GOST requests with the NCA's encodings
//! (explicit NULL signature parameters, the two parameter OIDs in the key, X_le
//! ‖ Y_le, r_le ‖ s_le), GOST CRLs, the key file in Kalkan's PKCS#8 form; each
//! signature checked by OpenSSL's GOST engine over the TBS bytes after the
//! documented conversion, and by tamga-pki.

mod common;

use common::*;
use der::{Decode, Encode};
use rand_core::UnwrapErr;
use signature::{Keypair, Signer};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};
use std::path::Path;
use tamga_ca::bench::sample_applicant;
use tamga_ca::{Ca, InitOptions, KeyAlgorithm};
use tamga_pki::gost::{Generation, PublicKey, Signature};
use tamga_pki::{ProfileName, Role, chain, check_certificate};
use tamga_testkit::gost_engine;
use x509_cert::Certificate;

/// A GOST key in memory, to sign requests the way the card does.
struct SoftGost {
    d: Vec<u8>,
    public: PublicKey,
}

impl SoftGost {
    fn new(generation: Generation) -> Self {
        let n = generation.scalar_len();
        let (mut d, mut point) = (vec![0u8; n], vec![0u8; 2 * n]);
        let mut rng = UnwrapErr(getrandom::SysRng);
        generation
            .curve()
            .generate(&mut rng, &mut d, &mut point)
            .unwrap();
        SoftGost {
            d,
            public: PublicKey { generation, point },
        }
    }
}

impl Keypair for SoftGost {
    type VerifyingKey = PublicKey;
    fn verifying_key(&self) -> PublicKey {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for SoftGost {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.public.generation.signature_algorithm())
    }
}

impl Signer<Signature> for SoftGost {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        let g = self.public.generation;
        let digest = g.digest(msg);
        let mut sig = vec![0u8; 2 * g.scalar_len()];
        g.curve()
            .sign(&self.d, &digest, b"test", &mut sig)
            .map_err(|_| signature::Error::new())?;
        Ok(Signature(sig))
    }
}

fn gost_csr(key: &SoftGost, a: &tamga_pki::Applicant, profile: ProfileName) -> String {
    use x509_cert::builder::{Builder, RequestBuilder};
    let p = tamga_pki::Profile::resolve(profile, a).unwrap();
    let mut b = RequestBuilder::new(tamga_pki::subject_name(a).unwrap()).unwrap();
    for e in p.extensions(a).unwrap() {
        b.add_extension(e).unwrap();
    }
    let req = b.build::<_, Signature>(key).unwrap();
    der::EncodePem::to_pem(&req, der::pem::LineEnding::LF).unwrap()
}

/// OpenSSL's GOST engine on `signed` (the TBS bytes) and `sig` (r_le ‖ s_le)
/// with `issuer`'s key (for 2015 over the engine's own Streebog-512).
fn engine_verifies(tmp: &Path, issuer: &PublicKey, signed: &[u8], sig: &[u8]) -> bool {
    let ours = issuer.generation.digest(signed);
    gost_engine::verifies_message(tmp, &issuer.point, signed, &ours, sig)
}

fn gost_ca(tmp: &Path, alg: KeyAlgorithm) -> Ca {
    let root = tmp.join("root");
    let init = |cn: &str, parent| InitOptions {
        key: alg,
        common_name: cn.into(),
        parent,
        config: config(),
        ..Default::default()
    };
    Ca::init(&root, &init("GOST Root", None)).unwrap();
    Ca::init(&tmp.join("ca"), &init("GOST Issuing", Some(root))).unwrap()
}

fn key_of(c: &Certificate) -> PublicKey {
    PublicKey::from_spki(c.tbs_certificate().subject_public_key_info())
        .unwrap()
        .unwrap()
}

fn check_generation(alg: KeyAlgorithm, g: Generation) {
    gost_engine::require();
    let tmp = TempDir::new(&format!("gost-ca-{}", alg.as_str()));
    let ca = gost_ca(tmp.path(), alg);
    let ca_cert = ca.certificate().clone();
    let root = Certificate::from_der(&pem_der(
        &std::fs::read_to_string(tmp.path().join("root/ca.pem")).unwrap(),
    ))
    .unwrap();
    assert_eq!(key_of(&ca_cert).generation, g);
    chain::issued_by(&ca_cert, &root).unwrap();
    assert!(
        engine_verifies(
            tmp.path(),
            &key_of(&root),
            &ca_cert.tbs_certificate().to_der().unwrap(),
            ca_cert.signature().raw_bytes()
        ),
        "the engine verifies the issuing CA's certificate"
    );

    // A legal-entity head's GOST signing key, as on the card.
    let a = sample_applicant(3, Some(Role::Head));
    let key = SoftGost::new(g);
    let issued = ca
        .issue(
            &app(
                ProfileName::LegalSign,
                a.clone(),
                gost_csr(&key, &a, ProfileName::LegalSign),
            ),
            "t",
        )
        .unwrap();
    let cert = Certificate::from_der(&issued.der).unwrap();
    let profile = tamga_pki::Profile::resolve(ProfileName::LegalSign, &a).unwrap();
    check_certificate(&cert, &profile, &a).unwrap();
    // The NCA's encodings: signature OID with an explicit NULL, the key's two
    // parameter OIDs, the same octets back.
    assert_eq!(cert.signature_algorithm().oid, g.signature_oid());
    assert_eq!(
        cert.signature_algorithm()
            .parameters
            .as_ref()
            .map(|p| p.to_der().unwrap()),
        Some(vec![0x05, 0x00])
    );
    assert_eq!(key_of(&cert), key.public);
    assert_eq!(
        cert.tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
        key.public.spki().unwrap().to_der().unwrap()
    );
    assert_eq!(cert.signature().raw_bytes().len(), 2 * g.scalar_len());
    chain::issued_by(&cert, &ca_cert).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    assert!(
        engine_verifies(
            tmp.path(),
            &key_of(&ca_cert),
            &tbs,
            cert.signature().raw_bytes()
        ),
        "the engine verifies the GOST certificate"
    );
    let mut bad = cert.signature().raw_bytes().to_vec();
    bad[0] ^= 1;
    assert!(
        !engine_verifies(tmp.path(), &key_of(&ca_cert), &tbs, &bad),
        "and not a flipped bit"
    );

    // An RSA authentication key beside it, from the same CA.
    let rsa = openssl_rsa_key(tmp.path(), "auth");
    let auth = ca
        .issue(
            &app(ProfileName::LegalAuth, a.clone(), openssl_csr(&rsa, "auth")),
            "t",
        )
        .unwrap();
    chain::issued_by(&Certificate::from_der(&auth.der).unwrap(), &ca_cert).unwrap();

    // The CRL: revoke, issue, both verifiers.
    ca.revoke(
        &issued.serial,
        tamga_pki::RevocationReason::KeyCompromise,
        "t",
    )
    .unwrap();
    let (_, crl) = ca.crl("t").unwrap();
    let listed = chain::crl(&crl, &ca_cert).unwrap();
    assert!(listed.lists(&issued.serial.parse().unwrap()));
    let crl =
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl).unwrap();
    assert_eq!(crl.signature_algorithm.oid, g.signature_oid());
    assert!(
        engine_verifies(
            tmp.path(),
            &key_of(&ca_cert),
            &crl.tbs_cert_list.to_der().unwrap(),
            crl.signature.raw_bytes()
        ),
        "the engine verifies the GOST CRL"
    );

    // The key file: Kalkan's PKCS#8 (privateKey = OCTET STRING { OCTET STRING
    // { d_le } }), mode 0600, and it opens again.
    let pem = std::fs::read_to_string(tmp.path().join("ca/ca.key")).unwrap();
    let der = pem_der(&pem);
    let info = pkcs8::PrivateKeyInfoRef::from_der(&der).unwrap();
    assert_eq!(info.algorithm.oid, g.key_oid());
    let inner = der::asn1::OctetString::from_der(info.private_key.as_bytes()).unwrap();
    assert_eq!(inner.as_bytes().len(), g.scalar_len());
    let again = Ca::open(&tmp.path().join("ca")).unwrap();
    assert_eq!(again.certificate(), &ca_cert);
}

fn pem_der(pem: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1
}

#[test]
fn a_gost_2015_ca_issues_what_the_engine_verifies() {
    check_generation(KeyAlgorithm::Gost2015, Generation::Gost2015);
}

#[test]
fn a_gost_2004_ca_issues_what_the_engine_verifies() {
    check_generation(KeyAlgorithm::Gost2004, Generation::Gost2004);
}

/// `tamga-ca` on the command line; panics with its output when it fails.
fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tamga-ca {args:?}: {text}");
    text
}

/// The CRL distribution point URL of a certificate.
fn crl_url(c: &Certificate) -> String {
    use x509_cert::ext::pkix::CrlDistributionPoints;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let (_, dps) = c
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
        .unwrap()
        .unwrap();
    match &dps.0[0].distribution_point {
        Some(DistributionPointName::FullName(n)) => match &n[0] {
            GeneralName::UniformResourceIdentifier(u) => u.to_string(),
            _ => panic!("not a URI"),
        },
        _ => panic!("no full name"),
    }
}

#[test]
fn an_rsa_and_a_gost_issuing_key_side_by_side() {
    gost_engine::require();
    let tmp = TempDir::new("gost-pair");
    let t = tmp.path();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (root, ca_dir) = (t.join("root"), t.join("ca"));
    let (root_key, ca_key) = (openssl_rsa_key(t, "root-rsa"), openssl_rsa_key(t, "ca-rsa"));
    let out = cli(&[
        "--dir",
        &s(&root),
        "init",
        "--key",
        "rsa2048,gost2015",
        "--cn",
        "Pair Root",
        "--import-key",
        &s(&root_key),
    ]);
    assert_eq!(out.matches("CA created in").count(), 2, "{out}");
    cli(&[
        "--dir",
        &s(&ca_dir),
        "init",
        "--key",
        "rsa2048,gost2015",
        "--cn",
        "Pair Issuing",
        "--parent",
        &s(&root),
        "--import-key",
        &s(&ca_key),
        "--crl-base-url",
        "http://crl.example.kz",
        "--aia-base-url",
        "http://pki.example.kz",
    ]);
    // Two GOST keys in one CA are refused: a request's key would not say which signs.
    let twice = std::process::Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
        .args([
            "--dir",
            &s(&t.join("bad")),
            "init",
            "--key",
            "gost2015,gost2004",
        ])
        .output()
        .unwrap();
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("at most one GOST"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );

    let ca = Ca::open(&ca_dir).unwrap();
    let issuers = ca.issuers();
    assert_eq!(issuers.len(), 2);
    let (rsa_ca, gost_ca) = (
        issuers[0].certificate().clone(),
        issuers[1].certificate().clone(),
    );
    assert!(!issuers[0].is_gost() && issuers[1].is_gost());
    assert_eq!(issuers[1].dir(), ca_dir.join("issuers/gost2015"));
    assert_eq!(ca.issuer("gost").unwrap().id(), issuers[1].id());
    assert_eq!(ca.issuer("rsa2048").unwrap().id(), issuers[0].id());
    assert!(ca.issuer("p256").is_err());
    use std::os::unix::fs::PermissionsExt;
    for d in [ca_dir.clone(), ca_dir.join("issuers/gost2015")] {
        let mode = std::fs::metadata(d.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", d.display());
    }
    // Each issuing certificate is signed by the root key of its own family.
    let root_ca = Ca::open(&root).unwrap();
    chain::issued_by(&rsa_ca, root_ca.issuers()[0].certificate()).unwrap();
    chain::issued_by(&gost_ca, root_ca.issuers()[1].certificate()).unwrap();
    assert!(engine_verifies(
        t,
        &key_of(root_ca.issuers()[1].certificate()),
        &gost_ca.tbs_certificate().to_der().unwrap(),
        gost_ca.signature().raw_bytes()
    ));
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &s(&root.join("ca.pem")),
        &s(&ca_dir.join("ca.pem")),
    ]);
    assert!(ok, "{text}");
    assert!(
        std::fs::read_to_string(ca_dir.join("issuers/gost2015/chain.pem"))
            .unwrap()
            .ends_with(&std::fs::read_to_string(root.join("issuers/gost2015/chain.pem")).unwrap()),
        "the GOST chain goes up to the GOST root"
    );

    // The legal-entity form: GOST signing key, RSA authentication key.
    let a = sample_applicant(4, Some(Role::Head));
    let key = SoftGost::new(Generation::Gost2015);
    let sign = ca
        .issue(
            &app(
                ProfileName::LegalSign,
                a.clone(),
                gost_csr(&key, &a, ProfileName::LegalSign),
            ),
            "t",
        )
        .unwrap();
    let rsa = openssl_rsa_key(t, "auth");
    let auth = ca
        .issue(
            &app(ProfileName::LegalAuth, a.clone(), openssl_csr(&rsa, "auth")),
            "t",
        )
        .unwrap();
    let (sign_cert, auth_cert) = (
        Certificate::from_der(&sign.der).unwrap(),
        Certificate::from_der(&auth.der).unwrap(),
    );
    chain::issued_by(&sign_cert, &gost_ca).unwrap();
    assert!(chain::issued_by(&sign_cert, &rsa_ca).is_err());
    chain::issued_by(&auth_cert, &rsa_ca).unwrap();
    assert_eq!(
        chain::issuer_among(&sign_cert, &[rsa_ca.clone(), gost_ca.clone()]),
        Some(&gost_ca)
    );
    assert!(engine_verifies(
        t,
        &key_of(&gost_ca),
        &sign_cert.tbs_certificate().to_der().unwrap(),
        sign_cert.signature().raw_bytes()
    ));
    let auth_pem = write(t, "auth.pem", auth.certificate.as_bytes());
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &s(&root.join("ca.pem")),
        "-untrusted",
        &s(&ca_dir.join("ca.pem")),
        &s(&auth_pem),
    ]);
    assert!(ok, "{text}");
    assert_eq!(crl_url(&auth_cert), "http://crl.example.kz/tamga-ca.crl");
    assert_eq!(
        crl_url(&sign_cert),
        "http://crl.example.kz/tamga-ca-gost2015.crl"
    );

    // Revocation: each key's CRL lists what it signed, numbered on its own.
    for i in [&sign, &auth] {
        ca.revoke(&i.serial, tamga_pki::RevocationReason::KeyCompromise, "t")
            .unwrap();
    }
    drop(ca);
    let crl_out = t.join("out/ca.crl");
    std::fs::create_dir_all(t.join("out")).unwrap();
    let out = cli(&["--dir", &s(&ca_dir), "crl", "--out", &s(&crl_out)]);
    assert_eq!(out.matches("CRL number 2 of").count(), 2, "{out}");
    let rsa_crl = std::fs::read(&crl_out).unwrap();
    let gost_crl = std::fs::read(t.join("out/ca-gost2015.crl")).unwrap();
    let listed = chain::crl(&rsa_crl, &rsa_ca).unwrap();
    assert_eq!(listed.revoked, vec![auth.serial.clone()]);
    let listed = chain::crl(&gost_crl, &gost_ca).unwrap();
    assert_eq!(listed.revoked, vec![sign.serial.clone()]);
    assert!(chain::crl(&gost_crl, &rsa_ca).is_err());
    let (ok, text) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &s(&crl_out),
        "-CAfile",
        &s(&ca_dir.join("chain.pem")),
        "-verify",
        "-noout",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let parsed =
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&gost_crl)
            .unwrap();
    assert!(
        engine_verifies(
            t,
            &key_of(&gost_ca),
            &parsed.tbs_cert_list.to_der().unwrap(),
            parsed.signature.raw_bytes()
        ),
        "the engine verifies the GOST key's CRL"
    );
    // One key alone, by name.
    let out = cli(&[
        "--dir",
        &s(&ca_dir),
        "crl",
        "--issuer",
        "gost",
        "--out",
        &s(&t.join("g.crl")),
    ]);
    assert!(out.contains("CRL number 3 of"), "{out}");
    let json = cli(&["--dir", &s(&ca_dir), "issuers", "--json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["algorithm"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["rsa2048", "gost2015"]
    );

    // Read without the keys: both certificates, each key's CRL.
    let published = tamga_ca::PublishedCa::open(&ca_dir).unwrap();
    assert_eq!(published.certificates().count(), 2);
    let gost_id =
        hex::encode(chain::key_id(gost_ca.tbs_certificate().subject_public_key_info()).unwrap());
    let latest = published.current_crl(&gost_id).unwrap();
    assert!(chain::crl(&latest, &gost_ca).unwrap().lists(&sign.serial));
    assert!(published.current_crl("00").is_err());
}
