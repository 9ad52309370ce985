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

/// The public key's TLVs: `86 <point>` for P-256, `86 <X_le ‖ Y_le>` for
/// GOST, `81 <n> 82 <e>` for RSA.
pub(super) fn public_key(rec: &KeyRecord, out: &mut Outgoing) -> Result<(), Status> {
    match &rec.key {
        KeyMaterial::Ec { public, .. } => out.tlv(tags::EC_POINT, public),
        KeyMaterial::Gost { .. } => {
            let (public, _) = rec.gost_parts().ok_or(Status::UnspecifiedCheckingError)?;
            out.tlv(tags::EC_POINT, public)
        }
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

/// A GOST private scalar (little-endian) into `private` and its public key
/// into `public`; the host's public key, when given, must be on the curve
/// and be the scalar's.
fn import_gost(
    alg: tamga_spec::Algorithm,
    scalar: &[u8],
    point: Option<&[u8]>,
    public: &mut [u8],
    private: &mut [u8],
) -> Result<(), crypto::CryptoError> {
    if let Some(given) = point {
        crypto::gost_check_point(alg, given)?;
    }
    crypto::gost_public(alg, scalar, public)?;
    if point.is_some_and(|given| given != &*public) {
        return Err(crypto::CryptoError::Input);
    }
    private.copy_from_slice(scalar);
    Ok(())
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
        let made = if let Some((public, private)) = rec.gost_parts_mut() {
            crypto::gost_generate(alg, &mut self.rng, private, public).map_err(rsa_status)
        } else {
            match &mut rec.key {
                KeyMaterial::Rsa { n, crt, .. } => {
                    rsa2048::generate::<E, _>(&mut self.rng, &mut self.keepalive, n, crt)
                        .map_err(rsa_status)
                }
                KeyMaterial::Ec { public, private } => {
                    (*private, *public) = crypto::ec_generate(&self.ec, &mut self.rng);
                    Ok(())
                }
                KeyMaterial::Gost { .. } => Err(Status::UnspecifiedCheckingError),
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
        public_key(&rec, out)?;
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
        let checked = match (material, rec.gost_parts_mut()) {
            (ImportMaterial::Ec(scalar, point), Some((public, private))) => {
                import_gost(alg, scalar, point, public, private)
            }
            (material, _) => match (material, &mut rec.key) {
                (ImportMaterial::Rsa(parts), KeyMaterial::Rsa { n, crt, .. }) => {
                    rsa2048::import::<E, _>(parts, &mut self.rng, n, crt)
                }
                (ImportMaterial::Ec(scalar, point), KeyMaterial::Ec { public, private }) => {
                    crypto::ec_public(&self.ec, scalar).and_then(|p| {
                        if point.is_some_and(|given| given != p) {
                            return Err(crypto::CryptoError::Input);
                        }
                        *public = p;
                        private.copy_from_slice(scalar);
                        Ok(())
                    })
                }
                _ => Err(crypto::CryptoError::Input),
            },
        };
        // On an error the record's drop zeroizes whatever was written.
        checked.map_err(|_| Status::IncorrectDataParameter)?;
        self.store_key(slot, &rec)
    }
}
