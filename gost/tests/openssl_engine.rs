//! Interop with OpenSSL's GOST engine (Debian `libengine-gost-openssl1.1`),
//! which nobody here wrote, in both directions, after the documented
//! conversion (`GOST.md`, `tamga_testkit::gost_engine`):
//! - our keys and signatures verify with `openssl pkeyutl -verify`, and a
//!   signature with one flipped bit does not; our Streebog-512 is the engine's;
//! - keys the engine generates sign digests that our verifier accepts.

use std::path::Path;
use std::process::Command;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use tamga_gost::hash::{Digest, Gost94Test, Streebog512};
use tamga_gost::{CRYPTOPRO_A, TC26_512_A};
use tamga_testkit::gost_engine;

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs")
}

#[test]
fn our_signatures_verify_with_the_engine() {
    gost_engine::require();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    for round in 0..4 {
        let mut msg = [0u8; 100];
        rng.fill_bytes(&mut msg);
        // 2015-512 over Streebog-512, the engine's digest and ours.
        let (mut d, mut q, mut sig) = ([0u8; 64], [0u8; 128], [0u8; 128]);
        TC26_512_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let digest = Streebog512::digest(msg);
        assert_eq!(gost_engine::streebog512(dir, &msg), digest.as_slice());
        TC26_512_A.sign(&d, &digest, &msg, &mut sig).unwrap();
        assert!(
            gost_engine::verifies(dir, &q, &digest, &sig),
            "2015-512 round {round}"
        );
        sig[round * 7] ^= 0x10;
        assert!(
            !gost_engine::verifies(dir, &q, &digest, &sig),
            "flipped bit accepted"
        );
        // 2004 (the engine's own GOST R 34.11-94 uses another S-box: the
        // digest is given to it as bytes).
        let (mut d, mut q, mut sig) = ([0u8; 32], [0u8; 64], [0u8; 64]);
        CRYPTOPRO_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let digest = Gost94Test::digest(msg);
        CRYPTOPRO_A.sign(&d, &digest, &msg, &mut sig).unwrap();
        assert!(
            gost_engine::verifies(dir, &q, &digest, &sig),
            "2004 round {round}"
        );
        sig[40] ^= 1;
        assert!(
            !gost_engine::verifies(dir, &q, &digest, &sig),
            "flipped bit accepted"
        );
    }
}

/// The public-key octets of the SPKI the engine writes for `key.pem`: the
/// BIT STRING's OCTET STRING, i.e. the last `len` bytes of the DER.
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
    gost_engine::require();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The engine's names for the two curves (paramset A of each).
    for (algorithm, n) in [("gost2012_512", 64usize), ("gost2001", 32)] {
        let out = openssl(
            dir,
            &[
                "genpkey",
                "-engine",
                "gost",
                "-algorithm",
                algorithm,
                "-pkeyopt",
                "paramset:A",
                "-out",
                "key.pem",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = engine_public(dir, 2 * n);
        for i in 0..3u8 {
            let digest: Vec<u8> = (0..n)
                .map(|j| u8::try_from(j).unwrap().wrapping_mul(31) ^ i)
                .collect();
            std::fs::write(dir.join("digest"), &digest).unwrap();
            let out = openssl(
                dir,
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
            let mut sig = std::fs::read(dir.join("sig")).unwrap();
            sig.reverse();
            let r = if n == 64 {
                TC26_512_A.verify(&public, &digest, &sig)
            } else {
                CRYPTOPRO_A.verify(&public, &digest, &sig)
            };
            assert_eq!(r, Ok(()), "{algorithm} signature {i} from the engine");
        }
    }
}
