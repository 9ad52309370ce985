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
