//! libxml2's and xmlsec1's command-line tools as independent checkers of
//! Canonical XML and of XML signatures (Debian packages libxml2-utils and xmlsec1).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Panics with the package to install when `xmllint` is missing.
pub fn require_xmllint() {
    assert!(
        crate::which("xmllint").is_some(),
        "xmllint is missing: apt-get install libxml2-utils"
    );
}

/// Panics with the package to install when `xmlsec1` is missing.
pub fn require_xmlsec1() {
    assert!(
        crate::which("xmlsec1").is_some(),
        "xmlsec1 is missing: apt-get install xmlsec1"
    );
}

/// libxml2's Canonical XML 1.0 with comments of `doc` (`xmllint --c14n -`),
/// or its error output.
pub fn xmllint_c14n(doc: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("xmllint")
        .args(["--nonet", "--c14n", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc)
        .expect("xmllint reads");
    let out = child.wait_with_output().expect("xmllint ends");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `xmlsec1 --verify` of the enveloped signature in `file`, trusting only the
/// CA certificates in `ca_pem`: the key is the one of the X509Certificate in
/// KeyInfo, accepted only when that certificate chains to `ca_pem` (no
/// `--insecure`), with no network.
pub fn xmlsec1_verify(file: &Path, ca_pem: &Path) -> Output {
    Command::new("xmlsec1")
        .args(xmlsec1_verify_args(file, ca_pem))
        .output()
        .expect("xmlsec1 runs")
}

/// The arguments of [`xmlsec1_verify`].
pub fn xmlsec1_verify_args(file: &Path, ca_pem: &Path) -> Vec<String> {
    vec![
        "--verify".into(),
        "--enabled-key-data".into(),
        "x509".into(),
        "--trusted-pem".into(),
        ca_pem.display().to_string(),
        file.display().to_string(),
    ]
}
