//! `tamga` end to end against emulated cards and a local CA: every command,
//! its output and exit code, the error paths, and the issued certificates
//! checked by x509-cert (every NCA field) and by `openssl verify -purpose`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, PERSON, fails, ok};

use der::{Decode, EncodePem};
use tamga::piv::Piv;
use tamga::transport::emu::EmuCard;
use tamga_pki::{Applicant, Profile, ProfileName};
use tamga_spec::KeyRef;
use x509_cert::Certificate;

impl Env {
    /// Enrol the sample citizen (P-256) and sign `doc.txt`; its path.
    fn enrolled_and_signed(&self) -> PathBuf {
        let mut args = vec!["enroll", "--alg", "p256"];
        args.extend_from_slice(PERSON);
        ok(&self.run(&args, &[]));
        let doc = self.path("doc.txt");
        std::fs::write(&doc, "Заявление\n").unwrap();
        ok(&self.run(&["sign", doc.to_str().unwrap()], &[]));
        doc
    }
}

/// Slot lines of an enrol/renew report with this outcome.
fn slots_with(out: &str, outcome: &str) -> usize {
    out.lines()
        .filter(|l| l.trim_start().starts_with('9') && l.contains(outcome))
        .count()
}

fn applicant(legal: bool) -> Applicant {
    let mut a: Applicant = serde_json::from_value(serde_json::json!({
        "iin": "871008401427", "surname": "ИСМАИЛОВ", "name": "АЙДАР", "patronymic": "СЕРИКОВИЧ",
        "email": "aidar@example.kz", "locality": "АСТАНА",
    }))
    .unwrap();
    if legal {
        a.legal_entity = serde_json::from_value(serde_json::json!({
            "bin": "940140000385", "name": "ТОО ТАМГА", "role": "may-sign"
        }))
        .unwrap();
    }
    a
}

/// The two certificates on the card, checked against the profile (x509-cert)
/// and by openssl for their purpose.
fn check_card_certificates(env: &Env, legal: bool) -> Vec<Certificate> {
    let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    let a = applicant(legal);
    let mut out = vec![];
    for (slot, kind, purpose) in [
        (
            KeyRef::Authentication,
            tamga_pki::CertKind::Authentication,
            "sslclient",
        ),
        (
            KeyRef::Signature,
            tamga_pki::CertKind::Signature,
            "smimesign",
        ),
    ] {
        let der = piv
            .read_certificate(slot)
            .unwrap()
            .expect("certificate on card");
        let cert = Certificate::from_der(&der).unwrap();
        let profile = Profile::resolve(ProfileName::of(legal, kind), &a).unwrap();
        tamga_pki::check_certificate(&cert, &profile, &a).unwrap();
        // The certificate is for the card's key.
        let key = piv.metadata(slot).unwrap().unwrap().public.unwrap();
        assert_eq!(
            key.spki_der().unwrap(),
            der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).unwrap()
        );
        let pem = env.path(&format!("{}.pem", slot.to_u8()));
        std::fs::write(&pem, cert.to_pem(der::pem::LineEnding::LF).unwrap()).unwrap();
        let o = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(env.path("ca/ca.pem"))
            .args(["-purpose", purpose])
            .arg(&pem)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl verify -purpose {purpose}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out.push(cert);
    }
    out
}

#[test]
fn status_of_a_fresh_card_warns_about_defaults() {
    let env = Env::new();
    let out = ok(&env.run(&["status"], &[]));
    assert!(
        out.contains("PIN 3/3 tries left, PUK 3/3 tries left"),
        "{out}"
    );
    assert!(out.contains("management key is the factory default"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&env.run(&["--json", "status"], &[]))).unwrap();
    assert_eq!(json["pin"]["tries_left"], 3);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 3);
    assert!(json["slots"][0]["key"].is_null());
}

#[test]
fn init_personalizes_and_protects_the_key_file() {
    let env = Env::new();
    let key = env.path("mgmt.key");
    let key_arg = key.to_str().unwrap();
    let o = env.run(
        &["init", "--new-mgmt-key-file", key_arg],
        &[("TAMGA_NEW_PIN", "24681357"), ("TAMGA_NEW_PUK", "87654321")],
    );
    assert!(ok(&o).contains("personalized"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&env.run(&["--json", "status"], &[]))).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0, "{json}");
    assert_eq!(json["management_key"], "Aes256");
    // The old default key no longer works, the new one does.
    let o = env.run(&["enroll", "--alg", "p256"], &[("TAMGA_PIN", "24681357")]);
    fails(&o, 2, "required");
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    fails(
        &env.run(&args, &[("TAMGA_PIN", "24681357")]),
        5,
        "management key",
    );
    args.extend_from_slice(&["--mgmt-key-file", key_arg]);
    ok(&env.run(&args, &[("TAMGA_PIN", "24681357")]));
    // Init refuses to overwrite a key file.
    fails(
        &env.run(&["init", "--new-mgmt-key-file", key_arg], &[]),
        7,
        "exists",
    );
    // The audit log has the actions and no secret.
    let audit = std::fs::read_to_string(env.path("audit.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"init\"") && audit.contains("\"action\":\"enroll\""));
    assert!(!audit.contains("24681357") && !audit.contains("87654321"));
    let hex = std::fs::read_to_string(&key).unwrap();
    assert!(!audit.contains(hex.trim()));
}

#[test]
fn pin_errors_block_and_unblock() {
    let env = Env::new();
    let change = |pin: &str| {
        env.run(
            &["pin", "change"],
            &[("TAMGA_PIN", pin), ("TAMGA_NEW_PIN", "11223344")],
        )
    };
    fails(&change("000000"), 5, "wrong PIN, 2 tries left");
    fails(&change("000000"), 5, "wrong PIN, 1 try left");
    fails(&change("000000"), 5, "wrong PIN, 0 tries left");
    fails(&change("123456"), 5, "PIN blocked: unblock it with the PUK");
    let out = ok(&env.run(&["pin", "retries"], &[]));
    assert!(out.contains("PIN: 0 of 3 tries left"), "{out}");
    fails(
        &env.run(
            &["pin", "unblock"],
            &[("TAMGA_PUK", "00000000"), ("TAMGA_NEW_PIN", "11223344")],
        ),
        5,
        "wrong PUK, 2 tries left",
    );
    ok(&env.run(
        &["pin", "unblock"],
        &[("TAMGA_PUK", "12345678"), ("TAMGA_NEW_PIN", "11223344")],
    ));
    assert!(ok(&env.run(&["pin", "retries"], &[])).contains("PIN: 3 of 3"));
    // PIN format and sources: never on the command line.
    fails(
        &env.run(
            &["pin", "change"],
            &[("TAMGA_PIN", "11223344"), ("TAMGA_NEW_PIN", "123")],
        ),
        7,
        "6 to 8 characters",
    );
    let missing = env.path("nope.txt");
    fails(
        &env.run(
            &["pin", "change", "--pin-file", missing.to_str().unwrap()],
            &[],
        ),
        7,
        "nope.txt",
    );
}

#[test]
fn enroll_rejects_bad_applicant_data_and_missing_ca() {
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    let bad: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "871008401427" {
                "871008401428"
            } else {
                a
            }
        })
        .collect();
    fails(&env.run(&bad, &[]), 7, "check digit");
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .arg("--card")
        .arg(env.card())
        .args(&args)
        .env_remove("TAMGA_CA")
        .env("TAMGA_PIN", "123456")
        .output()
        .unwrap();
    fails(&o, 7, "no certification authority");
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", &env.card(), "--ca", "/nonexistent/ca"])
        .args(&args)
        .env("TAMGA_PIN", "123456")
        .output()
        .unwrap();
    fails(&o, 6, "/nonexistent/ca");
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", &env.card(), "--ca-url", "http://127.0.0.1:9"])
        .args(&args)
        .env("TAMGA_PIN", "123456")
        .env_remove("TAMGA_CA")
        .output()
        .unwrap();
    fails(&o, 6, "unreachable");
    let mut legal = args.clone();
    legal.extend_from_slice(&["--bin", "940140000386", "--org", "ТОО", "--role", "head"]);
    fails(&env.run(&legal, &[]), 7, "BIN");
}

#[test]
fn enroll_both_profiles_is_idempotent_and_the_certificates_pass_openssl() {
    for (legal, alg) in [(false, "rsa2048"), (true, "p256")] {
        let env = Env::new();
        let mut args = vec!["enroll", "--alg", alg];
        args.extend_from_slice(PERSON);
        if legal {
            args.extend_from_slice(&[
                "--bin",
                "940140000385",
                "--org",
                "ТОО ТАМГА",
                "--role",
                "may-sign",
            ]);
        }
        let out = ok(&env.run(&args, &[]));
        assert_eq!(slots_with(&out, " enrolled "), 2, "{out}");
        assert!(
            out.contains(if legal {
                "legal-auth"
            } else {
                "individual-auth"
            }),
            "{out}"
        );
        let first = check_card_certificates(&env, legal);
        // A rerun finds the job done and changes nothing.
        let out = ok(&env.run(&args, &[]));
        assert_eq!(slots_with(&out, "already enrolled"), 2, "{out}");
        let again = check_card_certificates(&env, legal);
        assert_eq!(first, again);
        let list = tamga_ca::Ca::open(&env.path("ca"))
            .unwrap()
            .with_store(|s| s.list(None, 100))
            .unwrap();
        assert_eq!(list.len(), 2, "no second certificate at the CA");
        // --json carries the steps with their timings.
        let json: serde_json::Value =
            serde_json::from_str(&ok(&env.run(&[&["--json"][..], &args].concat(), &[]))).unwrap();
        assert_eq!(json["certificates"].as_array().unwrap().len(), 2);
        assert!(json["apdus"].as_u64().unwrap() > 0);
    }
}

#[test]
fn sign_verify_revoke_renew() {
    let env = Env::new();
    let doc = env.enrolled_and_signed();
    let d = doc.to_str().unwrap();
    let v = ok(&env.run(&["verify", d], &[]));
    assert!(
        v.contains("valid signature by") && v.contains("not revoked"),
        "{v}"
    );
    // openssl accepts it.
    let o = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(env.path("doc.txt.p7s"))
        .arg("-content")
        .arg(&doc)
        .arg("-CAfile")
        .arg(env.path("ca/ca.pem"))
        .args(["-purpose", "any", "-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Signing needs the right PIN; a wrong one costs a try and says so.
    fails(
        &env.run(&["sign", "--force", d], &[("TAMGA_PIN", "000000")]),
        5,
        "wrong PIN, 2 tries left",
    );
    // A changed document fails.
    std::fs::write(&doc, "Заявление (изменено)\n").unwrap();
    fails(
        &env.run(
            &[
                "verify",
                d,
                "--signature",
                env.path("doc.txt.p7s").to_str().unwrap(),
            ],
            &[],
        ),
        7,
        "does not match",
    );
    fails(
        &env.run(&["sign", env.path("missing.txt").to_str().unwrap()], &[]),
        7,
        "missing.txt",
    );
    std::fs::write(&doc, "Заявление\n").unwrap();
    // Renew: new keys and certificates, the old ones superseded and kept in key history.
    let before = check_card_certificates(&env, false);
    let out = ok(&env.run(&["renew"], &[]));
    assert_eq!(slots_with(&out, " renewed "), 2, "{out}");
    let after = check_card_certificates(&env, false);
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(
            b.tbs_certificate().serial_number(),
            a.tbs_certificate().serial_number()
        );
        assert_ne!(
            b.tbs_certificate().subject_public_key_info(),
            a.tbs_certificate().subject_public_key_info()
        );
    }
    let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    assert!(piv.read_certificate(KeyRef::Retired(1)).unwrap().is_some());
    assert!(piv.read_certificate(KeyRef::Retired(2)).unwrap().is_some());
    assert!(
        piv.read_object(tamga_spec::ObjectTag::KEY_HISTORY)
            .unwrap()
            .is_some()
    );
    drop(piv);
    // The old signature is by a superseded certificate now.
    fails(&env.run(&["verify", d], &[]), 7, "is revoked");
    // The old signature is kept unless the operator says so.
    fails(&env.run(&["sign", d], &[]), 7, "exists: give --force");
    ok(&env.run(&["sign", "--force", d], &[]));
    ok(&env.run(&["verify", d], &[]));
    // Revoke: both certificates on the CRL, the signature no longer verifies.
    let out = ok(&env.run(&["revoke", "--yes", "--reason", "death"], &[]));
    assert_eq!(out.matches("on the CRL: yes").count(), 2, "{out}");
    fails(&env.run(&["verify", d], &[]), 7, "is revoked");
    fails(
        &env.run(
            &["revoke", "--yes", "--reason", "death", "--serial", "00ff"],
            &[],
        ),
        6,
        "unknown serial",
    );
    fails(
        &env.run(&["revoke", "--reason", "bored"], &[]),
        2,
        "invalid value",
    );
}

#[test]
fn demo_runs_the_whole_flow() {
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["demo", "--alg", "p256"])
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(out.contains("enrolled IIN 871008401427"), "{out}");
    assert!(out.contains("a changed document is refused: true"), "{out}");
    assert!(out.contains("2 of 2 on CRL"), "{out}");
}

#[test]
fn trace_masks_secrets() {
    let env = Env::new();
    let o = env.run(
        &["--trace", "pin", "change"],
        &[("TAMGA_NEW_PIN", "24681357")],
    );
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("> 00A4040"), "APDUs are traced: {err}");
    assert!(err.contains("masked"), "{err}");
    // 123456 and 24681357 in hex, as they would appear in a VERIFY/CHANGE body.
    assert!(!err.contains("313233343536"), "{err}");
    assert!(!err.contains("3234363831333537"), "{err}");
}

#[test]
fn a_missing_emulated_card_is_made_only_with_create() {
    let dir = tempfile::tempdir().unwrap();
    let card = format!("emu:{}", dir.path().join("typo.flash").display());
    let status = |create: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tamga"));
        c.args(["--card", &card]);
        if create {
            c.arg("--create");
        }
        c.arg("status").env_remove("TAMGA_CARD").output().unwrap()
    };
    fails(&status(false), 7, "give --create to make a new one");
    assert!(!dir.path().join("typo.flash").exists(), "nothing made");
    let out = ok(&status(true));
    assert!(out.contains("factory default"), "{out}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("typo.flash"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the card's keys are the owner's only");
    // Once made it opens without --create.
    ok(&status(false));
}

#[test]
fn no_reader_or_bad_card_is_a_clear_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", "emu:/nonexistent/dir/card", "status"])
        .output()
        .unwrap();
    fails(&o, 7, "does not exist");
    // Without pcscd: exit 3 and a message; with pcscd: a reader list.
    let o = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", "No Such Reader", "status"])
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = Path::new("");
}

#[test]
fn remote_revoke_after_the_crl_was_fetched_lists_both_serials() {
    let env = Env::new();
    let url = common::serve(&env.path("ca"));
    let remote = |args: &[&str]| {
        let mut a = vec!["--ca-url", url.as_str()];
        a.extend_from_slice(args);
        common::tamga(&env.card(), &a, &[("TAMGA_CA_TOKEN", common::TOKEN)])
    };
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    ok(&remote(&args));
    // A relying party fetches the published CRL: the server caches it.
    let ca_pem = std::fs::read_to_string(env.path("ca/ca.pem")).unwrap();
    let ca_cert = <Certificate as der::DecodePem>::from_pem(ca_pem.as_bytes()).unwrap();
    let published = tamga::ca::RemoteCa::new(&url, None).unwrap();
    let first = tamga::ca::CaClient::current_crl(&published, &ca_cert).unwrap();
    assert!(!first.is_empty());
    let out = ok(&remote(&["revoke", "--yes", "--reason", "death"]));
    assert_eq!(out.matches("on the CRL: yes").count(), 2, "{out}");
    // What the server publishes from now on lists them too.
    let crl = tamga_pki::chain::crl(
        &tamga::ca::CaClient::current_crl(&published, &ca_cert).unwrap(),
        &ca_cert,
    )
    .unwrap();
    assert_eq!(crl.revoked.len(), 2);
    // verify against the remote CA: the anchor is the operator's file, never the server's.
    let doc = env.path("doc.txt");
    std::fs::write(&doc, "text\n").unwrap();
    let mut sign = common::tamga(&env.card(), &["sign", doc.to_str().unwrap()], &[]);
    ok(&sign);
    let d = doc.to_str().unwrap();
    fails(&remote(&["verify", d]), 7, "give --ca-cert");
    let ca_pem = env.path("ca/ca.pem");
    sign = remote(&["verify", d, "--ca-cert", ca_pem.to_str().unwrap()]);
    fails(&sign, 7, "is revoked");
}

/// Rows of a CA table, read through the CA crate (with the key).
fn rows(env: &Env, table: &str) -> i64 {
    tamga_ca::Ca::open(&env.path("ca"))
        .unwrap()
        .with_store(|s| s.count(table))
        .unwrap()
}

#[test]
fn verify_reads_the_published_crl_without_the_ca_key_and_writes_nothing() {
    let env = Env::new();
    let doc = env.enrolled_and_signed();
    let d = doc.to_str().unwrap();
    let (crls, audit) = (rows(&env, "crls"), rows(&env, "audit"));
    // The CA key is gone: verify still works and changes nothing.
    let key = env.path("ca/ca.key");
    let aside = env.path("ca.key.aside");
    std::fs::rename(&key, &aside).unwrap();
    let v = ok(&env.run(&["verify", d], &[]));
    assert!(v.contains("not revoked"), "{v}");
    fails(
        &env.run(&["revoke", "--yes", "--reason", "death"], &[]),
        6,
        "ca.key",
    );
    std::fs::rename(&aside, &key).unwrap();
    assert_eq!((rows(&env, "crls"), rows(&env, "audit")), (crls, audit));
    // An expired CRL is not silently trusted.
    tamga_ca::Ca::open(&env.path("ca"))
        .unwrap()
        .with_store(|s| {
            s.conn()
                .execute("UPDATE crls SET next_update = 1000", [])
                .map_err(tamga_ca::Error::from)
        })
        .unwrap();
    fails(&env.run(&["verify", d], &[]), 6, "has expired");
}

#[test]
fn exit_codes_follow_what_went_wrong() {
    use tamga::piv::{MgmtKey, Pin};
    use tamga_spec::{Algorithm, PinPolicy, TouchPolicy};
    let env = Env::new();
    let doc = env.path("doc.txt");
    std::fs::write(&doc, "x").unwrap();
    let d = doc.to_str().unwrap();
    let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    // An empty slot: the card refuses (8), not "invalid input".
    let e = piv
        .sign(KeyRef::Signature, Algorithm::EccP256, &[0; 32])
        .unwrap_err();
    assert!(matches!(e, tamga::Error::EmptySlot(0x9C)), "{e}");
    assert_eq!(e.exit_code(), 8);
    // Generating needs the management key: a key problem (5).
    let e = piv
        .generate(
            KeyRef::Signature,
            Algorithm::EccP256,
            PinPolicy::Default,
            TouchPolicy::Default,
        )
        .unwrap_err();
    assert!(matches!(e, tamga::Error::NeedsManagementKey(_)), "{e}");
    assert_eq!(e.exit_code(), 5);
    // The command line: a certificate in 9C, no key there.
    piv.authenticate(&MgmtKey::default_key()).unwrap();
    let ca_pem = std::fs::read_to_string(env.path("ca/ca.pem")).unwrap();
    let (_, ca_der) = pem_rfc7468::decode_vec(ca_pem.as_bytes()).unwrap();
    piv.write_certificate(KeyRef::Signature, &ca_der).unwrap();
    drop(piv);
    fails(&env.run(&["sign", d], &[]), 8, "slot 9C holds no key");
    // A key that is not the certificate's: refused before anything is signed.
    let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    piv.authenticate(&MgmtKey::default_key()).unwrap();
    piv.generate(
        KeyRef::Signature,
        Algorithm::EccP256,
        PinPolicy::Default,
        TouchPolicy::Default,
    )
    .unwrap();
    // Signing without the PIN: a PIN problem (5).
    let e = piv
        .sign(KeyRef::Signature, Algorithm::EccP256, &[0; 32])
        .unwrap_err();
    assert!(
        matches!(e, tamga::Error::NeedsPin { slot: 0x9C, .. }),
        "{e}"
    );
    assert_eq!(e.exit_code(), 5);
    piv.verify_pin(&Pin::new(b"123456").unwrap()).unwrap();
    assert_eq!(
        piv.sign(KeyRef::Signature, Algorithm::EccP256, &[0; 32])
            .unwrap()
            .first(),
        Some(&0x30),
        "a DER signature once the PIN is verified"
    );
    drop(piv);
    fails(&env.run(&["sign", d], &[]), 7, "not for the key in 9C");
    assert!(!env.path("doc.txt.p7s").exists());
}

#[test]
fn an_os_rng_failure_exits_1_not_no_reader() {
    // A shim that makes getrandom(2) fail with EIO for requests of 32 bytes
    // (the new AES-256 management key); others (the standard library's hash
    // keys) go to the kernel.
    let env = Env::new();
    let src = env.path("rngfail.c");
    std::fs::write(
        &src,
        "#define _GNU_SOURCE\n#include <errno.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         ssize_t getrandom(void *b, size_t n, unsigned f) {\n\
           if (n == 32) { errno = EIO; return -1; }\n\
           return syscall(SYS_getrandom, b, n, f);\n}\n",
    )
    .unwrap();
    let so = env.path("rngfail.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let key = env.path("card.key");
    let o = env.run(
        &["init", "--new-mgmt-key-file", key.to_str().unwrap()],
        &[
            ("LD_PRELOAD", so.to_str().unwrap()),
            ("TAMGA_NEW_PIN", "24681357"),
            ("TAMGA_NEW_PUK", "13572468"),
            ("TAMGA_PUK", "12345678"),
        ],
    );
    fails(&o, 1, "OS random number generator");
    assert!(!key.exists(), "no key file written");
}

/// The public keys of 9A and 9C on the emulated card.
fn card_keys(env: &Env) -> Vec<Vec<u8>> {
    let mut piv =
        tamga::piv::Piv::new(tamga::transport::emu::EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    [KeyRef::Authentication, KeyRef::Signature]
        .iter()
        .map(|s| {
            piv.metadata(*s)
                .unwrap()
                .unwrap()
                .public
                .unwrap()
                .spki_der()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_revoked_card_is_enrolled_anew_and_not_renewed() {
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
    let before = card_keys(&env);
    let live = ok(&env.run(&["status"], &[]));
    assert_eq!(live.matches("at the CA: valid").count(), 2, "{live}");
    assert!(live.contains("days left"), "{live}");
    ok(&env.run(&["revoke", "--yes", "--reason", "key-compromise"], &[]));
    // status says what the CA says.
    let st = ok(&env.run(&["status"], &[]));
    assert_eq!(
        st.matches("at the CA: revoked (key-compromise)").count(),
        2,
        "{st}"
    );
    assert!(
        st.contains("warning: slot 9C: the certificate is revoked (key-compromise) at the CA"),
        "{st}"
    );
    let js: serde_json::Value =
        serde_json::from_str(&ok(&env.run(&["--json", "status"], &[]))).unwrap();
    assert_eq!(
        js["slots"][1]["certificate"]["at_the_ca"],
        "revoked (key-compromise)"
    );
    assert_eq!(js["slots"][1]["certificate"]["for_the_slots_key"], true);
    // Renewal asks the CA first: refused before any key is made.
    let o = env.run(&["renew"], &[]);
    fails(&o, 6, "revoked (key-compromise)");
    assert_eq!(card_keys(&env), before, "the card is left as it was");
    // Enrolment asks the CA too: the revoked certificates are not "already enrolled".
    let out = ok(&env.run(&args, &[]));
    assert_eq!(
        out.matches("enrolled anew (the certificate on the card was revoked)")
            .count(),
        2,
        "{out}"
    );
    assert!(!out.contains("already enrolled"), "{out}");
    let after = card_keys(&env);
    assert!(after[0] != before[0] && after[1] != before[1], "new keys");
    // And now they are live: a third run changes nothing.
    let out = ok(&env.run(&args, &[]));
    assert_eq!(out.matches("already enrolled").count(), 2, "{out}");
    assert_eq!(card_keys(&env), after);
}

#[test]
fn a_new_pin_typed_at_the_terminal_is_asked_twice() {
    use tamga_testkit::pty::{Keys, Typist};
    let env = Env::new();
    ok(&env.run(&["status"], &[]));
    let typist = Typist::new();
    let line = |s: &str| Keys::Line(s.into(), std::time::Duration::ZERO);
    // current PIN; new PIN twice but different; too short; then twice the same.
    for k in [
        "123456", "24681357", "24681358", "12", "24681357", "24681357",
    ] {
        typist.then(line(k));
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_tamga"));
    c.args(["--card", &env.card(), "pin", "change"])
        .env_remove("TAMGA_PIN")
        .env_remove("TAMGA_NEW_PIN");
    typist.attach(&mut c).unwrap();
    let status = c.status().unwrap();
    assert!(status.success(), "{}", typist.screen());
    let screen = typist.screen();
    assert!(screen.contains("the two entries differ"), "{screen}");
    assert!(
        screen.contains("a PIN or PUK has 6 to 8 characters"),
        "{screen}"
    );
    assert_eq!(typist.prompts(), 6, "{screen}");
    // The new PIN is the one typed twice.
    let change = |old: &str| {
        env.run(
            &["pin", "change"],
            &[("TAMGA_PIN", old), ("TAMGA_NEW_PIN", "97531864")],
        )
    };
    fails(&change("24681358"), 5, "wrong PIN");
    ok(&change("24681357"));
}

#[test]
fn revoke_asks_first_and_the_owner_confirms_with_the_pin() {
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
    let valid = |env: &Env| {
        ok(&env.run(&["status"], &[]))
            .matches("at the CA: valid")
            .count()
    };
    // Not on a terminal and no --yes: nothing is revoked.
    fails(
        &env.run(&["revoke", "--reason", "death"], &[]),
        7,
        "confirm it at the prompt, or give --yes",
    );
    // The owner's request with a wrong PIN: nothing is revoked either.
    fails(
        &env.run(
            &["revoke", "--yes", "--reason", "owner-request"],
            &[("TAMGA_PIN", "000000")],
        ),
        5,
        "wrong PIN",
    );
    assert_eq!(valid(&env), 2);
    // At the terminal: the certificates are named and "n" revokes nothing.
    use tamga_testkit::pty::Typist;
    let typist = Typist::new();
    let mut c = Command::new(env!("CARGO_BIN_EXE_tamga"));
    c.args(["--card", &env.card(), "--ca"])
        .arg(env.path("ca"))
        .args(["revoke", "--reason", "death"]);
    typist.attach(&mut c).unwrap();
    let mut child = c.spawn().unwrap();
    for _ in 0..100 {
        if typist.screen().contains("[y/N]") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    typist.type_now("n\n");
    assert!(!child.wait().unwrap().success());
    let screen = typist.screen();
    assert!(
        screen.contains("to be revoked (death): ") && screen.contains("ИСМАИЛОВ"),
        "{screen}"
    );
    assert_eq!(valid(&env), 2);
    ok(&env.run(&["revoke", "--yes", "--reason", "owner-request"], &[]));
    assert_eq!(valid(&env), 0);
}

#[test]
fn init_with_a_wrong_puk_changes_nothing() {
    let env = Env::new();
    let key = env.path("card.key");
    let init = |puk: &str| {
        env.run(
            &["init", "--new-mgmt-key-file", key.to_str().unwrap()],
            &[
                ("TAMGA_PUK", puk),
                ("TAMGA_NEW_PIN", "24681357"),
                ("TAMGA_NEW_PUK", "87654321"),
            ],
        )
    };
    fails(&init("00000000"), 5, "wrong PUK, 2 tries left");
    assert!(
        !key.exists(),
        "no key file for a card whose key did not change"
    );
    let st = ok(&env.run(&["status"], &[]));
    assert!(st.contains("the PIN is the factory default"), "{st}");
    assert!(
        st.contains("the management key is the factory default"),
        "{st}"
    );
    // The same command with the right PUK then personalizes the card.
    ok(&init("12345678"));
    let st = ok(&env.run(&["status"], &[]));
    assert!(!st.contains("factory default"), "{st}");
}

#[test]
fn a_dead_ca_or_a_wrong_token_is_found_before_any_key_is_made() {
    let env = Env::new();
    let url = common::serve(&env.path("ca"));
    let keys = |env: &Env| {
        let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
        piv.select().unwrap();
        [KeyRef::Authentication, KeyRef::Signature]
            .iter()
            .filter(|s| piv.metadata(**s).unwrap().is_some())
            .count()
    };
    let enroll = |ca_url: &str, token: &str| {
        let mut args = vec!["--ca-url", ca_url, "enroll", "--alg", "p256"];
        args.extend_from_slice(PERSON);
        common::tamga(&env.card(), &args, &[("TAMGA_CA_TOKEN", token)])
    };
    fails(&enroll(&url, "not-the-operator-token-000"), 6, "401");
    assert_eq!(
        keys(&env),
        0,
        "no key made for a CA that refuses the operator"
    );
    fails(
        &enroll("http://127.0.0.1:9", common::TOKEN),
        6,
        "unreachable",
    );
    assert_eq!(keys(&env), 0, "no key made for a dead CA");
    ok(&enroll(&url, common::TOKEN));
    assert_eq!(keys(&env), 2);
}

#[test]
fn an_unwritable_audit_log_stops_the_action_and_wrong_pins_are_audited() {
    let env = Env::new();
    let doc = env.enrolled_and_signed();
    let d = doc.to_str().unwrap();
    // The audit log is a directory: nothing is done.
    let ca = env.path("ca");
    let o = common::tamga(
        &env.card(),
        &[
            "--ca",
            ca.to_str().unwrap(),
            "--audit",
            env.dir.path().to_str().unwrap(),
            "sign",
            "--force",
            "--out",
            env.path("other.p7s").to_str().unwrap(),
            d,
        ],
        &[],
    );
    fails(&o, 7, "nothing was done");
    assert!(!env.path("other.p7s").exists());
    // A wrong PIN at signing is in the audit log, without the PIN.
    fails(
        &env.run(&["sign", "--force", d], &[("TAMGA_PIN", "000000")]),
        5,
        "wrong PIN",
    );
    let log = std::fs::read_to_string(env.path("audit.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("sign"), Some("wrong PIN"))
    );
    assert!(!log.contains("000000"));
}

#[test]
fn real_names_and_phones_as_people_write_them() {
    let env = Env::new();
    let out = ok(&env.run(
        &[
            "enroll",
            "--alg",
            "p256",
            "--iin",
            "871008401427",
            "--surname",
            "O'BRIEN-ÁBDİKERİMOVA",
            "--name",
            "Áıgerim",
            "--phone",
            "+7 701 123-45-67",
        ],
        &[],
    ));
    assert!(out.contains("individual-sign"), "{out}");
    let mut piv = Piv::new(EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    let cert =
        Certificate::from_der(&piv.read_certificate(KeyRef::Signature).unwrap().unwrap()).unwrap();
    let subject = cert.tbs_certificate().subject().to_string();
    assert!(
        subject.contains("CN=O'BRIEN-ÁBDİKERİMOVA ÁIGERIM"),
        "{subject}"
    );
    // A name that is no name is still refused, clearly.
    fails(
        &env.run(
            &[
                "enroll",
                "--alg",
                "p256",
                "--iin",
                "871008401427",
                "--surname",
                "X,CN=ROOT",
                "--name",
                "A",
            ],
            &[],
        ),
        7,
        "not allowed",
    );
}

#[test]
fn with_json_an_error_is_one_json_object() {
    let env = Env::new();
    let o = env.run(&["--json", "sign", "missing.txt"], &[]);
    assert_eq!(o.status.code(), Some(7));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(v["exit_code"], 7);
    assert!(v["error"].as_str().unwrap().contains("missing.txt"), "{v}");
}
