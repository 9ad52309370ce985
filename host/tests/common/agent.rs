//! What the agent tests share: the Node project, a running `tamga agent`,
//! the whole `client.js` run against a card with its PINs typed on
//! pinentry-tty's terminal, and openssl's check of every signature.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tamga_testkit::pty::{Keys, Typist};

/// The Node project of the tests, its packages installed (`npm ci`).
pub fn node_project() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ncalayer-js");
    tamga_testkit::npm_ci(&dir, "playwright-core").unwrap();
    dir
}

/// The tools the agent tests need.
pub fn require_tools() {
    for tool in ["pinentry-tty", "node"] {
        assert!(
            tamga_testkit::which(tool).is_some(),
            "needs {tool} (Debian: apt install pinentry-tty nodejs)"
        );
    }
}

/// A running agent, ended on drop.
pub struct Agent {
    child: Child,
    /// Its `wss://` URL.
    pub url: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tamga --card CARD agent --foreground` on a free loopback port, its
/// directory `dir`, the PIN dialog pinentry-tty on `tty`.
pub fn start_agent(card: &str, dir: &Path, tty: &Path, extra: &[&str]) -> Agent {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["--card", card, "agent", "--foreground"])
        .args(["--listen", "127.0.0.1:0", "--pinentry", "pinentry-tty"])
        .arg("--dir")
        .arg(dir)
        .arg("--pinentry-tty")
        .arg(tty)
        .args(extra)
        .env_remove("TAMGA_PIN")
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

/// `openssl cms -verify` of a signature (PEM or DER file) against the CA
/// certificate `ca`; for a detached one with `content`. The verified content.
pub fn openssl_verifies(ca: &Path, sig: &Path, pem: bool, content: Option<&Path>) -> Vec<u8> {
    let mut args: Vec<String> = vec![
        "cms".into(),
        "-verify".into(),
        "-inform".into(),
        if pem { "PEM" } else { "DER" }.into(),
        "-in".into(),
        sig.display().to_string(),
        "-CAfile".into(),
        ca.display().to_string(),
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

/// The serial of the certificate that made a PEM CMS over `content`.
fn signer_serial(ca: &Path, sig: &Path, content: &[u8]) -> String {
    let ca =
        <x509_cert::Certificate as der::DecodePem>::from_pem(std::fs::read(ca).unwrap().as_slice())
            .unwrap();
    let der = pem_rfc7468::decode_vec(&std::fs::read(sig).unwrap())
        .unwrap()
        .1;
    tamga_pki::cms::verify_detached(
        &der,
        content,
        std::slice::from_ref(&ca),
        std::time::SystemTime::now(),
    )
    .unwrap()
    .serial
    .to_string()
}

/// Runs `client.js` against an agent on `card` (enrolled by the CA whose
/// certificate is `ca`, PIN 123456), everything under `work`; checks what it
/// reports, the dialogs and every signature.
pub fn drive_client(card: &str, ca: &Path, work: &Path) {
    let project = node_project();
    let typist = Typist::new();
    let pin = |wait_ms| Keys::Line("123456".into(), Duration::from_millis(wait_ms));
    // The dialogs, in the order client.js opens them.
    for k in [
        Keys::Confirm(true), // getKeyInfo: show the certificate
        pin(0),              // attached
        pin(0),              // detached
        pin(0),              // array
        pin(0),              // CAdES detached
        pin(0),              // CAdES attached
        pin(0),              // CAdES over a hash
        pin(0),              // authentication key
        Keys::Cancel,
        Keys::Cancel,
        Keys::Line("000000".into(), Duration::ZERO), // wrong
        pin(0),                                      // then right
        pin(0),                                      // 10 MB
        pin(2000),                                   // the slow one
        pin(0),                                      // signXml
        pin(0),                                      // signXmls
        pin(0),                                      // basicsSignXML
        Keys::Confirm(false),                        // getKeyInfo refused
    ] {
        typist.then(k);
    }
    let agent_dir = work.join("agent");
    let agent = start_agent(card, &agent_dir, typist.tty(), &[]);
    let out_dir = work.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let run = Command::new("node")
        .arg(project.join("client.js"))
        .env("AGENT_URL", &agent.url)
        .env("OUT_DIR", &out_dir)
        .env("NODE_EXTRA_CA_CERTS", agent_dir.join("ca.pem"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "client.js failed:\n{log}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(log.contains(r#"{"step":"done","value":true}"#), "{log}");
    drop(agent);
    assert_eq!(
        typist.prompts(),
        18,
        "one dialog per signature, one per certificate shown"
    );
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
    assert!(
        screen.contains("просит показать ваш сертификат: ИСМАИЛОВ АЙДАР"),
        "getKeyInfo asks first: {screen}"
    );

    // Every signature, by openssl against the CA.
    let o = |n: &str| out_dir.join(n);
    let doc = std::fs::read(o("doc.txt")).unwrap();
    assert_eq!(openssl_verifies(ca, &o("attached.pem"), true, None), doc);
    for (sig, content) in [
        ("detached.pem", "doc.txt"),
        ("array-0.pem", "doc.txt"),
        ("array-1.pem", "doc2.txt"),
        ("auth.pem", "doc.txt"),
        ("big.pem", "big.bin"),
    ] {
        let c = o(content);
        assert_eq!(
            openssl_verifies(ca, &o(sig), true, Some(&c)),
            std::fs::read(&c).unwrap(),
            "{sig}"
        );
    }
    for b in [
        "cades-detached.b64",
        "cades-hash.b64",
        "retried.b64",
        "slow.b64",
    ] {
        assert_eq!(
            openssl_verifies(ca, &der_of(&o(b)), false, Some(&o("doc.txt"))),
            doc
        );
    }
    assert_eq!(
        openssl_verifies(ca, &der_of(&o("cades-attached.b64")), false, None),
        doc
    );
    // Every XML document, by xmlsec1 against the CA; the content as it was sent.
    for x in ["form.xml", "forms-0.xml", "forms-1.xml", "basics.xml"] {
        let v = tamga_testkit::xml::xmlsec1_verify(&o(x), ca);
        assert!(
            v.status.success(),
            "xmlsec1 {x}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
    let form = std::fs::read_to_string(o("form.xml")).unwrap();
    assert!(form.contains("<ИИН>871008401427</ИИН><!-- a comment -->"));
    let tampered = o("tampered.xml");
    std::fs::write(&tampered, form.replace("справку", "справки")).unwrap();
    assert!(
        !tamga_testkit::xml::xmlsec1_verify(&tampered, ca)
            .status
            .success()
    );
    // getKeyInfo reports 9C; the authentication signature is by another key.
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
    let sign_serial = signer_serial(ca, &o("detached.pem"), &doc);
    assert_eq!(
        sign_serial.trim_start_matches('0'),
        info["serialNumber"].as_str().unwrap()
    );
    assert_ne!(signer_serial(ca, &o("auth.pem"), &doc), sign_serial);
    // tamga verify takes the signing key's signature as a document signature
    // and refuses the authentication key's, saying why.
    let verify = |sig: &str| {
        Command::new(env!("CARGO_BIN_EXE_tamga"))
            .arg("verify")
            .arg(o("doc.txt"))
            .arg("--signature")
            .arg(o(sig))
            .arg("--ca-cert")
            .arg(ca)
            .output()
            .unwrap()
    };
    let good = verify("detached.pem");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let login = verify("auth.pem");
    assert_eq!(login.status.code(), Some(7));
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("authentication certificate"),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
}
