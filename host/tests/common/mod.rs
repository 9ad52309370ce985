//! What the host's integration tests share: running `tamga`, reading its
//! outcome, a served CA.

#![allow(dead_code)]

pub mod agent;

use std::path::Path;
use std::process::{Command, Output};

/// `tamga` with `--card CARD` and `args`, PIN 123456 unless `env` overrides,
/// no card, CA or management key from the caller's environment.
pub fn tamga(card: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tamga"));
    c.arg("--card")
        .arg(card)
        .args(args)
        .env_remove("TAMGA_CARD")
        .env_remove("TAMGA_CA")
        .env_remove("TAMGA_MGMT_KEY")
        .env("TAMGA_PIN", "123456");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// A scratch directory with a CA (`ca/`) and an emulated card (`card.flash`).
pub struct Env {
    /// The directory.
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A fresh directory with a P-256 CA.
    pub fn new() -> Env {
        Env::with_ca(tamga_ca::KeyAlgorithm::P256)
    }

    /// A fresh directory with a CA whose key is `key`.
    pub fn with_ca(key: tamga_ca::KeyAlgorithm) -> Env {
        Env::with_cas(key, &[])
    }

    /// A fresh directory with a CA whose issuing keys are `key` and `also`.
    pub fn with_cas(key: tamga_ca::KeyAlgorithm, also: &[tamga_ca::KeyAlgorithm]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let opts = tamga_ca::InitOptions {
            key,
            also: also.to_vec(),
            ..Default::default()
        };
        tamga_ca::Ca::init(&dir.path().join("ca"), &opts).unwrap();
        // A new emulated card, as `tamga --create` makes one.
        tamga::transport::emu::EmuCard::open(dir.path().join("card.flash")).unwrap();
        Env { dir }
    }

    /// A file in the directory.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// The `--card` value of the emulated card.
    pub fn card(&self) -> String {
        format!("emu:{}", self.path("card.flash").display())
    }

    /// Run tamga with `--card`, `--ca` and `--audit` set, PIN 123456 unless
    /// `env` overrides.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let (ca, audit) = (self.path("ca"), self.path("audit.jsonl"));
        let mut all = vec![
            "--ca",
            ca.to_str().unwrap(),
            "--audit",
            audit.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        tamga(&self.card(), &all, env)
    }
}

/// Assert success; the standard output.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Assert a failure with exit `code` and a one-line message containing `text`.
pub fn fails(o: &Output, code: i32, text: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(text), "expected {text:?} in {err:?}");
    // Usage errors (exit 2) come from clap with its help; every other error is one line.
    if code != 2 {
        assert_eq!(
            err.trim().lines().count(),
            1,
            "one line, no stack trace: {err}"
        );
    }
}

/// The operator token of [`serve`].
pub const TOKEN: &str = "operator-token-0123456789";

/// Serve the CA directory `ca` (`tamga-ca serve`, in a thread) on a free
/// loopback port, the token file beside it; its URL once it answers.
pub fn serve(ca: &Path) -> String {
    let token_file = ca.with_extension("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = tamga_ca::server::ServeOptions {
        listen: format!("127.0.0.1:{port}"),
        token_file,
        allow_remote: false,
        max_body: 64 * 1024,
    };
    let ca = tamga_ca::Ca::open(ca).unwrap();
    std::thread::spawn(move || tamga_ca::server::serve(ca, &opts));
    let url = format!("http://127.0.0.1:{port}");
    let remote = tamga::ca::RemoteCa::new(&url, None).unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        tamga::ca::CaClient::ca_certificates(&remote).is_ok()
    });
    assert!(up, "tamga-ca serve did not come up");
    url
}

/// The sample citizen's `tamga enroll` options (a valid IIN from the NCA reference).
pub const PERSON: &[&str] = &[
    "--iin",
    "871008401427",
    "--surname",
    "ИСМАИЛОВ",
    "--name",
    "АЙДАР",
    "--patronymic",
    "СЕРИКОВИЧ",
    "--email",
    "aidar@example.kz",
    "--locality",
    "АСТАНА",
];
