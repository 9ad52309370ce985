//! `tamga agent` driven by the real `ncalayer-js-client` (npm, pinned in
//! host/tests/ncalayer-js/package-lock.json) on Node, with an emulated card:
//! every call a page makes, the PIN typed on pinentry-tty's terminal (a wrong
//! one, a cancel), pages of other origins, malformed frames, a 10 MB document,
//! a second client while a signature waits for its PIN. Every CMS is checked
//! by `openssl cms -verify` against the issuing CA.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Env, PERSON, ok};
use tamga_testkit::pty::{Keys, Typist};

/// The Node project of the test, its packages installed (`npm ci`).
fn node_project() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ncalayer-js");
    tamga_testkit::npm_ci(&dir, "playwright-core").unwrap();
    dir
}

/// A running agent, ended on drop.
struct Agent {
    child: Child,
    url: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(env: &Env, tty: &Path, extra: &[&str]) -> Agent {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", &env.card(), "agent", "--foreground"])
        .args(["--listen", "127.0.0.1:0", "--pinentry", "pinentry-tty"])
        .arg("--dir")
        .arg(env.path("agent"))
        .arg("--pinentry-tty")
        .arg(tty)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("agent said {line:?}"))
        .to_string();
    Agent { child, url }
}

/// `openssl cms -verify` of a signature (PEM or DER file) against the CA;
/// for a detached one with `content`. Returns the verified content.
fn openssl_verifies(env: &Env, sig: &Path, pem: bool, content: Option<&Path>) -> Vec<u8> {
    let mut args: Vec<String> = vec![
        "cms".into(),
        "-verify".into(),
        "-inform".into(),
        if pem { "PEM" } else { "DER" }.into(),
        "-in".into(),
        sig.display().to_string(),
        "-CAfile".into(),
        env.path("ca/ca.pem").display().to_string(),
        "-purpose".into(),
        "any".into(),
    ];
    if let Some(c) = content {
        args.extend(["-binary".into(), "-content".into(), c.display().to_string()]);
    }
    tamga_testkit::openssl(&args)
}

/// A Base64 file as a DER file beside it.
fn der_of(b64: &Path) -> PathBuf {
    use base64::Engine;
    let text = std::fs::read_to_string(b64).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap();
    let p = b64.with_extension("der");
    std::fs::write(&p, der).unwrap();
    p
}

/// A CA and an emulated card enrolled with P-256 keys; the tools the tests need.
fn enrolled() -> Env {
    for tool in ["pinentry-tty", "node"] {
        assert!(
            tamga_testkit::which(tool).is_some(),
            "needs {tool} (Debian: apt install pinentry-tty nodejs)"
        );
    }
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
    env
}

#[test]
fn ncalayer_js_client_signs_through_the_agent() {
    let project = node_project();
    let env = enrolled();

    let typist = Typist::new();
    let pin = |wait_ms| Keys::Line("123456".into(), Duration::from_millis(wait_ms));
    // The dialogs, in the order client.js opens them.
    for k in [
        pin(0), // attached
        pin(0), // detached
        pin(0), // array
        pin(0), // CAdES detached
        pin(0), // CAdES attached
        pin(0), // CAdES over a hash
        pin(0), // authentication key
        Keys::Cancel,
        Keys::Cancel,
        Keys::Line("000000".into(), Duration::ZERO), // wrong
        pin(0),                                      // then right
        pin(0),                                      // 10 MB
        pin(2000),                                   // the slow one
    ] {
        typist.then(k);
    }
    let agent = start_agent(&env, typist.tty(), &[]);
    let out_dir = env.path("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let run = Command::new("node")
        .arg(project.join("client.js"))
        .env("AGENT_URL", &agent.url)
        .env("OUT_DIR", &out_dir)
        .env("NODE_EXTRA_CA_CERTS", env.path("agent/ca.pem"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "client.js failed:\n{log}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(log.contains(r#"{"step":"done","value":true}"#), "{log}");
    assert_eq!(typist.prompts(), 13, "one dialog per signature");
    let screen = typist.screen();
    assert!(
        screen.contains("Неверный PIN-код. Осталось попыток: 2"),
        "the retry says the tries left: {screen}"
    );
    assert!(
        screen.contains("ИСМАИЛОВ АЙДАР"),
        "the dialog names the holder"
    );
    assert!(!screen.contains("123456"), "the PIN is not echoed");

    // Every signature, by openssl against the CA.
    let o = |n: &str| out_dir.join(n);
    let doc = std::fs::read(o("doc.txt")).unwrap();
    assert_eq!(openssl_verifies(&env, &o("attached.pem"), true, None), doc);
    for detached in ["detached.pem", "array-0.pem", "auth.pem", "big.pem"] {
        let content = match detached {
            "big.pem" => o("big.bin"),
            _ => o("doc.txt"),
        };
        openssl_verifies(&env, &o(detached), true, Some(&content));
    }
    openssl_verifies(&env, &o("array-1.pem"), true, Some(&o("doc2.txt")));
    for b in [
        "cades-detached.b64",
        "cades-hash.b64",
        "retried.b64",
        "slow.b64",
    ] {
        openssl_verifies(&env, &der_of(&o(b)), false, Some(&o("doc.txt")));
    }
    assert_eq!(
        openssl_verifies(&env, &der_of(&o("cades-attached.b64")), false, None),
        doc
    );
    // The authentication signature is by 9A, the others by 9C.
    drop(agent);
    let ca = <x509_cert::Certificate as der::DecodePem>::from_pem(
        std::fs::read(env.path("ca/ca.pem")).unwrap().as_slice(),
    )
    .unwrap();
    let signer_serial = |f: &str| {
        let der = pem_rfc7468::decode_vec(&std::fs::read(o(f)).unwrap())
            .unwrap()
            .1;
        tamga_pki::cms::verify_detached(
            &der,
            &doc,
            std::slice::from_ref(&ca),
            std::time::SystemTime::now(),
        )
        .unwrap()
        .serial
    };
    let mut piv =
        tamga::piv::Piv::new(tamga::transport::emu::EmuCard::open(env.path("card.flash")).unwrap());
    piv.select().unwrap();
    let serial_in = |piv: &mut tamga::piv::Piv<_>, slot| {
        let der = piv.read_certificate(slot).unwrap().unwrap();
        let c = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
        tamga_pki::Serial::from_bytes(c.tbs_certificate().serial_number().as_bytes()).unwrap()
    };
    assert_eq!(
        signer_serial("auth.pem"),
        serial_in(&mut piv, tamga_spec::KeyRef::Authentication)
    );
    assert_eq!(
        signer_serial("detached.pem"),
        serial_in(&mut piv, tamga_spec::KeyRef::Signature)
    );
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o("keyinfo.json")).unwrap()).unwrap();
    assert_eq!(info["subjectCn"], "ИСМАИЛОВ АЙДАР");
    assert_eq!(info["algorithm"], "EC");
    assert!(
        info["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[test]
fn the_local_ca_is_made_once_constrained_and_installed_into_nss() {
    if tamga_testkit::which("certutil").is_none() {
        panic!("needs certutil (Debian: apt install libnss3-tools)");
    }
    let env = Env::new();
    let (dir, db) = (env.path("agent"), env.path("nssdb"));
    let install = |db: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_tamga"))
            .args(["agent", "install", "--dir"])
            .arg(&dir)
            .arg("--nssdb")
            .arg(db)
            .output()
            .unwrap();
        ok(&out)
    };
    let said = install(&db);
    assert!(said.contains("trusted Tamga agent local CA"), "{said}");
    let listed = Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("Tamga agent local CA") && l.trim_end().ends_with("C,,")),
        "{listed}"
    );
    // The server certificate verifies for 127.0.0.1 and localhost under the
    // CA, and the CA can certify nothing else (name constraints); its key is gone.
    let ca = dir.join("ca.pem").display().to_string();
    let server = dir.join("server.pem");
    let chain = std::fs::read_to_string(&server).unwrap();
    let end = "-----END CERTIFICATE-----\n";
    let leaf = env.path("leaf.pem");
    std::fs::write(&leaf, &chain[..chain.find(end).unwrap() + end.len()]).unwrap();
    let leaf = leaf.display().to_string();
    for (flag, name) in [
        ("-verify_ip", "127.0.0.1"),
        ("-verify_hostname", "localhost"),
    ] {
        let text = tamga_testkit::openssl(["verify", "-CAfile", &ca, flag, name, &leaf]);
        assert!(String::from_utf8_lossy(&text).contains(": OK"));
    }
    let refused = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            &ca,
            "-verify_hostname",
            "egov.kz",
            &leaf,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "not valid for another name");
    let text = tamga_testkit::openssl(["x509", "-in", &ca, "-noout", "-text"]);
    assert!(String::from_utf8_lossy(&text).contains("X509v3 Name Constraints: critical"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let keys: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("PRIVATE KEY")))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(keys, ["server.key"], "only the server's key is kept");
    // A second install keeps the same identity and replaces the NSS entry.
    let before = std::fs::read(&server).unwrap();
    install(&db);
    assert_eq!(std::fs::read(&server).unwrap(), before);
    let listed = Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout)
            .matches("Tamga agent local CA")
            .count(),
        1
    );
}

#[test]
fn a_browser_page_signs_through_the_agent() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "needs Chromium (Debian: apt install chromium)"
    );
    let project = node_project();
    let env = enrolled();
    // The browser trusts the agent only through what `tamga agent install` writes.
    let home = env.path("home");
    let nssdb = home.join(".pki/nssdb");
    ok(&Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["agent", "install", "--dir"])
        .arg(env.path("agent"))
        .arg("--nssdb")
        .arg(&nssdb)
        .output()
        .unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("https://localhost:{port}");
    let typist = Typist::new();
    typist.then(Keys::Line("123456".into(), Duration::from_millis(300)));
    let agent = start_agent(&env, typist.tty(), &["--allow-origin", &origin]);
    let out_dir = env.path("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let run = Command::new("node")
        .arg(project.join("page.js"))
        .env("AGENT_URL", &agent.url)
        .env("PAGE_PORT", port.to_string())
        .env("OUT_DIR", &out_dir)
        .env("HOME", &home)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    // The screenshot is kept for CI, signed or not.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    let _ = std::fs::create_dir_all(&artifacts);
    let _ = std::fs::copy(out_dir.join("page.png"), artifacts.join("agent-page.png"));
    assert!(
        run.status.success(),
        "page.js: {log}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(typist.prompts(), 1);
    assert!(
        typist.screen().contains(&origin),
        "the dialog names the page's origin"
    );
    let signed = openssl_verifies(
        &env,
        &out_dir.join("page.pem"),
        true,
        Some(&out_dir.join("page.txt")),
    );
    assert_eq!(signed, std::fs::read(out_dir.join("page.txt")).unwrap());
    assert!(std::fs::metadata(out_dir.join("page.png")).unwrap().len() > 1000);
}
