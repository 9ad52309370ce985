//! Signing and verification on both curves: round trips from random keys,
//! every way a signature or key can be wrong, and the comb against the plain
//! window method.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tamga_gost::{CRYPTOPRO_A, Error, TC26_512_A};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn round_trip_512(seed in any::<[u8; 32]>(), digest in prop::array::uniform32(any::<u8>()), flip in 0usize..1024) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let (mut d, mut q) = ([0u8; 64], [0u8; 128]);
        TC26_512_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let mut h = [0u8; 64];
        h[..32].copy_from_slice(&digest);
        h[32..].copy_from_slice(&seed);
        let mut sig = [0u8; 128];
        TC26_512_A.sign(&d, &h, &seed, &mut sig).unwrap();
        TC26_512_A.verify(&q, &h, &sig).unwrap();
        // One flipped bit anywhere in the signature or the digest breaks it.
        let mut bad = sig;
        bad[flip / 8] ^= 1 << (flip % 8);
        prop_assert!(TC26_512_A.verify(&q, &h, &bad).is_err());
        let mut bad_h = h;
        bad_h[(flip / 8) % 64] ^= 1 << (flip % 8);
        prop_assert_eq!(TC26_512_A.verify(&q, &bad_h, &sig), Err(Error::BadSignature));
    }

    #[test]
    fn round_trip_2004(seed in any::<[u8; 32]>(), h in prop::array::uniform32(any::<u8>())) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let (mut d, mut q) = ([0u8; 32], [0u8; 64]);
        CRYPTOPRO_A.generate(&mut rng, &mut d, &mut q).unwrap();
        let mut sig = [0u8; 64];
        CRYPTOPRO_A.sign(&d, &h, b"entropy", &mut sig).unwrap();
        CRYPTOPRO_A.verify(&q, &h, &sig).unwrap();
        // Another key does not verify it.
        let (mut d2, mut q2) = ([0u8; 32], [0u8; 64]);
        CRYPTOPRO_A.generate(&mut rng, &mut d2, &mut q2).unwrap();
        prop_assert_eq!(CRYPTOPRO_A.verify(&q2, &h, &sig), Err(Error::BadSignature));
    }
}

/// The hedged nonce differs with the entropy, so two signatures of one
/// digest differ, and both verify.
#[test]
fn entropy_changes_the_nonce() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let (mut d, mut q) = ([0u8; 64], [0u8; 128]);
    TC26_512_A.generate(&mut rng, &mut d, &mut q).unwrap();
    let h = [0x5a; 64];
    let (mut a, mut b) = ([0u8; 128], [0u8; 128]);
    TC26_512_A.sign(&d, &h, &[1; 32], &mut a).unwrap();
    TC26_512_A.sign(&d, &h, &[2; 32], &mut b).unwrap();
    assert_ne!(a, b);
    TC26_512_A.verify(&q, &h, &a).unwrap();
    TC26_512_A.verify(&q, &h, &b).unwrap();
}

#[test]
fn bad_inputs_are_refused() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let (mut d, mut q) = ([0u8; 32], [0u8; 64]);
    CRYPTOPRO_A.generate(&mut rng, &mut d, &mut q).unwrap();
    let h = [7u8; 32];
    let mut sig = [0u8; 64];
    // Wrong digest length (a 512-bit digest on the 256-bit curve, and short).
    assert_eq!(
        CRYPTOPRO_A.sign(&d, &[7; 64], b"", &mut sig),
        Err(Error::Length)
    );
    assert_eq!(
        CRYPTOPRO_A.sign(&d, &[7; 31], b"", &mut sig),
        Err(Error::Length)
    );
    assert_eq!(
        CRYPTOPRO_A.sign(&d, &h, b"", &mut [0u8; 63]),
        Err(Error::Length)
    );
    // Private keys 0, q and all-ones.
    let mut qle = [0u8; 32];
    for (o, w) in qle.chunks_exact_mut(4).zip(CRYPTOPRO_A.order()) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    for bad in [[0u8; 32], qle, [0xff; 32]] {
        assert_eq!(CRYPTOPRO_A.sign(&bad, &h, b"", &mut sig), Err(Error::Range));
        assert_eq!(
            CRYPTOPRO_A.public_key(&bad, &mut [0u8; 64]),
            Err(Error::Range)
        );
    }
    CRYPTOPRO_A.sign(&d, &h, b"", &mut sig).unwrap();
    // r or s zero, or equal to q.
    let mut zero_r = sig;
    zero_r[..32].fill(0);
    assert_eq!(
        CRYPTOPRO_A.verify(&q, &h, &zero_r),
        Err(Error::BadSignature)
    );
    let mut q_s = sig;
    q_s[32..].copy_from_slice(&qle);
    assert_eq!(CRYPTOPRO_A.verify(&q, &h, &q_s), Err(Error::BadSignature));
    // A point off the curve, and coordinates not below p.
    let mut off = q;
    off[40] ^= 1;
    assert_eq!(CRYPTOPRO_A.verify(&off, &h, &sig), Err(Error::NotOnCurve));
    assert_eq!(
        CRYPTOPRO_A.public_point(&[0xff; 64]).err(),
        Some(Error::NotOnCurve)
    );
    assert_eq!(
        CRYPTOPRO_A.public_point(&q[..63]).err(),
        Some(Error::Length)
    );
    assert_eq!(CRYPTOPRO_A.verify(&q, &h, &sig[..63]), Err(Error::Length));
}

/// An RNG that always gives all-ones (above q): generation gives up.
#[test]
fn a_stuck_rng_is_an_error_not_a_hang() {
    struct Stuck;
    impl rand_core::TryRng for Stuck {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::MAX)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::MAX)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0xff);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Stuck {}
    let (mut d, mut q) = ([0u8; 64], [0u8; 128]);
    assert_eq!(
        TC26_512_A.generate(&mut Stuck, &mut d, &mut q),
        Err(Error::Rng)
    );
    assert_eq!(d, [0; 64], "nothing of the refused candidates is left");
}
