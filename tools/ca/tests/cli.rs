//! The `tamga-ca` command line end to end: init (root + issuing), issue, list, show,
//! revoke, crl, renew and confirm, with openssl checking the results.

mod common;

use common::*;
use std::process::Command;
use tamga_ca::bench::sample_applicant;
use tamga_pki::ProfileName;

fn ca_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn command_line_round_trip() {
    let tmp = TempDir::new("cli");
    let root = tmp.path().join("root");
    let ca = tmp.path().join("ca");
    let (r, c) = (root.to_str().unwrap(), ca.to_str().unwrap());
    let (ok, out, err) = ca_cmd(&["--dir", r, "init", "--key", "p256", "--cn", "CLI Root"]);
    assert!(ok, "{err}");
    assert!(out.contains("CN=CLI Root"), "{out}");
    let (ok, _, err) = ca_cmd(&[
        "--dir",
        c,
        "init",
        "--key",
        "p256",
        "--parent",
        r,
        "--validity-days",
        "30",
        "--crl-period-hours",
        "12",
        "--crl-base-url",
        "http://crl.example.kz",
    ]);
    assert!(ok, "{err}");
    let config = std::fs::read_to_string(ca.join("config.json")).unwrap();
    assert!(
        config.contains("\"validity_days\": 30") && config.contains("\"crl_period_hours\": 12"),
        "{config}"
    );

    let key = openssl_rsa_key(tmp.path(), "k");
    let a = app(
        ProfileName::IndividualAuth,
        sample_applicant(9, None),
        openssl_csr(&key, "x"),
    );
    let app_file = write(
        tmp.path(),
        "app.json",
        serde_json::to_string(&a).unwrap().as_bytes(),
    );
    let cert = tmp.path().join("cert.pem");
    let (ok, _, err) = ca_cmd(&[
        "--dir",
        c,
        "issue",
        "--application",
        app_file.to_str().unwrap(),
        "--out",
        cert.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let serial = err.split_whitespace().nth(1).unwrap().to_string();
    let (ok, text) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        ok && text.contains("URI:http://crl.example.kz/tamga-ca.crl"),
        "{text}"
    );
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        root.join("ca.pem").to_str().unwrap(),
        "-untrusted",
        ca.join("ca.pem").to_str().unwrap(),
        "-purpose",
        "sslclient",
        cert.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");

    let (ok, out, _) = ca_cmd(&["--dir", c, "list"]);
    assert!(
        ok && out.contains(&serial) && out.contains("individual-auth") && out.contains("valid"),
        "{out}"
    );
    let (ok, out, _) = ca_cmd(&["--dir", c, "show", &serial.to_uppercase()]);
    assert!(
        ok && out.contains("\"status\": \"valid\"") && out.contains("BEGIN CERTIFICATE"),
        "{out}"
    );
    let (ok, out, _) = ca_cmd(&["--dir", c, "revoke", &serial, "--reason", "death"]);
    assert!(ok && out.contains("revoked"), "{out}");
    let (ok, _, err) = ca_cmd(&["--dir", c, "revoke", &serial, "--reason", "death"]);
    assert!(
        !ok && err.trim() == format!("tamga-ca: certificate {serial} is already revoked"),
        "{err}"
    );
    let (ok, _, err) = ca_cmd(&["--dir", c, "revoke", "abcdef", "--reason", "owner-request"]);
    assert!(
        !ok && err.trim() == "tamga-ca: unknown serial abcdef",
        "{err}"
    );
    let (ok, _, err) = ca_cmd(&["--dir", c, "revoke", "abcdef", "--reason", "bored"]);
    assert!(!ok && err.contains("invalid value 'bored'"), "{err}");

    let crl = tmp.path().join("crl.pem");
    let (ok, out, _) = ca_cmd(&["--dir", c, "crl", "--pem", "--out", crl.to_str().unwrap()]);
    assert!(ok && out.contains("CRL number 2"), "{out}"); // 1 was published by init
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        ca.join("chain.pem").to_str().unwrap(),
        "-verify",
        "-noout",
        "-text",
    ]);
    assert!(
        ok && text.contains("verify OK") && text.contains("Cessation Of Operation"),
        "{text}"
    );
    assert!(
        text.to_uppercase().contains(&serial.to_uppercase()),
        "{text}"
    );
    let (ok, out, _) = ca_cmd(&["--dir", c, "list", "--json"]);
    assert!(
        ok && out.contains("\"revocation_reason\":\"death\""),
        "{out}"
    );
}

#[test]
fn renew_then_confirm_on_the_command_line() {
    let tmp = TempDir::new("cli-renew");
    let ca = root_and_issuing(tmp.path(), tamga_ca::KeyAlgorithm::P256);
    let c = tmp.path().join("ca");
    let c = c.to_str().unwrap();
    let key = openssl_p256_key(tmp.path(), "old");
    let old = ca
        .issue(
            &app(
                ProfileName::IndividualSign,
                sample_applicant(70, None),
                openssl_csr(&key, "o"),
            ),
            "t",
        )
        .unwrap();
    drop(ca);
    let csr = openssl_csr(&openssl_p256_key(tmp.path(), "new"), "n");
    let req = renew_request(&old.serial, &key, &[(&old.serial, &csr)], tmp.path());
    let file = write(tmp.path(), "renew.json", &serde_json::to_vec(&req).unwrap());
    let (ok, out, err) = ca_cmd(&["--dir", c, "renew", "--request", file.to_str().unwrap()]);
    assert!(ok && out.contains("BEGIN CERTIFICATE"), "{err}");
    let new = err.split_whitespace().nth(1).unwrap().to_string();
    let status = |serial: &str| {
        let (ok, out, err) = ca_cmd(&["--dir", c, "show", serial]);
        assert!(ok, "{err}");
        out
    };
    assert!(status(&old.serial).contains("\"status\": \"valid\""));
    let (ok, out, err) = ca_cmd(&["--dir", c, "confirm", &new]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        format!("confirmed {new}: {} superseded", old.serial)
    );
    assert!(status(&old.serial).contains("\"revocation_reason\": \"superseded\""));
    let (ok, out, _) = ca_cmd(&["--dir", c, "confirm", &new]);
    assert!(ok && out.starts_with("already confirmed"), "{out}");
    let (ok, _, err) = ca_cmd(&["--dir", c, "confirm", &old.serial]);
    assert!(!ok && err.contains("is not a renewal"), "{err}");
    let (ok, _, err) = ca_cmd(&["--dir", c, "confirm"]);
    assert!(!ok && err.contains("required"), "{err}");
}

/// The bench runs end to end and prints its figures (values are not asserted).
#[test]
fn bench_prints_figures() {
    let tmp = TempDir::new("bench");
    let (ok, out, err) = ca_cmd(&[
        "--dir",
        tmp.path().to_str().unwrap(),
        "bench",
        "--count",
        "4",
        "--chunk",
        "2",
    ]);
    assert!(ok, "{err}");
    for needle in [
        "p256 CA key: 4 certificates",
        "rsa2048 CA key: 4 certificates",
        "certificates/s",
        "tamga-ca / openssl =",
    ] {
        assert!(out.contains(needle), "{needle}\n{out}");
    }
    // The scratch CAs are removed afterwards.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
