//! The management key (9B): GENERAL AUTHENTICATE (mutual and external
//! authentication) and SET MANAGEMENT KEY.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use tamga_spec::{Status, TouchPolicy, tags};
use tamga_store::Op;
use zeroize::Zeroize;

use super::session::AuthPending;
use super::state::Core;
use crate::command::{AuthAlgorithm, MgmtStep, SymmetricKey};
use crate::crypto::{self, P256};
use crate::records::{self, MgmtKey};
use crate::response::{Outgoing, overflow};

/// `len` (at most 16) random bytes, in a 16-byte block.
fn random_block<R: CryptoRng>(rng: &mut R, len: usize) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    rng.fill_bytes(b.get_mut(..len).unwrap_or(&mut []));
    (b, len)
}

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// One step of management-key authentication; `pending` is the step the
    /// previous command left (taken from the session by the dispatcher).
    pub(super) fn authenticate_mgmt(
        &mut self,
        alg: AuthAlgorithm,
        template: &[u8],
        pending: AuthPending,
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        let key = self.mgmt_key()?;
        if !(alg == AuthAlgorithm::KeyDefault || alg.names(key.alg)) {
            return Err(Status::IncorrectP1OrP2Parameter);
        }
        let block = key.alg.block_len().ok_or(Status::MemoryFailure)?;
        match MgmtStep::parse(template) {
            MgmtStep::WitnessRequest => {
                let (w, n) = random_block(&mut self.rng, block);
                let mut enc = w;
                let e = enc.get_mut(..n).ok_or(Status::UnspecifiedCheckingError)?;
                crypto::mgmt_crypt(key.alg, key.key_bytes(), e, true).map_err(overflow)?;
                let m = out.open(tags::DYN_AUTH)?;
                out.tlv(tags::DYN_WITNESS, e)?;
                out.close(m)?;
                enc.zeroize();
                self.session.auth = AuthPending::Witness(w, n);
                Ok(())
            }
            MgmtStep::Witness { witness, challenge } => {
                let AuthPending::Witness(w, n) = &pending else {
                    return Err(Status::ConditionsOfUseNotSatisfied);
                };
                let expected = w.get(..*n).ok_or(Status::UnspecifiedCheckingError)?;
                if challenge.is_some_and(|c| c.len() != block) {
                    return Err(Status::IncorrectDataParameter);
                }
                if !bool::from(witness.ct_eq(expected)) {
                    self.session.mgmt = false;
                    warn!("management key authentication failed");
                    return Err(Status::SecurityStatusNotSatisfied);
                }
                self.session.mgmt = true;
                if let Some(c) = challenge {
                    let mut r = [0u8; 16];
                    let rb = r.get_mut(..block).ok_or(Status::UnspecifiedCheckingError)?;
                    rb.copy_from_slice(c);
                    crypto::mgmt_crypt(key.alg, key.key_bytes(), rb, true).map_err(overflow)?;
                    let m = out.open(tags::DYN_AUTH)?;
                    out.tlv(tags::DYN_RESPONSE, rb)?;
                    out.close(m)?;
                }
                Ok(())
            }
            MgmtStep::ChallengeRequest => {
                let (c, n) = random_block(&mut self.rng, block);
                let m = out.open(tags::DYN_AUTH)?;
                out.tlv(tags::DYN_CHALLENGE, c.get(..n).unwrap_or(&[]))?;
                out.close(m)?;
                self.session.auth = AuthPending::Challenge(c, n);
                Ok(())
            }
            MgmtStep::Response(response) => {
                let AuthPending::Challenge(c, n) = &pending else {
                    return Err(Status::ConditionsOfUseNotSatisfied);
                };
                let mut expected = *c;
                let e = expected
                    .get_mut(..*n)
                    .ok_or(Status::UnspecifiedCheckingError)?;
                crypto::mgmt_crypt(key.alg, key.key_bytes(), e, true).map_err(overflow)?;
                let ok: bool = response.ct_eq(e).into();
                expected.zeroize();
                self.session.mgmt = ok;
                if ok {
                    Ok(())
                } else {
                    warn!("management key authentication failed");
                    Err(Status::SecurityStatusNotSatisfied)
                }
            }
            MgmtStep::Malformed => Err(Status::IncorrectDataParameter),
        }
    }

    /// SET MANAGEMENT KEY (management key).
    pub(super) fn set_mgmt(
        &mut self,
        touch: TouchPolicy,
        new: Option<SymmetricKey<'_>>,
    ) -> Result<(), Status> {
        self.require_mgmt()?;
        let new = new.ok_or(Status::IncorrectDataParameter)?;
        let mut m = MgmtKey {
            alg: new.alg,
            touch,
            key: [0u8; 32],
        };
        m.key
            .get_mut(..new.key.len())
            .ok_or(Status::IncorrectDataParameter)?
            .copy_from_slice(new.key);
        let mut enc = m.encode();
        let r = self.commit(&[Op::Put(records::MGMT, &enc)]);
        enc.zeroize();
        r
    }
}
