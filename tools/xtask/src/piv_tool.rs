//! yubico-piv-tool and openssl as the PC/SC check drives them: key
//! generation and import, a certificate written and read back.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::cmd::run;

/// Generate a key in `slot` with yubico-piv-tool (default management key).
pub fn piv_generate(reader: &str, slot: &str, alg: &str) -> Result<(), String> {
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", "generate", "-s", slot, "-A", alg])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !text.contains("BEGIN PUBLIC KEY") {
        return Err(format!(
            "yubico-piv-tool generate {alg} in {slot} failed: {text}{}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// `yubico-piv-tool -a <action> -s <slot> -i <file>` (import-key,
/// import-certificate) with the default management key.
pub fn piv_import(reader: &str, action: &str, slot: &str, file: &Path) -> Result<(), String> {
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", action, "-s", slot, "-i"])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!(
            "yubico-piv-tool {action} in {slot} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// A certificate's DER bytes (`openssl x509`).
pub fn der_of(pem: &Path) -> Result<Vec<u8>, String> {
    let o = Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(pem)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "openssl x509 {}: {}",
            pem.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(o.stdout)
}

/// Read slot 9E's certificate with yubico-piv-tool: (success, DER).
pub fn read_certificate(reader: &str, dir: &Path) -> Result<(bool, Vec<u8>), String> {
    let back = dir.join("cert-read.pem");
    let o = Command::new("yubico-piv-tool")
        .args(["-r", reader, "-a", "read-certificate", "-s", "9e", "-o"])
        .arg(&back)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Ok((false, Vec::new()));
    }
    Ok((true, der_of(&back)?))
}

/// Write a self-signed certificate to slot 9E (yubico-piv-tool, chained
/// PUT DATA through pcscd) and read it back.
pub fn cert_roundtrip(reader: &str, dir: &Path) -> Result<(), String> {
    let key = dir.join("cert-key.pem");
    let cert = dir.join("cert.pem");
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Tamga QEMU check",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null()))?;
    piv_import(reader, "import-certificate", "9e", &cert)?;
    let (ok, back) = read_certificate(reader, dir)?;
    if !ok || back != der_of(&cert)? {
        return Err("certificate read back from slot 9E differs".into());
    }
    Ok(())
}
