//! GENERATE ASYMMETRIC KEY PAIR and IMPORT KEY: a key into a slot.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{KeyRef, Origin, PinPolicy, Status, TouchPolicy, tags};

use super::sign::rsa_status;
use super::state::Core;
use crate::command::{ImportMaterial, KeyAlgorithm};
use crate::crypto::{self, P256};
use crate::records::{KeyMaterial, KeyRecord};
use crate::response::Outgoing;
use crate::rsa2048;

/// The public key's TLVs: `86 <point>` for P-256, `81 <n> 82 <e>` for RSA.
pub(super) fn public_key(key: &KeyMaterial, out: &mut Outgoing) -> Result<(), Status> {
    match key {
        KeyMaterial::Ec { public, .. } => out.tlv(tags::EC_POINT, public),
        KeyMaterial::Rsa { e, n, .. } => {
            out.tlv(tags::RSA_MODULUS, n)?;
            let e = e.to_be_bytes();
            let skip = e.iter().take_while(|&&b| b == 0).count();
            out.tlv(tags::RSA_EXPONENT, e.get(skip..).unwrap_or(&[]))
        }
    }
}

/// A requested PIN policy, `Default` resolved to the slot's.
fn resolve_pin(slot: KeyRef, p: PinPolicy) -> PinPolicy {
    match p {
        PinPolicy::Default => slot.default_pin_policy(),
        p => p,
    }
}

/// A requested touch policy, `Default` resolved to `Never`.
fn resolve_touch(t: TouchPolicy) -> TouchPolicy {
    match t {
        TouchPolicy::Default => TouchPolicy::Never,
        t => t,
    }
}

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// GENERATE (management key): a new key pair in `slot`; answers its public key.
    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    pub(super) fn generate(
        &mut self,
        slot: KeyRef,
        alg: KeyAlgorithm,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        self.require_mgmt()?;
        let alg = alg.supported()?;
        // The key is generated straight into the record that is stored.
        let mut rec = KeyRecord::blank(alg);
        rec.pin_policy = resolve_pin(slot, pin_policy);
        rec.touch_policy = resolve_touch(touch_policy);
        let made = match &mut rec.key {
            KeyMaterial::Rsa { n, crt, .. } => {
                rsa2048::generate::<E, _>(&mut self.rng, &mut self.keepalive, n, crt)
                    .map_err(rsa_status)
            }
            KeyMaterial::Ec { public, private } => {
                (*private, *public) = crypto::ec_generate(&self.ec, &mut self.rng);
                Ok(())
            }
        };
        // On an error the record's drop zeroizes whatever was written.
        made?;
        self.store_key(slot, &rec)?;
        info!(
            "generated a key of algorithm {:02x} in slot {:02x}",
            alg.to_u8(),
            slot.to_u8()
        );
        let m = out.open(tags::PUBLIC_KEY)?;
        public_key(&rec.key, out)?;
        out.close(m)
    }

    /// IMPORT KEY (management key): `material`, checked, into `slot`.
    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    pub(super) fn import(
        &mut self,
        alg: KeyAlgorithm,
        slot: KeyRef,
        data: &[u8],
    ) -> Result<(), Status> {
        self.require_mgmt()?;
        let alg = alg.supported()?;
        let (material, pin_policy, touch_policy) = ImportMaterial::parse(data);
        if material == ImportMaterial::Malformed {
            return Err(Status::IncorrectDataParameter);
        }
        let mut rec = KeyRecord::blank(alg);
        rec.pin_policy = resolve_pin(slot, pin_policy);
        rec.touch_policy = resolve_touch(touch_policy);
        rec.origin = Origin::Imported;
        let checked = match (material, &mut rec.key) {
            (ImportMaterial::Rsa(parts), KeyMaterial::Rsa { n, crt, .. }) => {
                rsa2048::import::<E, _>(parts, &mut self.rng, n, crt)
            }
            (ImportMaterial::Ec(scalar), KeyMaterial::Ec { public, private }) => {
                crypto::ec_public(&self.ec, scalar).map(|point| {
                    *public = point;
                    private.copy_from_slice(scalar);
                })
            }
            _ => Err(crypto::CryptoError::Input),
        };
        // On an error the record's drop zeroizes whatever was written.
        checked.map_err(|_| Status::IncorrectDataParameter)?;
        self.store_key(slot, &rec)
    }
}
