//! OpenSSL's GOST engine (Debian `libengine-gost-openssl1.1`) as an
//! independent checker of GOST signatures, after the conversion `GOST.md`
//! documents: the NCA's public-key octets unchanged under the Russian OIDs
//! (RFC 4491 / RFC 9215), the signature byte-reversed (r_le ‖ s_le becomes
//! s ‖ r big-endian), the digest as the hash outputs it.

use std::path::Path;
use std::process::Command;

/// The GOST generation of a key, by its length: 64-byte points are GOST
/// 34.310-2004 (CryptoPro-A), 128-byte ones GOST 34.10-2015 (tc26-512-A).
fn russian_oids(point: &[u8]) -> (&'static [u8], &'static [&'static [u8]]) {
    // DER bodies of 1.2.643.2.2.19 / 1.2.643.2.2.35.1, 1.2.643.2.2.30.1 and
    // 1.2.643.7.1.1.1.2 / 1.2.643.7.1.2.1.2.1.
    if point.len() == 64 {
        (
            &[0x2A, 0x85, 0x03, 0x02, 0x02, 0x13],
            &[
                &[0x2A, 0x85, 0x03, 0x02, 0x02, 0x23, 0x01],
                &[0x2A, 0x85, 0x03, 0x02, 0x02, 0x1E, 0x01],
            ],
        )
    } else {
        (
            &[0x2A, 0x85, 0x03, 0x07, 0x01, 0x01, 0x01, 0x02],
            &[&[0x2A, 0x85, 0x03, 0x07, 0x01, 0x02, 0x01, 0x02, 0x01]],
        )
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    let len = n.to_be_bytes();
    let used = len.iter().skip_while(|b| **b == 0).count().max(1);
    if n < 0x80 {
        out.push(len[len.len() - 1]);
    } else {
        out.push(0x80 | u8::try_from(used).unwrap_or(0));
        out.extend_from_slice(&len[len.len() - used..]);
    }
    out.extend_from_slice(body);
    out
}

/// The RFC 4491 SubjectPublicKeyInfo (DER) of a GOST public key X_le ‖ Y_le.
pub fn spki(point: &[u8]) -> Vec<u8> {
    let (key, params) = russian_oids(point);
    let params: Vec<u8> = params.iter().flat_map(|p| tlv(0x06, p)).collect();
    let alg = tlv(0x30, &[tlv(0x06, key), tlv(0x30, &params)].concat());
    let mut bits = vec![0u8];
    bits.extend(tlv(0x04, point));
    tlv(0x30, &[alg, tlv(0x03, &bits)].concat())
}

/// Panics with the package to install when the engine is missing.
pub fn require() {
    let out = Command::new("openssl").args(["engine", "gost"]).output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "OpenSSL's GOST engine is missing: apt-get install libengine-gost-openssl1.1"
    );
}

/// Whether the engine verifies `sig` (r_le ‖ s_le) over `digest` with the
/// public key `point` (X_le ‖ Y_le); files go to `dir`.
pub fn verifies(dir: &Path, point: &[u8], digest: &[u8], sig: &[u8]) -> bool {
    let mut rfc = sig.to_vec();
    rfc.reverse();
    let files = [
        ("engine.pub.der", spki(point)),
        ("engine.digest", digest.to_vec()),
        ("engine.sig", rfc),
    ];
    for (name, data) in &files {
        if std::fs::write(dir.join(name), data).is_err() {
            return false;
        }
    }
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkeyutl",
            "-engine",
            "gost",
            "-verify",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            "engine.pub.der",
            "-in",
            "engine.digest",
            "-sigfile",
            "engine.sig",
        ])
        .output();
    out.is_ok_and(|o| {
        o.status.success()
            && String::from_utf8_lossy(&o.stdout).contains("Signature Verified Successfully")
    })
}

/// Whether the engine verifies `sig` over the message `signed` with `point`.
/// For GOST 34.10-2015 (a 128-byte point) the digest is the engine's own
/// Streebog-512, and it must equal `ours` (the caller's); for GOST 34.310-2004
/// it is `ours` (the engine's GOST R 34.11-94 has the CryptoPro S-box, not
/// the test one).
pub fn verifies_message(dir: &Path, point: &[u8], signed: &[u8], ours: &[u8], sig: &[u8]) -> bool {
    let digest = if point.len() == 128 {
        streebog512(dir, signed)
    } else {
        ours.to_vec()
    };
    digest == ours && verifies(dir, point, &digest, sig)
}

/// Streebog-512 of `data` by the engine (`openssl dgst -md_gost12_512`).
pub fn streebog512(dir: &Path, data: &[u8]) -> Vec<u8> {
    let file = dir.join("engine.data");
    std::fs::write(&file, data).expect("write the data to digest");
    let file = file.as_os_str();
    crate::openssl([
        "dgst".as_ref(),
        "-engine".as_ref(),
        "gost".as_ref(),
        "-md_gost12_512".as_ref(),
        "-binary".as_ref(),
        file,
    ])
}
