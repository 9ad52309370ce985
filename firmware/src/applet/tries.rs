//! PIN and PUK try counters: a try is consumed and committed before the
//! value is compared, and restored by a match.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use tamga_spec::Status;
use tamga_store::Op;
use zeroize::Zeroize;

use super::session::PinState;
use super::state::{Core, secret_key};
use crate::command::Padded;
use crate::crypto::{self, P256};
use crate::records::Secret;

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// Check a PIN or PUK: the try counter is decremented and persisted before
    /// the comparison; after a match the returned record has it restored (the
    /// caller commits it with its own change).
    pub(super) fn check_secret(&mut self, puk: bool, value: &Padded) -> Result<Secret, Status> {
        if !puk {
            // Presenting the PIN, right or wrong, ends the current verification.
            self.session.pin = PinState::Unverified;
        }
        let mut s = self.secret(puk)?;
        if s.left == 0 {
            return Err(Status::OperationBlocked);
        }
        s.left -= 1;
        self.commit(&[Op::Put(secret_key(puk), &s.encode())])?;
        let mut h = crypto::pin_hash(&self.id.salt, value);
        let ok: bool = h.ct_eq(&s.hash).into();
        h.zeroize();
        if ok {
            s.left = s.max;
            Ok(s)
        } else {
            debug!(
                "wrong {}, {} tries left",
                if puk { "PUK" } else { "PIN" },
                s.left
            );
            Err(Status::RemainingRetries(s.left))
        }
    }

    /// A new PIN or PUK record for `value` with `max` tries, all left.
    pub(super) fn new_secret(&self, value: &Padded, max: u8, puk: bool) -> Secret {
        let default = Secret::factory(&self.id.salt, puk, Some(max));
        let hash = crypto::pin_hash(&self.id.salt, value);
        let is_default = bool::from(hash.ct_eq(&default.hash));
        Secret {
            left: max,
            max,
            is_default,
            hash,
        }
    }
}
