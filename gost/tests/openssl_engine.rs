//! Interop with OpenSSL's GOST engine (Debian `libengine-gost-openssl1.1`),
//! which nobody here wrote, in both directions, after the documented
//! conversion (`GOST.md`): the same public-key octets under the Russian OIDs
//! (RFC 4491 / RFC 9215), the signature byte-reversed, the digest as is.
//! - our keys and signatures verify with `openssl pkeyutl -verify`, and a
//!   signature with one flipped bit does not;
//! - keys the engine generates sign digests that our verifier accepts.

use std::path::Path;
use std::process::Command;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use tamga_gost::hash::{Digest, Streebog512};
use tamga_gost::{CRYPTOPRO_A, TC26_512_A};

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match body.len() {
        n @ 0..=127 => out.push(u8::try_from(n).unwrap()),
        n @ 128..=255 => out.extend([0x81, u8::try_from(n).unwrap()]),
        n => out.extend([
            0x82,
            u8::try_from(n >> 8).unwrap(),
            u8::try_from(n & 255).unwrap(),
        ]),
    }
    out.extend_from_slice(body);
    out
}

/// DER OID bodies (arcs after the first two, base 128).
fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![u8::try_from(40 * arcs[0] + arcs[1]).unwrap()];
    for &a in &arcs[2..] {
        let mut enc = vec![u8::try_from(a & 0x7f).unwrap()];
        let mut v = a >> 7;
        while v > 0 {
            enc.insert(0, 0x80 | u8::try_from(v & 0x7f).unwrap());
            v >>= 7;
        }
        body.extend(enc);
    }
    tlv(0x06, &body)
}

/// Which generation: the Russian key OID and parameter OIDs of the same curve.
struct Gen {
    name: &'static str,
    key_oid: &'static [u64],
    params: &'static [&'static [u64]],
    algorithm: &'static str,
    paramset: &'static str,
}

const GOST2015_512: Gen = Gen {
    name: "2015-512",
    key_oid: &[1, 2, 643, 7, 1, 1, 1, 2],
    params: &[&[1, 2, 643, 7, 1, 2, 1, 2, 1]],
    algorithm: "gost2012_512",
    paramset: "A",
};
const GOST2004: Gen = Gen {
    name: "2004",
    key_oid: &[1, 2, 643, 2, 2, 19],
    params: &[&[1, 2, 643, 2, 2, 35, 1], &[1, 2, 643, 2, 2, 30, 1]],
    algorithm: "gost2001",
    paramset: "A",
};

/// The RFC 4491 SubjectPublicKeyInfo of X_le ‖ Y_le.
fn spki(g: &Gen, public: &[u8]) -> Vec<u8> {
    let params: Vec<u8> = g.params.iter().flat_map(|p| oid(p)).collect();
    let alg = tlv(0x30, &[oid(g.key_oid), tlv(0x30, &params)].concat());
    let mut bits = vec![0u8];
    bits.extend(tlv(0x04, public));
    tlv(0x30, &[alg, tlv(0x03, &bits)].concat())
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs")
}

fn engine_present() {
    let out = Command::new("openssl")
        .args(["engine", "gost"])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "OpenSSL's GOST engine is missing: apt-get install libengine-gost-openssl1.1 ({})",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Write key, digest and signature; true when the engine verifies.
fn engine_verifies(dir: &Path, g: &Gen, public: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("pub.der"), spki(g, public)).unwrap();
    std::fs::write(dir.join("digest"), digest).unwrap();
    let mut rfc = signature.to_vec();
    rfc.reverse();
    std::fs::write(dir.join("sig"), rfc).unwrap();
    let out = openssl(
        dir,
        &[
            "pkeyutl", "-engine", "gost", "-verify", "-pubin", "-keyform", "DER", "-inkey",
            "pub.der", "-in", "digest", "-sigfile", "sig",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("Signature Verified Successfully")
}

#[test]
fn our_signatures_verify_with_the_engine() {
    engine_present();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    for round in 0..4 {
        let mut msg = [0u8; 100];
        rng.fill_bytes(&mut msg);
        // 2015-512 over Streebog-512.
        let (mut d, mut q, mut sig) = ([0u8; 64], [0u8; 128], [0u8; 128]);
        TC26_512_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let digest = Streebog512::digest(msg);
        TC26_512_A.sign(&d, &digest, &msg, &mut sig).unwrap();
        assert!(
            engine_verifies(dir.path(), &GOST2015_512, &q, &digest, &sig),
            "{} round {round}",
            GOST2015_512.name
        );
        sig[round * 7] ^= 0x10;
        assert!(
            !engine_verifies(dir.path(), &GOST2015_512, &q, &digest, &sig),
            "flipped bit accepted"
        );
        // 2004 (the engine's own GOST R 34.11-94 uses another S-box: the
        // digest is given to it as bytes).
        let (mut d, mut q, mut sig) = ([0u8; 32], [0u8; 64], [0u8; 64]);
        CRYPTOPRO_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let digest = tamga_gost::hash::Gost94Test::digest(msg);
        CRYPTOPRO_A.sign(&d, &digest, &msg, &mut sig).unwrap();
        assert!(
            engine_verifies(dir.path(), &GOST2004, &q, &digest, &sig),
            "{} round {round}",
            GOST2004.name
        );
        sig[40] ^= 1;
        assert!(
            !engine_verifies(dir.path(), &GOST2004, &q, &digest, &sig),
            "flipped bit accepted"
        );
    }
}

/// The public-key octets of a PEM SPKI the engine wrote: the BIT STRING's
/// OCTET STRING, i.e. the last `len` bytes of the DER.
fn engine_public(dir: &Path, len: usize) -> Vec<u8> {
    let out = openssl(
        dir,
        &[
            "pkey", "-engine", "gost", "-in", "key.pem", "-pubout", "-outform", "DER",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout[out.stdout.len() - len..].to_vec()
}

#[test]
fn engine_signatures_verify_with_ours() {
    engine_present();
    let dir = tempfile::tempdir().unwrap();
    for g in [&GOST2015_512, &GOST2004] {
        let out = openssl(
            dir.path(),
            &[
                "genpkey",
                "-engine",
                "gost",
                "-algorithm",
                g.algorithm,
                "-pkeyopt",
                &format!("paramset:{}", g.paramset),
                "-out",
                "key.pem",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = if g.algorithm == "gost2001" { 32 } else { 64 };
        let public = engine_public(dir.path(), 2 * n);
        for i in 0..3u8 {
            let digest: Vec<u8> = (0..n)
                .map(|j| u8::try_from(j).unwrap().wrapping_mul(31) ^ i)
                .collect();
            std::fs::write(dir.path().join("digest"), &digest).unwrap();
            let out = openssl(
                dir.path(),
                &[
                    "pkeyutl", "-engine", "gost", "-sign", "-inkey", "key.pem", "-in", "digest",
                    "-out", "sig",
                ],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut sig = std::fs::read(dir.path().join("sig")).unwrap();
            sig.reverse();
            let r = if n == 64 {
                TC26_512_A.verify(&public, &digest, &sig)
            } else {
                CRYPTOPRO_A.verify(&public, &digest, &sig)
            };
            assert_eq!(r, Ok(()), "{} signature {i} from the engine", g.name);
        }
    }
}
