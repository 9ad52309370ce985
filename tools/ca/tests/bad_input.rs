//! Bad input: each a clear one-line error, the store unchanged.

mod common;

use base64::Engine;
use common::*;
use tamga_ca::bench::{p256_csr, sample_applicant};
use tamga_ca::{Application, Error, KeyAlgorithm, RevocationReason};
use tamga_pki::ProfileName;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let tmp = TempDir::new("bad");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(1, None);
    let (_, good_csr) = p256_csr(&a).unwrap();
    ca.issue(
        &app(ProfileName::IndividualSign, a.clone(), good_csr.clone()),
        "t",
    )
    .unwrap();
    let before = counts(&ca);
    let a2 = sample_applicant(2, None);
    let (_, csr2) = p256_csr(&a2).unwrap();
    let der = pem_rfc7468::decode_vec(csr2.as_bytes()).unwrap().1;

    let mut flipped = der.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x01;
    let mut truncated = der.clone();
    truncated.truncate(der.len() / 2);
    let weak_key = {
        let p = tmp.path().join("weak.key");
        let (ok, out) = openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            p.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        openssl_csr(&p, "weak")
    };
    let p384 = {
        let p = tmp.path().join("p384.key");
        let (ok, out) = openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            p.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        openssl_csr(&p, "p384")
    };

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not Base64",
            "this is not a CSR!".into(),
            "malformed CSR: not PEM, DER or Base64",
        ),
        ("truncated DER", b64(&truncated), "malformed CSR"),
        ("empty", "".into(), "malformed CSR: empty"),
        (
            "wrong PEM label",
            good_csr.replace("CERTIFICATE REQUEST", "PUBLIC KEY"),
            "malformed CSR: PEM label",
        ),
        (
            "wrong signature",
            b64(&flipped),
            "CSR signature does not verify (no proof of possession)",
        ),
        (
            "RSA-1024",
            weak_key,
            "key not allowed: RSA key of 1024 bits",
        ),
        ("P-384", p384, "key not allowed: EC key not on P-256"),
    ];
    for (what, csr, msg) in cases {
        let e = ca
            .issue(&app(ProfileName::IndividualSign, a2.clone(), csr), "t")
            .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with(msg), "{what}: {text}");
        assert!(!text.contains('\n'), "{what}: multi-line error");
        assert_eq!(e.http_status(), 400, "{what}");
        assert_eq!(counts(&ca), before, "{what} changed the store");
    }

    // Applicant data errors arrive through the JSON.
    let good_json =
        serde_json::to_string(&app(ProfileName::IndividualSign, a2.clone(), csr2.clone())).unwrap();
    let json_cases = [
        (
            good_json.replace(&a2.iin.to_string(), "871008401428"),
            "IIN check digit expected 7, got 8",
        ),
        (
            good_json.replace(&a2.iin.to_string(), "87100840142"),
            "IIN must have 12 digits, got 11 characters",
        ),
        (
            good_json.replace("individual-sign", "super-admin"),
            "unknown profile \"super-admin\"",
        ),
        (
            good_json.replace("\"Тест\"", "\"Тест1\""),
            "field name: character '1' not allowed",
        ),
        (
            good_json.replace("\"profile\"", "\"profle\""),
            "unknown field `profle`",
        ),
        ("{".to_string(), "EOF while parsing"),
    ];
    for (json, msg) in json_cases {
        let e = Error::from(Application::from_json(json.as_bytes()).unwrap_err());
        assert!(matches!(e, Error::Pki(_)), "{e}");
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains(msg), "{msg}: {e}");
    }
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let e = Error::from(Application::from_json(big.as_bytes()).unwrap_err());
    assert_eq!(e.to_string(), "request body larger than 65536 bytes");
    assert_eq!(e.http_status(), 413);

    // A legal profile without the legal entity, an individual profile with one.
    let e = ca
        .issue(&app(ProfileName::LegalSign, a2.clone(), csr2.clone()), "t")
        .unwrap_err();
    assert_eq!(e.to_string(), "required field legal_entity is missing");
    let mut le = sample_applicant(2, Some(tamga_pki::Role::Hr));
    let e = ca
        .issue(
            &app(ProfileName::IndividualAuth, le.clone(), csr2.clone()),
            "t",
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("not allowed with profile individual-auth"),
        "{e}"
    );
    le.legal_entity.as_mut().unwrap().name = "Bad\u{0007}Name".into();
    let e = ca
        .issue(&app(ProfileName::LegalAuth, le, csr2.clone()), "t")
        .unwrap_err();
    assert!(e.to_string().starts_with("field legal_entity.name"), "{e}");

    // Revoking an unknown serial, or garbage.
    for s in ["00ff", "zz-not-hex", &"7".repeat(100)] {
        let e = ca
            .revoke(s, RevocationReason::OwnerRequest, "t")
            .unwrap_err();
        assert!(e.to_string().starts_with("unknown serial"), "{e}");
        assert_eq!(e.http_status(), 404);
    }
    assert_eq!(counts(&ca), before);
}
