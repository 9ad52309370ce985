//! Helpers shared by the CA tests: temporary directories, CAs, openssl.
#![allow(dead_code)]

use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use tamga_ca::{Application, Ca, CaConfig, InitOptions, KeyAlgorithm, RenewItem, RenewRequest};
use tamga_pki::{Applicant, ProfileName};

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "tamga-ca-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn config() -> CaConfig {
    CaConfig {
        crl_base_url: Some("http://crl.example.kz/".into()),
        aia_base_url: Some("http://pki.example.kz".into()),
        ..CaConfig::default()
    }
}

/// A root (P-256) and an issuing CA under it with key `alg`.
pub fn root_and_issuing(tmp: &Path, alg: KeyAlgorithm) -> Ca {
    let root = tmp.join("root");
    Ca::init(
        &root,
        &InitOptions {
            common_name: "Test Root".into(),
            config: config(),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = InitOptions {
        key: alg,
        common_name: "Test Issuing".into(),
        parent: Some(root),
        import_key: (alg == KeyAlgorithm::Rsa2048).then(|| openssl_rsa_key(tmp, "ca-import")),
        config: config(),
        ..Default::default()
    };
    Ca::init(&tmp.join("ca"), &opts).unwrap()
}

/// Runs openssl, returns (success, stdout + stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl binary (Debian package openssl)");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

/// A fresh RSA-2048 PKCS#8 key made by openssl (fast, unlike a debug-build keygen).
pub fn openssl_rsa_key(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.key"));
    let (ok, out) = openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        p.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    p
}

/// A P-256 key made by openssl.
pub fn openssl_p256_key(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.key"));
    let (ok, out) = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        p.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    p
}

/// A PEM CSR from openssl for `key` with a CN (the CA builds the subject itself).
pub fn openssl_csr(key: &Path, cn: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-sha256",
            "-key",
            key.to_str().unwrap(),
            "-subj",
        ])
        .arg(format!("/CN={cn}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Signs data with openssl (`dgst -sha256 -sign`): PKCS#1 v1.5 for RSA, DER ECDSA for EC.
pub fn openssl_sign(key: &Path, data: &[u8], dir: &Path) -> Vec<u8> {
    let input = dir.join("to-sign.bin");
    std::fs::write(&input, data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign", key.to_str().unwrap()])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

pub fn app(profile: ProfileName, applicant: Applicant, csr: String) -> Application {
    Application {
        profile,
        applicant,
        csr,
        signatures: vec![],
    }
}

pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// A renewal request for `items` (previous serial, new CSR PEM), signed with openssl by
/// `holder_key`, the key of certificate `holder_serial`.
pub fn renew_request(
    holder_serial: &str,
    holder_key: &Path,
    items: &[(&str, &str)],
    dir: &Path,
) -> RenewRequest {
    let ders: Vec<Vec<u8>> = items
        .iter()
        .map(|(_, csr)| pem_rfc7468::decode_vec(csr.as_bytes()).unwrap().1)
        .collect();
    let pairs: Vec<(&str, &[u8])> = items
        .iter()
        .zip(&ders)
        .map(|((prev, _), der)| (*prev, der.as_slice()))
        .collect();
    let content = RenewRequest::signed_content(holder_serial, &pairs);
    RenewRequest {
        holder_serial: holder_serial.into(),
        items: items
            .iter()
            .map(|(prev, csr)| RenewItem {
                previous_serial: prev.to_string(),
                csr: csr.to_string(),
            })
            .collect(),
        signature: base64::engine::general_purpose::STANDARD
            .encode(openssl_sign(holder_key, &content, dir)),
    }
}

/// Row counts of the store tables, to show a failed operation changed nothing.
pub fn counts(ca: &Ca) -> Vec<i64> {
    ca.with_store(|s| {
        [
            "requests",
            "certificates",
            "crls",
            "audit",
            "request_signatures",
        ]
        .iter()
        .map(|t| s.count(t))
        .collect()
    })
    .unwrap()
}
