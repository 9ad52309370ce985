//! `tamga agent` driven by the real `ncalayer-js-client` (npm, pinned in
//! host/tests/ncalayer-js/package-lock.json) on Node, with an emulated card:
//! every call a page makes, the PIN typed on pinentry-tty's terminal (a wrong
//! one, a cancel), pages of other origins, malformed frames, a 10 MB document,
//! a second client while a signature waits for its PIN. Every CMS is checked
//! by `openssl cms -verify` against the issuing CA.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::agent::{drive_client, node_project, openssl_verifies, require_tools, start_agent};
use common::{Env, PERSON, ok};
use tamga_testkit::pty::{Keys, Typist};

/// A CA and an emulated card enrolled with P-256 keys; the tools the tests need.
fn enrolled() -> Env {
    require_tools();
    let env = Env::new();
    let mut args = vec!["enroll", "--alg", "p256"];
    args.extend_from_slice(PERSON);
    ok(&env.run(&args, &[]));
    env
}

#[test]
fn ncalayer_js_client_signs_through_the_agent() {
    let env = enrolled();
    drive_client(&env.card(), &env.path("ca/ca.pem"), env.dir.path());
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
    let agent = start_agent(
        &env.card(),
        &env.path("agent"),
        typist.tty(),
        &["--allow-origin", &origin],
    );
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
        &env.path("ca/ca.pem"),
        &out_dir.join("page.pem"),
        true,
        Some(&out_dir.join("page.txt")),
    );
    assert_eq!(signed, std::fs::read(out_dir.join("page.txt")).unwrap());
    assert!(std::fs::metadata(out_dir.join("page.png")).unwrap().len() > 1000);
}

#[test]
fn without_a_card_the_agent_lists_no_storage_and_says_so() {
    require_tools();
    let project = node_project();
    let dir = tempfile::tempdir().unwrap();
    let typist = Typist::new();
    let card = format!("emu:{}", dir.path().join("not-inserted.flash").display());
    let agent = start_agent(&card, &dir.path().join("agent"), typist.tty(), &[]);
    let run = Command::new("node")
        .arg(project.join("nocard.js"))
        .env("AGENT_URL", &agent.url)
        .env("NODE_EXTRA_CA_CERTS", dir.path().join("agent/ca.pem"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{log}");
    assert_eq!(typist.prompts(), 0, "no dialog without a card");
    assert!(
        !dir.path().join("not-inserted.flash").exists(),
        "no card made"
    );
}
