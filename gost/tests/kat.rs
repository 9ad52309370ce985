//! The known-answer vectors of `known-answer/kat.txt` (fixed d and k, message
//! "abc"; each checked with OpenSSL's GOST engine when it was made): the
//! digest, the public key inside the SPKI, the signature, and verification.

use tamga_gost::hash::{Digest, Gost94Test, Streebog512};
use tamga_gost::{CRYPTOPRO_A, TC26_512_A};

/// One `[name]` section of kat.txt as (label, hex value) pairs.
fn sections(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or_default().to_string();
            out.push((name, Vec::new()));
        } else if let (Some((k, v)), Some(last)) = (line.split_once(" = "), out.last_mut()) {
            let v = v.split_whitespace().next().unwrap_or_default().to_string();
            last.1.push((k.trim().to_string(), v));
        }
    }
    out
}

fn field(fields: &[(String, String)], prefix: &str) -> Vec<u8> {
    let (_, v) = fields
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in kat.txt"));
    hex::decode(v).unwrap()
}

fn reversed(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

#[test]
fn known_answers() {
    let Some(dir) = tamga_testkit::vectors::gost() else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("known-answer/kat.txt")).unwrap();
    let sections = sections(&text);
    assert_eq!(
        sections.len(),
        2,
        "kat.txt has the 2015-512 and 2004 sections"
    );
    for (name, f) in &sections {
        let d = reversed(field(f, "d (big-endian"));
        let k = reversed(field(f, "k (big-endian"));
        assert_eq!(
            d,
            field(f, "PKCS#8 inner"),
            "{name}: PKCS#8 holds d little-endian"
        );
        let digest = field(f, "digest bytes");
        let spki = field(f, "SPKI");
        let sig = field(f, "signature");
        match name.as_str() {
            "kz2015_512" => {
                assert_eq!(
                    Streebog512::digest(b"abc").as_slice(),
                    digest,
                    "Streebog-512(abc)"
                );
                let mut q = [0u8; 128];
                TC26_512_A.public_key(&d, &mut q).unwrap();
                assert!(
                    spki.ends_with(&q),
                    "{name}: public key is the SPKI's last 128 bytes"
                );
                let mut s = [0u8; 128];
                TC26_512_A.sign_with_nonce(&d, &digest, &k, &mut s).unwrap();
                assert_eq!(s.as_slice(), sig, "{name}: signature");
                TC26_512_A.verify(&q, &digest, &sig).unwrap();
            }
            "kz2004" => {
                assert_eq!(
                    Gost94Test::digest(b"abc").as_slice(),
                    digest,
                    "GOST 34.311-95(abc)"
                );
                let mut q = [0u8; 64];
                CRYPTOPRO_A.public_key(&d, &mut q).unwrap();
                assert!(
                    spki.ends_with(&q),
                    "{name}: public key is the SPKI's last 64 bytes"
                );
                let mut s = [0u8; 64];
                CRYPTOPRO_A
                    .sign_with_nonce(&d, &digest, &k, &mut s)
                    .unwrap();
                assert_eq!(s.as_slice(), sig, "{name}: signature");
                CRYPTOPRO_A.verify(&q, &digest, &sig).unwrap();
            }
            other => panic!("unknown section {other}"),
        }
    }
}
