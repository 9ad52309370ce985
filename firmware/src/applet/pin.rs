//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER: the PIN and the PUK.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Status, defaults};
use tamga_store::Op;

use super::session::PinState;
use super::state::{Core, secret_key};
use crate::command::{Padded, VerifyAction};
use crate::crypto::P256;
use crate::records;

/// Whether an 8-byte reference data field is a well-formed PIN/PUK: 6 to 8
/// bytes other than FF, then FF padding.
fn well_formed(p: &Padded) -> bool {
    let n = p.iter().take_while(|&&b| b != defaults::PIN_PAD).count();
    (defaults::PIN_MIN_LEN..=defaults::PIN_MAX_LEN).contains(&n)
        && p.iter().skip(n).all(|&b| b == defaults::PIN_PAD)
}

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// VERIFY: forget the verification, report it, or present the PIN.
    pub(super) fn verify(&mut self, action: VerifyAction<'_>) -> Result<(), Status> {
        match action {
            VerifyAction::Reset => {
                self.session.pin = PinState::Unverified;
                Ok(())
            }
            VerifyAction::Status => {
                if self.session.pin.verified() {
                    return Ok(());
                }
                match self.secret(false)?.left {
                    0 => Err(Status::OperationBlocked),
                    n => Err(Status::RemainingRetries(n)),
                }
            }
            VerifyAction::Present(pin) => {
                let s = self.check_secret(false, pin)?;
                self.commit(&[Op::Put(records::PIN, &s.encode())])?;
                self.session.pin = PinState::Fresh;
                Ok(())
            }
        }
    }

    /// CHANGE REFERENCE DATA of the PIN or the PUK: the new value is checked
    /// first, then the old one (consuming a try).
    pub(super) fn change_reference(
        &mut self,
        puk: bool,
        old: &Padded,
        new: &Padded,
    ) -> Result<(), Status> {
        if !well_formed(new) {
            return Err(Status::IncorrectDataParameter);
        }
        let s = self.check_secret(puk, old)?;
        let updated = self.new_secret(new, s.max, puk);
        self.commit(&[Op::Put(secret_key(puk), &updated.encode())])
    }

    /// RESET RETRY COUNTER: a new PIN (all tries) with the PUK.
    pub(super) fn reset_retry_counter(
        &mut self,
        puk: &Padded,
        new_pin: &Padded,
    ) -> Result<(), Status> {
        if !well_formed(new_pin) {
            return Err(Status::IncorrectDataParameter);
        }
        let pin_max = self.secret(false)?.max;
        let p = self.check_secret(true, puk)?;
        let pin = self.new_secret(new_pin, pin_max, false);
        self.session.pin = PinState::Unverified;
        self.commit(&[
            Op::Put(records::PUK, &p.encode()),
            Op::Put(records::PIN, &pin.encode()),
        ])
    }
}
