//! Interoperability with the host tools a PIV card meets in the field:
//! OpenSC (`opensc-tool`, `pkcs11-tool`, `piv-tool`, `opensc-pkcs11.so`),
//! `yubico-piv-tool`, and Yubico's `libykcs11.so`, plus PKCS#11 from Rust
//! (`cryptoki`). Each test puts a fresh `tamga-vcard` in vpcd's first reader,
//! runs the tool and checks its answer; signatures are verified with openssl
//! or the `rsa`/`p256` crates against the certificate or key GET METADATA
//! reports. A test prints `SKIPPED <test>: <why>` when vpcd or its tool is
//! missing.

mod common;

use std::ffi::OsStr;

use common::*;
use tamga::piv::{MgmtKey, Pin, PublicKey};
use tamga_spec::{Algorithm, KeyRef, Origin, defaults};

/// `pkcs11-tool --module <module>` and `--slot <id>` of the slot whose
/// description is `reader`, read from `pkcs11-tool -L`.
fn p11_args(b: &Bench, module: &str, reader: &str) -> Vec<String> {
    let list = b.run_ok("pkcs11-tool", ["--module", module, "-L"], &[]);
    // "Slot 0 (0x0): Virtual PCD 00 00"
    let id = list
        .lines()
        .find(|l| l.starts_with("Slot ") && l.trim_end().ends_with(reader))
        .and_then(|l| Some(l.split_once('(')?.1.split_once(')')?.0.to_string()))
        .unwrap_or_else(|| b.fail(&format!("no slot for {reader} in pkcs11-tool -L:\n{list}")));
    ["--module", module, "--slot", &id]
        .map(String::from)
        .to_vec()
}

/// The bytes of a public key (modulus or EC point), to find them in a
/// GENERATE response.
fn key_bytes(key: &PublicKey) -> &[u8] {
    match key {
        PublicKey::P256(p) => p,
        PublicKey::Rsa { n, .. } => n,
        PublicKey::Gost { point, .. } => point,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

// ---- OpenSC -----------------------------------------------------------------

#[test]
fn opensc_tool_names_the_card() {
    let Some(b) = bench("opensc_tool_names_the_card", &["opensc-tool"]) else {
        return;
    };
    let out = b.run_ok("opensc-tool", ["-r", READER, "-n"], &[]);
    b.check(
        out.trim() == "Personal Identity Verification Card",
        &format!("opensc-tool -n names the PIV driver, not {out:?}"),
    );
    println!("opensc-tool -n: card driver {:?}", out.trim());
}

#[test]
fn pkcs11_tool_lists_nca_objects() {
    let Some(b) = bench(
        "pkcs11_tool_lists_nca_objects",
        &["pkcs11-tool", OPENSC_PKCS11],
    ) else {
        return;
    };
    b.enrol(Algorithm::Rsa2048);
    let p11 = p11_args(&b, OPENSC_PKCS11, READER);
    let public = b.run_ok("pkcs11-tool", p11.iter().chain(&["-O".into()]), &[]);
    for want in [
        "Certificate for PIV Authentication",
        "Certificate for Digital Signature",
        "PIV AUTH pubkey",
        "SIGN pubkey",
        "871008401427",
    ] {
        b.check(
            public.contains(want),
            &format!("pkcs11-tool -O lists {want:?}:\n{public}"),
        );
    }
    let args = ["--login", "--pin", PIN, "-O"].map(String::from);
    let private = b.run_ok("pkcs11-tool", p11.iter().chain(&args), &[]);
    for want in ["PIV AUTH key", "SIGN key"] {
        b.check(
            private.contains(want),
            &format!("pkcs11-tool --login -O lists the private key {want:?}:\n{private}"),
        );
    }
    b.check(
        private.matches("Private Key Object; RSA").count() == 2,
        "two RSA private keys",
    );
    println!("pkcs11-tool -L/-O: both NCA certificates, public and private keys listed");
}

/// `pkcs11-tool --test --login`: OpenSC's own round of signatures,
/// verifications and decryptions with every key it finds.
fn pkcs11_tool_self_test(test: &str, alg: Algorithm) {
    let Some(b) = bench(test, &["pkcs11-tool", OPENSC_PKCS11]) else {
        return;
    };
    b.enrol(alg);
    let p11 = p11_args(&b, OPENSC_PKCS11, READER);
    let args = ["--test", "--login", "--pin", PIN].map(String::from);
    let out = b.run_ok("pkcs11-tool", p11.iter().chain(&args), &[]);
    b.check(
        out.contains("No errors"),
        &format!("pkcs11-tool --test reports no errors:\n{out}"),
    );
    println!("pkcs11-tool --test --login ({alg:?} card): No errors");
}

#[test]
fn pkcs11_tool_self_test_rsa2048() {
    pkcs11_tool_self_test("pkcs11_tool_self_test_rsa2048", Algorithm::Rsa2048);
}

#[test]
fn pkcs11_tool_self_test_p256() {
    pkcs11_tool_self_test("pkcs11_tool_self_test_p256", Algorithm::EccP256);
}

/// `pkcs11-tool --sign` with the signature key (id 02), checked by openssl
/// with the 9C certificate's key, and refused with the 9A one.
fn pkcs11_tool_signs(test: &str, alg: Algorithm) {
    let Some(b) = bench(test, &["pkcs11-tool", "openssl", OPENSC_PKCS11]) else {
        return;
    };
    b.enrol(alg);
    let sig_key = b.write_cert_key(&b.certificate(KeyRef::Signature), "9c.pem");
    let auth_key = b.write_cert_key(&b.certificate(KeyRef::Authentication), "9a.pem");
    let (data, sig) = (b.path("data.txt"), b.path("data.sig"));
    std::fs::write(&data, "Tamga interop: pkcs11-tool --sign\n").unwrap();
    let mut args = p11_args(&b, OPENSC_PKCS11, READER);
    let mech: &[&str] = match alg {
        Algorithm::Rsa2048 => &["--mechanism", "SHA256-RSA-PKCS"],
        _ => &[
            "--mechanism",
            "ECDSA-SHA256",
            "--signature-format",
            "openssl",
        ],
    };
    args.extend(mech.iter().map(|s| s.to_string()));
    args.extend(["--sign", "--id", "02", "--login", "--pin", PIN].map(String::from));
    args.extend(["-i".into(), data.display().to_string()]);
    args.extend(["-o".into(), sig.display().to_string()]);
    b.run_ok("pkcs11-tool", &args, &[]);
    b.check(
        b.openssl_verifies(&sig_key, &data, &sig),
        "openssl verifies the signature with the 9C certificate's key",
    );
    b.check(
        !b.openssl_verifies(&auth_key, &data, &sig),
        "the 9A key does not verify it (the right key signed)",
    );
    println!(
        "pkcs11-tool --sign {} --id 02: openssl verifies with the 9C certificate",
        mech.join(" ")
    );
}

#[test]
fn pkcs11_tool_signs_rsa2048() {
    pkcs11_tool_signs("pkcs11_tool_signs_rsa2048", Algorithm::Rsa2048);
}

#[test]
fn pkcs11_tool_signs_p256() {
    pkcs11_tool_signs("pkcs11_tool_signs_p256", Algorithm::EccP256);
}

/// `piv-tool -A M:9B:03 -G <slot>:<alg>` with the factory key from
/// PIV_EXT_AUTH_KEY. The key the card answered GENERATE with (from the card's
/// trace) and the key piv-tool writes must be the one GET METADATA reports.
///
/// OpenSC 0.23's piv-tool fails after the card's successful answer when it
/// builds the public key with OpenSSL 3 ("gen_key unable to gen RSA",
/// OpenSC#3156, fixed by OpenSC#3158; "unable to gen EC key"): a host-side
/// failure, accepted only when the card's answer is right.
#[test]
fn piv_tool_generates_with_admin_key() {
    let Some(b) = bench("piv_tool_generates_with_admin_key", &["piv-tool"]) else {
        return;
    };
    let keyfile = b.path("admin.key");
    // The format piv-tool(1) documents: XX:XX:...:XX.
    std::fs::write(&keyfile, hex(&defaults::MANAGEMENT_KEY, ":") + "\n").unwrap();
    for (slot, alg, known_failure) in [
        (KeyRef::Authentication, "07", "gen_key unable to gen RSA"),
        (
            KeyRef::CardAuthentication,
            "11",
            "gen_key unable to gen EC key",
        ),
    ] {
        let out_file = b.path(&format!("piv-tool-{:02X}.der", slot.to_u8()));
        let _ = std::fs::remove_file(&out_file);
        let r = b.run(
            "piv-tool",
            [
                "-r",
                READER,
                "-A",
                "M:9B:03",
                "-G",
                &format!("{:02X}:{alg}", slot.to_u8()),
                "-o",
                &out_file.display().to_string(),
            ],
            &[("PIV_EXT_AUTH_KEY", keyfile.as_os_str())],
        );
        let (answer, sw) = trace_response(b.card.trace(), &[0x00, 0x47, 0x00, slot.to_u8()])
            .unwrap_or_else(|| b.fail(&format!("piv-tool sent no GENERATE:\n{}", r.out)));
        b.check(sw == 0x9000, &format!("GENERATE answered {sw:04X}"));
        let meta = b
            .piv()
            .metadata(slot)
            .unwrap()
            .unwrap_or_else(|| b.fail("no key after GENERATE"));
        b.check(meta.origin == Some(Origin::Generated), "origin: generated");
        let key = meta.public.unwrap_or_else(|| b.fail("no public key"));
        b.check(
            contains(&answer, key_bytes(&key)),
            "the GENERATE answer carries the key GET METADATA reports",
        );
        let written = std::fs::read(&out_file).unwrap_or_default();
        if r.ok {
            b.check(
                written == key_spki(&key),
                "piv-tool's public key (DER SPKI) is the one GET METADATA reports",
            );
            println!(
                "piv-tool -A M:9B:03 -G {:02X}:{alg}: public key = GET METADATA",
                slot.to_u8()
            );
        } else if r.out.contains(known_failure) {
            println!(
                "piv-tool -A M:9B:03 -G {:02X}:{alg}: card answered 9000 with the key GET METADATA \
                 reports; piv-tool then failed host-side ({known_failure:?}, OpenSC 0.23 + OpenSSL 3)",
                slot.to_u8()
            );
        } else {
            b.fail(&format!("piv-tool -G failed:\n{}", r.out));
        }
    }
}

// ---- yubico-piv-tool --------------------------------------------------------

/// `yubico-piv-tool -r <reader> <args>`, which must succeed.
fn ykpiv(b: &Bench, args: &[&str]) -> String {
    b.run_ok("yubico-piv-tool", ["-r", READER].iter().chain(args), &[])
}

#[test]
fn yubico_piv_tool_status() {
    let Some(b) = bench("yubico_piv_tool_status", &["yubico-piv-tool"]) else {
        return;
    };
    b.enrol(Algorithm::EccP256);
    let serial = b.piv().serial().unwrap();
    let out = ykpiv(&b, &["-a", "status"]);
    for slot in ["Slot 9a:", "Slot 9c:"] {
        let listed = out.split(slot).nth(1).unwrap_or("");
        b.check(
            listed.contains("ECCP256") && listed.contains("871008401427"),
            &format!("status shows the NCA certificate in {slot}:\n{out}"),
        );
    }
    let [major, minor, patch] = defaults::COMPAT_VERSION;
    let version = format!("{major}.{minor}.{patch}");
    let tries = defaults::PIN_RETRIES;
    for want in [
        format!("Version:\t{version}"),
        format!("Serial Number:\t{serial}"),
        format!("PIN tries left:\t{tries}"),
    ] {
        b.check(
            out.contains(&want),
            &format!("status shows {want:?}:\n{out}"),
        );
    }
    println!(
        "yubico-piv-tool -a status: version {version}, serial {serial}, {tries} PIN tries, \
         NCA certificates in 9a and 9c"
    );
}

#[test]
fn yubico_piv_tool_generates_in_every_slot() {
    let Some(b) = bench(
        "yubico_piv_tool_generates_in_every_slot",
        &["yubico-piv-tool"],
    ) else {
        return;
    };
    for (slot, alg) in [
        (KeyRef::Authentication, "RSA2048"),
        (KeyRef::Signature, "ECCP256"),
        (KeyRef::KeyManagement, "RSA2048"),
        (KeyRef::CardAuthentication, "ECCP256"),
    ] {
        let s = format!("{:02x}", slot.to_u8());
        let pem = b.path(&format!("pub{s}.pem"));
        let pem_arg = pem.display().to_string();
        ykpiv(&b, &["-a", "generate", "-s", &s, "-A", alg, "-o", &pem_arg]);
        let written = pem_der(&std::fs::read_to_string(&pem).unwrap_or_default())
            .unwrap_or_else(|| b.fail(&format!("no PEM public key from generate -s {s}")));
        let meta = b
            .metadata_key(slot)
            .unwrap_or_else(|| b.fail(&format!("no key in {s} after generate")));
        let want = if alg == "RSA2048" {
            Algorithm::Rsa2048
        } else {
            Algorithm::EccP256
        };
        b.check(meta.algorithm() == want, &format!("{s} holds an {alg} key"));
        b.check(
            written == key_spki(&meta),
            &format!("the PEM of generate -s {s} is the key GET METADATA reports"),
        );
    }
    println!("yubico-piv-tool -a generate 9a/9c/9d/9e (RSA2048, ECCP256): PEM = GET METADATA");
}

/// selfsign-certificate, import-certificate and test-signature on 9A.
///
/// yubico-piv-tool 2.2 with OpenSSL 3 fails selfsign-certificate (and
/// request-certificate) in the host before sending any signature APDU
/// ("Failed signing certificate", Yubico/yubico-piv-tool#388). The test then
/// makes the certificate for the card's key with openssl (a throwaway issuer
/// key, `-force_pubkey`), and goes on with the card operations.
fn yubico_piv_tool_certificate(test: &str, alg: &str) {
    let Some(b) = bench(test, &["yubico-piv-tool", "openssl"]) else {
        return;
    };
    let (public, cert) = (b.path("pub.pem"), b.path("cert.pem"));
    let (public_arg, cert_arg) = (public.display().to_string(), cert.display().to_string());
    ykpiv(
        &b,
        &["-a", "generate", "-s", "9a", "-A", alg, "-o", &public_arg],
    );
    let r = b.run(
        "yubico-piv-tool",
        [
            "-r",
            READER,
            "-a",
            "verify-pin",
            "-P",
            PIN,
            "-a",
            "selfsign-certificate",
            "-s",
            "9a",
            "-S",
            "/CN=test/",
            "-i",
            &public_arg,
            "-o",
            &cert_arg,
        ],
        &[],
    );
    b.check(
        r.out.contains("Successfully verified PIN"),
        &format!("verify-pin:\n{}", r.out),
    );
    let how = if r.ok {
        "selfsign-certificate"
    } else {
        // The known host-side failure: no GENERAL AUTHENTICATE reached the card.
        let (_, sw) = trace_response(b.card.trace(), &[0x00, 0x20, 0x00, 0x80]).unwrap();
        let last = trace_tail(b.card.trace(), 1);
        b.check(
            r.out.contains("Failed signing certificate")
                && sw == 0x9000
                && last.starts_with("> 00200080"),
            &format!(
                "selfsign-certificate failed other than the known OpenSSL 3 way:\n{}",
                r.out
            ),
        );
        let issuer = b.path("issuer.key");
        b.run_ok(
            "openssl",
            [
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ]
            .iter()
            .map(OsStr::new)
            .chain([issuer.as_os_str()]),
            &[],
        );
        b.run_ok(
            "openssl",
            ["x509", "-new", "-subj", "/CN=test", "-days", "2", "-key"]
                .iter()
                .map(OsStr::new)
                .chain([issuer.as_os_str(), OsStr::new("-force_pubkey")])
                .chain([public.as_os_str(), OsStr::new("-out"), cert.as_os_str()]),
            &[],
        );
        "openssl x509 -force_pubkey (selfsign-certificate fails host-side in 2.2 + OpenSSL 3)"
    };
    let out = ykpiv(
        &b,
        &["-a", "import-certificate", "-s", "9a", "-i", &cert_arg],
    );
    b.check(out.contains("Successfully imported"), "import-certificate");
    let want = pem_der(&std::fs::read_to_string(&cert).unwrap()).unwrap();
    b.check(
        b.certificate(KeyRef::Authentication) == want,
        "the card's 9A certificate is the imported one",
    );
    let out = ykpiv(
        &b,
        &[
            "-a",
            "verify-pin",
            "-P",
            PIN,
            "-a",
            "test-signature",
            "-s",
            "9a",
            "-i",
            &cert_arg,
        ],
    );
    b.check(
        out.contains("Successful RSA verification")
            || out.contains("Successful ECDSA verification"),
        &format!("test-signature verifies:\n{out}"),
    );
    println!(
        "yubico-piv-tool {alg} 9a: certificate by {how}; import-certificate, test-signature ok"
    );
}

#[test]
fn yubico_piv_tool_certificate_rsa2048() {
    yubico_piv_tool_certificate("yubico_piv_tool_certificate_rsa2048", "RSA2048");
}

#[test]
fn yubico_piv_tool_certificate_p256() {
    yubico_piv_tool_certificate("yubico_piv_tool_certificate_p256", "ECCP256");
}

#[test]
fn yubico_piv_tool_changes_pin_and_puk() {
    let Some(b) = bench("yubico_piv_tool_changes_pin_and_puk", &["yubico-piv-tool"]) else {
        return;
    };
    let out = ykpiv(&b, &["-a", "verify-pin", "-P", PIN]);
    b.check(out.contains("Successfully verified PIN"), "verify-pin");
    let out = ykpiv(&b, &["-a", "change-pin", "-P", PIN, "-N", "654321"]);
    b.check(out.contains("Successfully changed the pin"), "change-pin");
    let out = ykpiv(&b, &["-a", "change-puk", "-P", PUK, "-N", "87654321"]);
    b.check(out.contains("Successfully changed the puk"), "change-puk");
    let mut piv = b.piv();
    b.check(piv.verify_pin(&pin()).is_err(), "the old PIN is refused");
    piv.verify_pin(&Pin::new(b"654321").unwrap())
        .unwrap_or_else(|e| b.fail(&format!("new PIN: {e}")));
    piv.unblock(
        &Pin::new(b"87654321").unwrap(),
        &Pin::new(b"11223344").unwrap(),
    )
    .unwrap_or_else(|e| b.fail(&format!("new PUK: {e}")));
    for k in [KeyRef::Pin, KeyRef::Puk] {
        let m = piv.metadata(k).unwrap().unwrap();
        b.check(m.is_default == Some(false), "no longer the factory value");
    }
    println!("yubico-piv-tool verify-pin, change-pin, change-puk: the library uses the new values");
}

/// set-mgm-key: yubico-piv-tool 2.2 only sets 3DES keys (48 hex digits, no
/// `-m`); the library then authenticates with the new key, and the factory
/// key is refused.
#[test]
fn yubico_piv_tool_sets_management_key() {
    let Some(b) = bench("yubico_piv_tool_sets_management_key", &["yubico-piv-tool"]) else {
        return;
    };
    let new = "112233445566778899aabbccddeeff001122334455667788";
    // --key takes an optional argument: only the `--key=` form sets it.
    let key = format!("--key={}", default_mgmt_hex());
    let out = ykpiv(&b, &[&key, "-a", "set-mgm-key", "-n", new]);
    b.check(
        out.contains("Successfully set new management key"),
        "set-mgm-key",
    );
    let mut piv = b.piv();
    b.check(
        piv.authenticate(&MgmtKey::default_key()).is_err(),
        "the factory key is refused",
    );
    piv.authenticate(&MgmtKey::from_hex(Some(Algorithm::Tdes), new).unwrap())
        .unwrap_or_else(|e| b.fail(&format!("authenticate with the new key: {e}")));
    let m = piv.metadata(KeyRef::Management).unwrap().unwrap();
    b.check(
        m.alg == Algorithm::Tdes.to_u8() && m.is_default == Some(false),
        "GET METADATA: 3DES, not default",
    );
    drop(piv);
    // And yubico-piv-tool itself with the new key.
    let key = format!("--key={new}");
    ykpiv(&b, &[&key, "-a", "generate", "-s", "9e", "-A", "ECCP256"]);
    b.check(
        b.metadata_key(KeyRef::CardAuthentication).is_some(),
        "9E generated with the new key",
    );
    println!("yubico-piv-tool set-mgm-key (3DES): library and tool authenticate with the new key");
}

// ---- PKCS#11 from Rust ----------------------------------------------------------

/// cryptoki on OpenSC's module: login, the 9C private key (CKA_ID 02),
/// SHA256-RSA-PKCS or ECDSA-SHA256, verified against the 9C certificate.
fn cryptoki_opensc(test: &str, alg: Algorithm) {
    let Some(b) = bench(test, &[OPENSC_PKCS11]) else {
        return;
    };
    b.enrol(alg);
    let cert = b.certificate(KeyRef::Signature);
    let data = b"Tamga interop: cryptoki + opensc-pkcs11";
    let s = pkcs11_sign(OPENSC_PKCS11, READER, 0x02, alg, data)
        .unwrap_or_else(|e| b.fail(&format!("opensc-pkcs11: {e}")));
    b.check(s.certificate == cert, "the module's certificate 02 is 9C's");
    b.check(
        verify_with_cert(&cert, data, &s.signature),
        "the signature verifies with the 9C certificate",
    );
    b.check(
        !verify_with_cert(&b.certificate(KeyRef::Authentication), data, &s.signature),
        "and not with 9A's",
    );
    println!(
        "cryptoki + opensc-pkcs11 ({alg:?}, token {:?}, always-authenticate {}): signature verifies",
        s.token, s.always_authenticate
    );
}

#[test]
fn cryptoki_opensc_signs_rsa2048() {
    cryptoki_opensc("cryptoki_opensc_signs_rsa2048", Algorithm::Rsa2048);
}

#[test]
fn cryptoki_opensc_signs_p256() {
    cryptoki_opensc("cryptoki_opensc_signs_p256", Algorithm::EccP256);
}

/// The vpcd port of the private "Yubico" reader (vpcd 0x8C7D).
const YUBICO_PORT: u16 = 35965;
/// Set for the child process that signs through ykcs11: `<alg>|<directory>`.
const YKCS11_CHILD_ENV: &str = "TAMGA_INTEROP_YKCS11";
/// The files the parent and the child exchange in that directory.
const CHILD_DATA: &str = "ykcs11.data";
const CHILD_SIG: &str = "ykcs11.sig";
const CHILD_CERT: &str = "ykcs11.cert.der";

/// cryptoki on ykcs11. ykcs11 2.2 only lists readers whose name starts with
/// "Yubico", so the enrolled card (its state directory) moves to a private
/// pcscd whose vpcd reader is named so; libpcsclite reads the socket
/// (`PCSCLITE_CSOCK_NAME`) once per process, so the PKCS#11 part runs in a
/// child: this test binary, test `ykcs11_child`.
fn cryptoki_ykcs11(test: &str, alg: Algorithm) {
    let Some(mut b) = bench(test, &[YKCS11, "unshare", "pcscd"]) else {
        return;
    };
    if !is_root() {
        println!("SKIPPED {test}: the private pcscd needs root (unshare -m)");
        return;
    }
    b.enrol(alg);
    let cert = b.certificate(KeyRef::Signature);
    let auth = b.certificate(KeyRef::Authentication);
    b.card.power_off().unwrap();
    let state = b.path("card0");
    b.check(state.join("card.flash").is_file(), "the card's flash file");
    let pcscd = tamga_testkit::pcscd::Private::start(b.lab.dir.path(), YUBICO_NAME, YUBICO_PORT)
        .unwrap_or_else(|e| b.fail(&format!("private pcscd: {e}")));
    let trace = b.path("ykcs11-trace.jsonl");
    let _card = VcardProcess::start(&state, YUBICO_PORT, &trace);
    let data = b"Tamga interop: cryptoki + libykcs11";
    std::fs::write(b.path(CHILD_DATA), data).unwrap();
    let exe = std::env::current_exe().unwrap();
    let spec = format!("{alg:?}|{}", b.lab.dir.path().display());
    b.show_on_failure("ykcs11's APDUs", &trace);
    b.show_on_failure("private pcscd", &b.path("pcscd.log"));
    let r = b.run(
        exe.to_str().unwrap(),
        ["--exact", "ykcs11_child", "--nocapture", "--test-threads=1"],
        &[
            ("PCSCLITE_CSOCK_NAME", pcscd.socket.as_os_str()),
            (YKCS11_CHILD_ENV, OsStr::new(&spec)),
        ],
    );
    if !r.ok {
        b.fail(&format!("{test}: ykcs11 child failed:\n{}", r.out));
    }
    let signature = std::fs::read(b.path(CHILD_SIG)).unwrap();
    b.check(
        std::fs::read(b.path(CHILD_CERT)).unwrap() == cert,
        "ykcs11's certificate 02 is 9C's",
    );
    b.check(
        verify_with_cert(&cert, data, &signature),
        "the ykcs11 signature verifies with the 9C certificate",
    );
    b.check(
        !verify_with_cert(&auth, data, &signature),
        "and not with 9A's",
    );
    let line = r.out.find("ykcs11: ").map_or("", |i| {
        let rest = &r.out[i..];
        &rest[..rest.find('\n').unwrap_or(rest.len())]
    });
    println!("cryptoki + libykcs11 ({alg:?}) in {YUBICO_READER}: signature verifies; {line}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn cryptoki_ykcs11_signs_rsa2048() {
    cryptoki_ykcs11("cryptoki_ykcs11_signs_rsa2048", Algorithm::Rsa2048);
}

#[test]
fn cryptoki_ykcs11_signs_p256() {
    cryptoki_ykcs11("cryptoki_ykcs11_signs_p256", Algorithm::EccP256);
}

/// The child of [`cryptoki_ykcs11`]: when `TAMGA_INTEROP_YKCS11` is set,
/// signs the directory's data file through ykcs11 (CKA_ID 02) and writes the
/// signature and the module's certificate 02 next to it; does nothing
/// otherwise.
#[test]
fn ykcs11_child() {
    let Ok(spec) = std::env::var(YKCS11_CHILD_ENV) else {
        println!("ykcs11_child: runs only as the child of cryptoki_ykcs11_*");
        return;
    };
    let (alg, dir) = spec.split_once('|').expect("<alg>|<directory>");
    let dir = std::path::Path::new(dir);
    let alg = match alg {
        "Rsa2048" => Algorithm::Rsa2048,
        _ => Algorithm::EccP256,
    };
    let data = std::fs::read(dir.join(CHILD_DATA)).unwrap();
    // ykcs11 2.2 must find the card already in the reader: when a token
    // appears in a reader it has seen empty, its C_GetSlotList spins on the
    // other (empty) vpcd slot and never returns (seen 1 run in 5 when the
    // child started before pcscd had polled the card's ATR).
    tamga_testkit::pcscd::wait_for_card(YUBICO_READER, true, std::time::Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("private pcscd: {e}"));
    let s = pkcs11_sign(YKCS11, YUBICO_READER, 0x02, alg, &data)
        .unwrap_or_else(|e| panic!("ykcs11: {e}"));
    std::fs::write(dir.join(CHILD_SIG), &s.signature).unwrap();
    std::fs::write(dir.join(CHILD_CERT), &s.certificate).unwrap();
    println!(
        "ykcs11: token {:?}, always-authenticate {}",
        s.token, s.always_authenticate
    );
}

// ---- A card that also holds GOST keys ----------------------------------------

/// An enrolled P-256 card with GOST keys added in 9D (34.10-2015 512) and 9E
/// (34.310-2004): OpenSC, yubico-piv-tool and pkcs11-tool still list and use
/// the NCA keys; a raw GOST signature from the card verifies with OpenSSL's
/// GOST engine, and not after one flipped bit.
#[test]
fn host_tools_keep_working_beside_gost_keys() {
    let test = "host_tools_keep_working_beside_gost_keys";
    let Some(b) = bench(
        test,
        &["yubico-piv-tool", "pkcs11-tool", "openssl", OPENSC_PKCS11],
    ) else {
        return;
    };
    b.enrol(Algorithm::EccP256);
    let mut keys = Vec::new();
    {
        let mut piv = b.piv();
        piv.authenticate(&MgmtKey::default_key()).unwrap();
        for (slot, alg) in [
            (KeyRef::KeyManagement, Algorithm::Gost2015_512),
            (KeyRef::CardAuthentication, Algorithm::Gost2004),
        ] {
            let public = piv
                .generate(
                    slot,
                    alg,
                    tamga_spec::PinPolicy::Default,
                    tamga_spec::TouchPolicy::Default,
                )
                .unwrap_or_else(|e| b.fail(&format!("GENERATE {alg:?}: {e}")));
            let tamga::piv::PublicKey::Gost { point, .. } = &public else {
                b.fail(&format!("GENERATE {alg:?} answered {public:?}"));
            };
            let len = alg.gost_len().unwrap();
            let digest: Vec<u8> = (0..len).map(|i| u8::try_from(i).unwrap() ^ 0x5C).collect();
            piv.verify_pin(&pin()).unwrap();
            let sig = piv
                .sign(slot, alg, &digest)
                .unwrap_or_else(|e| b.fail(&format!("sign {alg:?}: {e}")));
            keys.push((alg, point.clone(), digest, sig));
        }
    }
    for (alg, point, digest, sig) in &keys {
        let dir = b.lab.dir.path();
        b.check(
            tamga_testkit::gost_engine::verifies(dir, point, digest, sig),
            &format!("the GOST engine verifies the card's {alg:?} signature"),
        );
        let mut bad = sig.clone();
        bad[3] ^= 1;
        b.check(
            !tamga_testkit::gost_engine::verifies(dir, point, digest, &bad),
            "and not one with a flipped bit",
        );
    }
    // yubico-piv-tool: status still reads the card and shows the NCA slots.
    let status = ykpiv(&b, &["-a", "status"]);
    for slot in ["Slot 9a:", "Slot 9c:"] {
        b.check(
            status
                .split(slot)
                .nth(1)
                .is_some_and(|s| s.contains("ECCP256")),
            &format!("yubico-piv-tool status shows {slot} beside GOST keys:\n{status}"),
        );
    }
    // OpenSC: objects listed, the signature key signs.
    let p11 = p11_args(&b, OPENSC_PKCS11, READER);
    let listed = b.run_ok("pkcs11-tool", p11.iter().chain(&["-O".into()]), &[]);
    for want in [
        "Certificate for PIV Authentication",
        "Certificate for Digital Signature",
    ] {
        b.check(
            listed.contains(want),
            &format!("pkcs11-tool -O lists {want:?} beside GOST keys:\n{listed}"),
        );
    }
    let args = ["--test", "--login", "--pin", PIN].map(String::from);
    let out = b.run_ok("pkcs11-tool", p11.iter().chain(&args), &[]);
    b.check(
        out.contains("No errors"),
        &format!("pkcs11-tool --test beside GOST keys:\n{out}"),
    );
    println!(
        "GOST keys in 9D and 9E: card signatures verify with the OpenSSL GOST engine; \
         yubico-piv-tool status and pkcs11-tool -O / --test keep working"
    );
}
