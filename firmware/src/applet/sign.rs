//! GENERAL AUTHENTICATE with a key slot: P-256 signature and ECDH, raw RSA
//! (signature and decryption), under the slot's PIN policy.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Algorithm, KeyRef, PinPolicy, Status, tags};
use zeroize::Zeroize;

use super::session::PinState;
use super::state::Core;
use crate::command::{AuthAlgorithm, KeyOp};
use crate::crypto::{self, EC_SIG_MAX, P256};
use crate::records::{KeyMaterial, KeyRecord};
use crate::response::Outgoing;
use crate::rsa2048;

/// The status word of a failed RSA operation: bad input is the host's fault
/// (6A80); a withheld faulty result (the fault check) or a generation that
/// found no key is an internal check that failed, nothing changed (6F00).
pub(super) fn rsa_status(e: crypto::CryptoError) -> Status {
    match e {
        crypto::CryptoError::Input | crypto::CryptoError::Algorithm => {
            Status::IncorrectDataParameter
        }
        crypto::CryptoError::Fault | crypto::CryptoError::Failed => {
            Status::UnspecifiedCheckingError
        }
    }
}

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// Run `op` with the key in `slot`.
    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    pub(super) fn use_key(
        &mut self,
        alg: AuthAlgorithm,
        slot: KeyRef,
        template: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        let op = KeyOp::parse(template);
        if op == KeyOp::Malformed {
            return Err(Status::IncorrectDataParameter);
        }
        let mut rec = KeyRecord::blank(Algorithm::EccP256);
        self.key_record(slot, &mut rec)?;
        if !alg.names(rec.alg) {
            return Err(Status::IncorrectP1OrP2Parameter);
        }
        // RSA takes a whole 256-byte block (the host pads) and no peer point.
        if matches!(rec.key, KeyMaterial::Rsa { .. })
            && !matches!(op, KeyOp::Private(b) if b.len() == rsa2048::MODULUS_LEN)
        {
            return Err(Status::IncorrectDataParameter);
        }
        let allowed = match rec.pin_policy {
            PinPolicy::Never => true,
            PinPolicy::Always => self.session.pin.fresh(),
            PinPolicy::Once | PinPolicy::Default => self.session.pin.verified(),
        };
        if !allowed {
            return Err(Status::SecurityStatusNotSatisfied);
        }
        // GOST signs a digest of exactly the curve's length, and nothing else.
        if let Some(len) = rec.alg.gost_len()
            && !matches!(op, KeyOp::Private(d) if d.len() == len)
        {
            return Err(Status::IncorrectDataParameter);
        }
        let m = out.open(tags::DYN_AUTH)?;
        match (&rec.key, op) {
            (KeyMaterial::Ec { private, .. }, KeyOp::Private(hash)) => {
                let mut sig = [0u8; EC_SIG_MAX];
                let mut entropy = [0u8; 32];
                self.rng.fill_bytes(&mut entropy);
                let n = crypto::ec_sign(&self.ec, private, hash, &entropy, &mut sig)
                    .map_err(|_| Status::IncorrectDataParameter)?;
                out.tlv(tags::DYN_RESPONSE, sig.get(..n).unwrap_or(&[]))?;
            }
            (KeyMaterial::Ec { private, .. }, KeyOp::Ecdh(peer)) => {
                let mut shared = crypto::ec_ecdh(&self.ec, private, peer)
                    .map_err(|_| Status::IncorrectDataParameter)?;
                let r = out.tlv(tags::DYN_RESPONSE, &shared);
                shared.zeroize();
                r?;
            }
            (KeyMaterial::Gost { .. }, KeyOp::Private(digest)) => {
                let (_, private) = rec.gost_parts().ok_or(Status::UnspecifiedCheckingError)?;
                let dst = out.tlv_in_place(tags::DYN_RESPONSE, 2 * digest.len())?;
                let mut entropy = [0u8; 32];
                self.rng.fill_bytes(&mut entropy);
                crypto::gost_sign(rec.alg, private, digest, &entropy, dst)
                    .map_err(|_| Status::IncorrectDataParameter)?;
            }
            // Raw RSA: signature and decryption are the same operation.
            // The result is computed straight into the response.
            (KeyMaterial::Rsa { n, crt, .. }, KeyOp::Private(block)) => {
                let dst = out.tlv_in_place(tags::DYN_RESPONSE, rsa2048::MODULUS_LEN)?;
                let dst: &mut [u8; rsa2048::MODULUS_LEN] = dst
                    .try_into()
                    .map_err(|_| Status::UnspecifiedCheckingError)?;
                rsa2048::private::<E, _>(n, crt, block, &mut self.rng, dst).map_err(rsa_status)?;
            }
            _ => return Err(Status::IncorrectDataParameter),
        }
        // A PIN-always verification is used up by a completed operation only.
        if rec.pin_policy == PinPolicy::Always {
            self.session.pin = PinState::Used;
        }
        out.close(m)
    }
}
