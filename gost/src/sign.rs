//! GOST R 34.10 signatures in the NCA's conventions (see the crate docs):
//! key generation, signing a digest with a hedged nonce, verification, and
//! the checks a card makes on imported keys.

use crate::Error;
use crate::curve::Curve;
use crate::field::{Fe, words_from_le};
use crate::point::Affine;
use rand_core::CryptoRng;
use rfc6979::KGenerator;
use rfc6979::bigint::{Encoding, Unsigned};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Attempts at a nonce (or a private key) before giving up: a good RNG or
/// DRBG needs a second one with probability below 2^-250.
const ATTEMPTS: usize = 8;

/// Little-endian bytes of words into `out` (4·N bytes).
fn write_words<const N: usize>(w: &[u32; N], out: &mut [u8]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(w) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
}

impl<const N: usize, const C: u32, U> Curve<N, C, U>
where
    U: Unsigned + Encoding,
{
    /// The private scalar of little-endian bytes, if it is in [1, q − 1].
    fn private_scalar(&self, d: &[u8]) -> Result<[u32; N], Error> {
        let w = words_from_le::<N>(d).ok_or(Error::Length)?;
        if bool::from(self.order.in_range(&w)) {
            Ok(w)
        } else {
            Err(Error::Range)
        }
    }

    /// e = (digest as a little-endian integer) mod q, and 1 for 0.
    fn digest_scalar(&self, digest: &[u8]) -> Result<[u32; N], Error> {
        let w = words_from_le::<N>(digest).ok_or(Error::Length)?;
        let mut e = self.order.reduce(&w);
        let zero = e.ct_eq(&[0; N]);
        e[0] |= u32::from(zero.unwrap_u8());
        Ok(e)
    }

    /// The public key X_le ‖ Y_le (8·N bytes into `out`) of the private key
    /// `d` (4·N little-endian bytes in [1, q − 1]).
    pub fn public_key(&self, d: &[u8], out: &mut [u8]) -> Result<(), Error> {
        if out.len() != Self::PAIR_BYTES {
            return Err(Error::Length);
        }
        let mut k = self.private_scalar(d)?;
        let p = self.mul_base(&k).affine();
        k.zeroize();
        let p = p.ok_or(Error::Range)?;
        let (x, y) = out.split_at_mut(Self::SCALAR_BYTES);
        p.x.write_le(x);
        p.y.write_le(y);
        Ok(())
    }

    /// A new key pair from `rng`: the private key (4·N little-endian bytes)
    /// into `private`, the public key (8·N) into `public`. A candidate outside
    /// [1, q − 1] is redrawn; [`Error::Rng`] after 8 bad ones.
    pub fn generate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        private: &mut [u8],
        public: &mut [u8],
    ) -> Result<(), Error> {
        if private.len() != Self::SCALAR_BYTES {
            return Err(Error::Length);
        }
        for _ in 0..ATTEMPTS {
            rng.fill_bytes(private);
            match self.public_key(private, public) {
                Err(Error::Range) => continue,
                r => return r,
            }
        }
        private.zeroize();
        Err(Error::Rng)
    }

    /// Parse and check a public key X_le ‖ Y_le: coordinates below p and the
    /// point on the curve (the group has prime order, so that is enough).
    pub fn public_point(&self, public: &[u8]) -> Result<Affine<N, C>, Error> {
        if public.len() != Self::PAIR_BYTES {
            return Err(Error::Length);
        }
        let (x, y) = public.split_at(Self::SCALAR_BYTES);
        let p = Affine {
            x: Fe::from_le_bytes(x).ok_or(Error::NotOnCurve)?,
            y: Fe::from_le_bytes(y).ok_or(Error::NotOnCurve)?,
        };
        if p.is_on_curve(&self.b) {
            Ok(p)
        } else {
            Err(Error::NotOnCurve)
        }
    }

    /// The signature r_le ‖ s_le of `digest` (4·N bytes, as the hash outputs
    /// them) with the nonce `k` (4·N little-endian bytes in [1, q − 1]);
    /// [`Error::Range`] when k gives r = 0 or s = 0. For known-answer tests:
    /// a real signature takes its nonce from [`Curve::sign`].
    pub fn sign_with_nonce(
        &self,
        d: &[u8],
        digest: &[u8],
        k: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let mut k = self.private_scalar(k)?;
        let r = self.sign_words(d, digest, &k, out);
        k.zeroize();
        r
    }

    fn sign_words(
        &self,
        d: &[u8],
        digest: &[u8],
        k: &[u32; N],
        out: &mut [u8],
    ) -> Result<(), Error> {
        if out.len() != Self::PAIR_BYTES {
            return Err(Error::Length);
        }
        let e = self.digest_scalar(digest)?;
        let mut dw = self.private_scalar(d)?;
        // C = k·G; r = x_C mod q.
        let point = self.mul_base(k).affine().ok_or(Error::Range)?;
        let r = self.order.reduce(&point.x.canonical().0);
        // s = r·d + k·e mod q.
        let mut rd = self.order.mul(&r, &dw);
        let mut ke = self.order.mul(k, &e);
        let s = self.order.add(&rd, &ke);
        dw.zeroize();
        rd.zeroize();
        ke.zeroize();
        if bool::from(r.ct_eq(&[0; N]) | s.ct_eq(&[0; N])) {
            return Err(Error::Range);
        }
        let (r_out, s_out) = out.split_at_mut(Self::SCALAR_BYTES);
        write_words(&r, r_out);
        write_words(&s, s_out);
        Ok(())
    }

    /// Sign `digest` (4·N bytes) with the private key `d`: r_le ‖ s_le into
    /// `out` (8·N bytes). The nonce is RFC 6979's HMAC-DRBG (HMAC-SHA-256,
    /// the card's own hash, on both curves) over d, the digest and `entropy` from the card's RNG: hedged, so a
    /// repeated digest never repeats a nonce and a weak RNG alone cannot
    /// leak the key.
    pub fn sign(
        &self,
        d: &[u8],
        digest: &[u8],
        entropy: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let mut d_be = [0u8; 64];
        let d_be = d_be.get_mut(..Self::SCALAR_BYTES).ok_or(Error::Length)?;
        if d.len() != Self::SCALAR_BYTES || digest.len() != Self::SCALAR_BYTES {
            return Err(Error::Length);
        }
        for (o, i) in d_be.iter_mut().zip(d.iter().rev()) {
            *o = *i;
        }
        self.private_scalar(d)?;
        let mut kgen = KGenerator::<Sha256, U>::new(d_be, digest, entropy, &self.order_uint);
        d_be.zeroize();
        let mut k_be = [0u8; 64];
        let k_be = k_be.get_mut(..Self::SCALAR_BYTES).ok_or(Error::Length)?;
        // The generator only yields k in [1, q − 1]; Range here means r or s
        // was 0, and the next k is drawn.
        let mut result = Err(Error::Rng);
        for _ in 0..ATTEMPTS {
            kgen.fill_next_k(k_be);
            let mut k = [0u32; N];
            for (w, chunk) in k.iter_mut().zip(k_be.rchunks_exact(4)) {
                let mut b = [0u8; 4];
                b.copy_from_slice(chunk);
                *w = u32::from_be_bytes(b);
            }
            result = self.sign_words(d, digest, &k, out);
            k.zeroize();
            if result != Err(Error::Range) {
                break;
            }
        }
        k_be.zeroize();
        result
    }

    /// Verify r_le ‖ s_le over `digest` (4·N bytes) with the public key
    /// X_le ‖ Y_le.
    pub fn verify(&self, public: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), Error> {
        let q = self.public_point(public)?;
        if signature.len() != Self::PAIR_BYTES {
            return Err(Error::Length);
        }
        let (r, s) = signature.split_at(Self::SCALAR_BYTES);
        let r = words_from_le::<N>(r).ok_or(Error::Length)?;
        let s = words_from_le::<N>(s).ok_or(Error::Length)?;
        if !bool::from(self.order.in_range(&r) & self.order.in_range(&s)) {
            return Err(Error::BadSignature);
        }
        let e = self.digest_scalar(digest)?;
        let v = self.order.invert(&e);
        let z1 = self.order.mul(&s, &v);
        let z2 = self.order.neg(&self.order.mul(&r, &v));
        let sum = self.mul_base(&z1).add(&self.mul_public(&q, &z2), &self.b);
        let x = sum.affine().ok_or(Error::BadSignature)?.x;
        if bool::from(self.order.reduce(&x.canonical().0).ct_eq(&r)) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}
