//! The project's shared test material beside the repository.

use std::path::PathBuf;

/// The GOST vectors (`../shared/vectors/gost`: public NCA certificates, CRLs,
/// test-kit keys and our known-answer vectors, read in place, never copied
/// in), or `TAMGA_GOST_VECTORS`; `None`, with a `SKIP` line on stderr, when
/// they are not on this machine.
pub fn gost() -> Option<PathBuf> {
    let dir = std::env::var_os("TAMGA_GOST_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/gost"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: no GOST vectors at {} (set TAMGA_GOST_VECTORS)",
            dir.display()
        );
        None
    }
}

/// The NCA test kit's PKCS#12 files in the GOST vectors (password
/// [`TEST_KIT_PASSWORD`]).
pub fn test_kit(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut kit: Vec<PathBuf> = std::fs::read_dir(dir.join("nca-test-2022"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    kit.retain(|p| p.extension().is_some_and(|e| e == "p12"));
    kit.sort();
    kit
}

/// The test kit's password.
pub const TEST_KIT_PASSWORD: &str = "Qwerty12";

/// The certificate (PEM) of a test-kit PKCS#12, read by OpenSSL (its RC2-40
/// certificate bag needs the legacy provider).
pub fn test_kit_certificate(p12: &std::path::Path) -> String {
    let pass = format!("pass:{TEST_KIT_PASSWORD}");
    let out = crate::openssl([
        "pkcs12".as_ref(),
        "-legacy".as_ref(),
        "-nokeys".as_ref(),
        "-passin".as_ref(),
        pass.as_ref(),
        "-in".as_ref(),
        p12.as_os_str(),
    ]);
    let pem = String::from_utf8_lossy(&out);
    let start = pem
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    pem[start..].to_string()
}
