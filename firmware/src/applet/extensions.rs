//! YubiKey extensions: GET METADATA, SET PIN RETRIES, RESET.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Algorithm, KeyRef, Status, tags};
use tamga_store::Op;

use super::keygen::public_key;
use super::session::{PinState, Session};
use super::state::{Core, new_identity, store_status};
use crate::crypto::P256;
use crate::records::{self, KeyRecord, Secret};
use crate::response::Outgoing;

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// GET METADATA of the PIN, the PUK, the management key or a key slot.
    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    pub(super) fn metadata(&mut self, key: KeyRef, out: &mut Outgoing) -> Result<(), Status> {
        match key {
            KeyRef::Pin | KeyRef::Puk => {
                let s = self.secret(key == KeyRef::Puk)?;
                out.tlv(tags::META_ALGORITHM, &[Algorithm::Pin.to_u8()])?;
                out.tlv(tags::META_DEFAULT, &[u8::from(s.is_default)])?;
                out.tlv(tags::META_RETRIES, &[s.max, s.left])
            }
            KeyRef::Management => {
                let m = self.mgmt_key()?;
                out.tlv(tags::META_ALGORITHM, &[m.alg.to_u8()])?;
                out.tlv(tags::META_POLICY, &[0, m.touch.to_u8()])?;
                out.tlv(tags::META_DEFAULT, &[u8::from(m.is_default())])
            }
            k if k.is_key_slot() => {
                let mut rec = KeyRecord::blank(Algorithm::EccP256);
                self.key_record(k, &mut rec)?;
                out.tlv(tags::META_ALGORITHM, &[rec.alg.to_u8()])?;
                out.tlv(
                    tags::META_POLICY,
                    &[rec.pin_policy.to_u8(), rec.touch_policy.to_u8()],
                )?;
                out.tlv(tags::META_ORIGIN, &[rec.origin.to_u8()])?;
                let m = out.open(tags::META_PUBLIC_KEY)?;
                public_key(&rec, out)?;
                out.close(m)
            }
            _ => Err(Status::KeyReferenceNotFound),
        }
    }

    /// SET PIN RETRIES (management key and PIN): both back to their defaults
    /// with the new try counts.
    pub(super) fn set_pin_retries(&mut self, pin: u8, puk: u8) -> Result<(), Status> {
        self.require_mgmt()?;
        if !self.session.pin.verified() {
            return Err(Status::SecurityStatusNotSatisfied);
        }
        let p = Secret::factory(&self.id.salt, false, Some(pin));
        let u = Secret::factory(&self.id.salt, true, Some(puk));
        self.commit(&[
            Op::Put(records::PIN, &p.encode()),
            Op::Put(records::PUK, &u.encode()),
        ])?;
        self.session.pin = PinState::Unverified;
        Ok(())
    }

    /// RESET (PIN and PUK blocked): wipe the store, keep the serial.
    pub(super) fn reset_card(&mut self) -> Result<(), Status> {
        // An unreadable PIN or PUK record counts as blocked: RESET is the way
        // back from a damaged card.
        let blocked = |s: Result<Secret, Status>| s.map_or(true, |s| s.left == 0);
        if !blocked(self.secret(false)) || !blocked(self.secret(true)) {
            return Err(Status::ConditionsOfUseNotSatisfied);
        }
        let id = new_identity(&mut self.rng, Some(self.id.serial));
        self.store
            .wipe(&[Op::Put(records::IDENTITY, &id.encode())])
            .map_err(store_status)?;
        self.id = id;
        self.session = Session::selected();
        info!("application reset");
        Ok(())
    }
}
