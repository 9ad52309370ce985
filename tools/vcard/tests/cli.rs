//! The binary's own behaviour: help text, and a clear error when vpcd is absent.

use std::process::Command;

#[test]
fn help_names_the_options() {
    let o = Command::new(env!("CARGO_BIN_EXE_tamga-vcard"))
        .arg("--help")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for opt in ["--state", "--vpcd", "--trace", "--once"] {
        assert!(out.contains(opt), "{opt} in {out}");
    }
}

#[test]
fn no_vpcd_is_a_clear_error_with_once() {
    let dir = std::env::temp_dir().join(format!("vcard-{}", std::process::id()));
    // Port 9 (discard) on loopback: nothing listens.
    let o = Command::new(env!("CARGO_BIN_EXE_tamga-vcard"))
        .args(["--vpcd", "127.0.0.1:9", "--once", "--state"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("vpcd at 127.0.0.1:9"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
